//! Reliability on a real 3-node Garage cluster (replication factor 3, quorum 2 of 3), from
//! `scripts/garage-cluster`: storage nodes killed (SIGKILL) and stalled (SIGSTOP) in the middle
//! of transfers, the client's own gateway dying, a killed node coming back, and 16 backup
//! streams at once with their peak memory measured. Every test prints its figures.

mod common;

use common::cluster::{cluster, expected_multipart_etag, read_hashed, report, Cluster, Finished, Noise, Tool};
use common::{run_timeout, S3Env};
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
/// s3put's first part size for a stream of unknown length (man s3put).
const PART: u64 = 16 * MIB;
/// s3get's default --chunk-size (man s3get).
const CHUNK: u64 = 8 * MIB;

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// Runs a shell pipeline of the tools against `env`.
fn sh(env: &S3Env, script: &str) -> std::process::Output {
    let dir = std::path::Path::new(env!("CARGO_BIN_EXE_s3put")).parent().expect("bin dir").to_path_buf();
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
    run_timeout(env.cmd_for_path("sh").args(["-c", script]).env("PATH", path), None, Duration::from_secs(120))
}

/// Checks the object's size and multipart ETag through `via`, without downloading it.
fn assert_stored(env: &S3Env, bucket: &str, key: &str, seed: u64, len: u64) {
    let head = env.head_object(bucket, key).unwrap_or_else(|| panic!("{bucket}/{key} is missing"));
    assert_eq!(head.size, len, "{bucket}/{key}: wrong size");
    assert_eq!(head.etag, expected_multipart_etag(seed, len, PART), "{bucket}/{key}: wrong ETag");
}

fn assert_no_real_uploads(c: &Cluster, bucket: &str, via: &[usize], what: &str) {
    let (real, phantom) = c.uploads(bucket, via);
    if !phantom.is_empty() {
        report(format!(
            "  {what}: Garage still lists {} completed upload(s) as in progress (ListParts: NoSuchUpload)",
            phantom.len()
        ));
    }
    assert!(real.is_empty(), "{what}: multipart uploads left behind: {real:?}");
}

/// Streams `len` bytes of noise into s3put, running `midway` after `at` bytes.
fn put_with(env: &S3Env, url: &str, args: &[&str], seed: u64, len: u64, at: u64, midway: impl FnOnce()) -> Finished {
    let mut all: Vec<&str> = args.to_vec();
    all.push(url);
    let mut p = Tool::start(env, "s3put", &all);
    let mut stdin = p.child.stdin.take().expect("stdin");
    let mut noise = Noise::new(seed);
    noise.write(&mut stdin, at).expect("feeding s3put");
    midway();
    // s3put may have given up and closed its input: that is for the assertions to judge.
    let _ = noise.write(&mut stdin, len - at);
    drop(stdin);
    p.finish(Duration::from_secs(300))
}

/// Reads an object with s3get, running `midway` after `at` bytes came out; returns the
/// result and the (bytes, sha256) written to stdout.
fn get_with(env: &S3Env, url: &str, args: &[&str], at: u64, midway: impl FnOnce()) -> (Finished, u64, String) {
    let mut all: Vec<&str> = args.to_vec();
    all.push(url);
    let mut g = Tool::start(env, "s3get", &all);
    let mut out = g.child.stdout.take().expect("stdout");
    let mut midway = Some(midway);
    let (n, sha) = read_hashed(&mut out, at, || midway.take().map_or((), |f| f()));
    (g.finish(Duration::from_secs(300)), n, sha)
}

fn noise_sha(seed: u64, len: u64) -> String {
    let mut n = Noise::new(seed);
    n.write(&mut std::io::sink(), len).expect("hashing");
    n.sha256()
}

/// A storage node other than the client's gateway dies (SIGKILL) during a 300 MiB s3put, then
/// another during a 300 MiB s3get -j 4: with two of three replicas left, Garage keeps its
/// quorum, and both transfers must succeed byte-identical with nothing left behind.
#[test]
fn storage_node_killed_during_put_and_get() {
    let c = cluster();
    let _x = c.exclusive();
    let gw = c.node(1);
    let bucket = gw.new_bucket("cl-kill");
    let url = format!("s3://{bucket}/db/300m.bin");
    let (seed, len) = (301, 300 * MIB);

    let put = put_with(&gw, &url, &["-v", "-j", "4"], seed, len, 96 * MIB, || c.kill(2));
    report(format!(
        "s3put 300 MiB, node 2 killed after 96 MiB: exit {:?} in {:.1}s, peak RSS {:.0} MiB, {} retries",
        put.status.code(),
        put.elapsed.as_secs_f64(),
        mib(put.rss),
        put.retries()
    ));
    assert!(put.status.success(), "s3put failed although 2 of 3 nodes were up: {}", put.stderr);
    assert_stored(&c.node(3), &bucket, "db/300m.bin", seed, len);
    assert_no_real_uploads(&c, &bucket, &[1, 3], "after the put");

    // Node 2 comes back (it missed the whole upload); node 3 dies half-way through the read.
    c.restart(2);
    let (get, n, sha) = get_with(&gw, &url, &["-v", "-j", "4"], 64 * MIB, || c.kill(3));
    report(format!(
        "s3get -j 4 300 MiB, node 3 killed after 64 MiB: exit {:?} in {:.1}s, peak RSS {:.0} MiB, {} retries",
        get.status.code(),
        get.elapsed.as_secs_f64(),
        mib(get.rss),
        get.retries()
    ));
    assert!(get.status.success(), "s3get failed although 2 of 3 nodes were up: {}", get.stderr);
    assert_eq!(n, len, "s3get wrote {n} bytes");
    assert_eq!(sha, noise_sha(seed, len), "s3get's output differs from what was stored");
}

/// The node the client talks to dies mid-upload. sluice takes one endpoint, so its retries
/// cannot reach the surviving nodes: s3put must fail with status 4 and a one-line error, and
/// since the abort cannot reach the cluster either, name the upload left behind and the
/// command that removes it, which then works through another node. s3get likewise exits 4.
#[test]
fn gateway_killed_mid_transfer_fails_cleanly() {
    let c = cluster();
    let _x = c.exclusive();
    let gw = c.node(1);
    let other = c.node(2);
    let bucket = gw.new_bucket("cl-gw");
    let key = "db/gw.bin";
    let url = format!("s3://{bucket}/{key}");
    let object_seed = 77;
    let put = put_with(&gw, &url, &[], 7, 200 * MIB, 64 * MIB, || c.kill(1));
    report(format!(
        "s3put 200 MiB, its gateway killed after 64 MiB: exit {:?} in {:.1}s; stderr: {}",
        put.status.code(),
        put.elapsed.as_secs_f64(),
        put.stderr.trim()
    ));
    assert_eq!(put.status.code(), Some(4), "{}", put.stderr);
    let last = put.last_line();
    assert!(last.starts_with("s3put: ") && last.contains("cannot connect"), "last line: {last}");
    assert!(put.elapsed < Duration::from_secs(90), "s3put took {:?} to give up", put.elapsed);
    assert!(other.head_object(&bucket, key).is_none(), "an object was stored by a failed upload");
    let (real, _) = c.uploads(&bucket, &[2, 3]);
    assert_eq!(real.len(), 1, "expected exactly the upload the dead gateway held: {real:?}");
    assert!(
        put.stderr.contains(&real[0].upload_id) && put.stderr.contains("s3ls --uploads | s3rm --uploads"),
        "the leftover upload is not named with its cleanup command: {}",
        put.stderr
    );

    // The documented cleanup, through a surviving node.
    let out = sh(&other, &format!("s3ls --uploads s3://{bucket}/ | s3rm --uploads"));
    assert!(out.status.success(), "cleanup failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_no_real_uploads(&c, &bucket, &[2, 3], "after the cleanup");

    // s3get whose gateway dies mid-read.
    c.restart(1);
    let len = 120 * MIB;
    let put = put_with(&gw, &format!("s3://{bucket}/db/r.bin"), &[], object_seed, len, 0, || {});
    assert!(put.status.success(), "{}", put.stderr);
    let (get, n, _) = get_with(&gw, &format!("s3://{bucket}/db/r.bin"), &["-j", "4"], 24 * MIB, || c.kill(1));
    report(format!(
        "s3get 120 MiB, its gateway killed after 24 MiB: exit {:?} after {} bytes in {:.1}s; stderr: {}",
        get.status.code(),
        n,
        get.elapsed.as_secs_f64(),
        get.stderr.trim()
    ));
    assert_eq!(get.status.code(), Some(4), "{}", get.stderr);
    assert!(n < len, "s3get wrote all {n} bytes although its gateway died");
    assert!(get.last_line().starts_with("s3get: "), "{}", get.stderr);
    assert!(get.elapsed < Duration::from_secs(90), "s3get took {:?} to give up", get.elapsed);
}

/// The gateway is stalled (SIGSTOP) for more than --timeout, then resumed. Requests caught by
/// the stall time out after --timeout seconds of silence and are retried (visible under -v);
/// the upload either completes, verified, or fails with status 4 leaving nothing behind:
/// after the resume Garage also runs the requests the client gave up on, and a stale
/// UploadPart that finishes after its retry makes CompleteMultipartUpload fail (InvalidPart),
/// which no client can repair since the part's bytes are gone. The test accepts either and
/// says which happened.
#[test]
fn gateway_stalled_longer_than_the_timeout_then_resumed() {
    let c = cluster();
    let _x = c.exclusive();
    let gw = c.node(1);
    let bucket = gw.new_bucket("cl-stall");
    let (seed, len, stall) = (55, 200 * MIB, Duration::from_secs(10));
    let resumer = std::cell::RefCell::new(None);
    let put = put_with(&gw, &format!("s3://{bucket}/db/s.bin"), &["-v", "--timeout", "3"], seed, len, 64 * MIB, || {
        c.pause(1);
        let c2 = c.clone();
        *resumer.borrow_mut() = Some(std::thread::spawn(move || {
            std::thread::sleep(stall);
            c2.resume(1);
        }));
    });
    if let Some(h) = resumer.take() {
        h.join().expect("resumer");
    }
    let outcome = if put.status.success() { "stored and verified" } else { "failed" };
    report(format!("s3put 200 MiB --timeout 3, gateway paused {}s after 64 MiB: {outcome}, exit {:?} in {:.1}s, {} retries; last line: {}",
        stall.as_secs(),
        put.status.code(),
        put.elapsed.as_secs_f64(),
        put.retries(),
        put.last_line()
    ));
    assert!(put.retries() > 0, "a {}s stall caused no retry with --timeout 3: {}", stall.as_secs(), put.stderr.trim());
    // Each request waits at most --timeout of silence per attempt: nothing near a minute.
    assert!(put.elapsed < stall + Duration::from_secs(60), "s3put took {:?}", put.elapsed);
    if put.status.success() {
        assert_stored(&gw, &bucket, "db/s.bin", seed, len);
    } else {
        assert_eq!(put.status.code(), Some(4), "{}", put.stderr);
        assert!(put.last_line().starts_with("s3put: "), "{}", put.stderr);
        assert!(gw.head_object(&bucket, "db/s.bin").is_none(), "a failed upload left an object");
    }
    assert_no_real_uploads(&c, &bucket, &[1, 2, 3], "after the stalled put");
}

/// The gateway stalls for good. With -j 1 --timeout 3 --retries 0, the part in flight must fail
/// after 3 s of silence and s3put must exit 4 once its abort (one attempt, itself bounded by
/// the 3 s idle timeout and a 30 s deadline) has given up: within about 35 s (60 allowed), never hanging.
#[test]
fn gateway_stalled_for_good_fails_within_the_timeouts() {
    let c = cluster();
    let _x = c.exclusive();
    let gw = c.node(1);
    let bucket = gw.new_bucket("cl-hang");
    let url = format!("s3://{bucket}/db/h.bin");
    let mut p = Tool::start(&gw, "s3put", &["-v", "-j", "1", "--timeout", "3", "--retries", "0", &url]);
    let started = p.started;
    let mut stdin = p.child.stdin.take().expect("stdin");
    let mut noise = Noise::new(9);
    // Two parts stored over one kept-alive connection, then the gateway stops.
    noise.write(&mut stdin, 3 * PART).expect("feeding s3put");
    let deadline = Instant::now() + Duration::from_secs(60);
    while gw.list_uploads(&bucket).is_empty() {
        assert!(Instant::now() < deadline, "no multipart upload started");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    c.pause(1);
    let t0 = Instant::now();
    let feeder = std::thread::spawn(move || {
        let _ = noise.write(&mut stdin, 2 * PART);
    });
    // 3 s for the part, then the abort: ureq lets a request's 30 s deadline override the idle
    // timeout, so about 34 s; 60 leaves room for a loaded machine and still catches a hang.
    let limit = Duration::from_secs(60);
    let done = p.finish_within(t0.duration_since(started) + limit);
    c.resume(1);
    let _ = feeder.join();
    match &done {
        Some(f) => report(format!(
            "s3put -j 1 --timeout 3 --retries 0, gateway paused for good: exit {:?} {:.1}s after the pause; stderr: {}",
            f.status.code(),
            t0.elapsed().as_secs_f64(),
            f.stderr.trim()
        )),
        None => report(format!(
            "s3put -j 1 --timeout 3 --retries 0, gateway paused for good: still running after {limit:?}, killed"
        )),
    }
    let f = done.unwrap_or_else(|| {
        panic!("s3put hung on a stalled gateway for {limit:?} despite --timeout 3 --retries 0 (requests on a reused connection have no idle timeout)")
    });
    assert_eq!(f.status.code(), Some(4), "{}", f.stderr);
    // Whatever the abort could not reach is cleaned up through the resumed gateway.
    let out = sh(&gw, &format!("s3ls --uploads s3://{bucket}/ | s3rm --uploads"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The node killed earlier comes back on its own (stale) data: the next backup, through that
/// very node, a restore of what was written while it was down, and a retention pass
/// (`s3ls --older-than | s3rm`) all succeed.
#[test]
fn restarted_node_serves_the_next_backup_and_retention() {
    let c = cluster();
    let _x = c.exclusive();
    let (n1, n2) = (c.node(1), c.node(2));
    let bucket = n1.new_bucket("cl-restart");
    let len = 40 * MIB;
    for (i, seed) in [(1, 11), (2, 12)] {
        let p = put_with(&n1, &format!("s3://{bucket}/db/old-{i}.bin"), &[], seed, len, 0, || {});
        assert!(p.status.success(), "{}", p.stderr);
    }
    let old_done = Instant::now();
    // 3 s apart: LastModified may be truncated to the second, and the age below is rounded down.
    std::thread::sleep(Duration::from_secs(3));
    c.kill(2);
    let p = put_with(&n1, &format!("s3://{bucket}/db/while-down.bin"), &[], 13, len, 0, || {});
    assert!(p.status.success(), "backup with node 2 down: {}", p.stderr);
    let t = Instant::now();
    c.restart(2);
    let restart = t.elapsed();

    let next = put_with(&n2, &format!("s3://{bucket}/db/next.bin"), &["-v"], 14, len, 0, || {});
    report(format!(
        "node 2 restarted in {:.1}s; next backup through it: exit {:?} in {:.1}s, {} retries",
        restart.as_secs_f64(),
        next.status.code(),
        next.elapsed.as_secs_f64(),
        next.retries()
    ));
    assert!(next.status.success(), "backup through the restarted node: {}", next.stderr);
    let (get, n, sha) = get_with(&n2, &format!("s3://{bucket}/db/while-down.bin"), &["-v"], 0, || {});
    assert!(get.status.success(), "restore through the restarted node: {}", get.stderr);
    assert_eq!((n, sha), (len, noise_sha(13, len)), "restore of the object written while node 2 was down");

    // Retention through the restarted node: everything older than the pre-kill backups' age.
    let age = old_done.elapsed().as_secs().saturating_sub(1).max(1);
    let t = Instant::now();
    let out = sh(&n2, &format!("s3ls --older-than {age}s s3://{bucket}/db/ | s3rm"));
    report(format!("retention (s3ls --older-than {age}s | s3rm) through node 2: {:.1}s", t.elapsed().as_secs_f64()));
    assert!(out.status.success(), "retention: {}", String::from_utf8_lossy(&out.stderr));
    let mut keys = n1.list_keys(&bucket);
    keys.sort();
    assert_eq!(keys, ["db/next.bin", "db/while-down.bin"], "retention kept the wrong objects");
    assert_no_real_uploads(&c, &bucket, &[1, 2, 3], "after the restart");
}

/// 16 backup streams of 64 MiB at once (a 16-shard Valkey cluster), spread over the three
/// gateways, each read back through another gateway: all byte-identical, each process within
/// its documented memory bound, no multipart upload left.
#[test]
fn sixteen_concurrent_streams() {
    let c = cluster();
    let _x = c.exclusive();
    let bucket = c.node(1).new_bucket("cl-16");
    let (streams, len) = (16u64, 64 * MIB);
    let t = Instant::now();
    let puts: Vec<_> = (0..streams)
        .map(|i| {
            let env = c.node(1 + (i as usize % 3));
            let url = format!("s3://{bucket}/shard-{i:02}.rdb");
            std::thread::spawn(move || put_with(&env, &url, &[], 1000 + i, len, 0, || {}))
        })
        .collect();
    let puts: Vec<Finished> = puts.into_iter().map(|h| h.join().expect("put thread")).collect();
    let put_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let gets: Vec<_> = (0..streams)
        .map(|i| {
            let env = c.node(1 + ((i as usize + 1) % 3));
            let url = format!("s3://{bucket}/shard-{i:02}.rdb");
            std::thread::spawn(move || get_with(&env, &url, &[], 0, || {}))
        })
        .collect();
    let gets: Vec<(Finished, u64, String)> = gets.into_iter().map(|h| h.join().expect("get thread")).collect();
    let get_secs = t.elapsed().as_secs_f64();

    // man s3put: below (jobs + 2) x part size + 32 MiB; man s3get: below (jobs + 2) x chunk size.
    let (put_bound, get_bound) = ((4 + 2) * PART + 32 * MIB, (4 + 2) * CHUNK);
    let max = |v: &mut dyn Iterator<Item = u64>| v.max().unwrap_or(0);
    let put_peak = max(&mut puts.iter().map(|p| p.rss));
    let get_peak = max(&mut gets.iter().map(|g| g.0.rss));
    report(format!(
        "16 x 64 MiB: s3put all done in {put_secs:.1}s ({:.0} MiB/s), peak RSS max {:.0} MiB (bound {:.0}); \
         s3get all done in {get_secs:.1}s ({:.0} MiB/s), peak RSS max {:.0} MiB (bound {:.0})",
        mib(streams * len) / put_secs,
        mib(put_peak),
        mib(put_bound),
        mib(streams * len) / get_secs,
        mib(get_peak),
        mib(get_bound)
    ));
    for (i, p) in puts.iter().enumerate() {
        assert!(p.status.success(), "stream {i}: s3put failed: {}", p.stderr);
    }
    for (i, (g, n, sha)) in gets.iter().enumerate() {
        assert!(g.status.success(), "stream {i}: s3get failed: {}", g.stderr);
        assert_eq!((*n, sha.as_str()), (len, noise_sha(1000 + i as u64, len).as_str()), "stream {i} differs");
    }
    for n in 1..=3 {
        let out = run_timeout(
            c.node(n).cmd("s3ls").args(["--uploads", &format!("s3://{bucket}/")]),
            None,
            Duration::from_secs(60),
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout.is_empty(), "s3ls --uploads through node {n}: {}", String::from_utf8_lossy(&out.stdout));
    }
    assert_no_real_uploads(&c, &bucket, &[1, 2, 3], "after 16 streams");
    for (i, p) in puts.iter().enumerate() {
        assert!(p.rss <= put_bound, "stream {i}: s3put peaked at {:.0} MiB, over its bound", mib(p.rss));
    }
    for (i, (g, _, _)) in gets.iter().enumerate() {
        assert!(g.rss <= get_bound, "stream {i}: s3get peaked at {:.0} MiB, over its bound", mib(g.rss));
    }
}
