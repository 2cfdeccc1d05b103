//! `make soak` (CI runs it after `make test`; ignored, visibly, by `make test`): 100 sequential
//! backups and restores through the fault proxy in front of the 3-node Garage cluster, each
//! with a random fault on a random request (5xx, SlowDown, reset mid-body, a stall longer than
//! --timeout, a lost response, a cut GET), possibly repeated. The seed is printed; replay a run
//! with `SLUICE_SOAK_SEED=<seed> make soak` (SLUICE_SOAK_RUNS changes the count).
//!
//! Every backup must end in one of two ways: exit 0 with the exact bytes stored, or a
//! documented exit status with a one-line error and nothing stored. No multipart upload may
//! survive any backup, and every restore must be exact or fail with a documented status.

mod common;

use common::cluster::{cluster, expected_multipart_etag, read_hashed, report, Finished, Noise, Tool};
use common::{Fault, FaultProxy, Rule, S3Env};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
const PART: u64 = 5 * MIB;
const DEFAULT_SEED: u64 = 0x5eed_0017;
/// Client idle timeout; proxy stalls last longer.
const TIMEOUT: &str = "1";
const STALL: Duration = Duration::from_millis(1500);
/// --retries 2: a fault repeated 3 times exhausts a request's attempts.
const RETRIES: &str = "2";

/// splitmix64: small, seedable, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
    .or_else(|| panic!("{name}={v:?}: expected a number (decimal or 0x hex)"))
}

fn fault_name(f: &Fault) -> String {
    match f {
        Fault::Status(503) => "SlowDown 503".into(),
        Fault::Status(s) => format!("{s}"),
        Fault::DropMidRequestBody => "reset mid-body".into(),
        Fault::CloseBeforeResponse => "response lost".into(),
        Fault::Stall(_) => "stall".into(),
        Fault::DropMidResponseBody => "cut GET".into(),
        Fault::StallMidResponseBody(_) => "stall mid-body".into(),
        other => format!("{other:?}"),
    }
}

/// A random fault on one request of the backup of `key` (`parts` 0 for a single PUT).
fn put_rule(rng: &mut Rng, key: &str, parts: u64) -> (String, Rule) {
    let fault = rng.pick(&[
        Fault::Status(500),
        Fault::Status(503),
        Fault::DropMidRequestBody,
        Fault::Stall(STALL),
        Fault::CloseBeforeResponse,
    ]);
    let times = rng.pick(&[1, 1, 1, 2, 3]);
    let (target, rule) = if parts == 0 {
        match rng.below(3) {
            0 | 1 => ("PUT", Rule::new(fault.clone()).method("PUT").path_contains(key)),
            _ => ("HEAD", Rule::new(fault.clone()).method("HEAD").path_contains(key)),
        }
    } else {
        match rng.below(6) {
            0 => ("create", Rule::new(fault.clone()).method("POST").path_contains(key).query_contains("uploads")),
            1 => ("complete", Rule::new(fault.clone()).method("POST").path_contains(key).query_contains("uploadId=")),
            2 => ("HEAD", Rule::new(fault.clone()).method("HEAD").path_contains(key)),
            _ => {
                let n = rng.range(1, parts);
                let r = Rule::new(fault.clone()).method("PUT").query_contains(&format!("partNumber={n}&"));
                return (format!("part {n}: {} x{times}", fault_name(&fault)), r.times(times));
            }
        }
    };
    (format!("{target}: {} x{times}", fault_name(&fault)), rule.times(times))
}

/// A random fault on one of the first GETs of a restore.
fn get_rule(rng: &mut Rng, key: &str) -> (String, Rule) {
    let fault = rng.pick(&[
        Fault::DropMidResponseBody,
        Fault::DropMidResponseBody,
        Fault::StallMidResponseBody(STALL),
        Fault::Stall(STALL),
        Fault::Status(500),
        Fault::Status(503),
    ]);
    let (nth, times) = (rng.range(1, 3) as usize, rng.pick(&[1, 1, 2, 3, 4]));
    let rule = Rule::new(fault.clone()).method("GET").path_contains(key).nth(nth).times(times);
    (format!("GET #{nth}: {} x{times}", fault_name(&fault)), rule)
}

fn documented(code: Option<i32>) -> bool {
    matches!(code, Some(1..=9))
}

fn one_line_error(f: &Finished, tool: &str) -> bool {
    let last = f.last_line();
    last.starts_with(&format!("{tool}: ")) && !last.contains('\r')
}

#[derive(Default)]
struct Counts {
    puts_ok: u32,
    puts_failed: BTreeMap<i32, u32>,
    gets_ok: u32,
    gets_failed: BTreeMap<i32, u32>,
    faults_injected: usize,
    wrong_objects: Vec<String>,
    left_behind: Vec<String>,
    orphans: Vec<String>,
    undocumented: Vec<String>,
    wrong_restores: Vec<String>,
}

#[test]
#[ignore = "a 3-minute soak: run by `make soak`"]
fn fault_soak() {
    let seed = env_u64("SLUICE_SOAK_SEED").unwrap_or(DEFAULT_SEED);
    let runs = env_u64("SLUICE_SOAK_RUNS").unwrap_or(100);
    report(format!("soak: seed {seed:#x}, {runs} backups (replay: SLUICE_SOAK_SEED={seed:#x} make soak)"));
    let c = cluster();
    let _x = c.exclusive();
    let direct = c.node(1);
    let proxy = FaultProxy::for_s3(&direct);
    let via = direct.with_endpoint(&proxy.endpoint());
    let bucket = direct.new_bucket("soak");
    let mut rng = Rng(seed);
    let mut n = Counts::default();
    let t = Instant::now();
    // Checked once at the end through the oracle: key -> (size, ETag, fault, outcome).
    let mut expected: BTreeMap<String, (u64, String, String, String)> = BTreeMap::new();
    let mut failed: BTreeMap<String, (String, String)> = BTreeMap::new();
    let (mut put_secs, mut get_secs) = (0.0, 0.0);

    for i in 0..runs {
        let key = format!("db/backup-{i:03}.bin");
        let url = format!("s3://{bucket}/{key}");
        let single = rng.below(10) < 3;
        let len = if single { rng.range(1, PART) } else { rng.range(PART + 1, 3 * PART) };
        let parts = if single { 0 } else { len.div_ceil(PART) };
        let data_seed = seed ^ (i + 1).wrapping_mul(0x1000_0000_01b3);
        let (put_what, rule) = put_rule(&mut rng, &key, parts);
        proxy.clear_rules();
        proxy.add(rule);
        let before = proxy.injected();

        let put = backup(&via, &url, data_seed, len);
        n.faults_injected += proxy.injected() - before;
        put_secs += put.elapsed.as_secs_f64();
        let code = put.status.code();
        let put_result = if put.status.success() {
            n.puts_ok += 1;
            let etag = if single {
                hex::encode(<md5::Md5 as md5::Digest>::digest(noise_bytes(data_seed, len)))
            } else {
                expected_multipart_etag(data_seed, len, PART)
            };
            expected.insert(key.clone(), (len, etag, put_what.clone(), "ok".to_string()));
            "ok".to_string()
        } else {
            *n.puts_failed.entry(code.unwrap_or(-1)).or_default() += 1;
            if !documented(code) || !one_line_error(&put, "s3put") {
                n.undocumented.push(format!("#{i} ({put_what}): s3put exit {code:?}: {}", put.stderr.trim()));
            }
            failed.insert(key.clone(), (put_what.clone(), put.last_line().to_string()));
            format!("exit {}", code.unwrap_or(-1))
        };

        // Restore what was stored, through another random fault.
        let mut get_result = String::from("-");
        if put.status.success() {
            let (get_what, rule) = get_rule(&mut rng, &key);
            proxy.clear_rules();
            proxy.add(rule);
            let before = proxy.injected();
            let (get, got_len, sha) = restore(&via, &url);
            n.faults_injected += proxy.injected() - before;
            get_secs += get.elapsed.as_secs_f64();
            if get.status.success() {
                n.gets_ok += 1;
                if (got_len, sha.as_str()) != (len, noise_sha(data_seed, len).as_str()) {
                    n.wrong_restores
                        .push(format!("#{i} ({get_what}): s3get exit 0 with {got_len} bytes, not the {len} stored"));
                }
            } else {
                let code = get.status.code();
                *n.gets_failed.entry(code.unwrap_or(-1)).or_default() += 1;
                if !documented(code) || !one_line_error(&get, "s3get") {
                    n.undocumented.push(format!("#{i} ({get_what}): s3get exit {code:?}: {}", get.stderr.trim()));
                }
            }
            get_result =
                format!("{get_what} -> {}", get.status.code().map_or("signal".into(), |c| format!("exit {c}")));
        }
        report(format!(
            "#{i:03} {:>5.1} MiB {:>6}: {put_what} -> {put_result} in {:.1}s; restore {get_result}",
            len as f64 / MIB as f64,
            if single { "single" } else { "parts" },
            put.elapsed.as_secs_f64()
        ));
    }
    proxy.clear_rules();
    // The independent oracle's view: every stored object, every upload still in progress.
    let stored: BTreeMap<String, (u64, String)> =
        direct.list_objects(&bucket).into_iter().map(|o| (o.key, (o.size, o.etag))).collect();
    for (key, (len, etag, what, _)) in &expected {
        match stored.get(key) {
            Some((size, got)) if size == len && got == etag => {}
            other => n
                .wrong_objects
                .push(format!("{key} ({what}): s3put exit 0, stored {other:?}, expected {len} bytes ETag {etag}")),
        }
    }
    for (key, (what, last)) in &failed {
        if let Some((size, _)) = stored.get(key) {
            n.left_behind.push(format!("{key} ({what}): s3put failed but the object exists ({size} bytes): {last}"));
        }
    }
    for u in direct.list_uploads(&bucket) {
        let what = failed.get(&u.key).map(|f| f.0.clone()).or_else(|| expected.get(&u.key).map(|e| e.2.clone()));
        n.orphans.push(format!("{} ({}): upload {} left behind", u.key, what.unwrap_or_default(), u.upload_id));
    }
    let failed =
        |m: &BTreeMap<i32, u32>| m.iter().map(|(c, k)| format!("{k} x exit {c}")).collect::<Vec<_>>().join(", ");
    report(format!("soak: seed {seed:#x}: {runs} backups in {:.0}s (s3put {put_secs:.0}s, s3get {get_secs:.0}s), {} faults injected; s3put ok {}, failed {} [{}]; \
         s3get ok {}, failed {} [{}]; wrong objects {}, left behind {}, orphaned uploads {}, \
         undocumented failures {}, wrong restores {}",
        t.elapsed().as_secs_f64(),
        n.faults_injected,
        n.puts_ok,
        n.puts_failed.values().sum::<u32>(),
        failed(&n.puts_failed),
        n.gets_ok,
        n.gets_failed.values().sum::<u32>(),
        failed(&n.gets_failed),
        n.wrong_objects.len(),
        n.left_behind.len(),
        n.orphans.len(),
        n.undocumented.len(),
        n.wrong_restores.len()
    ));
    let mut problems: Vec<String> = Vec::new();
    problems.extend(n.wrong_objects);
    problems.extend(n.left_behind);
    problems.extend(n.orphans);
    problems.extend(n.undocumented);
    problems.extend(n.wrong_restores);
    assert!(problems.is_empty(), "soak seed {seed:#x}: {} problem(s):\n{}", problems.len(), problems.join("\n"));
}

fn backup(via: &S3Env, url: &str, seed: u64, len: u64) -> Finished {
    let mut p =
        Tool::start(via, "s3put", &["--part-size", "5M", "-j", "3", "--timeout", TIMEOUT, "--retries", RETRIES, url]);
    let mut stdin = p.child.stdin.take().expect("stdin");
    // s3put may give up before reading everything: its status says so.
    let _ = Noise::new(seed).write(&mut stdin, len);
    drop(stdin);
    p.finish(Duration::from_secs(180))
}

fn restore(via: &S3Env, url: &str) -> (Finished, u64, String) {
    let mut g =
        Tool::start(via, "s3get", &["-j", "3", "--chunk-size", "2M", "--timeout", TIMEOUT, "--retries", RETRIES, url]);
    let mut out = g.child.stdout.take().expect("stdout");
    let (n, sha) = read_hashed(&mut out, u64::MAX, || {});
    (g.finish(Duration::from_secs(180)), n, sha)
}

fn noise_bytes(seed: u64, len: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(len as usize);
    Noise::new(seed).write(&mut v, len).expect("in memory");
    v
}

fn noise_sha(seed: u64, len: u64) -> String {
    let mut n = Noise::new(seed);
    n.write(&mut std::io::sink(), len).expect("hashing");
    n.sha256()
}

// Deterministic replays of what the soak found, one fault each; part of `make test`.

/// Runs one backup of `len` bytes through `rule` and returns (result, object as the oracle
/// sees it, uploads left).
fn one_backup(name: &str, len: u64, rule: Rule) -> (Finished, Option<common::HeadInfo>, Vec<common::UploadInfo>) {
    let c = cluster();
    let _x = c.exclusive();
    let direct = c.node(1);
    let proxy = FaultProxy::for_s3(&direct);
    let bucket = direct.new_bucket(name);
    proxy.add(rule);
    let put = backup(&direct.with_endpoint(&proxy.endpoint()), &format!("s3://{bucket}/db/k.bin"), 5, len);
    report(format!(
        "{name}: {} fault(s) injected; s3put exit {:?} in {:.1}s; last line: {}",
        proxy.injected(),
        put.status.code(),
        put.elapsed.as_secs_f64(),
        put.last_line()
    ));
    (put, direct.head_object(&bucket, "db/k.bin"), direct.list_uploads(&bucket))
}

/// The server completes the upload but the answer is lost; the retried
/// CompleteMultipartUpload then gets NoSuchUpload. The object is there, whole: s3put finds it
/// (HEAD: size and md5-of-md5s-N of the parts it sent) and succeeds, with nothing left behind.
#[test]
fn lost_complete_response_is_verified_not_reported_missing() {
    let len = 2 * PART + 12345;
    let rule = Rule::new(Fault::CloseBeforeResponse).method("POST").query_contains("uploadId=");
    let (put, head, uploads) = one_backup("replay-complete", len, rule);
    assert!(uploads.is_empty(), "{uploads:?}");
    assert!(put.status.success(), "s3put failed (exit {:?}) but stored the object: {}", put.status.code(), put.stderr);
    let h = head.expect("s3put succeeded but no object exists");
    assert_eq!((h.size, h.etag), (len, expected_multipart_etag(5, len, PART)));
}

/// Every attempt of a single PUT reaches the server but each answer comes after --timeout:
/// the object is stored, and the attempts all time out. The outcome is unknown to s3put until
/// it looks: the object at the key has the size read and the MD5 of the bytes sent as its
/// ETag, so it holds exactly those bytes and s3put succeeds. (Had the object been missing or
/// different, s3put would fail with status 4 and leave whatever is there: not its to delete.)
#[test]
fn single_put_with_late_answers_is_found_stored() {
    let len = MIB;
    let rule = Rule::new(Fault::Stall(STALL)).method("PUT").path_contains("db/k.bin").times(3);
    let (put, head, _) = one_backup("replay-single", len, rule);
    assert!(
        put.status.success(),
        "s3put failed (exit {:?}) although its PUT was stored: {}",
        put.status.code(),
        put.stderr
    );
    let h = head.expect("s3put succeeded but no object exists");
    let md5 = hex::encode(<md5::Md5 as md5::Digest>::digest(noise_bytes(5, len)));
    assert_eq!((h.size, h.etag), (len, md5));
}

/// Every CreateMultipartUpload reaches the server but its answer comes after --timeout: each
/// attempt creates an upload s3put never hears of. s3put gives up (status 4) and aborts the
/// uploads of that key the server started since its first attempt: none may remain.
#[test]
fn create_with_late_answers_leaves_no_upload() {
    let rule = Rule::new(Fault::Stall(STALL)).method("POST").query_contains("uploads").times(3);
    let (put, head, uploads) = one_backup("replay-create", 2 * PART + 1, rule);
    assert_eq!(put.status.code(), Some(4), "{}", put.stderr);
    assert!(head.is_none());
    assert!(uploads.is_empty(), "s3put exit 4 left {} multipart upload(s) behind: {uploads:?}", uploads.len());
}
