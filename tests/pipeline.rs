//! Pipeline safety (issue 6) against the real S3 servers (Garage and Ceph RGW), Swift and a real
//! redis-server: a failing stage never lands as a good backup, command mode, and that healthy
//! pipelines signal nobody. Every pipeline runs under plain `sh -c`, without pipefail.

mod common;

use common::redis::Redis;
use common::{bin_path, random_bytes, run_timeout, s3_env, S3Env, TempDir};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `sh -c SCRIPT` with the sluice binaries first on PATH and the test Garage's credentials.
fn sh(script: &str) -> Command {
    sh_on(&s3_env(), script)
}

/// `sh -c SCRIPT` with the sluice binaries first on PATH and `env`'s S3 server and credentials.
fn sh_on(env: &S3Env, script: &str) -> Command {
    let bin_dir = bin_path("s3put").parent().unwrap().to_path_buf();
    let mut cmd = env.cmd_for_path("sh");
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    cmd.env("PATH", path).arg("-c").arg(script);
    cmd
}

/// Runs a script that writes the exit statuses of its stages into files named rc1, rc2, ...
fn statuses(dir: &Path, n: usize) -> Vec<i32> {
    (1..=n)
        .map(|i| {
            std::fs::read_to_string(dir.join(format!("rc{i}")))
                .unwrap_or_else(|_| panic!("stage {i} wrote no status"))
                .trim()
                .parse()
                .unwrap()
        })
        .collect()
}

s3_test!(fn garbage_through_rdbcheck_stores_nothing_and_both_fail(env) {
    let bucket = env.new_bucket("pipe-garbage");
    let dir = TempDir::new("pipe-garbage");
    let d = dir.path().display();
    let script = format!(
        "{{ printf 'REDIS0011\\376\\000garbage' | rdbcheck; echo $? > {d}/rc1; }} | s3put s3://{bucket}/k; echo $? > {d}/rc2"
    );
    let out = run_timeout(&mut sh_on(&env, &script), None, Duration::from_secs(60));
    let rc = statuses(dir.path(), 2);
    assert_ne!(rc[0], 0, "rdbcheck accepted garbage: {}", stderr(&out));
    assert_ne!(rc[1], 0, "s3put succeeded on a failed stream: {}", stderr(&out));
    assert!(env.list_keys(&bucket).is_empty(), "an object was stored");
    assert!(env.list_uploads(&bucket).is_empty());
});

// Big data (200 MiB) on one server: what it shows is the pipeline's, not the S3 server's.
s3_test!(only garage: fn live_redis_backup_is_complete_and_killing_the_source_stores_nothing(env) {
    let bucket = env.new_bucket("pipe-redis");
    let redis = Redis::start(&[]);
    redis.load_varied(200);
    let dir = TempDir::new("pipe-redis");
    let d = dir.path().display();

    // The healthy backup: what is stored is exactly what redis-cli produced.
    let script = format!(
        "redis-cli -p {p} --rdb - 2>/dev/null | tee {d}/cli.out | rdbcheck | s3put s3://{bucket}/dump.rdb",
        p = redis.port
    );
    let out = run_timeout(&mut sh_on(&env, &script), None, Duration::from_secs(300));
    assert!(out.status.success(), "{}", stderr(&out));
    let stored = env.get_object(&bucket, "dump.rdb");
    let cli = std::fs::read(dir.path().join("cli.out")).unwrap();
    assert!(stored.len() > 200 << 20, "only {} bytes stored", stored.len());
    assert!(stored == cli, "stored object differs from redis-cli's output");

    // The same data as SAVE writes: load the object into a fresh server, compare digests.
    let restore_dir = TempDir::new("pipe-restore");
    std::fs::write(restore_dir.join("dump.rdb"), &stored).unwrap();
    let restored = Redis::start(&["--dir", restore_dir.path().to_str().unwrap(), "--dbfilename", "dump.rdb"]);
    assert_eq!(restored.digest(), redis.digest(), "restored dataset differs from the source");

    // Kill redis-cli mid-transfer: rdbcheck sees truncation and aborts s3put before EOF.
    let script = format!(
        "{{ redis-cli -p {p} --rdb - 2>/dev/null; echo $? > {d}/rc1; }} | {slow} | {{ rdbcheck; echo $? > {d}/rc2; }} | \
         s3put -v s3://{bucket}/killed.rdb; echo $? > {d}/rc3",
        p = redis.port,
        slow = slowcat(&dir)
    );
    let mut child =
        sh_on(&env, &script).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while env.list_uploads(&bucket).is_empty() {
        assert!(Instant::now() < deadline, "the upload never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed =
        Command::new("pkill").args(["-KILL", "-f", &format!("^redis-cli -p {} --rdb", redis.port)]).status().unwrap();
    assert!(killed.success(), "redis-cli was not running any more");
    let status = common::wait_deadline(&mut child, Duration::from_secs(120));
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "sh itself failed: {err}");
    let rc = statuses(dir.path(), 3);
    assert_ne!(rc[1], 0, "rdbcheck accepted a truncated stream: {err}");
    assert_ne!(rc[2], 0, "s3put completed a truncated stream: {err}");
    assert!(env.try_get_object(&bucket, "killed.rdb").is_none(), "a truncated backup was stored: {err}");
    assert!(env.list_uploads(&bucket).is_empty(), "an in-progress upload was left: {err}");
});

s3_test!(fn command_mode_stores_only_when_the_command_succeeds(env) {
    let bucket = env.new_bucket("pipe-cmd");
    for (key, argv) in [
        ("false", vec!["false"]),
        ("exit3", vec!["sh", "-c", "head -c 20M /dev/urandom; exit 3"]),
        ("missing", vec!["/nonexistent/program"]),
    ] {
        let out = run_timeout(
            env.cmd("s3put").arg(format!("s3://{bucket}/{key}")).arg("--").args(&argv),
            None,
            Duration::from_secs(120),
        );
        assert!(!out.status.success(), "{key}: {}", stderr(&out));
        assert_eq!(stderr(&out).trim().lines().count(), 1, "{key}: {}", stderr(&out));
    }
    assert!(env.list_keys(&bucket).is_empty(), "a failed command's output was stored");
    assert!(env.list_uploads(&bucket).is_empty());

    let out = run_timeout(
        env.cmd("s3put").arg(format!("s3://{bucket}/ok")).args(["--", "sh", "-c", "head -c 20M /dev/zero"]),
        None,
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.head_object(&bucket, "ok").unwrap().size, 20 << 20);
});

/// A relay that forwards stdin to stdout at about 8 MiB/s, so a source can be killed while the
/// transfer is certainly still running, however fast the machine is.
const SLOWCAT: &str = r#"
import os, sys, time
rate = 8 << 20
start = time.monotonic(); sent = 0
while True:
    b = os.read(0, 1 << 16)
    if not b: break
    os.write(1, b); sent += len(b)
    ahead = sent / rate - (time.monotonic() - start)
    if ahead > 0: time.sleep(ahead)
"#;

fn slowcat(dir: &TempDir) -> String {
    let path = dir.join("slowcat.py");
    std::fs::write(&path, SLOWCAT).unwrap();
    format!("python3 {}", path.display())
}

/// A reader that catches SIGUSR2 (as sluice uploaders do), reads everything, and reports.
const REPORTER: &str = r#"
import signal, sys, os
got = []
signal.signal(signal.SIGUSR2, lambda s, f: got.append(s))
n = 0
limit = int(sys.argv[1]) if len(sys.argv) > 1 else -1
while True:
    b = os.read(0, 65536)
    if not b: break
    n += len(b)
    if limit >= 0 and n >= limit: break
print("signalled" if got else "quiet", n)
"#;

#[test]
fn healthy_pipelines_signal_nobody_and_failures_signal_the_reader() {
    let dir = TempDir::new("pipe-quiet");
    let good = random_rdb(&dir);
    let reporter = dir.join("reporter.py");
    std::fs::write(&reporter, REPORTER).unwrap();
    let d = dir.path().display();
    let (g, r) = (good.display(), reporter.display());

    // Valid input to a catching reader: no signal.
    let out = run_timeout(&mut sh(&format!("rdbcheck < {g} | python3 {r}")), None, Duration::from_secs(60));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("quiet"), "{:?}", out);

    // The reader leaves early (like head -c 100): rdbcheck ends quietly, signals nobody.
    let out = run_timeout(
        &mut sh(&format!("{{ rdbcheck < {g}; echo $? > {d}/rc1; }} | python3 {r} 100")),
        None,
        Duration::from_secs(60),
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("quiet"), "{:?}", out);
    let rc = statuses(dir.path(), 1)[0];
    assert!(rc == 0 || rc == 141, "rdbcheck exit {rc} after the reader left: {}", stderr(&out));
    assert!(stderr(&out).trim().is_empty(), "rdbcheck complained about a closed pipe: {}", stderr(&out));
    let out = run_timeout(&mut sh(&format!("rdbcheck < {g} | head -c 100 > /dev/null")), None, Duration::from_secs(60));
    assert!(out.status.success(), "{}", stderr(&out));

    // To a file: exit 0, identical bytes.
    let out = run_timeout(&mut sh(&format!("rdbcheck < {g} > {d}/copy.rdb")), None, Duration::from_secs(60));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(dir.join("copy.rdb")).unwrap(), std::fs::read(&good).unwrap());

    // Truncated input: the catching reader is signalled before it sees EOF.
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.join("cut.rdb");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out =
        run_timeout(&mut sh(&format!("rdbcheck < {} | python3 {r}", cut.display())), None, Duration::from_secs(60));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("signalled"), "{:?}", out);

    // And the opt-out.
    let out = run_timeout(
        &mut sh(&format!("SLUICE_PIPELINE_ABORT=0 rdbcheck < {} | python3 {r}", cut.display())),
        None,
        Duration::from_secs(60),
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("quiet"), "{:?}", out);
}

/// A valid multi-megabyte RDB written by a real redis-server's SAVE.
fn random_rdb(dir: &TempDir) -> std::path::PathBuf {
    let redis = Redis::start(&[]);
    for i in 0..8 {
        redis.cmd_bin(&[b"SET", format!("k{i}").as_bytes(), &random_bytes(1 << 20, i)]).unwrap();
    }
    redis.cmd(&["SAVE"]).unwrap();
    let path = dir.join("good.rdb");
    std::fs::copy(redis.dir.join("dump.rdb"), &path).unwrap();
    path
}

// ---- Swift: the same cases through swift-slo-put, and mirroring Garage + Swift ----------------

fn swift_var(name: &str) -> String {
    common::test_var(name).unwrap_or_else(|| {
        panic!("{name} is not set: Swift is not running: run `make test` (scripts/swift-server start)")
    })
}

/// `sh -c SCRIPT` with both the Garage credentials and Swift v1 credentials (ST_*).
fn sh_swift(script: &str) -> Command {
    sh_swift_on(&s3_env(), script)
}

/// `sh -c SCRIPT` with `env`'s S3 credentials and Swift v1 credentials (ST_*).
fn sh_swift_on(env: &S3Env, script: &str) -> Command {
    let mut cmd = sh_on(env, script);
    cmd.env("ST_AUTH", swift_var("SLUICE_TEST_SWIFT_AUTH_V1"))
        .env("ST_USER", swift_var("SLUICE_TEST_SWIFT_USER"))
        .env("ST_KEY", swift_var("SLUICE_TEST_SWIFT_KEY"));
    cmd
}

/// Object names in a container per python-swiftclient (an independent oracle); empty when the
/// container does not exist.
fn swift_list(container: &str) -> Vec<String> {
    let out = run_timeout(
        common::hermetic_cmd("swift")
            .env("ST_AUTH", swift_var("SLUICE_TEST_SWIFT_AUTH_V1"))
            .env("ST_USER", swift_var("SLUICE_TEST_SWIFT_USER"))
            .env("ST_KEY", swift_var("SLUICE_TEST_SWIFT_KEY"))
            .args(["list", container]),
        None,
        Duration::from_secs(60),
    );
    if !out.status.success() {
        let err = stderr(&out);
        assert!(err.contains("404") || err.contains("not found"), "swift list {container}: {err}");
        return Vec::new();
    }
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

fn unique_container(prefix: &str) -> String {
    common::unique_bucket_name(prefix)
}

#[test]
fn garbage_and_killed_sources_leave_nothing_in_swift() {
    let c = unique_container("pipe-swift");
    let dir = TempDir::new("pipe-swift");
    let d = dir.path().display();
    let script = format!(
        "{{ printf 'REDIS0011\\376\\000garbage' | rdbcheck; echo $? > {d}/rc1; }} | \
         swift-slo-put --create-container {c} k; echo $? > {d}/rc2"
    );
    let out = run_timeout(&mut sh_swift(&script), None, Duration::from_secs(60));
    let rc = statuses(dir.path(), 2);
    assert!(rc[0] != 0 && rc[1] != 0, "statuses {rc:?}: {}", stderr(&out));
    assert!(swift_list(&c).is_empty(), "a manifest or object was stored");
    assert!(swift_list(&format!("{c}_segments")).is_empty(), "segments were left behind");

    // A live redis-server, its redis-cli killed mid-transfer.
    let redis = Redis::start(&[]);
    redis.load_varied(150);
    let script = format!(
        "{{ redis-cli -p {p} --rdb - 2>/dev/null; echo $? > {d}/rc1; }} | {slow} | {{ rdbcheck; echo $? > {d}/rc2; }} | \
         swift-slo-put -S 4M --create-container {c} killed.rdb; echo $? > {d}/rc3",
        p = redis.port,
        slow = slowcat(&dir)
    );
    let mut child =
        sh_swift(&script).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while swift_list(&format!("{c}_segments")).len() < 2 {
        assert!(Instant::now() < deadline, "no segment was ever uploaded");
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed =
        Command::new("pkill").args(["-KILL", "-f", &format!("^redis-cli -p {} --rdb", redis.port)]).status().unwrap();
    assert!(killed.success(), "redis-cli was not running any more");
    let status = common::wait_deadline(&mut child, Duration::from_secs(120));
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "sh failed: {err}");
    let rc = statuses(dir.path(), 3);
    assert!(rc[1] != 0 && rc[2] != 0, "statuses {rc:?}: {err}");
    assert!(!swift_list(&c).contains(&"killed.rdb".to_string()), "a truncated backup was stored: {err}");
    assert!(swift_list(&format!("{c}_segments")).is_empty(), "segments were left behind: {err}");
}

s3_test!(fn mirror_to_s3_and_swift_with_a_failing_swift_stage(env) {
    let bucket = env.new_bucket("pipe-mirror");
    let c = unique_container("pipe-mirror");
    let dir = TempDir::new("pipe-mirror");
    let good = random_rdb(&dir);
    let d = dir.path().display();
    let g = good.display();

    // continue: the S3 store keeps the complete, verified object; the pipeline reports the failure.
    let script = format!(
        "rdbcheck < {g} | s3put --tee s3://{bucket}/k | ST_KEY=wrong swift-slo-put --create-container {c} k; echo $? > {d}/rc1"
    );
    let out = run_timeout(&mut sh_swift_on(&env, &script), None, Duration::from_secs(120));
    assert_ne!(statuses(dir.path(), 1)[0], 0, "the pipeline hid the Swift failure: {}", stderr(&out));
    assert_eq!(env.get_object(&bucket, "k"), std::fs::read(&good).unwrap(), "{}", stderr(&out));
    assert!(swift_list(&c).is_empty());

    // abort: neither store holds it.
    let script = format!(
        "rdbcheck < {g} | s3put --tee --onfail abort s3://{bucket}/k2 | ST_KEY=wrong swift-slo-put --create-container {c} k2; echo $? > {d}/rc1"
    );
    let out = run_timeout(&mut sh_swift_on(&env, &script), None, Duration::from_secs(120));
    assert_ne!(statuses(dir.path(), 1)[0], 0, "{}", stderr(&out));
    assert!(
        env.try_get_object(&bucket, "k2").is_none(),
        "the S3 store kept the object with --onfail abort: {}",
        stderr(&out)
    );
    assert!(env.list_uploads(&bucket).is_empty());
    assert!(swift_list(&c).is_empty());

    // And the healthy mirror stores the same bytes in both.
    let script =
        format!("rdbcheck < {g} | s3put --tee s3://{bucket}/k3 | swift-slo-put -S 1M --create-container {c} k3");
    let out = run_timeout(&mut sh_swift_on(&env, &script), None, Duration::from_secs(120));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.get_object(&bucket, "k3"), std::fs::read(&good).unwrap());
    let swift_copy = run_timeout(
        sh_swift(&format!("swift-get {c} k3")).stdout(std::process::Stdio::piped()),
        None,
        Duration::from_secs(60),
    );
    assert!(swift_copy.status.success(), "{}", stderr(&swift_copy));
    assert!(swift_copy.stdout == std::fs::read(&good).unwrap(), "the Swift copy differs");
});

#[test]
fn swift_command_mode_stores_only_when_the_command_succeeds() {
    let c = unique_container("pipe-swift-cmd");
    for (name, cmd) in [("false", "false"), ("exit3", "head -c 3000000 /dev/urandom; exit 3")] {
        let out = run_timeout(
            &mut sh_swift(&format!("swift-slo-put -S 1M --create-container {c} {name} -- sh -c '{cmd}'")),
            None,
            Duration::from_secs(120),
        );
        assert!(!out.status.success(), "{name}: {}", stderr(&out));
    }
    assert!(swift_list(&c).is_empty(), "a failed command's output was stored");
    assert!(swift_list(&format!("{c}_segments")).is_empty(), "segments were left behind");
    let out = run_timeout(
        &mut sh_swift(&format!("swift-slo-put -S 1M {c} ok -- sh -c 'head -c 3000000 /dev/zero'")),
        None,
        Duration::from_secs(120),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(swift_list(&c), ["ok"]);
}
