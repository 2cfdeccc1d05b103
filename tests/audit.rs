//! Audit trail and monitoring (issue 15) against the real Garage (and Ceph RGW), Swift and
//! redis-server: `--log-format json` gives one JSON object per stderr line with exactly one
//! `started` and one terminal event (`completed` or `failed`) per run, also on SIGTERM and
//! upstream aborts; no secret appears in any output; `--metrics-file` is a valid Prometheus
//! text file, replaced atomically, that keeps the last success time across failures.

mod common;

use common::redis::Redis;
use common::{bin_path, random_bytes, run, run_timeout, s3_env, Fault, FaultProxy, Rule, S3Env, TempDir};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every line of `stderr` as a JSON object with the common keys; panics on any other line.
fn events(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"));
            for key in ["time", "tool", "level", "event", "message"] {
                assert!(v.get(key).is_some_and(Value::is_string), "{key} missing or not a string: {line}");
            }
            let time = v["time"].as_str().unwrap();
            assert!(time.ends_with('Z') && sluice::time::parse_rfc3339(time).is_some(), "time {time:?}: {line}");
            assert!(["debug", "info", "warn", "error"].contains(&v["level"].as_str().unwrap()), "{line}");
            v
        })
        .collect()
}

/// The events of one run: checks that `started` comes once, before every event but plain
/// messages (-v notes on the configuration may come first), and that exactly one terminal
/// event comes last, from `tool`. Returns (started, terminal, all events).
fn one_run(stderr: &str, tool: &str) -> (Value, Value, Vec<Value>) {
    let evs = events(stderr);
    assert!(!evs.is_empty(), "no events at all");
    assert!(evs.iter().all(|e| e["tool"] == tool), "{stderr}");
    let named = |n: &str| evs.iter().filter(|e| e["event"] == n).count();
    assert_eq!(named("started"), 1, "{stderr}");
    assert_eq!(named("completed") + named("failed"), 1, "not exactly one terminal event: {stderr}");
    let first = evs.iter().position(|e| e["event"] != "message").unwrap();
    assert_eq!(evs[first]["event"], "started", "{stderr}");
    let last = evs.last().unwrap().clone();
    assert!(last["event"] == "completed" || last["event"] == "failed", "{stderr}");
    assert!(last["seconds"].as_f64().is_some_and(|s| s >= 0.0), "{stderr}");
    assert!(last["bytes"].as_u64().is_some(), "{stderr}");
    (evs[first].clone(), last, evs)
}

fn completed(stderr: &str, tool: &str) -> (Value, Value, Vec<Value>) {
    let r = one_run(stderr, tool);
    assert_eq!(r.1["event"], "completed", "{stderr}");
    assert_eq!(r.1["level"], "info", "{stderr}");
    r
}

fn failed(stderr: &str, tool: &str, code: i32) -> (Value, Value, Vec<Value>) {
    let r = one_run(stderr, tool);
    let f = &r.1;
    assert_eq!(f["event"], "failed", "{stderr}");
    assert_eq!(f["level"], "error", "{stderr}");
    assert_eq!(f["exit_code"], code, "{stderr}");
    assert!(f["error"].as_str().is_some_and(|e| !e.is_empty()), "{stderr}");
    assert!(f["cleanup"].is_object(), "{stderr}");
    r
}

/// None of `secrets` appears in any of `outputs`, nor an Authorization header or signature.
fn no_secrets(outputs: &[&[u8]], secrets: &[&str]) {
    for out in outputs {
        let s = text(out);
        for secret in secrets {
            assert!(!secret.is_empty() && !s.contains(secret), "a secret leaked: {s}");
        }
        for needle in ["Authorization", "authorization:", "Signature=", "X-Auth-Token:", "X-Amz-Security-Token"] {
            assert!(!s.contains(needle), "{needle} leaked: {s}");
        }
    }
}

/// A parsed Prometheus text file: the value and labels of each metric.
#[derive(Debug)]
struct Metrics(BTreeMap<String, (BTreeMap<String, String>, f64)>);

impl Metrics {
    const NAMES: [&str; 5] = [
        "sluice_last_success",
        "sluice_last_attempt_timestamp_seconds",
        "sluice_last_success_timestamp_seconds",
        "sluice_last_duration_seconds",
        "sluice_last_bytes",
    ];

    /// Reads and checks the file (with `promtool check metrics` when it is installed), and that
    /// no temporary file is left in its directory.
    fn read(path: &Path) -> Metrics {
        let dir = path.parent().unwrap();
        let names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        let want = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(names, vec![want], "a temporary file was left next to the metrics file");
        let body = std::fs::read_to_string(path).unwrap();
        if let Ok(mut child) = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "promtool: {}{}\n{body}", text(&out.stdout), text(&out.stderr));
        }
        Metrics::parse(&body)
    }

    /// The text format: `# HELP name text`, `# TYPE name gauge`, then `name{k="v",...} value`.
    fn parse(body: &str) -> Metrics {
        assert!(body.ends_with('\n'), "{body}");
        let mut help = Vec::new();
        let mut types = Vec::new();
        let mut samples = BTreeMap::new();
        for line in body.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, text) = rest.split_once(' ').unwrap();
                assert!(!text.trim().is_empty(), "{line}");
                help.push(name.to_string());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert_eq!(kind, "gauge", "{line}");
                assert!(help.last().is_some_and(|h| h == name), "TYPE without HELP first: {line}");
                types.push(name.to_string());
            } else {
                let (name, rest) = line.split_once('{').unwrap_or_else(|| panic!("no labels: {line}"));
                assert!(types.last().is_some_and(|t| t == name), "sample before its TYPE: {line}");
                let (labels, value) = rest.rsplit_once("} ").unwrap_or_else(|| panic!("{line}"));
                let labels: BTreeMap<String, String> = labels
                    .split(',')
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap();
                        (k.to_string(), v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap().to_string())
                    })
                    .collect();
                let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
                assert!(samples.insert(name.to_string(), (labels, value)).is_none(), "{name} twice");
            }
        }
        for n in Self::NAMES {
            assert!(samples.contains_key(n), "{n} missing: {body}");
        }
        assert_eq!(samples.len(), Self::NAMES.len(), "{body}");
        Metrics(samples)
    }

    fn get(&self, name: &str) -> f64 {
        self.0[name].1
    }

    fn labels(&self) -> &BTreeMap<String, String> {
        &self.0["sluice_last_success"].0
    }
}

fn now_unix() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

/// The JSON-logging command: `--log-format json` and the metrics file.
fn reporting<'a>(cmd: &'a mut Command, metrics: &Path, job: &str) -> &'a mut Command {
    cmd.args(["--log-format", "json", "--metrics-job", job]).arg("--metrics-file").arg(metrics)
}

s3_test!(fn s3put_success_then_wrong_secret_keeps_the_last_success(env) {
    let bucket = env.new_bucket("audit-put");
    let dir = TempDir::new("audit-put");
    let prom = dir.join("valkey.prom");
    let data = random_bytes(11 * MIB, 1);

    // Success: a three-part multipart upload.
    let before = now_unix();
    let out = run(reporting(&mut env.cmd("s3put"), &prom, "valkey").args(["--part-size", "5M", &format!("s3://{bucket}/k")]), Some(&data));
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(out.stdout.is_empty(), "stdout carries data only");
    let (started, done, _) = completed(&err, "s3put");
    assert_eq!(started["url"], format!("s3://{bucket}/k"));
    assert_eq!(started["input"], "stdin");
    assert_eq!(started["plan"]["part_size"], 5 * MIB);
    assert_eq!(done["bytes"], data.len());
    assert_eq!(done["parts"], 3);
    assert_eq!(done["verified"], true);
    let head = env.head_object(&bucket, "k").expect("stored");
    assert_eq!(done["etag"], head.etag.trim_matches('"'), "{err}");
    let m = Metrics::read(&prom);
    assert_eq!(m.get("sluice_last_success"), 1.0);
    assert_eq!(m.get("sluice_last_bytes"), data.len() as f64);
    let success_at = m.get("sluice_last_success_timestamp_seconds");
    assert!(success_at >= before - 1.0 && success_at <= now_unix() + 1.0, "{m:?}");
    assert_eq!(m.get("sluice_last_attempt_timestamp_seconds"), success_at);
    assert!(m.get("sluice_last_duration_seconds") >= 0.0);
    assert_eq!(m.labels().get("job").map(String::as_str), Some("valkey"));
    assert_eq!(m.labels().get("tool").map(String::as_str), Some("s3put"));

    // Failure: a wrong secret (with a session token and -vv): exit 3, the last success is kept.
    std::thread::sleep(Duration::from_millis(20));
    let bad_secret = "WRONGsecretAUDIT0123456789abcdefWRONGsec";
    let token = "AUDITsessionTOKEN0123456789";
    let out = run(
        reporting(&mut env.cmd("s3put"), &prom, "valkey")
            .env("AWS_SECRET_ACCESS_KEY", bad_secret)
            .env("AWS_SESSION_TOKEN", token)
            .args(["-vv", "--retries", "1", &format!("s3://{bucket}/k2")]),
        Some(&data[..1000]),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    let (_, f, evs) = failed(&err, "s3put", 3);
    assert_eq!(f["error_kind"], "config", "{err}");
    assert!(evs.iter().any(|e| e["level"] == "debug"), "-vv lines are JSON events too: {err}");
    no_secrets(&[&out.stdout, &out.stderr], &[bad_secret, token, &env.secret]);
    let m = Metrics::read(&prom);
    assert_eq!(m.get("sluice_last_success"), 0.0);
    assert_eq!(m.get("sluice_last_success_timestamp_seconds"), success_at, "the last success was not kept");
    assert!(m.get("sluice_last_attempt_timestamp_seconds") > success_at);
    assert!(env.try_get_object(&bucket, "k2").is_none());

    // The text format is unchanged: silent on success, one "s3put: " line on failure.
    let out = run(env.cmd("s3put").arg(format!("s3://{bucket}/k3")), Some(b"x"));
    assert!(out.status.success() && out.stderr.is_empty(), "{}", text(&out.stderr));
    let out = run(env.cmd("s3put").env("AWS_SECRET_ACCESS_KEY", bad_secret).arg(format!("s3://{bucket}/k4")), Some(b"x"));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("s3put: ") && !err.contains('{'), "{err}");
});

/// Starts `cmd` with piped stdio.
fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn")
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits (with a deadline) and collects stdout and stderr.
fn finish(mut child: Child) -> Output {
    let status = common::wait_deadline(&mut child, Duration::from_secs(60));
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
    child.stderr.take().unwrap().read_to_end(&mut stderr).unwrap();
    Output { status, stdout, stderr }
}

#[test]
fn s3put_sigterm_and_a_killed_command_end_with_one_failed_event() {
    let env = s3_env();
    let bucket = env.new_bucket("audit-sig");
    let dir = TempDir::new("audit-sig");
    let prom = dir.join("put.prom");

    // SIGTERM mid-upload: the upload is aborted and the run says so.
    let mut child = spawn(reporting(&mut env.cmd("s3put"), &prom, "put").args([
        "--part-size",
        "5M",
        &format!("s3://{bucket}/big"),
    ]));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&random_bytes(11 * MIB, 2)).unwrap();
    wait_until("the multipart upload", || !env.list_uploads(&bucket).is_empty());
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = finish(child);
    drop(stdin);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    let (_, f, _) = failed(&err, "s3put", 143);
    assert_eq!(f["error_kind"], "signal", "{err}");
    assert_eq!(f["signal"], "SIGTERM", "{err}");
    assert_eq!(f["cleanup"]["upload_aborted"], true, "{err}");
    assert!(env.list_uploads(&bucket).is_empty() && env.list_keys(&bucket).is_empty());
    let m = Metrics::read(&prom);
    assert_eq!(m.get("sluice_last_success"), 0.0);
    assert_eq!(m.get("sluice_last_success_timestamp_seconds"), 0.0, "never succeeded");

    // Command mode, the producer killed mid-stream: the upload is aborted.
    let out = run_timeout(
        reporting(&mut env.cmd("s3put"), &prom, "put").args([
            "--part-size",
            "5M",
            &format!("s3://{bucket}/cmd"),
            "--",
            "sh",
            "-c",
            "head -c 12000000 /dev/urandom; kill -KILL $$",
        ]),
        None,
        Duration::from_secs(60),
    );
    let err = text(&out.stderr);
    let code = out.status.code().expect("exit status");
    let (started, f, _) = failed(&err, "s3put", code);
    assert_eq!(started["input"], "command");
    assert_eq!(started["command"], "sh");
    assert_eq!(f["cleanup"]["upload_aborted"], true, "{err}");
    assert!(env.list_uploads(&bucket).is_empty() && env.list_keys(&bucket).is_empty());
    assert_eq!(Metrics::read(&prom).get("sluice_last_success"), 0.0);
}

#[test]
fn progress_and_retry_events() {
    let env = s3_env();
    let bucket = env.new_bucket("audit-prog");
    let proxy = FaultProxy::for_s3(&env);
    // One 503 on the first part: a retry event, then success.
    proxy.add(Rule::new(Fault::Status(503)).method("PUT").query_contains("partNumber="));
    let mut child = spawn(env.with_endpoint(&proxy.endpoint()).cmd("s3put").args([
        "--log-format",
        "json",
        "--progress",
        "--part-size",
        "5M",
        &format!("s3://{bucket}/p"),
    ]));
    let mut stdin = child.stdin.take().unwrap();
    // About 3 seconds of input, so progress is due a few times.
    for i in 0..12 {
        stdin.write_all(&random_bytes(MIB, 10 + i)).unwrap();
        std::thread::sleep(Duration::from_millis(250));
    }
    drop(stdin);
    let out = finish(child);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    let (_, done, evs) = completed(&err, "s3put");
    assert_eq!(done["bytes"], 12 * MIB);
    let retries: Vec<&Value> = evs.iter().filter(|e| e["event"] == "retry").collect();
    assert_eq!(retries.len(), 1, "{err}");
    assert_eq!(retries[0]["attempt"], 1);
    assert_eq!(retries[0]["http_status"], 503);
    assert_eq!(retries[0]["level"], "warn");
    assert!(retries[0]["what"].as_str().unwrap().contains("PUT"), "{err}");
    let progress: Vec<&Value> = evs.iter().filter(|e| e["event"] == "progress").collect();
    assert!(progress.len() >= 2, "{err}");
    let times: Vec<f64> = progress
        .iter()
        .map(|p| {
            assert!(p["bytes"].as_u64().is_some() && p["rate"].as_u64().is_some(), "{p}");
            let t = sluice::time::parse_rfc3339(p["time"].as_str().unwrap()).unwrap();
            t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
        })
        .collect();
    // At most once a second (the time field has millisecond precision).
    assert!(times.windows(2).all(|w| w[1] - w[0] >= 0.99), "{times:?}");
    // Without --progress (and not on a terminal): none.
    let out = run(env.cmd("s3put").args(["--log-format", "json", &format!("s3://{bucket}/q")]), Some(b"x"));
    let (_, _, evs) = completed(&text(&out.stderr), "s3put");
    assert_eq!(evs.len(), 2, "{}", text(&out.stderr));
}

#[test]
fn s3_readers_and_deleter_report_their_runs() {
    let env = s3_env();
    let bucket = env.new_bucket("audit-read");
    let data = random_bytes(3 * MIB + 5, 3);
    env.put_object(&bucket, "a/one", &data);
    env.put_object(&bucket, "a/two", b"22");
    let dir = TempDir::new("audit-read");
    let prom = dir.join("r.prom");

    let out = run(reporting(&mut env.cmd("s3get"), &prom, "restore").arg(format!("s3://{bucket}/a/one")), None);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(out.stdout == data, "stdout carries the object only");
    let (started, done, _) = completed(&err, "s3get");
    assert_eq!(started["urls"][0], format!("s3://{bucket}/a/one"));
    assert_eq!(done["bytes"], data.len());
    assert!(done["verified"].is_string(), "{err}");
    assert_eq!(Metrics::read(&prom).get("sluice_last_bytes"), data.len() as f64);

    let out = run(reporting(&mut env.cmd("s3get"), &prom, "restore").arg(format!("s3://{bucket}/a/none")), None);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    let (_, f, _) = failed(&err, "s3get", 7);
    assert_eq!(f["error_kind"], "not_found");
    assert!(out.stdout.is_empty());
    let m = Metrics::read(&prom);
    assert_eq!(m.get("sluice_last_success"), 0.0);
    assert!(m.get("sluice_last_success_timestamp_seconds") > 0.0);

    let out = run(env.cmd("s3ls").args(["--log-format", "json", &format!("s3://{bucket}/a/")]), None);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(text(&out.stdout).lines().count(), 2, "stdout carries the listing only");
    let (_, done, _) = completed(&err, "s3ls");
    assert_eq!(done["entries"], 2);
    assert_eq!(done["bytes"], data.len() + 2);

    let out = run(env.cmd("s3rm").args(["--log-format", "json", &format!("s3://{bucket}/a/two")]), None);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    let (_, done, _) = completed(&err, "s3rm");
    assert_eq!(done["deleted"], 1);
    assert_eq!(env.list_keys(&bucket), vec!["a/one".to_string()]);

    // A wrong key id: no key id, secret or signature in the output.
    let out = run(
        env.cmd("s3ls").env("AWS_ACCESS_KEY_ID", "GKaudit0000000000000000").args([
            "--log-format",
            "json",
            "-vv",
            &format!("s3://{bucket}/"),
        ]),
        None,
    );
    let err = text(&out.stderr);
    let code = out.status.code().unwrap();
    assert!(code == 3 || code == 8, "{err}");
    failed(&err, "s3ls", code);
    no_secrets(&[&out.stdout, &out.stderr], &[&env.secret]);

    // A body cut short: a retry event saying where the download resumes.
    let proxy = FaultProxy::for_s3(&env);
    proxy.add(Rule::new(Fault::DropMidResponseBody).method("GET").path_contains("/a/one"));
    let out = run(
        env.with_endpoint(&proxy.endpoint()).cmd("s3get").args([
            "--log-format",
            "json",
            &format!("s3://{bucket}/a/one"),
        ]),
        None,
    );
    let err = text(&out.stderr);
    assert!(out.status.success() && out.stdout == data, "{err}");
    let (_, _, evs) = completed(&err, "s3get");
    let retry = evs.iter().find(|e| e["event"] == "retry").unwrap_or_else(|| panic!("no retry event: {err}"));
    assert_eq!(retry["attempt"], 1, "{err}");
    assert!(retry["what"].as_str().unwrap().starts_with("GET s3://"), "{err}");
    assert!(retry["resume_at"].as_u64().is_some_and(|p| p > 0 && p < data.len() as u64), "{err}");

    // SIGTERM while the body of the object stalls: s3get says so and exits 143.
    proxy.clear_rules();
    proxy.add(Rule::new(Fault::StallMidResponseBody(Duration::from_secs(30))).method("GET").path_contains("/a/one"));
    let mut child = spawn(env.with_endpoint(&proxy.endpoint()).cmd("s3get").args([
        "--log-format",
        "json",
        &format!("s3://{bucket}/a/one"),
    ]));
    wait_until("the stalled GET", || proxy.injected() >= 1);
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    drop(child.stdin.take());
    let out = finish(child);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    let (_, f, _) = failed(&err, "s3get", 143);
    assert_eq!(f["signal"], "SIGTERM");
}

fn swift_var(name: &str) -> String {
    common::test_var(name).unwrap_or_else(|| {
        panic!("{name} is not set: Swift is not running: run `make test` (scripts/swift-server start)")
    })
}

/// A Swift tool with v1 credentials (`key` as ST_KEY).
fn swift(bin: &str, key: &str) -> Command {
    let mut c = common::hermetic_cmd(bin_path(bin));
    for (k, _) in std::env::vars() {
        if k.starts_with("ST_") || k.starts_with("OS_") {
            c.env_remove(k);
        }
    }
    c.env("ST_AUTH", swift_var("SLUICE_TEST_SWIFT_AUTH_V1"))
        .env("ST_USER", swift_var("SLUICE_TEST_SWIFT_USER"))
        .env("ST_KEY", key);
    c
}

/// Names in a Swift container, by python-swiftclient (empty when the container is missing).
fn swift_list(container: &str) -> Vec<String> {
    let out = run_timeout(
        swift("swift-ls", &swift_var("SLUICE_TEST_SWIFT_KEY")).arg(container),
        None,
        Duration::from_secs(60),
    );
    if !out.status.success() {
        assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
        return Vec::new();
    }
    text(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn swift_tools_report_success_failure_and_sigterm() {
    let key = swift_var("SLUICE_TEST_SWIFT_KEY");
    let c = common::unique_bucket_name("audit-swift");
    let dir = TempDir::new("audit-swift");
    let prom = dir.join("swift.prom");
    let data = random_bytes(5 * MIB + 7, 4);

    let out = run(
        reporting(&mut swift("swift-slo-put", &key), &prom, "nas").args([
            "--create-container",
            "-S",
            "2M",
            &c,
            "full.tar",
        ]),
        Some(&data),
    );
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(out.stdout.is_empty());
    let (started, done, _) = completed(&err, "swift-slo-put");
    assert_eq!(started["container"], c.as_str());
    assert_eq!(started["object"], "full.tar");
    assert!(started["plan"]["part_size"].as_u64().is_some(), "{err}");
    assert_eq!(done["bytes"], data.len());
    assert_eq!(done["parts"], 3);
    assert_eq!(done["verified"], true);
    assert!(done["etag"].as_str().is_some_and(|e| e.len() == 32), "{err}");
    let m = Metrics::read(&prom);
    assert_eq!(m.get("sluice_last_success"), 1.0);
    assert_eq!(m.labels().get("tool").map(String::as_str), Some("swift-slo-put"));

    let out = run(reporting(&mut swift("swift-get", &key), &prom, "nas").args([&c, "full.tar"]), None);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(out.stdout == data);
    let (_, done, _) = completed(&err, "swift-get");
    assert_eq!(done["bytes"], data.len());
    assert_eq!(done["verified"], "segments", "{err}");
    // The same job's file: swift-get's success is now the last one.
    let m = Metrics::read(&prom);
    assert_eq!(m.labels().get("tool").map(String::as_str), Some("swift-get"));
    let success_at = m.get("sluice_last_success_timestamp_seconds");

    let out = run(swift("swift-ls", &key).args(["--log-format", "json", &c]), None);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(text(&out.stdout), "full.tar\n");
    let (_, done, _) = completed(&err, "swift-ls");
    assert_eq!(done["entries"], 1);

    // A wrong key: exit 3, nothing leaked, the last success kept.
    let wrong = "WRONGswiftKEYaudit42";
    let out = run(reporting(&mut swift("swift-slo-put", wrong), &prom, "nas").args([&c, "other"]), Some(b"x"));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    failed(&err, "swift-slo-put", 3);
    no_secrets(&[&out.stdout, &out.stderr], &[wrong, &key]);
    let m = Metrics::read(&prom);
    assert_eq!(m.get("sluice_last_success"), 0.0);
    assert_eq!(m.get("sluice_last_success_timestamp_seconds"), success_at);

    // SIGTERM mid-stream: segments deleted, and the failed event says so.
    let mut child =
        spawn(reporting(&mut swift("swift-slo-put", &key), &prom, "nas").args(["-S", "1M", "-j", "2", &c, "victim"]));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&random_bytes(5 * MIB, 5)).unwrap();
    let segs = format!("{c}_segments");
    wait_until("segments", || swift_list(&segs).iter().filter(|n| n.starts_with("victim/")).count() >= 2);
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = finish(child);
    drop(stdin);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    let (_, f, _) = failed(&err, "swift-slo-put", 143);
    assert_eq!(f["signal"], "SIGTERM");
    assert!(f["cleanup"]["segments_deleted"].as_u64().is_some_and(|n| n >= 2), "{err}");
    assert_eq!(f["cleanup"]["segments_left"], 0, "{err}");
    assert!(!swift_list(&segs).iter().any(|n| n.starts_with("victim/")), "segments left behind");
    assert!(!swift_list(&c).contains(&"victim".to_string()));
    assert_eq!(Metrics::read(&prom).get("sluice_last_success_timestamp_seconds"), success_at);

    // Keystone v3 with -vv: neither the password nor the token (Fernet: "gAAAA...") is logged.
    let password = swift_var("SLUICE_TEST_KEYSTONE_PASSWORD");
    let mut ls = common::hermetic_cmd(bin_path("swift-ls"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ST_") || k.starts_with("OS_") {
            ls.env_remove(k);
        }
    }
    ls.env("OS_AUTH_URL", swift_var("SLUICE_TEST_KEYSTONE_URL"))
        .env("OS_USERNAME", swift_var("SLUICE_TEST_KEYSTONE_USER"))
        .env("OS_PASSWORD", &password)
        .env("OS_PROJECT_NAME", swift_var("SLUICE_TEST_KEYSTONE_PROJECT"))
        .env("OS_USER_DOMAIN_NAME", swift_var("SLUICE_TEST_KEYSTONE_DOMAIN"))
        .env("OS_PROJECT_DOMAIN_NAME", swift_var("SLUICE_TEST_KEYSTONE_DOMAIN"))
        .env("OS_IDENTITY_API_VERSION", "3")
        .args(["-vv", "--log-format", "json"]);
    let out = run(&mut ls, None);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    let (_, _, evs) = completed(&err, "swift-ls");
    assert!(evs.iter().any(|e| e["level"] == "debug"), "{err}");
    no_secrets(&[&out.stdout, &out.stderr], &[&password, "gAAAA"]);
}

/// `sh -c SCRIPT` with the sluice binaries first on PATH and the test Garage's credentials.
fn sh(env: &S3Env, script: &str) -> Command {
    let bin_dir = bin_path("s3put").parent().unwrap().to_path_buf();
    let mut cmd = env.cmd_for_path("sh");
    cmd.env("PATH", format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default()));
    cmd.arg("-c").arg(script);
    cmd
}

#[test]
fn redis_backup_pipeline_reports_each_stage_and_a_corrupt_rdb_fails_both() {
    let env = s3_env();
    let bucket = env.new_bucket("audit-rdb");
    let redis = Redis::start(&[]);
    redis.load_varied(4);
    let keys = text(&redis.cmd(&["DBSIZE"]).unwrap());
    let dir = TempDir::new("audit-rdb");
    let d = dir.path().display();

    let script = format!(
        "redis-cli -p {p} --rdb - 2>/dev/null | SLUICE_LOG_FORMAT=json SLUICE_METRICS_FILE={d}/rdb.prom rdbcheck 2>{d}/rdbcheck.err | \
         s3put --log-format json --metrics-file {d}/put.prom s3://{bucket}/dump.rdb 2>{d}/s3put.err",
        p = redis.port
    );
    let out = run_timeout(&mut sh(&env, &script), None, Duration::from_secs(120));
    let rd = std::fs::read_to_string(dir.join("rdbcheck.err")).unwrap();
    let put = std::fs::read_to_string(dir.join("s3put.err")).unwrap();
    assert!(out.status.success(), "{rd}{put}");
    let (started, done, _) = completed(&rd, "rdbcheck");
    assert_eq!(started["input"], "stdin");
    assert!(done["rdb_version"].as_u64().is_some_and(|v| v >= 9), "{rd}");
    assert_eq!(done["checksum"], "ok", "{rd}");
    // DBSIZE counts db 0; load_varied also fills a second database.
    let db0: u64 = keys.trim_start_matches(':').parse().unwrap();
    assert!(done["keys"].as_u64().is_some_and(|k| k >= db0), "{rd}");
    let stored = env.get_object(&bucket, "dump.rdb");
    assert_eq!(done["bytes"], stored.len(), "{rd}");
    let (_, up, _) = completed(&put, "s3put");
    assert_eq!(up["bytes"], stored.len());
    let mdir = dir.path();
    let rm = Metrics::parse(&std::fs::read_to_string(mdir.join("rdb.prom")).unwrap());
    assert_eq!(rm.get("sluice_last_success"), 1.0);
    assert_eq!(rm.labels().get("job").map(String::as_str), Some("rdbcheck"));

    // A corrupt RDB: rdbcheck fails (exit 1) and aborts s3put downstream (SIGUSR2, exit 140).
    let bad = Path::new(common::REPO).join("tests/data/rdb/bad/flip-middle.rdb");
    let script = format!(
        "rdbcheck --log-format json < {bad} 2>{d}/rdbcheck.err | s3put --log-format json s3://{bucket}/bad.rdb 2>{d}/s3put.err; \
         echo $? > {d}/rc",
        bad = bad.display()
    );
    let out = run_timeout(&mut sh(&env, &script), None, Duration::from_secs(60));
    let rd = std::fs::read_to_string(dir.join("rdbcheck.err")).unwrap();
    let put = std::fs::read_to_string(dir.join("s3put.err")).unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, f, _) = failed(&rd, "rdbcheck", 1);
    assert_eq!(f["error_kind"], "data", "{rd}");
    assert!(f["checksum"].is_string(), "{rd}");
    assert_eq!(f["cleanup"]["downstream_signalled"], 1, "{rd}");
    let rc: i32 = std::fs::read_to_string(dir.join("rc")).unwrap().trim().parse().unwrap();
    let (_, f, _) = failed(&put, "s3put", rc);
    assert_eq!(rc, 140, "{put}");
    assert_eq!(f["signal"], "SIGUSR2", "{put}");
    assert!(env.try_get_object(&bucket, "bad.rdb").is_none());
    assert!(env.list_uploads(&bucket).is_empty());
}

#[test]
fn usage_errors_and_an_unwritable_metrics_file() {
    let dir = TempDir::new("audit-usage");
    let prom = dir.join("u.prom");
    // A refused command line is a run too: started, failed (exit 2), metrics.
    let out = run(
        common::bare_cmd("s3ls").args(["--log-format", "json", "--page-size", "0"]).arg("--metrics-file").arg(&prom),
        None,
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let (_, f, _) = failed(&err, "s3ls", 2);
    assert_eq!(f["error_kind"], "usage");
    assert_eq!(Metrics::read(&prom).get("sluice_last_success"), 0.0);
    // The environment variable alone, and a bad URL refused before any request.
    let out = run(common::bare_cmd("s3get").env("SLUICE_LOG_FORMAT", "json").arg("http://x/y"), None);
    failed(&text(&out.stderr), "s3get", 2);
    // A bad --log-format is itself a usage error, in text.
    let out = run(common::bare_cmd("s3rm").args(["--log-format", "yaml", "s3://b/k"]), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("s3rm: "), "{}", text(&out.stderr));

    // A metrics file that cannot be written: a warning, and the successful run still exits 0.
    let env = s3_env();
    let bucket = env.new_bucket("audit-unwritable");
    let out = run(
        env.cmd("s3ls").args([
            "--log-format",
            "json",
            "--metrics-file",
            "/nonexistent-dir/x.prom",
            &format!("s3://{bucket}"),
        ]),
        None,
    );
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    let (_, _, evs) = completed(&err, "s3ls");
    assert!(
        evs.iter().any(|e| e["level"] == "warn" && e["message"].as_str().unwrap().contains("/nonexistent-dir/x.prom")),
        "{err}"
    );
    let out = run(env.cmd("s3ls").args(["--metrics-file", "/nonexistent-dir/x.prom", &format!("s3://{bucket}")]), None);
    assert!(out.status.success());
    assert!(text(&out.stderr).starts_with("s3ls: cannot write the metrics file"), "{}", text(&out.stderr));
}

/// rdbcheck reading from `sh -c 'head -c 5000 FILE; exec sleep 60'`: the producer stays alive,
/// silent, until the test kills it or rdbcheck.
fn rdbcheck_behind_a_stalled_producer() -> (Child, Child) {
    let rdb = Path::new(common::REPO).join("tests/data/rdb/redis-6.2.16-full-lru.rdb");
    let mut producer = Command::new("sh")
        .arg("-c")
        .arg(format!("head -c 5000 '{}'; exec sleep 60", rdb.display()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let rdbcheck = common::bare_cmd("rdbcheck")
        .args(["--log-format", "json"])
        .stdin(Stdio::from(producer.stdout.take().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Until rdbcheck has read what there is (the started event is written before that).
    std::thread::sleep(Duration::from_millis(300));
    (producer, rdbcheck)
}

#[test]
fn rdbcheck_upstream_killed_and_sigterm() {
    // The producer is killed mid-stream: a truncated RDB, exit 1.
    let (mut producer, rdbcheck) = rdbcheck_behind_a_stalled_producer();
    producer.kill().unwrap();
    producer.wait().unwrap();
    let out = finish(rdbcheck);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let (_, f, _) = failed(&err, "rdbcheck", 1);
    assert_eq!(f["error_kind"], "data", "{err}");
    assert_eq!(f["bytes"], 5000, "{err}");
    assert_eq!(f["checksum"], "not-reached", "{err}");

    // SIGTERM while it waits for more: exit 143, one failed event.
    let (mut producer, rdbcheck) = rdbcheck_behind_a_stalled_producer();
    unsafe { libc::kill(rdbcheck.id() as i32, libc::SIGTERM) };
    let out = finish(rdbcheck);
    producer.kill().unwrap();
    producer.wait().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    let (_, f, _) = failed(&err, "rdbcheck", 143);
    assert_eq!(f["signal"], "SIGTERM", "{err}");
    assert_eq!(f["bytes"], 5000, "{err}");
}
