//! Backup policy at upload time (#16) on the real S3 servers: tags, Object Lock retention and
//! legal hold (Ceph RGW; Garage has no Object Lock, so the upload must fail loudly there),
//! SSE-C round trips, `--limit-rate` timing, and bad values refused before any request.

mod common;

use common::{random_bytes, run_timeout, s3_env_for, FaultProxy, S3Env, Server, TempDir};
use std::process::Output;
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(180);

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn s3put(env: &S3Env, args: &[&str], data: &[u8]) -> Output {
    run_timeout(env.cmd("s3put").args(args), Some(data), LONG)
}

/// A bucket created with `x-amz-bucket-object-lock-enabled: true` (so also versioned).
fn locked_bucket(env: &S3Env, prefix: &str) -> String {
    let name = common::unique_bucket_name(prefix);
    env.oracle_ok(&["create-bucket", "--object-lock", &name], None);
    name
}

fn tags(env: &S3Env, bucket: &str, key: &str) -> serde_json::Value {
    serde_json::from_slice(&env.oracle_ok(&["tagging", bucket, key], None)).expect("tagging JSON")
}

fn versions(env: &S3Env, bucket: &str, key: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&env.oracle_ok(&["versions", bucket], None)).expect("JSON");
    v.as_array()
        .expect("array")
        .iter()
        .filter(|o| o["key"] == key && o["marker"] == false)
        .map(|o| o["version_id"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The retain-until date HEAD shows, parsed back to whole seconds since the epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

// Object Lock and tagging: Ceph RGW implements both; Garage has neither (see below).
s3_test!(only ceph: fn tags_retention_and_legal_hold_are_applied_and_verified(env) {
    let bucket = locked_bucket(&env, "lock");
    // Single PUT and multipart (Ceph 16 drops these headers on CreateMultipartUpload: s3put
    // must notice on HEAD and set them with PUT ?tagging/?retention/?legal-hold).
    for (key, len, extra) in [("single", 1000usize, &[][..]), ("multi", 12 << 20, &["--part-size", "5M"][..])] {
        let data = random_bytes(len, 16);
        let url = format!("s3://{bucket}/{key}");
        let mut args = vec![
            "-v", "--tag", "env=prod", "--tag", "team=db ops/valkey", "--object-lock-mode", "compliance",
            "--retain-for", "2m", "--legal-hold",
        ];
        args.extend_from_slice(extra);
        args.push(&url);
        let before = unix_now();
        let out = s3put(&env, &args, &data);
        assert!(out.status.success(), "{key}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("retention COMPLIANCE until") && err.contains("legal hold ON"), "{key}: {err}");

        let head = env.head_object(&bucket, key).expect("stored");
        assert_eq!(head.size, len as u64);
        assert_eq!(head.headers.get("x-amz-object-lock-mode").map(String::as_str), Some("COMPLIANCE"), "{key}");
        assert_eq!(head.headers.get("x-amz-object-lock-legal-hold").map(String::as_str), Some("ON"), "{key}");
        let until = head.headers.get("x-amz-object-lock-retain-until-date").expect("retain-until");
        let until = sluice::time::parse_rfc3339(until).expect("RFC 3339 date");
        let until = until.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        assert!((before + 119..=unix_now() + 121).contains(&until), "{key}: retain until {until}, now {before}");
        let t = tags(&env, &bucket, key);
        assert_eq!(t, serde_json::json!({"env": "prod", "team": "db ops/valkey"}), "{key}");

        // COMPLIANCE: not even the owner can delete the version before the date.
        let vs = versions(&env, &bucket, key);
        assert_eq!(vs.len(), 1, "{key}: {vs:?}");
        let del = env.oracle(&["delete", &bucket, key, "--version-id", &vs[0]], None);
        assert!(!del.status.success(), "{key}: a COMPLIANCE-locked version was deleted");
        assert_eq!(env.get_object(&bucket, key), data, "{key}");
    }
    assert!(env.list_uploads(&bucket).is_empty());
});

s3_test!(only ceph: fn governance_with_retain_until_date(env) {
    let bucket = locked_bucket(&env, "gov");
    let date = sluice::time::rfc3339(std::time::SystemTime::now() + Duration::from_secs(90));
    let url = format!("s3://{bucket}/g");
    let out = s3put(&env, &["--object-lock-mode", "GOVERNANCE", "--retain-until", &date, &url], b"governed");
    assert!(out.status.success(), "{}", stderr(&out));
    let head = env.head_object(&bucket, "g").expect("stored");
    assert_eq!(head.headers.get("x-amz-object-lock-mode").map(String::as_str), Some("GOVERNANCE"));
    let got = head.headers.get("x-amz-object-lock-retain-until-date").expect("date");
    assert_eq!(sluice::time::parse_rfc3339(got), sluice::time::parse_rfc3339(&date));
});

s3_test!(only ceph: fn a_bucket_without_object_lock_is_named_with_a_hint(env) {
    let bucket = env.new_bucket("nolock");
    for extra in [&["--legal-hold"][..], &["--object-lock-mode", "GOVERNANCE", "--retain-for", "1d"][..]] {
        let mut args = extra.to_vec();
        let url = format!("s3://{bucket}/k");
        args.push(&url);
        let out = s3put(&env, &args, b"data");
        assert_eq!(out.status.code(), Some(3), "{extra:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("has no Object Lock") && err.contains("--object-lock-enabled-for-bucket"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert!(env.list_keys(&bucket).is_empty());
});

// AWS shows the lock on HEAD only to a caller allowed s3:GetObjectRetention and
// s3:GetObjectLegalHold, and answers GET ?retention with AccessDenied otherwise; Ceph RGW does
// the same under a bucket policy that denies them. Such an upload is not "unprotected": s3put
// sets the lock again (PUT is allowed), cannot read it back, fails with exit 5 naming what to
// grant, and keeps the object (its bytes are verified; a locked version cannot be deleted).
s3_test!(only ceph: fn a_lock_that_cannot_be_read_back_is_kept_and_named(env) {
    let bucket = locked_bucket(&env, "hidden-lock");
    let policy = |effect: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Principal":"*","Action":["s3:GetObjectRetention","s3:GetObjectLegalHold"],"Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
        )
    };
    env.oracle_ok(&["put-policy", &bucket], Some(policy("Deny").as_bytes()));
    // The multipart upload's lock is also dropped by Ceph 16: only the PUT sets it.
    for (key, len, extra) in [("single", 1000usize, &[][..]), ("multi", 12 << 20, &["--part-size", "5M"][..])] {
        let data = random_bytes(len, 17);
        let url = format!("s3://{bucket}/{key}");
        let mut args = vec!["-v", "--object-lock-mode", "GOVERNANCE", "--retain-for", "2m", "--legal-hold"];
        args.extend_from_slice(extra);
        args.push(&url);
        let out = s3put(&env, &args, &data);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(5), "{key}: {err}");
        let last = err.lines().last().unwrap_or("");
        for want in [
            "cannot be read back",
            "GET ?retention: AccessDenied (HTTP 403), PUT accepted",
            "GET ?legal-hold: AccessDenied (HTTP 403), PUT accepted",
            "grant s3:GetObjectRetention",
            "the object was kept",
        ] {
            assert!(last.contains(want), "{key}: no {want:?} in: {last}");
        }
        assert!(!err.contains("NOT protected") && !err.contains("could not delete"), "{key}: {err}");
        assert_eq!(env.get_object(&bucket, key), data, "{key}");
    }
    // Allowed to read again: both objects hold the lock asked for.
    env.oracle_ok(&["put-policy", &bucket], Some(policy("Allow").as_bytes()));
    for key in ["single", "multi"] {
        let head = env.head_object(&bucket, key).expect("kept");
        assert_eq!(head.headers.get("x-amz-object-lock-mode").map(String::as_str), Some("GOVERNANCE"), "{key}");
        assert_eq!(head.headers.get("x-amz-object-lock-legal-hold").map(String::as_str), Some("ON"), "{key}");
    }
});

// Garage has no Object Lock: it accepts the headers and stores an unprotected object. s3put
// must see that on HEAD, delete the object and fail: the user believes the backup immutable.
s3_test!(only garage: fn a_store_ignoring_object_lock_fails_the_upload_loudly(env) {
    let bucket = env.new_bucket("ignlock");
    for (key, extra) in [
        ("r", &["--object-lock-mode", "COMPLIANCE", "--retain-for", "1d"][..]),
        ("h", &["--legal-hold"][..]),
    ] {
        let url = format!("s3://{bucket}/{key}");
        let mut args = extra.to_vec();
        args.push(&url);
        let out = s3put(&env, &args, b"backup");
        assert_eq!(out.status.code(), Some(5), "{key}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("NOT protected") && err.contains("the object was deleted"), "{err}");
        assert!(env.head_object(&bucket, key).is_none(), "{key}: an unprotected object was left");
    }
});

fn key_file(dir: &TempDir, name: &str, seed: u64) -> String {
    let p = dir.join(name);
    std::fs::write(&p, random_bytes(32, seed)).unwrap();
    p.to_string_lossy().into_owned()
}

s3_test!(fn sse_c_round_trip_and_unreadable_without_the_key(env) {
    let bucket = env.new_bucket("ssec");
    let dir = TempDir::new("ssec");
    let key = key_file(&dir, "key", 1);
    let wrong = key_file(&dir, "wrong", 2);
    // The same key as 44 characters of base64, through the environment variable.
    let b64 = dir.join("key.b64");
    std::fs::write(&b64, format!("{}\n", base64_of(&std::fs::read(&key).unwrap()))).unwrap();
    let secret_b64 = base64_of(&std::fs::read(&key).unwrap());

    for (name, len, extra) in [("small", 1000usize, &[][..]), ("big", 12 << 20, &["--part-size", "5M"][..])] {
        let data = random_bytes(len, 3);
        let url = format!("s3://{bucket}/{name}");
        let mut args = vec!["-vv", "--allow-insecure-sse-c", "--sse-c-key-file", &key];
        args.extend_from_slice(extra);
        args.push(&url);
        let out = s3put(&env, &args, &data);
        let err = stderr(&out);
        assert!(out.status.success(), "{name}: {err}");
        assert!(err.contains("SSE-C AES256 with the given key"), "verification must say what it checked: {err}");
        assert!(!err.contains(&secret_b64), "the key was printed");

        // Read back with the key (file from the environment this time, base64 form).
        let get = run_timeout(
            env.cmd("s3get")
                .env("SLUICE_SSE_C_KEY_FILE", &b64)
                .args(["-v", "--allow-insecure-sse-c", "--chunk-size", "1M", &url]),
            None,
            LONG,
        );
        assert!(get.status.success(), "{name}: {}", stderr(&get));
        assert!(get.stdout == data, "{name}: s3get returned other bytes");
        assert!(stderr(&get).contains("verified: length"), "{}", stderr(&get));

        // Without the key, or with another one: unreadable.
        let no_key = run_timeout(env.cmd("s3get").arg(&url), None, LONG);
        assert!(!no_key.status.success() && no_key.stdout.is_empty(), "{name}: read without the key");
        assert!(stderr(&no_key).contains("--sse-c-key-file"), "{}", stderr(&no_key));
        let other = run_timeout(
            env.cmd("s3get").args(["--allow-insecure-sse-c", "--sse-c-key-file", &wrong, &url]),
            None,
            LONG,
        );
        assert!(!other.status.success() && other.stdout.is_empty(), "{name}: read with another key");
        assert!(!env.oracle(&["get", &bucket, name], None).status.success(), "the oracle read it without the key");
        let with_key = env.oracle_ok(&["get", "--sse-c-key-file", &key, &bucket, name], None);
        assert!(with_key == data, "{name}: the oracle reads other bytes with the key");
    }
    assert!(env.list_uploads(&bucket).is_empty());
});

fn base64_of(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

s3_test!(
    /// Every bad value exits 2 with one line naming the flag, and no request reaches the server.
    fn bad_policy_values_are_refused_before_any_request(env) {
    let proxy = FaultProxy::for_s3(&env);
    let penv = env.with_endpoint(&proxy.endpoint());
    let dir = TempDir::new("badpol");
    let short = dir.join("short");
    std::fs::write(&short, b"not a key").unwrap();
    let short = short.to_string_lossy().into_owned();
    let good = key_file(&dir, "good", 4);
    let eleven: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
    let long_key = format!("{}=v", "k".repeat(129));
    let long_value = format!("k={}", "v".repeat(257));
    let past = "2001-01-01T00:00:00Z";
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--tag", "novalue"], "--tag"),
        (vec!["--tag", "=v"], "--tag"),
        (vec!["--tag", &long_key], "128"),
        (vec!["--tag", &long_value], "256"),
        (vec!["--tag", "k=a\u{7}b"], "not allowed"),
        (vec!["--tag", "aws:x=1"], "reserved"),
        (vec!["--tag", "k=1", "--tag", "k=2"], "twice"),
        (vec!["--object-lock-mode", "GOVERNANCE"], "needs a date"),
        (vec!["--retain-for", "1d"], "--object-lock-mode"),
        (vec!["--object-lock-mode", "FOREVER", "--retain-for", "1d"], "FOREVER"),
        (vec!["--object-lock-mode", "COMPLIANCE", "--retain-until", "tomorrow"], "RFC 3339"),
        (vec!["--object-lock-mode", "COMPLIANCE", "--retain-until", past], "in the past"),
        (vec!["--object-lock-mode", "COMPLIANCE", "--retain-for", "soon"], "--retain-for"),
        (vec!["--object-lock-mode", "COMPLIANCE", "--retain-for", "1d", "--retain-until", past], "cannot be used"),
        (vec!["--limit-rate", "0"], "--limit-rate"),
        (vec!["--limit-rate", "fast"], "--limit-rate"),
        (vec!["--sse-c-key-file", &short, "--allow-insecure-sse-c"], "32 raw bytes"),
        (vec!["--sse-c-key-file", "/nonexistent/key"], "cannot read"),
        (vec!["--sse-c-key-file", &good], "--allow-insecure-sse-c"),
    ];
    let mut many = Vec::new();
    for t in &eleven {
        many.extend(["--tag", t.as_str()]);
    }
    cases.push((many, "at most 10"));
    for (args, needle) in &cases {
        let mut a = args.clone();
        a.push("s3://bucket/key");
        let out = s3put(&penv, &a, b"data");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {needle:?} not in {err}");
        assert!(proxy.requests().is_empty(), "{args:?}: a request was sent: {:?}", proxy.requests());
    }
    for args in [&["--limit-rate", "0"][..], &["--sse-c-key-file", &short, "--allow-insecure-sse-c"][..], &["--sse-c-key-file", &good][..]] {
        let mut a = args.to_vec();
        a.push("s3://bucket/key");
        let out = run_timeout(penv.cmd("s3get").args(&a), None, LONG);
        assert_eq!(out.status.code(), Some(2), "s3get {args:?}: {}", stderr(&out));
        assert!(proxy.requests().is_empty(), "s3get {args:?}: a request was sent");
    }
});

/// The timed tests run one at a time: on a 2-core machine, two transfers hashing their parts
/// at once would measure the contention, not the limit.
static TIMED: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn timed() -> std::sync::MutexGuard<'static, ()> {
    TIMED.lock().unwrap_or_else(|p| p.into_inner())
}

/// `--limit-rate` on a 40 MiB transfer: the elapsed time within 15% of size / rate.
fn assert_rate(what: &str, elapsed: Duration, bytes: usize, rate: usize) {
    let want = bytes as f64 / rate as f64;
    let got = elapsed.as_secs_f64();
    assert!(
        (want * 0.85..=want * 1.15).contains(&got),
        "{what}: {got:.2}s for {bytes} bytes at {rate} B/s (want {want:.2}s ±15%)"
    );
}

s3_test!(fn limit_rate_bounds_s3put_and_s3get(env) {
    let bucket = env.new_bucket("rate");
    let _serial = timed();
    let size = 40 << 20;
    let rate = 8 << 20;
    let data = random_bytes(size, 40);
    let url = format!("s3://{bucket}/forty");
    let start = Instant::now();
    let out = s3put(&env, &["--limit-rate", "8M", "--progress", &url], &data);
    let took = start.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("(limit 8.0 MiB/s)"), "progress shows the limit: {}", stderr(&out));
    assert_rate("s3put", took, size, rate);

    let start = Instant::now();
    let get = run_timeout(env.cmd("s3get").args(["--limit-rate", "8M", &url]), None, LONG);
    let took = start.elapsed();
    assert!(get.status.success(), "{}", stderr(&get));
    assert!(get.stdout == data);
    assert_rate("s3get", took, size, rate);
});

#[test]
fn limit_rate_is_one_bucket_for_all_jobs() {
    // -j 8 with 5 MiB parts: eight requests in flight share one limit, so 20 MiB at 4 MiB/s
    // still takes ~5 s (not 5/8 s).
    let env = s3_env_for(Server::Garage);
    let bucket = env.new_bucket("ratej");
    let _serial = timed();
    let data = random_bytes(20 << 20, 41);
    let url = format!("s3://{bucket}/twenty");
    let start = Instant::now();
    let out = s3put(&env, &["-j", "8", "--part-size", "5M", "--limit-rate", "4M", &url], &data);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_rate("s3put -j 8", start.elapsed(), 20 << 20, 4 << 20);
}
