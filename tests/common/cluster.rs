//! The 3-node Garage cluster of `scripts/garage-cluster` (started by `scripts/test-servers`),
//! node control for the failure tests, and measuring helpers (peak RSS, streamed payloads).
//!
//! ```ignore
//! let c = cluster();
//! let _x = c.exclusive();          // one failure test at a time; every node healed on drop
//! let env = c.node(1);             // an S3Env talking to node 1's S3 endpoint
//! c.kill(2);                       // SIGKILL; c.pause(2) / c.resume(2) are SIGSTOP / SIGCONT
//! ```

use super::{bin_path, endpoint_addr, run_timeout, test_var, S3Env, Server, UploadInfo};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const NOT_RUNNING: &str = "the Garage cluster is not running: run `make test` (scripts/test-servers start)";

#[derive(Clone, Debug)]
pub struct Cluster {
    nodes: Vec<S3Env>,
    ctl: PathBuf,
    dir: PathBuf,
}

/// The cluster's environment, from SLUICE_TEST_CLUSTER_* or the test-servers env file.
/// Panics (failing the test) when it is not configured or a node is unreachable.
pub fn cluster() -> Cluster {
    static C: OnceLock<Result<Cluster, String>> = OnceLock::new();
    match C.get_or_init(discover) {
        Ok(c) => c.clone(),
        Err(e) => panic!("{e}"),
    }
}

fn discover() -> Result<Cluster, String> {
    let need = |n: &str| test_var(n).ok_or_else(|| format!("{NOT_RUNNING}; {n} is not set"));
    let endpoints = need("SLUICE_TEST_CLUSTER_ENDPOINTS")?;
    let (region, key_id, secret) =
        (need("SLUICE_TEST_CLUSTER_REGION")?, need("SLUICE_TEST_CLUSTER_KEY_ID")?, need("SLUICE_TEST_CLUSTER_SECRET")?);
    let nodes: Vec<S3Env> = endpoints
        .split_whitespace()
        .map(|e| S3Env {
            server: Server::Garage,
            endpoint: e.to_string(),
            region: region.clone(),
            key_id: key_id.clone(),
            secret: secret.clone(),
            garage: None,
            garage_config: None,
            ceph_config: None,
        })
        .collect();
    if nodes.len() != 3 {
        return Err(format!("SLUICE_TEST_CLUSTER_ENDPOINTS should name 3 endpoints: {endpoints:?}"));
    }
    let c = Cluster {
        nodes,
        ctl: PathBuf::from(need("SLUICE_TEST_CLUSTER_CTL")?),
        dir: PathBuf::from(need("SLUICE_TEST_CLUSTER_DIR")?),
    };
    // A node left down by a test that crashed is brought back rather than failing every test;
    // a cluster with no node up was never started, and that fails.
    let down = c
        .nodes
        .iter()
        .filter(|n| TcpStream::connect_timeout(&endpoint_addr(&n.endpoint), Duration::from_secs(3)).is_err())
        .count();
    if down == c.nodes.len() {
        return Err(format!("{NOT_RUNNING}; no node answers at {endpoints}"));
    }
    if down > 0 {
        c.try_ctl(&["start"]).map_err(|e| format!("{NOT_RUNNING}; {e}"))?;
    }
    Ok(c)
}

/// Serialises the tests that kill or pause nodes; heals the cluster when dropped.
pub struct Exclusive<'a> {
    cluster: &'a Cluster,
    _guard: MutexGuard<'static, ()>,
}

impl Drop for Exclusive<'_> {
    fn drop(&mut self) {
        // Even after a failed assertion: the next test needs three healthy nodes.
        if let Err(e) = self.cluster.try_ctl(&["start"]) {
            eprintln!("could not heal the cluster: {e}");
        }
    }
}

impl Cluster {
    /// Node `n` (1-based) as an S3 endpoint with the cluster's test key.
    pub fn node(&self, n: usize) -> S3Env {
        self.nodes[n - 1].clone()
    }

    /// Exclusive use of the cluster for a failure test, starting with every node healthy.
    pub fn exclusive(&self) -> Exclusive<'_> {
        static LOCK: Mutex<()> = Mutex::new(());
        let guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
        self.ctl(&["start"]);
        Exclusive { cluster: self, _guard: guard }
    }

    fn try_ctl(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new(&self.ctl);
        cmd.args(args).env("SLUICE_TEST_DIR", &self.dir);
        let out = run_timeout(&mut cmd, None, Duration::from_secs(150));
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if out.status.success() {
            Ok(err)
        } else {
            Err(format!("garage-cluster {args:?} failed: {err}"))
        }
    }

    /// Runs `scripts/garage-cluster ARGS`, failing the test if it fails.
    pub fn ctl(&self, args: &[&str]) {
        if let Err(e) = self.try_ctl(args) {
            panic!("{e}");
        }
    }

    pub fn kill(&self, n: usize) {
        self.ctl(&["kill", &n.to_string()]);
    }
    pub fn pause(&self, n: usize) {
        self.ctl(&["pause", &n.to_string()]);
    }
    pub fn resume(&self, n: usize) {
        self.ctl(&["resume", &n.to_string()]);
    }
    /// Brings a killed node back on its own data and waits until it is healthy.
    pub fn restart(&self, n: usize) {
        self.ctl(&["restart", &n.to_string()]);
    }

    /// In-progress uploads of `bucket` as listed through each node in `via`, each one confirmed
    /// with ListParts. Garage may go on listing, for a few minutes, an upload that was completed
    /// while a node was down (that node missed the completion); ListParts then answers
    /// NoSuchUpload. Returns (real uploads, such phantoms).
    pub fn uploads(&self, bucket: &str, via: &[usize]) -> (Vec<UploadInfo>, Vec<UploadInfo>) {
        let (mut real, mut phantom): (Vec<UploadInfo>, Vec<UploadInfo>) = (Vec::new(), Vec::new());
        for &n in via {
            let env = self.node(n);
            for u in env.list_uploads(bucket) {
                if real.contains(&u) || phantom.contains(&u) {
                    continue;
                }
                let out = env.oracle(&["parts", bucket, &u.key, &u.upload_id], None);
                match out.status.code() {
                    Some(0) => real.push(u),
                    Some(3) => phantom.push(u),
                    _ => panic!("s3check parts {bucket}/{}: {}", u.key, String::from_utf8_lossy(&out.stderr).trim()),
                }
            }
        }
        (real, phantom)
    }
}

/// A sluice tool started with piped stdio under GNU time, which reports its peak RSS. (wait4's
/// ru_maxrss would not do: std spawns with vfork semantics, and Linux carries the parent's
/// high-water mark across exec, so every child would "peak" at the test process's size.)
/// The tool runs in its own process group so a deadline kills it, not just `time`.
pub struct Tool {
    pub child: Child,
    stderr: Option<JoinHandle<String>>,
    rss_file: PathBuf,
    pub started: Instant,
}

/// What a [`Tool`] did.
pub struct Finished {
    pub status: ExitStatus,
    /// Peak resident set size in bytes.
    pub rss: u64,
    pub elapsed: Duration,
    pub stderr: String,
}

impl Finished {
    /// Retries and resumptions announced under -v.
    pub fn retries(&self) -> usize {
        self.stderr.lines().filter(|l| l.contains("; retry ") || l.contains("resuming")).count()
    }
    pub fn last_line(&self) -> &str {
        self.stderr.lines().last().unwrap_or("")
    }
}

impl Tool {
    pub fn start(env: &S3Env, bin: &str, args: &[&str]) -> Tool {
        static N: AtomicUsize = AtomicUsize::new(0);
        let rss_file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "rss-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let mut child = env
            .cmd_for_path("/usr/bin/time")
            .args(["-f", "%M", "-o"])
            .arg(&rss_file)
            .arg(bin_path(bin))
            .args(args)
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run /usr/bin/time {bin} (Debian package `time`): {e}"));
        let mut err = child.stderr.take().expect("stderr");
        let stderr = Some(std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        }));
        Tool { child, stderr, rss_file, started: Instant::now() }
    }

    /// Kills the tool and `time` (the whole process group).
    pub fn kill(&mut self) {
        // SAFETY: signalling our own child's process group.
        unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
        let _ = self.child.wait();
    }

    /// Waits up to `limit` (killing it and returning None after that), closing its stdin first.
    pub fn finish_within(mut self, limit: Duration) -> Option<Finished> {
        drop(self.child.stdin.take());
        let deadline = self.started + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break Some(s);
            }
            if Instant::now() > deadline {
                self.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let elapsed = self.started.elapsed();
        let stderr = self.stderr.take().map(|h| h.join().expect("stderr reader")).unwrap_or_default();
        let report = std::fs::read_to_string(&self.rss_file).unwrap_or_default();
        let _ = std::fs::remove_file(&self.rss_file);
        let status = status?;
        // time adds "Command exited with non-zero status N" before the figure.
        let kib: u64 = report.lines().rev().find_map(|l| l.trim().parse().ok()).unwrap_or(0);
        Some(Finished { status, rss: kib * 1024, elapsed, stderr })
    }

    /// Like `finish_within`, failing the test if the tool outlives `limit`.
    pub fn finish(self, limit: Duration) -> Finished {
        self.finish_within(limit).unwrap_or_else(|| panic!("still running after {limit:?}: killed"))
    }
}

/// Prints a test's figures on stderr directly, past libtest's output capture, so they show in
/// `make test` and CI logs for passing tests too.
pub fn report(line: impl AsRef<str>) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", line.as_ref());
}

/// An endless, deterministic stream of incompressible bytes (the same xorshift as
/// `random_bytes`), hashed as it is produced, so large payloads never sit in the test's memory.
pub struct Noise {
    x: u64,
    hash: Sha256,
    pub produced: u64,
}

impl Noise {
    pub fn new(seed: u64) -> Noise {
        Noise { x: seed | 1, hash: Sha256::new(), produced: 0 }
    }

    /// Writes `n` more bytes to `w`.
    pub fn write(&mut self, w: &mut impl Write, mut n: u64) -> std::io::Result<()> {
        let mut buf = vec![0u8; 1 << 20];
        while n > 0 {
            let take = n.min(buf.len() as u64) as usize;
            for chunk in buf[..take].chunks_mut(8) {
                self.x ^= self.x << 13;
                self.x ^= self.x >> 7;
                self.x ^= self.x << 17;
                let b = self.x.to_le_bytes();
                chunk.copy_from_slice(&b[..chunk.len()]);
            }
            self.hash.update(&buf[..take]);
            w.write_all(&buf[..take])?;
            self.produced += take as u64;
            n -= take as u64;
        }
        Ok(())
    }

    /// Hex SHA-256 of everything produced.
    pub fn sha256(self) -> String {
        hex::encode(self.hash.finalize())
    }
}

/// Reads `r` to EOF, hashing; calls `at` once when `trigger` bytes have been read.
pub fn read_hashed(r: &mut impl Read, trigger: u64, mut at: impl FnMut()) -> (u64, String) {
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let (mut total, mut fired) = (0u64, false);
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("reading the child's output: {e}"),
        };
        hash.update(&buf[..n]);
        total += n as u64;
        if !fired && total >= trigger {
            fired = true;
            at();
        }
    }
    (total, hex::encode(hash.finalize()))
}

/// `md5(concat(part md5s))-N` for `len` bytes of `Noise::new(seed)` cut into `part`-byte parts:
/// the ETag a store gives s3put's multipart upload of that stream.
pub fn expected_multipart_etag(seed: u64, len: u64, part: u64) -> String {
    use md5::{Digest as _, Md5};
    struct PartMd5s {
        part: u64,
        cur: Md5,
        in_part: u64,
        md5s: Vec<u8>,
        count: usize,
    }
    impl Write for PartMd5s {
        fn write(&mut self, mut data: &[u8]) -> std::io::Result<usize> {
            let n = data.len();
            while !data.is_empty() {
                let take = ((self.part - self.in_part) as usize).min(data.len());
                self.cur.update(&data[..take]);
                self.in_part += take as u64;
                data = &data[take..];
                if self.in_part == self.part {
                    self.md5s.extend_from_slice(&std::mem::take(&mut self.cur).finalize());
                    self.count += 1;
                    self.in_part = 0;
                }
            }
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = PartMd5s { part, cur: Md5::new(), in_part: 0, md5s: Vec::new(), count: 0 };
    Noise::new(seed).write(&mut w, len).expect("hashing");
    if w.in_part > 0 {
        let last = std::mem::take(&mut w.cur).finalize();
        w.md5s.extend_from_slice(&last);
        w.count += 1;
    }
    format!("{}-{}", hex::encode(Md5::digest(&w.md5s)), w.count)
}
