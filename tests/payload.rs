//! What protects s3put's bodies on the wire (issue #19), seen through a header-recording proxy
//! in front of the real Garage and Ceph RGW: the signed SHA-256 over http, the choice for this
//! CPU over https, each override, Content-MD5 for Object Lock, a body corrupted in transit
//! (refused by the server, sent again) and a wrong part ETag (fails, leaves nothing).

mod common;

use common::{random_bytes, run_timeout, Fault, FaultProxy, Rule, S3Env, TempDir, TlsTerminator};
use sha2::{Digest, Sha256};
use std::process::{Command, Output};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(180);
/// Three 5 MiB parts and a bit: a multipart upload.
const MULTI: usize = 15 * (1 << 20) + 1234;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The hashes each body-carrying request (single PUT or UploadPart) had: (signed SHA-256, MD5).
fn body_hashes(proxy: &FaultProxy) -> Vec<(bool, bool)> {
    let seen: Vec<_> = proxy
        .requests()
        .into_iter()
        // Object bodies only: not CreateBucket, nor the ?tagging, ?retention or ?legal-hold PUTs.
        .filter(|r| r.method == "PUT" && r.path().trim_matches('/').contains('/'))
        .filter(|r| !["tagging", "retention", "legal-hold"].iter().any(|s| r.query().contains(s)))
        .collect();
    assert!(!seen.is_empty(), "no PUT went through the proxy");
    seen.iter()
        .map(|r| {
            let sha = r.header("x-amz-content-sha256").unwrap_or("");
            let signed = sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit());
            assert!(signed || sha == "UNSIGNED-PAYLOAD", "x-amz-content-sha256 {sha:?}");
            assert!(r.header("x-amz-checksum-crc32").is_none() && r.header("content-encoding").is_none());
            (signed, r.header("content-md5").is_some())
        })
        .collect()
}

/// Uploads `data` through `via` with `args`, checks exit 0 and the stored bytes, returns stderr.
fn upload(
    env: &S3Env,
    via: &S3Env,
    bucket: &str,
    key: &str,
    data: &[u8],
    cmd: impl Fn(&S3Env) -> Command,
    args: &[&str],
) -> String {
    let mut c = cmd(via);
    let out = run_timeout(
        c.args(["--part-size", "5M", "-v"]).args(args).arg(format!("s3://{bucket}/{key}")),
        Some(data),
        LONG,
    );
    assert!(out.status.success(), "{key} {args:?}: {}", stderr(&out));
    let got = env.get_object(bucket, key);
    assert_eq!(hex::encode(Sha256::digest(&got)), hex::encode(Sha256::digest(data)), "{key}: stored bytes differ");
    assert!(env.list_uploads(bucket).is_empty(), "{key}: an upload was left");
    // s3get verifies every part against the plan s3put recorded, whatever the body carried.
    let back = run_timeout(env.cmd("s3get").args(["-v", &format!("s3://{bucket}/{key}")]), None, LONG);
    assert!(back.status.success(), "s3get {key}: {}", stderr(&back));
    assert!(back.stdout == data, "s3get {key}: the bytes differ");
    let said = stderr(&back);
    assert!(said.contains("verified: md5") || said.contains("verified: parts"), "s3get {key}: {said}");
    stderr(&out)
}

fn plain(e: &S3Env) -> Command {
    e.cmd("s3put")
}

/// Asserts every body had exactly the hashes `want` (signed SHA-256, Content-MD5).
fn all_bodies(proxy: &FaultProxy, want: (bool, bool), what: &str) {
    let got = body_hashes(proxy);
    assert!(got.iter().all(|h| *h == want), "{what}: expected {want:?} on every body, saw {got:?}");
    proxy.clear_requests();
}

s3_test!(fn over_http_every_body_carries_the_signed_sha256_and_no_md5(env) {
    let bucket = env.new_bucket("payload-http");
    let proxy = FaultProxy::for_s3(&env);
    let via = env.with_endpoint(&proxy.endpoint());
    for (key, len) in [("single", 1000), ("multi", MULTI)] {
        let data = random_bytes(len, len as u64);
        let err = upload(&env, &via, &bucket, key, &data, plain, &[]);
        assert!(err.contains("payload: signed SHA-256 (http"), "{err}");
        all_bodies(&proxy, (true, false), key);
    }
});

s3_test!(fn over_https_the_cheaper_server_verified_hash_for_this_cpu(env) {
    let bucket = env.new_bucket("payload-https");
    let proxy = FaultProxy::for_s3(&env);
    let tls = TlsTerminator::start(proxy.addr());
    let via = env.with_endpoint(&tls.endpoint());
    let ca = tls.ca_pem();
    let https = |e: &S3Env| {
        let mut c = e.cmd("s3put");
        c.env("AWS_CA_BUNDLE", &ca);
        c
    };
    // The same detection as s3put's, so the test is right on any CPU.
    let want = if sluice::s3::payload::cpu_has_sha256() { (true, false) } else { (false, true) };
    let data = random_bytes(MULTI, 3);
    let err = upload(&env, &via, &bucket, "auto", &data, https, &[]);
    assert!(err.contains("payload:") && err.contains("https"), "{err}");
    all_bodies(&proxy, want, "https auto");
    upload(&env, &via, &bucket, "always", &data, https, &["--payload-signing", "always"]);
    all_bodies(&proxy, (true, false), "https always");
    upload(&env, &via, &bucket, "never", &data[..1000], https, &["--payload-signing", "never"]);
    all_bodies(&proxy, (false, true), "https never");
});

s3_test!(fn each_override_does_what_it_says(env) {
    let bucket = env.new_bucket("payload-flags");
    let proxy = FaultProxy::for_s3(&env);
    let via = env.with_endpoint(&proxy.endpoint());
    let data = random_bytes(MULTI, 4);
    let err = upload(&env, &via, &bucket, "never", &data, plain, &["--payload-signing", "never"]);
    assert!(err.contains("payload: UNSIGNED-PAYLOAD with Content-MD5"), "{err}");
    all_bodies(&proxy, (false, true), "http never");
    upload(&env, &via, &bucket, "md5", &data, plain, &["--content-md5"]);
    all_bodies(&proxy, (true, true), "--content-md5");
    upload(&env, &via, &bucket, "never-md5", &data[..500], plain, &["--payload-signing", "never", "--content-md5"]);
    all_bodies(&proxy, (false, true), "never + --content-md5");

    // aws-cli's profile key, and the flag above it.
    let dir = TempDir::new("payload-profile");
    let config = dir.join("config");
    std::fs::write(&config, "[default]\ns3 =\n  payload_signing_enabled = false\n").unwrap();
    let profile = |e: &S3Env| {
        let mut c = e.cmd("s3put");
        c.env("AWS_CONFIG_FILE", &config);
        c
    };
    upload(&env, &via, &bucket, "profile", &data[..700], profile, &[]);
    all_bodies(&proxy, (false, true), "payload_signing_enabled = false");
    upload(&env, &via, &bucket, "flag", &data[..700], profile, &["--payload-signing", "auto"]);
    all_bodies(&proxy, (true, false), "--payload-signing auto over the profile");

    std::fs::write(&config, "[default]\ns3 =\n  payload_signing_enabled = maybe\n").unwrap();
    let out = run_timeout(profile(&via).arg(format!("s3://{bucket}/bad")), Some(b"x"), LONG);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("payload_signing_enabled"), "{}", stderr(&out));
    let out = run_timeout(plain(&via).args(["--payload-signing", "sometimes", &format!("s3://{bucket}/bad")]), Some(b"x"), LONG);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(proxy.requests().is_empty(), "a refused setting sent requests");
});

// Garage has no Object Lock (tests/policy.rs shows it refusing): Ceph only.
s3_test!(only ceph: fn object_lock_uploads_carry_content_md5(env) {
    let bucket = common::unique_bucket_name("payload-lock");
    env.oracle_ok(&["create-bucket", "--object-lock", &bucket], None);
    let proxy = FaultProxy::for_s3(&env);
    let via = env.with_endpoint(&proxy.endpoint());
    for (key, len) in [("single", 2000), ("multi", MULTI)] {
        let data = random_bytes(len, 9);
        let err = upload(&env, &via, &bucket, key, &data, plain, &["--object-lock-mode", "GOVERNANCE", "--retain-for", "1h"]);
        assert!(err.contains("Object Lock requires"), "{err}");
        all_bodies(&proxy, (true, true), key);
    }
});

/// What each server answers a body that does not match its hash (seen here: Garage 2.5, Ceph RGW
/// 16.2); s3put retries all three.
fn refused_as(server: common::Server, key: &str) -> &'static str {
    match (server, key) {
        (_, "md5") => "BadDigest (HTTP 400)",
        (common::Server::Garage, _) => "InvalidDigest (HTTP 400)",
        (common::Server::Ceph, _) => "XAmzContentSHA256Mismatch (HTTP 400)",
    }
}

s3_test!(fn a_body_corrupted_in_transit_is_refused_and_sent_again(env) {
    let bucket = env.new_bucket("payload-flip");
    let proxy = FaultProxy::for_s3(&env);
    let via = env.with_endpoint(&proxy.endpoint());
    let data = random_bytes(MULTI, 11);
    for (key, args) in [("signed", &[][..]), ("md5", &["--payload-signing", "never"][..])] {
        // Part 2's first attempt arrives with one byte inverted, and a single PUT's too.
        proxy.add(Rule::new(Fault::FlipByteMidRequestBody).method("PUT").query_contains("partNumber=2"));
        let err = upload(&env, &via, &bucket, key, &data, plain, args);
        assert_eq!(proxy.injected(), 1, "{key}: {err}");
        // -v shows the retry with the server's refusal.
        let refusal = err.lines().find(|l| l.contains("retry 1")).unwrap_or_else(|| panic!("{key}: no retry: {err}"));
        assert!(refusal.contains(refused_as(env.server, key)), "{key}: {refusal}");
        let part2 = proxy.requests().iter().filter(|r| r.method == "PUT" && r.query().contains("partNumber=2")).count();
        assert_eq!(part2, 2, "{key}: part 2 was not sent again: {err}");
        proxy.clear_rules();
        proxy.clear_requests();

        proxy.add(Rule::new(Fault::FlipByteMidRequestBody).method("PUT"));
        let small = format!("{key}-single");
        let err = upload(&env, &via, &bucket, &small, &data[..3000], plain, args);
        assert_eq!(proxy.injected(), 1, "{small}");
        let refusal = err.lines().find(|l| l.contains("retry 1")).unwrap_or_else(|| panic!("{small}: no retry: {err}"));
        assert!(refusal.contains(refused_as(env.server, key)), "{small}: {refusal}");
        proxy.clear_rules();
        proxy.clear_requests();
    }
});

/// A multipart upload (5 MiB parts) of `data` to `key` through `via` that must fail: one line
/// on stderr, and neither the object nor an upload left. Returns the exit code and stderr.
fn fails_leaving_nothing(
    env: &S3Env,
    via: &S3Env,
    bucket: &str,
    key: &str,
    args: &[&str],
    data: &[u8],
) -> (Option<i32>, String) {
    let out = run_timeout(
        plain(via).args(["--part-size", "5M"]).args(args).arg(format!("s3://{bucket}/{key}")),
        Some(data),
        LONG,
    );
    let err = stderr(&out);
    assert!(!out.status.success(), "{key}: the upload did not fail: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{key}: one line expected: {err}");
    assert!(env.try_get_object(bucket, key).is_none(), "{key}: an object was left");
    assert!(env.list_uploads(bucket).is_empty(), "{key}: an upload was left");
    (out.status.code(), err)
}

s3_test!(fn a_body_corrupted_on_every_attempt_fails_and_leaves_nothing(env) {
    let bucket = env.new_bucket("payload-flip-all");
    let proxy = FaultProxy::for_s3(&env);
    let via = env.with_endpoint(&proxy.endpoint());
    let data = random_bytes(MULTI, 12);
    for (key, args) in [("signed", &[][..]), ("md5", &["--payload-signing", "never"][..])] {
        proxy.add(Rule::new(Fault::FlipByteMidRequestBody).method("PUT").query_contains("partNumber=2").always());
        let (code, err) = fails_leaving_nothing(&env, &via, &bucket, key, &[&["--retries", "1"][..], args].concat(), &data);
        // Retries exhausted: a server failure (exit 4), one line, and the upload aborted.
        assert_eq!(code, Some(4), "{key}: {err}");
        assert_eq!(proxy.count("PUT", "partNumber=2"), 2, "{key}: part 2 was not tried twice: {err}");
        proxy.clear_rules();
        proxy.clear_requests();
    }
});

s3_test!(fn a_wrong_part_etag_fails_the_upload_and_leaves_nothing(env) {
    let bucket = env.new_bucket("payload-etag");
    let proxy = FaultProxy::for_s3(&env);
    let via = env.with_endpoint(&proxy.endpoint());
    let data = random_bytes(MULTI, 13);
    for (key, args) in [("signed", &[][..]), ("md5", &["--content-md5"][..])] {
        proxy.add(
            Rule::new(Fault::RewriteEtag("0123456789abcdef0123456789abcdef")).method("PUT").query_contains("partNumber=2"),
        );
        let (code, err) = fails_leaving_nothing(&env, &via, &bucket, key, args, &data);
        assert!(matches!(code, Some(4) | Some(5)), "{key}: {err}");
        proxy.clear_rules();
    }
});
