//! s3put against the real servers (each test on Garage and on Ceph RGW unless its name says
//! `only`): round trips, refusal of empty input, signals, credentials, region correction,
//! unreachable endpoints, retries through the fault proxy, TLS, and the header values,
//! checksums, addressing styles, client mistakes and encryption settings a server may refuse
//! or ignore.

mod common;

use common::{random_bytes, run, run_timeout, s3_env, Fault, FaultProxy, Rule, S3Env, TempDir, TlsTerminator};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PART: usize = 16 << 20;

fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Stores `data` with s3put and checks, through the independent oracle, that the object is
/// byte-identical and that no multipart upload is left over.
fn round_trip(env: &S3Env, len: usize, extra: &[&str]) {
    let bucket = env.new_bucket("s3put-rt");
    let data = random_bytes(len, len as u64 + 7);
    let url = format!("s3://{bucket}/dir/obj-{len}.bin");
    let out = run_timeout(env.cmd("s3put").args(extra).arg(&url), Some(&data), Duration::from_secs(300));
    assert!(out.status.success(), "s3put of {len} bytes failed: {}", stderr(&out));
    assert!(out.stdout.is_empty(), "s3put wrote to stdout without --json");
    let stored = env.get_object(&bucket, &format!("dir/obj-{len}.bin"));
    assert_eq!(stored.len(), len);
    assert_eq!(sha(&stored), sha(&data), "object of {len} bytes differs");
    assert!(env.list_uploads(&bucket).is_empty(), "an in-progress upload was left behind");
}

s3_test!(fn round_trip_one_byte(env) {
    round_trip(&env, 1, &[]);
});

s3_test!(fn round_trip_exactly_one_part(env) {
    round_trip(&env, PART, &[]);
});

s3_test!(fn round_trip_one_part_plus_one(env) {
    round_trip(&env, PART + 1, &[]);
});

// Big data on one server: Ceph's multipart path is covered by the smaller cases, and the CI
// budget is better spent elsewhere.
s3_test!(only garage: fn round_trip_300_mib(env) {
    round_trip(&env, 300 << 20, &["-j", "4"]);
});

s3_test!(fn round_trip_fixed_part_size_and_one_job(env) {
    round_trip(&env, 12 << 20, &["--part-size", "5M", "-j", "1"]);
});

s3_test!(fn empty_input_is_refused_and_allow_empty_stores_zero_bytes(env) {
    let bucket = env.new_bucket("s3put-empty");
    let out = run(env.cmd("s3put").arg(format!("s3://{bucket}/e")), Some(b""));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let msg = stderr(&out);
    assert!(msg.contains("--allow-empty") && msg.lines().count() == 1, "{msg}");
    assert!(env.list_keys(&bucket).is_empty());

    let out = run(env.cmd("s3put").args(["--allow-empty", &format!("s3://{bucket}/e")]), Some(b""));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.head_object(&bucket, "e").expect("object stored").size, 0);
});

s3_test!(fn json_result_and_metadata(env) {
    let bucket = env.new_bucket("s3put-json");
    let data = random_bytes(1000, 3);
    let out = run(
        env.cmd("s3put").args([
            "--json",
            "--metadata",
            "origin=test",
            "--content-type",
            "application/x-test",
            &format!("s3://{bucket}/j"),
        ]),
        Some(&data),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["size"], 1000);
    assert_eq!(v["parts"], 0);
    assert_eq!(v["url"], format!("s3://{bucket}/j"));
    let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(&data));
    assert_eq!(v["etag"], md5);
    let head = env.head_object(&bucket, "j").unwrap();
    assert_eq!(head.headers.get("x-amz-meta-origin").map(String::as_str), Some("test"));
    assert_eq!(head.headers.get("content-type").map(String::as_str), Some("application/x-test"));
});

s3_test!(fn create_bucket_flag_creates_missing_and_accepts_existing(env) {
    let bucket = common::unique_bucket_name("s3put-cb");
    for _ in 0..2 {
        let out = run(env.cmd("s3put").args(["--create-bucket", &format!("s3://{bucket}/k")]), Some(b"x"));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(env.get_object(&bucket, "k"), b"x");
});

/// Starts s3put reading from a pipe we control.
fn spawn_streaming(cmd: &mut Command) -> std::process::Child {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn s3put")
}

fn signal_mid_upload(env: &S3Env, sig: i32, expected_code: i32) {
    let bucket = env.new_bucket("s3put-sig");
    let mut child = spawn_streaming(env.cmd("s3put").args(["-v", &format!("s3://{bucket}/big")]));
    let mut stdin = child.stdin.take().unwrap();
    // Three parts' worth: the multipart upload has begun and parts are in flight.
    stdin.write_all(&random_bytes(3 * PART + 100, 9)).unwrap();
    // Wait until the upload exists, so the test really interrupts a multipart upload.
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.list_uploads(&bucket).is_empty() {
        assert!(Instant::now() < deadline, "no multipart upload started");
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::kill(child.id() as i32, sig) };
    let status = common::wait_deadline(&mut child, Duration::from_secs(60));
    drop(stdin);
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(expected_code), "stderr: {err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(env.list_keys(&bucket).is_empty(), "an object was left behind");
    assert!(env.list_uploads(&bucket).is_empty(), "an in-progress upload was left behind: {err}");
}

s3_test!(fn sigterm_mid_upload_leaves_nothing(env) {
    signal_mid_upload(&env, libc::SIGTERM, 143);
});

s3_test!(fn sigint_mid_upload_leaves_nothing(env) {
    signal_mid_upload(&env, libc::SIGINT, 130);
});

s3_test!(fn sighup_while_waiting_for_input_leaves_nothing(env) {
    // The pipe stays open and silent: s3put is blocked in read(2), and must still react.
    signal_mid_upload(&env, libc::SIGHUP, 129);
});

s3_test!(fn wrong_secret_is_a_one_line_credential_error(env) {
    let bucket = env.new_bucket("s3put-cred");
    let secret = "0000000000000000000000000000000000000000000000000000000000000000";
    let out = run_timeout(
        env.cmd("s3put").env("AWS_SECRET_ACCESS_KEY", secret).args(["-vv", &format!("s3://{bucket}/k")]),
        Some(b"data"),
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    let msg = stderr(&out);
    let last = msg.lines().last().unwrap_or_default().to_string();
    assert!(matches!(out.status.code(), Some(3) | Some(8)), "exit {:?}: {msg}", out.status.code());
    assert!(last.contains("credential") || last.contains("secret") || last.contains("signature"), "{last}");
    assert!(!msg.contains(secret), "the secret leaked into stderr");
    assert!(!msg.contains(&env.secret), "the real secret leaked into stderr");
    assert!(env.list_keys(&bucket).is_empty());
});

#[test]
fn missing_credentials_name_the_fix() {
    let env = s3_env();
    let out = run(
        env.cmd("s3put").env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY").arg("s3://b/k"),
        Some(b"x"),
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // The message names what was tried (issue #14's wording): the environment, the profile files.
    let err = stderr(&out);
    assert!(err.contains("no credentials: not in the environment") && err.contains("~/.aws/credentials"), "{err}");
}

// Ceph RGW accepts a signature for any region, so there is nothing to correct there.
s3_test!(only garage: fn wrong_region_is_corrected_and_said_under_verbose(env) {
    let bucket = env.new_bucket("s3put-region");
    for len in [10, 2 * PART + 5] {
        let data = random_bytes(len, 11);
        let out = run_timeout(
            env.cmd("s3put").env("AWS_REGION", "us-east-1").args(["-v", &format!("s3://{bucket}/r{len}")]),
            Some(&data),
            Duration::from_secs(120),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains("garage"), "no region note: {}", stderr(&out));
        assert_eq!(sha(&env.get_object(&bucket, &format!("r{len}"))), sha(&data));
    }
    // --create-bucket signed for another region: the bucket is made in the server's region.
    let fresh = format!("{bucket}-new");
    let out = run_timeout(
        env.cmd("s3put").env("AWS_REGION", "us-west-2").args(["--create-bucket", &format!("s3://{fresh}/k")]),
        Some(b"x"),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.get_object(&fresh, "k"), b"x");
});

#[test]
fn unreachable_endpoint_fails_fast_with_a_clear_message() {
    let env = s3_env();
    // A port nothing listens on: connections are refused at once, retried, then reported.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let started = Instant::now();
    let out = run_timeout(
        env.cmd("s3put").args([
            "--endpoint",
            &format!("http://127.0.0.1:{port}"),
            "--connect-timeout",
            "2",
            "s3://b/k",
        ]),
        Some(b"x"),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let msg = stderr(&out);
    assert!(msg.contains("connect") && msg.lines().count() == 1, "{msg}");
    eprintln!("unreachable endpoint reported after {:?}", started.elapsed());
}

#[test]
fn bad_urls_and_flags_are_usage_errors() {
    let env = s3_env();
    for args in [
        vec!["http://b/k"],
        vec!["s3://b"],
        vec!["s3://b/"],
        vec!["--part-size", "1M", "s3://b/k"],
        vec!["--metadata", "novalue", "s3://b/k"],
    ] {
        let out = run(env.cmd("s3put").args(&args), Some(b"x"));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out).trim().lines().count(), 1, "{args:?}: {}", stderr(&out));
    }
    let out = run(env.cmd("s3put").args(["--endpoint", "127.0.0.1:3900", "s3://b/k"]), Some(b"x"));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

s3_test!(fn slowdown_and_server_errors_on_parts_are_retried(env) {
    let bucket = env.new_bucket("s3put-retry");
    let proxy = FaultProxy::for_s3(&env);
    proxy.add(Rule::new(Fault::S3Error(503, "SlowDown")).method("PUT").query_contains("partNumber=2"));
    proxy.add(Rule::new(Fault::Status(500)).method("PUT").query_contains("partNumber=3").times(2));
    proxy.add(Rule::new(Fault::Status(503)).method("POST").query_contains("uploads"));
    let data = random_bytes(3 * PART + 17, 5);
    let out = run_timeout(
        env.with_endpoint(&proxy.endpoint()).cmd("s3put").args(["-v", &format!("s3://{bucket}/k")]),
        Some(&data),
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(proxy.injected(), 4);
    assert!(proxy.count("PUT", "partNumber=3") >= 3);
    assert_eq!(sha(&env.get_object(&bucket, "k")), sha(&data));
});

s3_test!(fn dropped_connections_and_stalls_are_retried(env) {
    let bucket = env.new_bucket("s3put-drop");
    let proxy = FaultProxy::for_s3(&env);
    proxy.add(Rule::new(Fault::DropMidRequestBody).method("PUT").query_contains("partNumber=1"));
    proxy.add(Rule::new(Fault::Stall(Duration::from_secs(6))).method("PUT").query_contains("partNumber=2"));
    proxy.add(Rule::new(Fault::DropMidRequestBody).method("PUT").path_contains("/single"));
    let data = random_bytes(2 * PART + 1, 6);
    let out = run_timeout(
        env.with_endpoint(&proxy.endpoint()).cmd("s3put").args(["--timeout", "2", &format!("s3://{bucket}/k")]),
        Some(&data),
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sha(&env.get_object(&bucket, "k")), sha(&data));
    let small = random_bytes(1000, 8);
    let out = run(env.with_endpoint(&proxy.endpoint()).cmd("s3put").arg(format!("s3://{bucket}/single")), Some(&small));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.get_object(&bucket, "single"), small);
    assert_eq!(proxy.injected(), 3);
});

s3_test!(fn persistent_failure_aborts_the_upload_and_leaves_nothing(env) {
    let bucket = env.new_bucket("s3put-fail");
    let proxy = FaultProxy::for_s3(&env);
    proxy.add(Rule::new(Fault::Status(500)).method("PUT").query_contains("partNumber=2").always());
    let out = run_timeout(
        env.with_endpoint(&proxy.endpoint()).cmd("s3put").args(["--retries", "2", &format!("s3://{bucket}/k")]),
        Some(&random_bytes(3 * PART, 4)),
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("part 2"), "{}", stderr(&out));
    assert!(env.list_keys(&bucket).is_empty());
    assert!(env.list_uploads(&bucket).is_empty(), "the failed upload was not aborted");
});

s3_test!(fn tls_with_private_ca_works_and_untrusted_certificates_are_refused(env) {
    let bucket = env.new_bucket("s3put-tls");
    let tls = TlsTerminator::for_s3(&env);
    let https = env.with_endpoint(&tls.endpoint());
    let data = random_bytes(2 * PART + 3, 12);

    let out = run_timeout(
        https.cmd("s3put").args(["--ca-bundle", tls.ca_pem().to_str().unwrap(), &format!("s3://{bucket}/t")]),
        Some(&data),
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sha(&env.get_object(&bucket, "t")), sha(&data));

    // AWS_CA_BUNDLE works the same way.
    let out = run(https.cmd("s3put").env("AWS_CA_BUNDLE", tls.ca_pem()).arg(format!("s3://{bucket}/t2")), Some(b"x"));
    assert!(out.status.success(), "{}", stderr(&out));

    // Untrusted: without the CA, and with an unrelated CA.
    for ca in [None, Some(tls.other_ca_pem())] {
        let mut cmd = https.cmd("s3put");
        cmd.env_remove("AWS_CA_BUNDLE");
        if let Some(ca) = &ca {
            cmd.args(["--ca-bundle", ca.to_str().unwrap()]);
        }
        let out = run(cmd.arg(format!("s3://{bucket}/u")), Some(b"x"));
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        let msg = stderr(&out);
        assert!(msg.contains("certificate") && msg.contains("--ca-bundle"), "{msg}");
    }
    assert!(env.try_get_object(&bucket, "u").is_none());
});

s3_test!(fn profile_files_and_credential_process(env) {
    let bucket = env.new_bucket("s3put-prof");
    let dir = TempDir::new("s3put-prof");
    let creds = dir.join("credentials");
    let config = dir.join("config");
    std::fs::write(
        &creds,
        format!("[backup]\naws_access_key_id = {}\naws_secret_access_key = {}\n", env.key_id, env.secret),
    )
    .unwrap();
    let helper = dir.join("creds.sh");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nprintf '{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\"}}'\n",
            env.key_id, env.secret
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(
        &config,
        format!(
            "[profile backup]\nregion = {region}\nendpoint_url = {ep}\ns3 =\n  addressing_style = path\n\n[profile proc]\nregion = {region}\nendpoint_url = {ep}\ncredential_process = {}\n",
            helper.display(),
            ep = env.endpoint,
            region = env.region
        ),
    )
    .unwrap();
    for profile in ["backup", "proc"] {
        let mut cmd = common::bare_cmd("s3put");
        cmd.env("AWS_SHARED_CREDENTIALS_FILE", &creds).env("AWS_CONFIG_FILE", &config);
        let out = run(cmd.args(["--profile", profile, "-v", &format!("s3://{bucket}/{profile}")]), Some(b"p"));
        assert!(out.status.success(), "profile {profile}: {}", stderr(&out));
        assert!(!stderr(&out).contains(&env.secret));
    }
    let out = run(
        common::bare_cmd("s3put").env("AWS_SHARED_CREDENTIALS_FILE", &creds).env("AWS_CONFIG_FILE", &config).args([
            "--profile",
            "nosuch",
            &format!("s3://{bucket}/x"),
        ]),
        Some(b"p"),
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("nosuch"));
});

// ---------------------------------------------------------------------------------------------
// What a server refuses or ignores: refused before any request, or caught by verification.

/// One line on stderr, the exit status, and `needle` in it.
fn fails_with(out: &std::process::Output, code: i32, needle: &str) {
    let msg = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{msg}");
    assert_eq!(msg.trim_end().lines().count(), 1, "one line expected: {msg}");
    assert!(msg.contains(needle), "{needle:?} not in: {msg}");
}

/// Runs s3put -j 1 with 5 MiB parts through `proxy` (and `tls` in front of it when given),
/// answering part 3 only after 30 s; returns (output, seconds taken).
fn stalled_third_part(
    env: &common::S3Env,
    proxy: &FaultProxy,
    tls: Option<&TlsTerminator>,
    bucket: &str,
    key: &str,
) -> (std::process::Output, f64) {
    let stall = Rule::new(Fault::Stall(Duration::from_secs(30))).method("PUT").path_contains(&format!("/{key}"));
    proxy.add(stall.query_contains("partNumber=3&"));
    let (via, ca) = match tls {
        Some(t) => {
            (env.with_endpoint(&t.endpoint()), vec!["--ca-bundle".to_string(), t.ca_pem().display().to_string()])
        }
        None => (env.with_endpoint(&proxy.endpoint()), vec![]),
    };
    let t = Instant::now();
    let out = run_timeout(
        via.cmd("s3put")
            .args(&ca)
            .args(["-j", "1", "--part-size", "5M", "--timeout", "2", "--retries", "0"])
            .arg(format!("s3://{bucket}/{key}")),
        Some(&random_bytes(16 << 20, 21)),
        Duration::from_secs(60),
    );
    (out, t.elapsed().as_secs_f64())
}

/// A request sent on a kept-alive connection is bounded by --timeout like one on a new
/// connection, over http and over https: ureq 2 clears the socket timeouts of a connection
/// it takes back into its pool, and lib/http/connection.rs sets them again for each request.
/// With -j 1 every part goes on the one connection; part 3's answer is held for 30 s, and
/// s3put must give up after about 2 s with a one-line error naming the timeout (no OS error
/// text, no URL), then abort the upload.
#[test]
fn a_stalled_answer_on_a_reused_connection_times_out() {
    let env = s3_env();
    let bucket = env.new_bucket("s3put-reuse");
    let proxy = FaultProxy::for_s3(&env);
    let tls = TlsTerminator::start(proxy.addr());
    for (name, t) in [("http", None), ("https", Some(&tls))] {
        let (out, secs) = stalled_third_part(&env, &proxy, t, &bucket, name);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(4), "{name}: {err}");
        assert!(secs < 20.0, "{name}: s3put took {secs:.1}s with --timeout 2 against a 30 s stall: {err}");
        let last = err.lines().last().unwrap_or("");
        assert!(last.contains("no data from the server within the idle timeout (--timeout 2 s)"), "{name}: {last}");
        assert!(!err.contains("os error") && !err.contains("http://") && !err.contains("https://"), "{name}: {err}");
        assert!(env.list_uploads(&bucket).is_empty(), "{name}: the upload was not aborted: {err}");
    }
    assert!(env.list_keys(&bucket).is_empty());
}

s3_test!(
    /// SIGTERM while s3put waits for input, with its parts stored and none on the wire: the
    /// upload is aborted exactly once (one DELETE, which succeeds), and nothing is said about a
    /// second abort's 404, even at -vv (issue #13, bug 8).
    fn sigterm_aborts_the_upload_exactly_once(env) {
        let bucket = env.new_bucket("s3put-abort1");
        let proxy = FaultProxy::for_s3(&env);
        let via = env.with_endpoint(&proxy.endpoint());
        let mut child = spawn_streaming(via.cmd("s3put").args(["-vv", "--part-size", "5M", &format!("s3://{bucket}/k")]));
        let mut stdin = child.stdin.take().unwrap();
        // Two whole parts and the start of a third, which never completes.
        stdin.write_all(&random_bytes(12 << 20, 31)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "the two parts were not stored");
            if let Some(u) = env.list_uploads(&bucket).first() {
                let out = env.oracle(&["parts", &bucket, "k", &u.upload_id], None);
                if String::from_utf8_lossy(&out.stdout).trim() == "2" {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Let the answers of the two parts reach s3put.
        std::thread::sleep(Duration::from_secs(1));
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = common::wait_deadline(&mut child, Duration::from_secs(60));
        drop(stdin);
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(143), "{err}");
        let aborts = proxy.requests().iter().filter(|r| r.method == "DELETE" && r.query().contains("uploadId=")).count();
        assert_eq!(aborts, 1, "AbortMultipartUpload sent {aborts} times: {err}");
        assert!(env.list_uploads(&bucket).is_empty(), "the upload is still there: {err}");
        assert_eq!(err.matches("aborted the multipart upload").count(), 1, "{err}");
        assert!(!err.contains("404") && !err.contains("NoSuchUpload"), "{err}");
    }
);

s3_test!(fn header_values_http_cannot_carry_are_refused_before_any_request(env) {
    // Bug: these were retried 5 times (~4 s) as "server or network error", exit 4.
    let bucket = env.new_bucket("s3put-hdr");
    let proxy = FaultProxy::for_s3(&env);
    let via = env.with_endpoint(&proxy.endpoint());
    let url = format!("s3://{bucket}/k");
    for (args, flag) in [
        (["--metadata", "k=café"], "--metadata"),
        (["--metadata", "k=a\r\nb"], "--metadata"),
        (["--content-type", "text/plain;charset=é"], "--content-type"),
        (["--content-type", "a\r\nX-Injected: 1"], "--content-type"),
        (["--storage-class", "STANDARD\t"], "--storage-class"),
        (["--sse-kms-key-id", "clé"], "--sse-kms-key-id"),
    ] {
        let mut cmd = via.cmd("s3put");
        if flag == "--sse-kms-key-id" {
            cmd.args(["--sse", "aws:kms"]);
        }
        let out = run(cmd.args(args).arg(&url), Some(b"data"));
        fails_with(&out, 2, flag);
        assert!(!stderr(&out).contains("attempt"), "{}", stderr(&out));
    }
    // S3's 2 KB of user metadata (Garage and Ceph take more; AWS refuses it after the stream
    // has started): refused up front, counting the part plan s3put adds.
    let big = format!("k={}", "v".repeat(2000));
    let out = run(via.cmd("s3put").args(["--metadata", big.as_str()]).arg(&url), Some(b"data"));
    fails_with(&out, 2, "2048");
    assert!(stderr(&out).contains("part plan"), "{}", stderr(&out));
    assert!(proxy.requests().is_empty(), "requests were sent: {:?}", proxy.requests());
    assert!(env.try_get_object(&bucket, "k").is_none());
});

/// Runs s3put through a FaultProxy and returns the names of the x-amz-checksum-* headers
/// its requests carried (besides the upload itself, checked by the oracle).
fn upload_with_checksum(env: &S3Env, bucket: &str, key: &str, data: &[u8], extra: &[&str]) -> Vec<String> {
    let proxy = FaultProxy::for_s3(env);
    let out = run_timeout(
        env.with_endpoint(&proxy.endpoint())
            .cmd("s3put")
            .args(extra)
            .args(["--part-size", "5M"])
            .arg(format!("s3://{bucket}/{key}")),
        Some(data),
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{key} {extra:?}: {}", stderr(&out));
    assert_eq!(sha(&env.get_object(bucket, key)), sha(data), "{key}");
    let mut names: Vec<String> = proxy
        .requests()
        .iter()
        .flat_map(|r| r.headers.iter().map(|(k, _)| k.to_ascii_lowercase()).filter(|h| h.starts_with("x-amz-checksum")))
        .collect();
    names.sort();
    names.dedup();
    names
}

s3_test!(fn every_checksum_algorithm_uploads_single_and_multipart(env) {
    // Bug: only SHA256 was accepted, and --help did not say so.
    let bucket = env.new_bucket("s3put-cksum");
    let small = random_bytes(1000, 21);
    let big = random_bytes((11 << 20) + 5, 22);
    for algo in ["crc32", "crc32c", "crc64nvme", "sha1", "sha256", "CRC32C"] {
        let lower = algo.to_ascii_lowercase();
        let sent = upload_with_checksum(&env, &bucket, &format!("{algo}-small"), &small, &["--checksum", algo]);
        assert_eq!(sent, [format!("x-amz-checksum-{lower}")], "single PUT with {algo}");
        let sent = upload_with_checksum(&env, &bucket, &format!("{algo}-big"), &big, &["--checksum", algo]);
        assert!(sent.contains(&format!("x-amz-checksum-{lower}")), "parts with {algo}: {sent:?}");
        assert!(sent.contains(&"x-amz-checksum-algorithm".to_string()), "CreateMultipartUpload with {algo}: {sent:?}");
    }
    // Never without --checksum.
    assert!(upload_with_checksum(&env, &bucket, "plain-small", &small, &[]).is_empty());
    assert!(upload_with_checksum(&env, &bucket, "plain-big", &big, &[]).is_empty());
    assert!(env.list_uploads(&bucket).is_empty());
});

fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// The checksum S3 stores for `parts` of one object: the digest itself for one PUT; for a
/// multipart upload the digest of the part digests, `-N` (COMPOSITE), except CRC64NVME, which
/// is always the whole object's CRC (FULL_OBJECT).
fn expected_checksum(algo: &str, parts: &[&[u8]], single: bool) -> String {
    use crc_fast::CrcAlgorithm as A;
    let digest = |d: &[u8]| -> Vec<u8> {
        match algo {
            "crc32" => (crc_fast::checksum(A::Crc32IsoHdlc, d) as u32).to_be_bytes().to_vec(),
            "crc32c" => (crc_fast::checksum(A::Crc32Iscsi, d) as u32).to_be_bytes().to_vec(),
            "crc64nvme" => crc_fast::checksum(A::Crc64Nvme, d).to_be_bytes().to_vec(),
            "sha1" => <sha1::Sha1 as sha1::Digest>::digest(d).to_vec(),
            "sha256" => Sha256::digest(d).to_vec(),
            _ => panic!("{algo}"),
        }
    };
    if single || algo == "crc64nvme" {
        return b64(&digest(&parts.concat()));
    }
    let joined: Vec<u8> = parts.iter().flat_map(|p| digest(p)).collect();
    format!("{}-{}", b64(&digest(&joined)), parts.len())
}

// Ceph RGW 16 accepts x-amz-checksum-* headers without checking or storing them: only Garage
// can show that the values sent are the ones the server computes.
s3_test!(only garage: fn the_server_keeps_the_checksums_it_verified(env) {
    let bucket = env.new_bucket("s3put-cksum-kept");
    let small = random_bytes(1000, 23);
    let big = random_bytes((11 << 20) + 5, 24);
    let big_parts: Vec<&[u8]> = big.chunks(5 << 20).collect();
    for algo in ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"] {
        for (name, data, single) in [("small", &small, true), ("big", &big, false)] {
            let key = format!("{algo}-{name}");
            upload_with_checksum(&env, &bucket, &key, data, &["--checksum", algo]);
            let head = env.head_object_with_checksum(&bucket, &key).expect("stored");
            let parts: Vec<&[u8]> = if single { vec![&small[..]] } else { big_parts.clone() };
            let want = expected_checksum(algo, &parts, single);
            let got = head.headers.get(&format!("x-amz-checksum-{algo}")).cloned().unwrap_or_default();
            // A server may leave the "-N" suffix off a composite value.
            assert!(got == want || want.starts_with(&format!("{got}-")), "{key}: stored {got:?}, expected {want:?}");
        }
    }
});

s3_test!(fn addressing_style_auto_uses_path_for_ip_endpoints_and_virtual_is_refused(env) {
    // Bug: both failed with "invalid URL (InvalidIpv4Address)", exit 3; -vv showed no URL.
    let bucket = env.new_bucket("s3put-addr");
    let proxy = FaultProxy::for_s3(&env);
    let via = env.with_endpoint(&proxy.endpoint());
    let out = run(via.cmd("s3put").args(["--addressing-style", "auto", "-vv", &format!("s3://{bucket}/auto")]), Some(b"a"));
    assert!(out.status.success(), "{}", stderr(&out));
    let msg = stderr(&out);
    assert!(msg.contains(&format!("PUT {}/{bucket}/auto", proxy.endpoint())), "no request line with the URL: {msg}");
    assert!(msg.contains(&format!("HEAD {}/{bucket}/auto", proxy.endpoint())), "{msg}");
    assert!(!msg.contains(&env.secret) && !msg.contains("Signature="), "a secret in -vv: {msg}");
    assert_eq!(env.get_object(&bucket, "auto"), b"a");

    // localhost is no DNS name a bucket can be prefixed to either.
    let local = format!("http://localhost:{}", proxy.addr().port());
    let out = run(
        via.cmd("s3put").args(["--endpoint", &local, "--addressing-style", "auto", &format!("s3://{bucket}/lh")]),
        Some(b"l"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.get_object(&bucket, "lh"), b"l");

    let before = proxy.requests().len();
    for endpoint in [proxy.endpoint(), local] {
        let out = run(
            via.cmd("s3put").args(["--endpoint", &endpoint, "--addressing-style", "virtual", &format!("s3://{bucket}/v")]),
            Some(b"v"),
        );
        fails_with(&out, 2, "--addressing-style virtual");
        assert!(stderr(&out).contains("path"), "{}", stderr(&out));
    }
    assert_eq!(proxy.requests().len(), before, "a request was sent with an impossible addressing style");
});

s3_test!(fn invalid_bucket_names_are_usage_errors(env) {
    // Bug: exit 4, "server or network error". (Garage says InvalidRequest, Ceph InvalidBucketName.)
    let name = common::unique_bucket_name("bad").replace('-', "_");
    let out = run(env.cmd("s3put").args(["--create-bucket", &format!("s3://{name}/k")]), Some(b"x"));
    fails_with(&out, 2, &name);
    assert!(stderr(&out).contains("bucket name"), "no hint: {}", stderr(&out));
});

// Garage accepts any storage class, ignores SSE headers (see the encryption tests) and puts a
// new bucket in its own region whatever the request says: these refusals are Ceph's.
s3_test!(only ceph: fn refused_storage_class_sse_and_location_are_user_errors(env) {
    // Bug: all exit 4 with Ceph's empty messages; the KMS key id was blamed on AWS_ACCESS_KEY_ID.
    let bucket = env.new_bucket("s3put-refused");
    let url = format!("s3://{bucket}/k");
    let out = run(env.cmd("s3put").args(["--storage-class", "BOGUS", &url]), Some(b"x"));
    fails_with(&out, 2, "--storage-class BOGUS");
    let out = run(env.cmd("s3put").args(["--sse", "aws:kms", &url]), Some(b"x"));
    fails_with(&out, 2, "--sse aws:kms");
    let out = run(env.cmd("s3put").args(["--sse", "aws:kms", "--sse-kms-key-id", "nope", &url]), Some(b"x"));
    fails_with(&out, 2, "--sse-kms-key-id nope");
    assert!(!stderr(&out).contains("AWS_ACCESS_KEY_ID"), "{}", stderr(&out));
    let fresh = format!("{bucket}-new");
    let out = run(env.cmd("s3put").args(["--create-bucket", "--region", "eu-west-1", &format!("s3://{fresh}/k")]), Some(b"x"));
    fails_with(&out, 3, "eu-west-1");
    assert!(env.try_get_object(&bucket, "k").is_none());
    assert!(env.list_uploads(&bucket).is_empty());
});

s3_test!(fn a_failed_command_that_printed_nothing_is_named(env) {
    // Bug: "no input ... pass --allow-empty", blaming the input instead of the command.
    let bucket = env.new_bucket("s3put-cmdfail");
    for (argv, status) in [
        (vec!["false"], "exit status: 1"),
        (vec!["sh", "-c", "exit 3"], "exit status: 3"),
        (vec!["sh", "-c", "kill -TERM $$"], "signal: 15"),
    ] {
        let out = run(env.cmd("s3put").arg(format!("s3://{bucket}/k")).arg("--").args(&argv), None);
        fails_with(&out, 1, status);
        assert!(stderr(&out).contains(&format!("{:?}", argv[0])), "{}", stderr(&out));
        assert!(!stderr(&out).contains("--allow-empty"), "{}", stderr(&out));
    }
    assert!(env.list_keys(&bucket).is_empty());
});

/// s3put with `args` must fail verification (exit 5) naming `needle`, and leave nothing.
fn ignored_setting_fails(env: &S3Env, args: &[&str], needle: &str) {
    let bucket = env.new_bucket("s3put-ignored");
    for (key, len) in [("single", 1000), ("multi", (11 << 20) + 1)] {
        let out = run_timeout(
            env.cmd("s3put").args(args).args(["--part-size", "5M", &format!("s3://{bucket}/{key}")]),
            Some(&random_bytes(len, 31)),
            Duration::from_secs(120),
        );
        fails_with(&out, 5, needle);
        assert!(env.try_get_object(&bucket, key).is_none(), "{key}: the unencrypted object was kept");
    }
    assert!(env.list_uploads(&bucket).is_empty());
}

// Neither test server has SSE-S3 (Ceph 16 lacks it and ignores the header; Garage ignores
// every SSE header): asking for it must not store plaintext as a success.
s3_test!(fn encryption_the_server_ignores_fails_verification_and_leaves_nothing(env) {
    // Bug: exit 0, the object stored in clear.
    ignored_setting_fails(&env, &["--sse", "AES256"], "--sse AES256");
});

// Garage ignores SSE-KMS as well; Ceph has a KMS (see the next test).
s3_test!(only garage: fn kms_encryption_the_server_ignores_fails_verification(env) {
    ignored_setting_fails(&env, &["--sse", "aws:kms", "--sse-kms-key-id", "some-key"], "--sse aws:kms");
});

// Ceph's test KMS backend encrypts for real: the positive case of the check.
s3_test!(only ceph: fn kms_encryption_is_verified_and_kept(env) {
    let bucket = env.new_bucket("s3put-kms");
    let kms = env.kms_key();
    for (key, len) in [("single", 1000), ("multi", (11 << 20) + 1)] {
        let data = random_bytes(len, 32);
        let out = run_timeout(
            env.cmd("s3put").args(["--sse", "aws:kms", "--sse-kms-key-id", &kms, "--part-size", "5M", &format!("s3://{bucket}/{key}")]),
            Some(&data),
            Duration::from_secs(120),
        );
        assert!(out.status.success(), "{key}: {}", stderr(&out));
        let head = env.head_object(&bucket, key).expect("stored");
        assert_eq!(head.headers.get("x-amz-server-side-encryption").map(String::as_str), Some("aws:kms"), "{key}");
        assert_eq!(sha(&env.get_object(&bucket, key)), sha(&data), "{key}");
    }
});
