//! Tests of the test infrastructure itself, against the real Garage and Ceph RGW: the scripts,
//! the Python oracle, the fault proxy and the TLS terminator. If these fail, no other S3 test
//! means much.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{random_bytes, run, s3_env, s3_env_for, Fault, FaultProxy, Rule, S3Env, Server, TlsTerminator, REPO};

// ---- a minimal raw HTTP/1.1 client, to see exactly what the proxy puts on the wire --------

struct RawResp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The body ended before its declared length.
    short: bool,
}

fn connect(addr: std::net::SocketAddr) -> (BufReader<TcpStream>, TcpStream) {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    (BufReader::new(s.try_clone().unwrap()), s)
}

fn read_resp(r: &mut BufReader<TcpStream>, head_request: bool) -> RawResp {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    let mut short = false;
    if !head_request {
        if let Some(len) = get("content-length") {
            let len: usize = len.parse().unwrap();
            r.by_ref().take(len as u64).read_to_end(&mut body).unwrap();
            short = body.len() < len;
        } else if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
            loop {
                let mut size = String::new();
                r.read_line(&mut size).unwrap();
                let n = usize::from_str_radix(size.trim(), 16).unwrap();
                let mut chunk = vec![0; n + 2];
                r.read_exact(&mut chunk).unwrap();
                body.extend_from_slice(&chunk[..n]);
                if n == 0 {
                    break;
                }
            }
        } else {
            r.read_to_end(&mut body).unwrap();
        }
    }
    RawResp { status, headers, body, short }
}

fn is_closed(r: &mut BufReader<TcpStream>) -> bool {
    let mut b = [0u8; 1];
    matches!(r.read(&mut b), Ok(0) | Err(_))
}

fn host(addr: std::net::SocketAddr) -> String {
    addr.to_string()
}

// ---- the scripts and the oracle against the real servers ------------------------------------

s3_test!(fn oracle_puts_lists_gets_heads_and_deletes(env) {
    let b = env.new_bucket("infra-oracle");
    assert!(env.list_objects(&b).is_empty());

    let big = random_bytes(3 * 1024 * 1024 + 7, 1);
    let keys = ["a/b/c.bin", "with space & ünïcode+plus.txt", "z"];
    env.put_object(&b, keys[0], &big);
    env.put_object(&b, keys[1], b"hello");
    env.put_object(&b, keys[2], b"");

    let listed = env.list_objects(&b);
    let mut names: Vec<_> = listed.iter().map(|o| o.key.as_str()).collect();
    names.sort();
    assert_eq!(names, keys);
    let sizes: Vec<_> = keys.iter().map(|k| listed.iter().find(|o| o.key == *k).unwrap().size).collect();
    assert_eq!(sizes, [big.len() as u64, 5, 0]);

    assert_eq!(env.get_object(&b, keys[0]), big);
    assert_eq!(env.get_object(&b, keys[1]), b"hello");
    assert_eq!(env.get_object(&b, keys[2]), b"");
    let head = env.head_object(&b, keys[1]).expect("head");
    assert_eq!(head.size, 5);
    assert_eq!(head.etag, "5d41402abc4b2a76b9719d911017c592"); // md5("hello")

    env.delete_object(&b, keys[1]);
    assert_eq!(env.try_get_object(&b, keys[1]), None);
    assert!(env.head_object(&b, keys[1]).is_none());
    assert_eq!(env.list_objects(&b).len(), 2);
});

s3_test!(fn oracle_lists_every_page(env) {
    let b = env.new_bucket("infra-pages");
    for i in 0..7 {
        env.put_object(&b, &format!("k{i}"), b"x");
    }
    // Small pages force the continuation-token path the 1000-key default would hide; the
    // proxy counts the pages.
    let proxy = FaultProxy::for_s3(&env);
    let via = env.with_endpoint(&proxy.endpoint());
    let out = via.oracle_ok(&["list", &b, "--max-keys", "3"], None);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let keys: Vec<_> = v.as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap().to_string()).collect();
    assert_eq!(keys, ["k0", "k1", "k2", "k3", "k4", "k5", "k6"]);
    assert_eq!(proxy.count("GET", "list-type=2"), 3);

    let ids: Vec<_> = (0..3).map(|i| env.create_upload(&b, &format!("u{i}"))).collect();
    let out = via.oracle_ok(&["uploads", &b, "--max-keys", "2"], None);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(proxy.count("GET", "uploads"), 2);
    for (i, id) in ids.iter().enumerate() {
        env.abort_upload(&b, &format!("u{i}"), id);
    }
});

s3_test!(fn oracle_sees_in_progress_multipart_uploads(env) {
    let b = env.new_bucket("infra-uploads");
    assert!(env.list_uploads(&b).is_empty());
    let id = env.create_upload(&b, "big/object");
    let ups = env.list_uploads(&b);
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0].key, "big/object");
    assert_eq!(ups[0].upload_id, id);
    env.abort_upload(&b, "big/object", &id);
    assert!(env.list_uploads(&b).is_empty());
});

s3_test!(fn oracle_lists_odd_keys_and_their_uploads_verbatim(env) {
    // The oracle asks for no encoding-type, so every server sends keys as they are (Ceph's
    // url-encoded upload listing, issue #13, cannot leak into the tests' view).
    let b = env.new_bucket("infra-oddkeys");
    let keys = ["a b", "caf\u{e9}", "pct%41", "plus+sign", "q?x=1&y", "tilde~"];
    let mut ids = Vec::new();
    for k in keys {
        env.put_object(&b, k, k.as_bytes());
        ids.push(env.create_upload(&b, k));
    }
    assert_eq!(env.list_keys(&b), keys);
    for k in keys {
        assert_eq!(env.get_object(&b, k), k.as_bytes());
    }
    // Garage does not list uploads in key order (Ceph and AWS do): compare as sets.
    let mut listed: Vec<_> = env.list_uploads(&b).into_iter().map(|u| (u.key, u.upload_id)).collect();
    listed.sort();
    let expected: Vec<_> = keys.iter().map(|k| k.to_string()).zip(ids.iter().cloned()).collect();
    assert_eq!(listed, expected);
    for (k, id) in keys.iter().zip(&ids) {
        env.abort_upload(&b, k, id);
    }
    assert!(env.list_uploads(&b).is_empty());
});

#[test]
fn ceph_server_script_reports_running_and_prints_its_env() {
    let env = s3_env_for(Server::Ceph);
    let script = format!("{REPO}/scripts/ceph-server");
    let status = run(Command::new(&script).arg("status"), None);
    assert!(status.status.success(), "ceph-server status: {}", String::from_utf8_lossy(&status.stdout));
    let out = run(Command::new(&script).arg("env"), None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("SLUICE_TEST_CEPH_ENDPOINT='{}'", env.endpoint)), "{text}");
    assert!(text.contains(&format!("SLUICE_TEST_CEPH_KEY_ID='{}'", env.key_id)), "{text}");
    assert!(!text.contains("SLUICE_TEST_S3_"), "Garage's variables are Garage's: {text}");

    // The admin CLI reaches the same cluster and knows the test user.
    let out = env.radosgw_admin(&["user", "info", "--uid", "sluice-test"]);
    assert!(out.status.success(), "radosgw-admin: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&env.key_id));
}

#[test]
fn ceph_rejects_wrong_secret_but_accepts_any_signing_region() {
    // Unlike Garage, radosgw takes any region in the signature's scope: a test of sluice's
    // region handling means something on Garage only.
    let env = s3_env_for(Server::Ceph);
    let b = env.new_bucket("infra-ceph-strict");
    let other_region = S3Env { region: "us-east-1".into(), ..env.clone() };
    other_region.oracle_ok(&["list", &b], None);
    let wrong_secret = S3Env { secret: "0".repeat(40), ..env.clone() };
    let out = wrong_secret.oracle(&["list", &b], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("403 SignatureDoesNotMatch"), "{err}");
}

#[test]
fn garage_server_script_reports_running_and_creates_buckets() {
    let env = s3_env();
    let script = format!("{REPO}/scripts/garage-server");
    let status = run(Command::new(&script).arg("status"), None);
    assert!(status.status.success(), "garage-server status: {}", String::from_utf8_lossy(&status.stdout));

    let name = common::unique_bucket_name("infra-cli");
    let out = run(Command::new(&script).args(["bucket", &name]), None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    env.put_object(&name, "k", b"v");
    assert_eq!(env.get_object(&name, "k"), b"v");

    // The printed environment is the one the tests use.
    let out = run(Command::new(&script).arg("env"), None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("SLUICE_TEST_S3_ENDPOINT='{}'", env.endpoint)), "{text}");
    assert!(text.contains(&format!("SLUICE_TEST_S3_KEY_ID='{}'", env.key_id)), "{text}");
}

#[test]
fn garage_rejects_wrong_region_and_wrong_secret() {
    // The server is strict, so tests of our signer and region handling mean something.
    let env = s3_env();
    let b = env.new_bucket("infra-strict");
    let wrong_region = S3Env { region: "us-east-1".into(), ..env.clone() };
    let out = wrong_region.oracle(&["list", &b], None);
    assert!(!out.status.success());
    let wrong_secret = S3Env { secret: "0".repeat(64), ..env.clone() };
    let out = wrong_secret.oracle(&["list", &b], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("403"), "{}", String::from_utf8_lossy(&out.stderr));
}

s3_test!(fn sluice_cmd_is_hermetic(env) {
    // `env` is not a sluice binary, but bare_cmd's environment handling is what matters here;
    // build the same environment around /usr/bin/env to print it.
    let mut cmd = env.cmd_for_path("/usr/bin/env");
    cmd.env("AWS_PROFILE", "leak");
    let out = run(&mut cmd, None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("AWS_ENDPOINT_URL={}", env.endpoint)));
    assert!(text.contains(&format!("AWS_ACCESS_KEY_ID={}", env.key_id)));
    assert!(text.contains(&format!("AWS_REGION={}", env.region)));
    assert!(text.contains("AWS_PROFILE=leak"), "a test may still set its own AWS_* variables");
    let home = text.lines().find_map(|l| l.strip_prefix("HOME=")).unwrap();
    assert!(home.ends_with("sluice-empty-home"), "{home}");
});

// ---- the fault proxy ------------------------------------------------------------------------

s3_test!(fn proxy_passes_signed_traffic_and_counts_it(env) {
    let b = env.new_bucket("infra-proxy");
    let proxy = FaultProxy::for_s3(&env);
    let via = env.with_endpoint(&proxy.endpoint());
    let data = random_bytes(5 * 1024 * 1024, 2);
    via.put_object(&b, "obj", &data);
    assert_eq!(via.get_object(&b, "obj"), data);
    assert_eq!(via.list_keys(&b), ["obj"]);
    assert_eq!(env.get_object(&b, "obj"), data, "direct read agrees");
    assert_eq!(proxy.count("PUT", &format!("/{b}/obj")), 1);
    assert_eq!(proxy.count("GET", &format!("/{b}/obj")), 1);
    assert_eq!(proxy.count("GET", "list-type=2"), 1);
    assert_eq!(proxy.injected(), 0);
});

#[test]
fn proxy_keeps_connections_alive_and_frames_chunked_bodies() {
    let env = s3_env();
    let proxy = FaultProxy::for_s3(&env);
    let (mut r, mut w) = connect(proxy.addr());
    let h = host(proxy.addr());
    // Unsigned requests: Garage answers each with an error, which is all the framing needs.
    write!(w, "GET /nobucket/a HTTP/1.1\r\nHost: {h}\r\n\r\n").unwrap();
    let a = read_resp(&mut r, false);
    write!(w, "PUT /nobucket/b HTTP/1.1\r\nHost: {h}\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
    write!(w, "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n").unwrap();
    let b = read_resp(&mut r, false);
    write!(w, "PUT /nobucket/c HTTP/1.1\r\nHost: {h}\r\nContent-Length: 3\r\n\r\nabc").unwrap();
    let c = read_resp(&mut r, false);
    write!(w, "HEAD /nobucket/d HTTP/1.1\r\nHost: {h}\r\n\r\n").unwrap();
    let d = read_resp(&mut r, true);
    for resp in [&a, &b, &c, &d] {
        assert!((400..500).contains(&resp.status), "status {}", resp.status);
        assert!(!resp.short);
    }
    let targets: Vec<_> = proxy.requests().iter().map(|s| format!("{} {}", s.method, s.target)).collect();
    assert_eq!(targets, ["GET /nobucket/a", "PUT /nobucket/b", "PUT /nobucket/c", "HEAD /nobucket/d"]);
}

#[test]
fn proxy_relays_signed_chunked_upload() {
    let env = s3_env();
    let b = env.new_bucket("infra-chunked");
    let proxy = FaultProxy::for_s3(&env);
    let via = env.with_endpoint(&proxy.endpoint());
    let data = random_bytes(300 * 1024 + 3, 3);
    via.oracle_ok(&["put", &b, "chunked", "--chunked"], Some(&data));
    assert_eq!(env.get_object(&b, "chunked"), data);
}

#[test]
fn proxy_answers_nth_matching_request_with_slowdown_then_passes() {
    let env = s3_env();
    let b = env.new_bucket("infra-503");
    env.put_object(&b, "k", b"payload");
    let proxy = FaultProxy::for_s3(&env);
    proxy.add(Rule::new(Fault::Status(503)).method("GET").path_contains("/k").nth(2));
    assert_eq!(proxy.pending(), 1);
    let via = env.with_endpoint(&proxy.endpoint());
    assert_eq!(via.get_object(&b, "k"), b"payload");
    let out = via.oracle(&["get", &b, "k"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HTTP 503 SlowDown"), "{err}");
    assert_eq!(via.get_object(&b, "k"), b"payload", "armed once, so the retry passes");
    assert_eq!(proxy.count("GET", "/k"), 3);
    assert_eq!(proxy.injected(), 1);
    assert_eq!(proxy.pending(), 0);
    let seen = proxy.requests();
    assert_eq!(seen[1].fault, Some(Fault::Status(503)));
}

#[test]
fn proxy_matches_on_query_and_keeps_connection_after_injected_error() {
    let env = s3_env();
    let proxy = FaultProxy::for_s3(&env);
    proxy.add(Rule::new(Fault::Status(500)).method("PUT").query_contains("partNumber=").nth(2).times(2));
    let (mut r, mut w) = connect(proxy.addr());
    let h = host(proxy.addr());
    let mut statuses = Vec::new();
    for (i, target) in [
        "/b/k?partNumber=1&uploadId=x",
        "/b/k",
        "/b/k?partNumber=2&uploadId=x",
        "/b/k?partNumber=3&uploadId=x",
        "/b/k?partNumber=4&uploadId=x",
    ]
    .iter()
    .enumerate()
    {
        write!(w, "PUT {target} HTTP/1.1\r\nHost: {h}\r\nContent-Length: 4\r\n\r\npart").unwrap();
        let resp = read_resp(&mut r, false);
        if resp.status == 500 {
            let body = String::from_utf8_lossy(&resp.body);
            assert!(body.contains("<Code>InternalError</Code>"), "request {i}: {body}");
        }
        statuses.push(resp.status == 500);
    }
    assert_eq!(statuses, [false, false, true, true, false]);
    assert_eq!(proxy.count("PUT", "partNumber="), 4);
}

#[test]
fn proxy_drops_mid_request_body() {
    let env = s3_env();
    let b = env.new_bucket("infra-dropreq");
    let proxy = FaultProxy::for_s3(&env);
    proxy.add(Rule::new(Fault::DropMidRequestBody).method("PUT"));
    let via = env.with_endpoint(&proxy.endpoint());
    let data = random_bytes(4 * 1024 * 1024, 4);
    let out = via.oracle(&["put", &b, "k"], Some(&data));
    assert!(!out.status.success(), "the upload must fail");
    assert_eq!(env.try_get_object(&b, "k"), None, "nothing reached the server");
    via.put_object(&b, "k", &data);
    assert_eq!(env.get_object(&b, "k"), data);
    assert_eq!(proxy.count("PUT", "/k"), 2);
}

#[test]
fn proxy_closes_before_response_after_server_acted() {
    let env = s3_env();
    let b = env.new_bucket("infra-closeresp");
    let proxy = FaultProxy::for_s3(&env);
    proxy.add(Rule::new(Fault::CloseBeforeResponse).method("PUT"));
    let via = env.with_endpoint(&proxy.endpoint());
    let out = via.oracle(&["put", &b, "k"], Some(b"done anyway"));
    assert!(!out.status.success(), "the client sees no answer");
    assert_eq!(env.get_object(&b, "k"), b"done anyway", "but the server stored it");
}

#[test]
fn proxy_drops_and_truncates_response_bodies() {
    let env = s3_env();
    let b = env.new_bucket("infra-dropresp");
    let data = random_bytes(1024 * 1024, 5);
    env.put_object(&b, "k", &data);
    let proxy = FaultProxy::for_s3(&env);
    proxy.add(Rule::new(Fault::DropMidResponseBody).method("GET"));
    let via = env.with_endpoint(&proxy.endpoint());
    let out = via.oracle(&["get", &b, "k"], None);
    assert!(!out.status.success(), "a short body must be an error");
    assert_eq!(via.get_object(&b, "k"), data);

    // On the wire: the head, then exactly the allowed bytes, then EOF.
    proxy.add(Rule::new(Fault::TruncateResponseBody(10)));
    let (mut r, mut w) = connect(proxy.addr());
    write!(w, "GET /{b}/k HTTP/1.1\r\nHost: {}\r\n\r\n", host(proxy.addr())).unwrap();
    let resp = read_resp(&mut r, false);
    assert!(resp.short);
    assert_eq!(resp.body.len(), 10);
    assert!(resp.headers.iter().any(|(k, _)| k == "content-length"));
    assert!(is_closed(&mut r));
}

#[test]
fn proxy_stalls_past_client_timeout() {
    let env = s3_env();
    let b = env.new_bucket("infra-stall");
    env.put_object(&b, "k", b"slow");
    let proxy = FaultProxy::for_s3(&env);
    proxy.add(Rule::new(Fault::Stall(Duration::from_secs(3))).method("GET"));
    let via = env.with_endpoint(&proxy.endpoint());
    let t = Instant::now();
    let out = via.oracle(&["--timeout", "0.5", "get", &b, "k"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("timed out") || err.contains("Timeout"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(3), "the client gave up, not the proxy");
    assert_eq!(via.get_object(&b, "k"), b"slow");
}

#[test]
fn proxy_stalls_mid_response_body() {
    let env = s3_env();
    let b = env.new_bucket("infra-stallbody");
    let data = random_bytes(256 * 1024, 6);
    env.put_object(&b, "k", &data);
    let proxy = FaultProxy::for_s3(&env);
    proxy.add(Rule::new(Fault::StallMidResponseBody(Duration::from_millis(1500))));
    let via = env.with_endpoint(&proxy.endpoint());
    let t = Instant::now();
    assert_eq!(via.get_object(&b, "k"), data, "a patient client gets everything");
    assert!(t.elapsed() >= Duration::from_millis(1500));
    let out = via.oracle(&["--timeout", "0.5", "get", &b, "k"], None);
    assert!(out.status.success(), "armed once");
}

#[test]
fn proxy_relays_expect_100_continue() {
    // curl signs with SigV4 itself and sends Expect: 100-continue for uploads: a third,
    // independent client through the proxy.
    let env = s3_env();
    let b = env.new_bucket("infra-expect");
    let proxy = FaultProxy::for_s3(&env);
    let dir = common::TempDir::new("expect");
    let data = random_bytes(2 * 1024 * 1024, 7);
    std::fs::write(dir.join("body"), &data).unwrap();
    let out = run(
        Command::new("curl")
            .args(["-sS", "-f", "--noproxy", "*", "--max-time", "30"])
            .args(["--aws-sigv4", "aws:amz:garage:s3"])
            .arg("--user")
            .arg(format!("{}:{}", env.key_id, env.secret))
            .args(["-H", "Expect: 100-continue", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
            .arg("-T")
            .arg(dir.join("body"))
            .arg(format!("{}/{b}/k", proxy.endpoint())),
        None,
    );
    assert!(out.status.success(), "curl: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(env.get_object(&b, "k"), data);
}

// ---- the TLS terminator -------------------------------------------------------------------

fn curl_tls(url: &str, cacert: Option<&std::path::Path>) -> (Option<i32>, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--noproxy", "*", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}"]);
    // Only the CA the test names may be trusted.
    cmd.env_remove("CURL_CA_BUNDLE").env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
    if let Some(ca) = cacert {
        cmd.arg("--cacert").arg(ca);
    }
    let out = run(cmd.arg(url), None);
    (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
}

#[test]
fn tls_terminator_serves_with_its_ca_only() {
    let env = s3_env();
    let tls = TlsTerminator::for_s3(&env);
    let (code, http) = curl_tls(&format!("{}/", tls.endpoint()), Some(&tls.ca_pem()));
    assert_eq!(code, Some(0));
    assert!(http.starts_with('2') || http.starts_with('4'), "HTTP {http}");
    let (code, _) = curl_tls(&format!("{}/", tls.localhost_endpoint()), Some(&tls.ca_pem()));
    assert_eq!(code, Some(0), "the certificate names localhost too");

    // curl exit 60: peer certificate cannot be authenticated with known CA certificates.
    let (code, _) = curl_tls(&format!("{}/", tls.endpoint()), Some(&tls.other_ca_pem()));
    assert_eq!(code, Some(60));
    let (code, _) = curl_tls(&format!("{}/", tls.endpoint()), None);
    assert_eq!(code, Some(60));
}

s3_test!(fn tls_terminator_carries_signed_traffic(env) {
    let b = env.new_bucket("infra-tls");
    let tls = TlsTerminator::for_s3(&env);
    let via = env.with_endpoint(&tls.endpoint());
    let ca = tls.ca_pem();
    let ca = ca.to_str().unwrap();
    let data = random_bytes(6 * 1024 * 1024 + 1, 8);
    via.oracle_ok(&["--cacert", ca, "put", &b, "k"], Some(&data));
    assert_eq!(via.oracle_ok(&["--cacert", ca, "get", &b, "k"], None), data);
    assert_eq!(env.get_object(&b, "k"), data);
    let out = via.oracle(&["--cacert", tls.other_ca_pem().to_str().unwrap(), "list", &b], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CERTIFICATE_VERIFY_FAILED"));
});

#[test]
fn tls_terminator_can_front_the_fault_proxy() {
    let env = s3_env();
    let b = env.new_bucket("infra-tls-proxy");
    env.put_object(&b, "k", b"through both");
    let proxy = FaultProxy::for_s3(&env);
    proxy.add(Rule::new(Fault::Status(503)).method("GET"));
    let tls = TlsTerminator::start(proxy.addr());
    let via = env.with_endpoint(&tls.endpoint());
    let ca = tls.ca_pem();
    let out = via.oracle(&["--cacert", ca.to_str().unwrap(), "get", &b, "k"], None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("503 SlowDown"));
    assert_eq!(via.oracle_ok(&["--cacert", ca.to_str().unwrap(), "get", &b, "k"], None), b"through both");
}
