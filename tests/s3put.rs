//! s3put against the real Garage: round trips, refusal of empty input, signals, credentials,
//! region correction, unreachable endpoints, retries through the fault proxy, and TLS.

mod common;

use common::{random_bytes, run, run_timeout, s3_env, Fault, FaultProxy, Rule, TempDir, TlsTerminator};
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
fn round_trip(len: usize, extra: &[&str]) {
    let env = s3_env();
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

#[test]
fn round_trip_one_byte() {
    round_trip(1, &[]);
}

#[test]
fn round_trip_exactly_one_part() {
    round_trip(PART, &[]);
}

#[test]
fn round_trip_one_part_plus_one() {
    round_trip(PART + 1, &[]);
}

#[test]
fn round_trip_300_mib() {
    round_trip(300 << 20, &["-j", "4"]);
}

#[test]
fn round_trip_fixed_part_size_and_one_job() {
    round_trip(12 << 20, &["--part-size", "5M", "-j", "1"]);
}

#[test]
fn empty_input_is_refused_and_allow_empty_stores_zero_bytes() {
    let env = s3_env();
    let bucket = env.new_bucket("s3put-empty");
    let out = run(env.cmd("s3put").arg(format!("s3://{bucket}/e")), Some(b""));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let msg = stderr(&out);
    assert!(msg.contains("--allow-empty") && msg.lines().count() == 1, "{msg}");
    assert!(env.list_keys(&bucket).is_empty());

    let out = run(env.cmd("s3put").args(["--allow-empty", &format!("s3://{bucket}/e")]), Some(b""));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.head_object(&bucket, "e").expect("object stored").size, 0);
}

#[test]
fn json_result_and_metadata() {
    let env = s3_env();
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
}

#[test]
fn create_bucket_flag_creates_missing_and_accepts_existing() {
    let env = s3_env();
    let bucket = common::unique_bucket_name("s3put-cb");
    for _ in 0..2 {
        let out = run(env.cmd("s3put").args(["--create-bucket", &format!("s3://{bucket}/k")]), Some(b"x"));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(env.get_object(&bucket, "k"), b"x");
}

/// Starts s3put reading from a pipe we control.
fn spawn_streaming(cmd: &mut Command) -> std::process::Child {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn s3put")
}

fn signal_mid_upload(sig: i32, expected_code: i32) {
    let env = s3_env();
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

#[test]
fn sigterm_mid_upload_leaves_nothing() {
    signal_mid_upload(libc::SIGTERM, 143);
}

#[test]
fn sigint_mid_upload_leaves_nothing() {
    signal_mid_upload(libc::SIGINT, 130);
}

#[test]
fn sighup_while_waiting_for_input_leaves_nothing() {
    // The pipe stays open and silent: s3put is blocked in read(2), and must still react.
    signal_mid_upload(libc::SIGHUP, 129);
}

#[test]
fn wrong_secret_is_a_one_line_credential_error() {
    let env = s3_env();
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
}

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

#[test]
fn wrong_region_is_corrected_and_said_under_verbose() {
    let env = s3_env();
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
}

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

#[test]
fn slowdown_and_server_errors_on_parts_are_retried() {
    let env = s3_env();
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
}

#[test]
fn dropped_connections_and_stalls_are_retried() {
    let env = s3_env();
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
}

#[test]
fn persistent_failure_aborts_the_upload_and_leaves_nothing() {
    let env = s3_env();
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
}

#[test]
fn tls_with_private_ca_works_and_untrusted_certificates_are_refused() {
    let env = s3_env();
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
}

#[test]
fn profile_files_and_credential_process() {
    let env = s3_env();
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
            "[profile backup]\nregion = garage\nendpoint_url = {ep}\ns3 =\n  addressing_style = path\n\n[profile proc]\nregion = garage\nendpoint_url = {ep}\ncredential_process = {}\n",
            helper.display(),
            ep = env.endpoint
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
