//! swift-slo-put, swift-ls and swift-get against real OpenStack Swift and Keystone, started by
//! `scripts/swift-server start` (see `scripts/test-servers`). A missing server fails the tests.
//! v2 auth is tested on the documented Keystone v2.0 answer (Keystone 22 has no v2).

mod common;

use common::{Fault, FaultProxy, Rule};
use md5::{Digest as _, Md5};
use serde_json::Value;
use sluice::swift::auth::{self, Interface};
use std::io::{Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

fn var(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("Swift is not running: run `make test` (scripts/swift-server start); {name} is not set"),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Auth {
    /// tempauth on the main proxy.
    V1,
    /// tempauth on the proxy with max_manifest_segments = 10 and short-lived tokens.
    Small,
    /// Keystone v3 password auth, Swift behind authtoken + keystoneauth.
    V3,
}

fn auth_env(auth: Auth) -> Vec<(String, String)> {
    let kv = |k: &str, v: String| (k.to_string(), v);
    match auth {
        Auth::V1 => vec![
            kv("ST_AUTH", var("SLUICE_TEST_SWIFT_AUTH_V1")),
            kv("ST_USER", var("SLUICE_TEST_SWIFT_USER")),
            kv("ST_KEY", var("SLUICE_TEST_SWIFT_KEY")),
        ],
        Auth::Small => vec![
            kv("ST_AUTH", var("SLUICE_TEST_SWIFT_SMALL_AUTH_V1")),
            kv("ST_USER", var("SLUICE_TEST_SWIFT_SMALL_USER")),
            kv("ST_KEY", var("SLUICE_TEST_SWIFT_SMALL_KEY")),
        ],
        Auth::V3 => vec![
            kv("OS_AUTH_URL", var("SLUICE_TEST_KEYSTONE_URL")),
            kv("OS_USERNAME", var("SLUICE_TEST_KEYSTONE_USER")),
            kv("OS_PASSWORD", var("SLUICE_TEST_KEYSTONE_PASSWORD")),
            kv("OS_PROJECT_NAME", var("SLUICE_TEST_KEYSTONE_PROJECT")),
            kv("OS_USER_DOMAIN_NAME", var("SLUICE_TEST_KEYSTONE_DOMAIN")),
            kv("OS_PROJECT_DOMAIN_NAME", var("SLUICE_TEST_KEYSTONE_DOMAIN")),
            kv("OS_IDENTITY_API_VERSION", "3".into()),
        ],
    }
}

/// A command with no inherited Swift or OpenStack variables.
fn clean(program: &str) -> Command {
    let mut c = Command::new(program);
    for (k, _) in std::env::vars() {
        if k.starts_with("ST_") || k.starts_with("OS_") {
            c.env_remove(k);
        }
    }
    c
}

fn bin(name: &str, auth: Auth) -> Command {
    let path = match name {
        "swift-slo-put" => env!("CARGO_BIN_EXE_swift-slo-put"),
        "swift-ls" => env!("CARGO_BIN_EXE_swift-ls"),
        "swift-get" => env!("CARGO_BIN_EXE_swift-get"),
        _ => unreachable!(),
    };
    let mut c = clean(path);
    c.envs(auth_env(auth));
    c
}

/// python-swiftclient's `swift` command.
fn swift_cli(auth: Auth) -> Command {
    let mut c = clean("swift");
    c.envs(auth_env(auth)).args(["--timeout", "60"]);
    c
}

fn unique(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() % 1_000_000_000;
    format!("{name}-{}-{t}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// Deterministic, incompressible bytes.
fn data(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(n);
    v
}

fn run_with_input(mut c: Command, input: &[u8]) -> Output {
    let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().unwrap();
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn put(auth: Auth, container: &str, object: &str, input: &[u8], extra: &[&str]) -> Output {
    let mut c = bin("swift-slo-put", auth);
    c.args(["--create-container", "--json"]).args(extra).args([container, object]);
    run_with_input(c, input)
}

fn put_ok(auth: Auth, container: &str, object: &str, input: &[u8], extra: &[&str]) -> Value {
    let out = put(auth, container, object, input, extra);
    assert!(out.status.success(), "swift-slo-put {container}/{object} failed: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--json output")
}

fn get(auth: Auth, container: &str, object: &str) -> Output {
    let mut c = bin("swift-get", auth);
    c.args([container, object]).stdin(Stdio::null());
    c.output().expect("swift-get")
}

fn get_ok(auth: Auth, container: &str, object: &str) -> Vec<u8> {
    let out = get(auth, container, object);
    assert!(out.status.success(), "swift-get {container}/{object} failed: {}", text(&out.stderr));
    out.stdout
}

/// HEAD through python-swiftclient: the headers as a lower-case map.
fn stat(auth: Auth, container: &str, object: &str) -> Option<std::collections::HashMap<String, String>> {
    let out = swift_cli(auth).args(["stat", container, object]).output().expect("swift stat");
    if !out.status.success() {
        return None;
    }
    Some(
        text(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect(),
    )
}

fn list(auth: Auth, container: &str, prefix: &str) -> Vec<String> {
    let out = swift_cli(auth).args(["list", container, "--prefix", prefix]).output().expect("swift list");
    if !out.status.success() {
        return Vec::new(); // no such container: nothing in it
    }
    text(&out.stdout).lines().map(str::to_string).collect()
}

fn md5_hex(b: &[u8]) -> String {
    hex::encode(Md5::digest(b))
}

fn round_trip(auth: Auth, sizes: &[usize], seg: usize) {
    let c = unique("rt");
    for (i, &n) in sizes.iter().enumerate() {
        let obj = format!("obj/{n}");
        let input = data(n, i as u64 + 7);
        let res = put_ok(auth, &c, &obj, &input, &["-S", &seg.to_string()]);
        assert_eq!(res["size"], n as u64);
        let back = get_ok(auth, &c, &obj);
        assert!(back == input, "{auth:?} {n} bytes: swift-get returned different bytes");
        let head = stat(auth, &c, &obj).expect("stat");
        if n > seg {
            assert_eq!(res["segments"], n.div_ceil(seg) as u64);
            assert!(head.contains_key("manifest") || head.contains_key("x-static-large-object"), "{head:?}");
        } else {
            assert_eq!(head.get("etag").map(String::as_str), Some(md5_hex(&input).as_str()));
        }
    }
}

#[test]
fn v1_round_trips_1b_one_segment_and_one_more() {
    round_trip(Auth::V1, &[1, MIB, MIB + 1], MIB);
}

#[test]
fn v3_round_trips_1b_one_segment_and_one_more() {
    round_trip(Auth::V3, &[1, MIB, MIB + 1], MIB);
}

/// Streams `size` generated bytes into swift-slo-put and back out of swift-get, comparing MD5s.
fn big_round_trip(auth: Auth, size: usize) {
    let c = unique("big");
    let mut child = bin("swift-slo-put", auth)
        .args(["--create-container", "-S", "16M", "-j", "4", &c, "big.bin"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut sent = Md5::new();
    let mut left = size;
    let mut seed = 1;
    while left > 0 {
        let chunk = data(left.min(4 * MIB), seed);
        seed += 1;
        sent.update(&chunk);
        stdin.write_all(&chunk).unwrap();
        left -= chunk.len();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut child =
        bin("swift-get", auth).args([&c, "big.bin"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut got = Md5::new();
    let mut buf = vec![0u8; MIB];
    let mut n = 0;
    loop {
        let r = stdout.read(&mut buf).unwrap();
        if r == 0 {
            break;
        }
        got.update(&buf[..r]);
        n += r;
    }
    let st = child.wait_with_output().unwrap();
    assert!(st.status.success(), "{}", text(&st.stderr));
    assert_eq!(n, size);
    assert_eq!(hex::encode(got.finalize()), hex::encode(sent.finalize()));
    // 300 MiB per run would pile up in the test cluster.
    let _ = swift_cli(auth).args(["delete", &c]).output();
    let _ = swift_cli(auth).args(["delete", &format!("{c}_segments")]).output();
}

#[test]
fn v1_round_trip_300_mib() {
    big_round_trip(Auth::V1, 300 * MIB);
}

#[test]
fn v3_round_trip_300_mib() {
    big_round_trip(Auth::V3, 300 * MIB);
}

#[test]
fn nested_manifests_round_trip_and_verify() {
    assert_eq!(var("SLUICE_TEST_SWIFT_SMALL_MAX_MANIFEST_SEGMENTS"), "10");
    let c = unique("nest");
    // 25 segments of 64 KiB: three sub-manifests under one top manifest.
    let input = data(25 * 65536 - 100, 3);
    let res = put_ok(Auth::Small, &c, "two-levels", &input, &["-S", "64K", "-j", "3"]);
    assert_eq!(res["segments"], 25);
    assert!(get_ok(Auth::Small, &c, "two-levels") == input);
    // 150 segments: 15 sub-manifests, 2 above them, then the top: three levels.
    let input = data(150 * 4096, 4);
    let res = put_ok(Auth::Small, &c, "three-levels", &input, &["-S", "4K", "-j", "8"]);
    assert_eq!(res["segments"], 150);
    assert!(get_ok(Auth::Small, &c, "three-levels") == input);
    let head = stat(Auth::Small, &c, "three-levels").unwrap();
    assert_eq!(head.get("content length").map(String::as_str), Some("614400"), "{head:?}");
    // python-swiftclient reads the nested SLO too.
    let out = swift_cli(Auth::Small).args(["download", &c, "three-levels", "-o", "-"]).output().unwrap();
    assert!(out.status.success() && out.stdout == input, "swift download: {}", text(&out.stderr));
}

#[test]
fn a_token_expiring_mid_upload_is_renewed() {
    let life: u64 = var("SLUICE_TEST_SWIFT_SMALL_TOKEN_LIFE").parse().unwrap();
    let c = unique("expiry");
    let mut child = bin("swift-slo-put", Auth::Small)
        .args(["--create-container", "-v", "-S", "256K", "-j", "2", &c, "slow"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = data(16 * 256 * 1024, 9);
    // Feed it slowly so the stream outlives the token (this is pacing, not a timing assertion).
    let pause = Duration::from_millis(life * 1000 * 2 / 16 + 100);
    for chunk in input.chunks(256 * 1024) {
        stdin.write_all(chunk).unwrap();
        std::thread::sleep(pause);
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("authenticating again"), "the token never expired during the upload: {err}");
    assert!(get_ok(Auth::Small, &c, "slow") == input);
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !f() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn killed_mid_stream(sig: i32) {
    let c = unique("kill");
    let mut child: Child = bin("swift-slo-put", Auth::V1)
        .args(["--create-container", "-S", "1M", "-j", "2", &c, "victim"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&data(5 * MIB, 5)).unwrap();
    let segs = format!("{c}_segments");
    wait_for("segments to appear", || list(Auth::V1, &segs, "victim/").len() >= 2);
    unsafe { libc::kill(child.id() as i32, sig) };
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(out.status.code(), Some(128 + sig), "{}", text(&out.stderr));
    assert!(list(Auth::V1, &segs, "victim/").is_empty(), "segments left behind");
    assert!(stat(Auth::V1, &c, "victim").is_none(), "a manifest was written");
}

#[test]
fn sigterm_mid_stream_leaves_nothing() {
    killed_mid_stream(libc::SIGTERM);
}

#[test]
fn sigint_mid_stream_leaves_nothing() {
    killed_mid_stream(libc::SIGINT);
}

#[test]
fn interoperates_with_python_swiftclient() {
    let c = unique("interop");
    // Ours, downloaded by swiftclient.
    let input = data(3 * MIB + 17, 11);
    put_ok(Auth::V1, &c, "ours", &input, &["-S", "1M"]);
    let out = swift_cli(Auth::V1).args(["download", &c, "ours", "-o", "-"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout == input, "swift download differs");
    // swiftclient's SLO from stdin, read by swift-get.
    let input = data(3 * MIB + 5, 12);
    let mut up = swift_cli(Auth::V1);
    up.args(["upload", "--use-slo", "-S", "1048576", "--object-name", "theirs", &c, "-"]);
    let out = run_with_input(up, &input);
    assert!(out.status.success(), "swift upload: {}", text(&out.stderr));
    assert!(get_ok(Auth::V1, &c, "theirs") == input);
    // Our segment names are the ones swiftclient gives stdin uploads.
    let segs = list(Auth::V1, &format!("{c}_segments"), "ours/");
    let re = regex::Regex::new(r"^ours/slo/\d+\.\d{6}/1048576/\d{8}$").unwrap();
    assert_eq!(segs.len(), 4);
    assert!(segs.iter().all(|s| re.is_match(s)), "{segs:?}");
    // A DLO made by swiftclient from a file.
    let dir = std::env::temp_dir().join(unique("dlo"));
    std::fs::write(&dir, &input).unwrap();
    let out =
        swift_cli(Auth::V1).args(["upload", "-S", "1048576", "--object-name", "dlo", &c]).arg(&dir).output().unwrap();
    let _ = std::fs::remove_file(&dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(get_ok(Auth::V1, &c, "dlo") == input);
    // Replacing that DLO removes its segments, as swiftclient would.
    let dlo_segs = list(Auth::V1, &format!("{c}_segments"), "dlo/");
    assert_eq!(dlo_segs.len(), 4, "{dlo_segs:?}");
    put_ok(Auth::V1, &c, "dlo", b"small now", &[]);
    assert!(list(Auth::V1, &format!("{c}_segments"), "dlo/").is_empty());
}

#[test]
fn overwriting_deletes_old_segments_unless_asked_not_to() {
    let c = unique("over");
    let segs = format!("{c}_segments");
    put_ok(Auth::V1, &c, "o", &data(3 * MIB, 1), &["-S", "1M"]);
    assert_eq!(list(Auth::V1, &segs, "o/").len(), 3);
    let input = data(2 * MIB + 1, 2);
    put_ok(Auth::V1, &c, "o", &input, &["-S", "1M"]);
    assert_eq!(list(Auth::V1, &segs, "o/").len(), 3, "the old segments are still there");
    assert!(get_ok(Auth::V1, &c, "o") == input);
    put_ok(Auth::V1, &c, "o", &data(2 * MIB + 2, 3), &["-S", "1M", "--leave-segments"]);
    assert_eq!(list(Auth::V1, &segs, "o/").len(), 6);
    // Nested: the old sub-manifests and their segments go too.
    let segs_small = format!("{c}_segments");
    put_ok(Auth::Small, &c, "n", &data(25 * 4096, 4), &["-S", "4K"]);
    assert!(list(Auth::Small, &segs_small, "n/").len() > 25);
    let input = data(3 * 4096, 5);
    put_ok(Auth::Small, &c, "n", &input, &["-S", "4K"]);
    assert_eq!(list(Auth::Small, &segs_small, "n/").len(), 3);
    assert!(get_ok(Auth::Small, &c, "n") == input);
}

#[test]
fn empty_input_is_refused_unless_allowed() {
    let c = unique("empty");
    let out = put(Auth::V1, &c, "nothing", b"", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--allow-empty"));
    assert!(stat(Auth::V1, &c, "nothing").is_none());
    put_ok(Auth::V1, &c, "nothing", b"", &["--allow-empty"]);
    assert_eq!(get_ok(Auth::V1, &c, "nothing"), b"");
}

#[test]
fn errors_name_what_to_fix_with_the_documented_exit_codes() {
    let c = unique("errors");
    // Missing container without --create-container: 7.
    let mut cmd = bin("swift-slo-put", Auth::V1);
    cmd.args([&c, "x"]);
    let out = run_with_input(cmd, b"abc");
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--create-container"));
    assert_eq!(get(Auth::V1, &c, "x").status.code(), Some(7));
    let out = bin("swift-ls", Auth::V1).arg(&c).output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    // Wrong v1 key: 3, and the key is not printed.
    let out = bin("swift-ls", Auth::V1).env("ST_KEY", "wrong-key-zz").output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("wrong-key-zz"));
    assert_eq!(text(&out.stderr).lines().count(), 1);
    // Wrong Keystone password: 3.
    let out = bin("swift-ls", Auth::V3).env("OS_PASSWORD", "wrong-pass-zz").output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("wrong-pass-zz"));
    // No credentials at all: 3.
    let out = clean(env!("CARGO_BIN_EXE_swift-ls")).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("ST_AUTH"));
}

#[test]
fn unknown_region_lists_the_regions_there_are() {
    let out = bin("swift-ls", Auth::V3).env("OS_REGION_NAME", "Atlantis").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(err.contains("Atlantis") && err.contains("RegionOne") && err.contains("RegionTwo"), "{err}");
    let out = bin("swift-ls", Auth::V3).args(["--region", "RegionTwo", "--interface", "internal"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn keystone_token() -> (String, Value) {
    let url = auth::v3_tokens_url(&var("SLUICE_TEST_KEYSTONE_URL"));
    let body = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": var("SLUICE_TEST_KEYSTONE_USER"), "domain": {"name": var("SLUICE_TEST_KEYSTONE_DOMAIN")},
        "password": var("SLUICE_TEST_KEYSTONE_PASSWORD")}}},
        "scope": {"project": {"name": var("SLUICE_TEST_KEYSTONE_PROJECT"), "domain": {"name": var("SLUICE_TEST_KEYSTONE_DOMAIN")}}}}});
    let resp = ureq::post(&url)
        .timeout(Duration::from_secs(60))
        .set("Content-Type", "application/json")
        .send_string(&body.to_string())
        .expect("keystone auth");
    let token = resp.header("X-Subject-Token").unwrap().to_string();
    (token, serde_json::from_str(&resp.into_string().unwrap()).unwrap())
}

#[test]
fn keystone_application_credentials_work() {
    let (token, body) = keystone_token();
    let user = body["token"]["user"]["id"].as_str().unwrap();
    let base = var("SLUICE_TEST_KEYSTONE_URL");
    let resp = ureq::post(&format!("{}/users/{user}/application_credentials", base.trim_end_matches('/')))
        .timeout(Duration::from_secs(60))
        .set("X-Auth-Token", &token)
        .set("Content-Type", "application/json")
        .send_string(&serde_json::json!({"application_credential": {"name": unique("sluice-test")}}).to_string())
        .expect("create application credential")
        .into_string()
        .unwrap();
    let resp: Value = serde_json::from_str(&resp).unwrap();
    let id = resp["application_credential"]["id"].as_str().unwrap();
    let secret = resp["application_credential"]["secret"].as_str().unwrap();
    let c = unique("appcred");
    let mut cmd = clean(env!("CARGO_BIN_EXE_swift-slo-put"));
    cmd.env("OS_AUTH_URL", base.clone())
        .env("OS_APPLICATION_CREDENTIAL_ID", id)
        .env("OS_APPLICATION_CREDENTIAL_SECRET", secret)
        .args(["--create-container", "-vv", &c, "o"]);
    let out = run_with_input(cmd, b"hello");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains(secret), "the secret leaked into -vv output");
    assert_eq!(get_ok(Auth::V3, &c, "o"), b"hello");
}

/// A v1 token and storage URL for the main proxy, straight from tempauth.
fn v1_token() -> (String, String) {
    let resp = ureq::get(&var("SLUICE_TEST_SWIFT_AUTH_V1"))
        .timeout(Duration::from_secs(30))
        .set("X-Auth-User", &var("SLUICE_TEST_SWIFT_USER"))
        .set("X-Auth-Key", &var("SLUICE_TEST_SWIFT_KEY"))
        .call()
        .unwrap();
    (resp.header("X-Auth-Token").unwrap().to_string(), resp.header("X-Storage-Url").unwrap().to_string())
}

#[test]
fn pre_authenticated_storage_url_and_token() {
    let (token, storage) = v1_token();
    let c = unique("preauth");
    put_ok(Auth::V1, &c, "p", b"pre", &[]);
    let out = clean(env!("CARGO_BIN_EXE_swift-get"))
        .env("OS_STORAGE_URL", &storage)
        .env("OS_AUTH_TOKEN", &token)
        .args(["-vv", &c, "p"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"pre");
    assert!(!text(&out.stderr).contains(&token), "the token leaked into -vv output");
    let out = clean(env!("CARGO_BIN_EXE_swift-ls"))
        .env("OS_STORAGE_URL", &storage)
        .env("OS_AUTH_TOKEN", "bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

#[test]
fn secrets_stay_out_of_verbose_output() {
    let c = unique("secret");
    let out = put(Auth::V1, &c, "s", &data(MIB + 3, 1), &["-vv", "-S", "512K"]);
    assert!(out.status.success());
    let err = text(&out.stderr);
    assert!(!err.contains(&var("SLUICE_TEST_SWIFT_KEY")) || var("SLUICE_TEST_SWIFT_KEY").len() < 4);
    let out = put(Auth::V3, &c, "s", b"x", &["-vv"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains(&var("SLUICE_TEST_KEYSTONE_PASSWORD")));
}

#[test]
fn segments_inherit_the_containers_storage_policy() {
    let c = unique("policy");
    let out = swift_cli(Auth::V1).args(["post", "-H", "X-Storage-Policy: silver", &c]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    put_ok(Auth::V1, &c, "p", &data(2 * MIB, 1), &["-S", "1M"]);
    let out = swift_cli(Auth::V1).args(["stat", &format!("{c}_segments")]).output().unwrap();
    assert!(text(&out.stdout).contains("silver"), "{}", text(&out.stdout));
}

#[test]
fn swift_ls_lists_filters_and_paginates() {
    let c = unique("ls");
    for name in ["a/1", "a/2", "b/3", "c"] {
        put_ok(Auth::V1, &c, name, name.as_bytes(), &[]);
    }
    let ls = |args: &[&str]| {
        let out = bin("swift-ls", Auth::V1).args(args).output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(ls(&[&c]), "a/1\na/2\nb/3\nc\n");
    assert_eq!(ls(&["--page-size", "1", &c]), "a/1\na/2\nb/3\nc\n");
    assert_eq!(ls(&[&format!("{c}/a/")]), "a/1\na/2\n");
    assert_eq!(ls(&["-0", &format!("{c}/a/")]), "a/1\0a/2\0");
    assert_eq!(ls(&["-d", "/", &c]), "a/\nb/\nc\n");
    assert_eq!(ls(&["--match", "^[ab]/", "--exclude", "2$", &c]), "a/1\nb/3\n");
    assert_eq!(ls(&["--older-than", "1d", &c]), "");
    assert_eq!(ls(&["--newer-than", "1d", &c]).lines().count(), 4);
    // The size filters are s3ls's (shared flags): "a/1" is 3 bytes, "c" is 1.
    assert_eq!(ls(&["--min-size", "2", &c]), "a/1\na/2\nb/3\n");
    assert_eq!(ls(&["--max-size", "1", "--newer-than", "1d", &c]), "c\n");
    assert_eq!(ls(&["-d", "/", "--exclude", "^a", &c]), "b/\nc\n");
    // Time and size need objects: on the container listing they are a usage error (exit 2).
    let out = bin("swift-ls", Auth::V1).args(["--min-size", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("CONTAINER"), "{}", text(&out.stderr));
    // A missing container is named, one line, exit 7 (not found).
    let missing = format!("{c}-missing");
    let out = bin("swift-ls", Auth::V1).arg(format!("{missing}/x")).output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("container \"{missing}\" does not exist")) && err.lines().count() == 1, "{err}");
    let long = ls(&["-l", &format!("{c}/b")]);
    assert!(long.contains(" 3 ") || long.contains("3 20"), "{long}");
    assert!(long.contains(&md5_hex(b"b/3")), "{long}");
    let j: Vec<Value> = ls(&["--json", &c]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(j.len(), 4);
    assert_eq!(j[3]["name"], "c");
    assert_eq!(j[3]["bytes"], 1);
    assert!(ls(&[]).lines().any(|l| l == c), "the account listing lacks {c}");
}

#[test]
fn swift_get_stops_quietly_when_the_reader_closes() {
    let c = unique("early");
    put_ok(Auth::V1, &c, "big", &data(8 * MIB, 3), &["-S", "1M"]);
    let mut child =
        bin("swift-get", Auth::V1).args([&c, "big"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    out.read_exact(&mut first).unwrap();
    drop(out);
    let res = child.wait_with_output().unwrap();
    assert_eq!(res.status.code(), Some(141));
    assert_eq!(text(&res.stderr), "");
    // A full disk (/dev/full) is an I/O error: exit 6, one line, for swift-get and swift-ls.
    for (tool, args) in [("swift-get", vec![c.as_str(), "big"]), ("swift-ls", vec![c.as_str()])] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let res = bin(tool, Auth::V1).args(&args).stdout(full).output().unwrap();
        let err = text(&res.stderr);
        assert_eq!(res.status.code(), Some(6), "{tool}: {err}");
        assert!(err.contains("No space left on device") && err.lines().count() == 1, "{tool}: {err}");
    }
}

// --- v2 on the documented Keystone v2.0 answer -------------------------------------------

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/swift/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn v2_documented_response_gives_token_and_storage_url() {
    let body = fixture("v2-authenticate-response.json");
    let s = auth::parse_v2_response(&body, None, Interface::Public).unwrap();
    assert_eq!(s.token.expose(), "aaaaa-bbbbb-ccccc-dddd");
    assert_eq!(s.storage_url, "http://23.253.72.207:8080/v1/AUTH_fc394f2ab2df4114bde39905f800dc57");
    let s = auth::parse_v2_response(&body, Some("RegionOne"), Interface::Internal).unwrap();
    assert_eq!(s.storage_url, "http://23.253.72.207:8080/v1/AUTH_fc394f2ab2df4114bde39905f800dc57");
    let s = auth::parse_v2_response(&body, None, Interface::Admin).unwrap();
    assert_eq!(s.storage_url, "http://23.253.72.207:8080");
    let e = auth::parse_v2_response(&body, Some("GRA"), Interface::Public).unwrap_err();
    assert_eq!(e.kind(), sluice::ErrorKind::Config);
    assert!(e.message().contains("RegionOne"), "{}", e.message());
}

#[test]
fn v2_regions_and_interfaces() {
    let body = fixture("v2-two-regions.json");
    let s = auth::parse_v2_response(&body, Some("SBG"), Interface::Public).unwrap();
    assert_eq!(s.storage_url, "https://storage.sbg.example/v1/AUTH_t1");
    let s = auth::parse_v2_response(&body, Some("GRA"), Interface::Internal).unwrap();
    assert_eq!(s.storage_url, "http://10.0.0.1/v1/AUTH_t1");
    let e = auth::parse_v2_response(&body, Some("BHS"), Interface::Public).unwrap_err();
    assert!(e.message().contains("GRA, SBG"), "{}", e.message());
    assert!(!format!("{s:?}").contains("tok-two-regions"), "Debug shows the token");
}

// --- a connection cut mid-download ----------------------------------------------------------

/// A TCP relay to the real Swift proxy that cuts the first connection carrying more than
/// `cut_after` bytes towards the client: a network failure in the middle of a GET.
fn cutting_relay(upstream: std::net::SocketAddr, cut_after: usize) -> std::net::SocketAddr {
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let cut_done = Arc::new(AtomicBool::new(false));
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(10)) else { continue };
            for s in [&client, &server] {
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
            }
            let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_read, &mut s_write);
                let _ = s_write.shutdown(Shutdown::Write);
            });
            let cut_done = Arc::clone(&cut_done);
            std::thread::spawn(move || {
                let (mut s_read, mut c_write) = (server, client);
                let mut buf = vec![0u8; 64 << 10];
                let mut sent = 0;
                loop {
                    let n = match s_read.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    // Cut inside this chunk, so the client is in the middle of a body.
                    if sent + n > cut_after && !cut_done.swap(true, Ordering::SeqCst) {
                        let _ = c_write.write_all(&buf[..cut_after - sent]);
                        let _ = c_write.shutdown(Shutdown::Both);
                        let _ = s_read.shutdown(Shutdown::Both);
                        break;
                    }
                    if c_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n;
                }
                let _ = c_write.shutdown(Shutdown::Write);
            });
        }
    });
    addr
}

#[test]
fn swift_get_resumes_a_cut_connection() {
    let c = unique("resume");
    let input = data(6 * MIB + 3, 21);
    put_ok(Auth::V1, &c, "slo", &input, &["-S", "1M"]);
    put_ok(Auth::V1, &c, "plain", &input, &["-S", "16M"]);
    let (token, storage) = v1_token();
    let rest = storage.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    for obj in ["slo", "plain"] {
        let relay = cutting_relay(host.parse().unwrap(), 2 * MIB + 300 * 1024);
        let out = clean(env!("CARGO_BIN_EXE_swift-get"))
            .env("OS_STORAGE_URL", format!("http://{relay}/{path}"))
            .env("OS_AUTH_TOKEN", &token)
            .args(["-v", &c, obj])
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert!(out.status.success(), "{obj}: {err}");
        assert!(err.contains("resuming"), "{obj}: the connection was never cut: {err}");
        assert!(out.stdout == input, "{obj}: resumed download differs");
    }
}

/// swift-get's resumed reads count against `--retries`, like every other retry: a GET cut
/// short twice fails with `--retries 1` (two attempts) and succeeds with `--retries 2`.
#[test]
fn swift_get_resumes_within_its_retries() {
    let c = unique("retries");
    let input = data(3 * MIB + 5, 23);
    put_ok(Auth::V1, &c, "plain", &input, &["-S", "16M"]);
    let (token, storage) = v1_token();
    let rest = storage.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    for (retries, succeeds) in [("1", false), ("2", true)] {
        let proxy = FaultProxy::start(host.parse().unwrap());
        proxy.add(Rule::new(Fault::TruncateResponseBody(100_000)).method("GET").path_contains("/plain").times(2));
        let out = clean(env!("CARGO_BIN_EXE_swift-get"))
            .env("OS_STORAGE_URL", format!("http://{}/{path}", proxy.addr()))
            .env("OS_AUTH_TOKEN", &token)
            .args(["-v", "--retries", retries, &c, "plain"])
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert_eq!(proxy.injected(), 2, "--retries {retries}: {err}");
        assert!(err.contains("resuming"), "--retries {retries}: the GET was never resumed: {err}");
        if succeeds {
            assert!(out.status.success(), "--retries {retries}: {err}");
            assert!(out.stdout == input, "--retries {retries}: resumed download differs");
        } else {
            assert_eq!(out.status.code(), Some(4), "--retries {retries}: {err}");
            assert!(err.contains("gave up after 2 attempts"), "--retries {retries}: {err}");
        }
    }
}

/// `--limit-rate` (#16) on a 40 MiB transfer each way: the elapsed time within 15% of
/// size / rate, with four segments in flight sharing the one limit.
#[test]
fn limit_rate_bounds_swift_slo_put_and_swift_get() {
    let container = unique("rate");
    let size = 40 * MIB;
    let want = 5.0; // 40 MiB at 8 MiB/s
    let input = data(size, 40);
    let start = Instant::now();
    let out = put(Auth::V1, &container, "forty", &input, &["--segment-size", "8M", "--limit-rate", "8M", "--progress"]);
    let took = start.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("(limit 8.0 MiB/s)"), "progress shows the limit: {}", text(&out.stderr));
    assert!((want * 0.85..=want * 1.15).contains(&took), "swift-slo-put took {took:.2}s, want {want}s ±15%");

    let start = Instant::now();
    let mut c = bin("swift-get", Auth::V1);
    c.args(["--limit-rate", "8M", &container, "forty"]).stdin(Stdio::null());
    let got = c.output().expect("swift-get");
    let took = start.elapsed().as_secs_f64();
    assert!(got.status.success(), "{}", text(&got.stderr));
    assert!(got.stdout == input, "swift-get returned other bytes");
    assert!((want * 0.85..=want * 1.15).contains(&took), "swift-get took {took:.2}s, want {want}s ±15%");
}
