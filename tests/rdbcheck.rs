//! rdbcheck: the shared corpus with its verdicts, mutation tests, and command-line behaviour.
//! (Live fixtures from a real redis-server are in `rdbcheck_live.rs`.)

use sluice::rdb::{self, crc64::crc64, Options};
use sluice::ErrorKind;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rdb")
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdbcheck")
}

/// Runs rdbcheck with `args`, feeding `input` on stdin.
fn run(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rdbcheck");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Files whose MANIFEST verdict is contradicted by the format notes and the servers; each needs
/// a reason, and the test checks that the manifest still says what is overridden here.
const MANIFEST_ERRATA: &[(&str, &str, &str)] = &[(
    "assets/librdb/empty.rdb",
    "reject",
    // Byte for byte the layout of redis-*-empty.rdb (accepted): five AUX fields, EOF, a correct
    // CRC. Every official checker accepts it, no rule in the notes refuses it, and librdb's own
    // test suite asserts that it parses (test/test_main.c, test_empty_rdb: RDB_STATUS_OK). The
    // verdict looks copied from bad/empty.rdb (zero-length input), which shares the file name.
    "accept",
)];

/// For rejected files: a fragment the one-line error must contain (the defect, named).
const EXPECTED_ERRORS: &[(&str, &str)] = &[
    ("assets/librdb/future_v19.rdb", "version 99"),
    ("assets/librdb/invalid_chksum_v8.rdb", "CRC-64 mismatch"),
    ("assets/librdb/redis_ent_opcode_ram_lru.rdb", "byte 107"),
    ("assets/redis/corrupt_ziplist.rdb", "ziplist"),
    ("assets/valkey/corrupt_ziplist.rdb", "ziplist"),
    ("assets/redis/rdb-preamble.aof", "after the end of the RDB"),
    ("assets/valkey/rdb-preamble.aof", "after the end of the RDB"),
    ("bad/bad-magic-lowercase.rdb", "bad magic"),
    ("bad/bad-magic.rdb", "bad magic"),
    ("bad/empty.rdb", "empty input"),
    ("bad/flip-checksum.rdb", "CRC-64 mismatch"),
    ("bad/flip-middle.rdb", "CRC-64 mismatch"),
    ("bad/gzip-of-rdb.rdb", "gzip"),
    ("bad/hand-bad-length-byte.rdb", "invalid length encoding byte 0x82"),
    ("bad/hand-dbid-99.rdb", "SELECTDB 99"),
    ("bad/hand-function-pre-ga.rdb", "FUNCTION_PRE_GA"),
    ("bad/hand-hash-lp-odd.rdb", "field/value pairs"),
    ("bad/hand-intset-bad-encoding.rdb", "intset encoding 3"),
    ("bad/hand-intset-unsorted.rdb", "not strictly ascending"),
    ("bad/hand-lp-bad-count.rdb", "counts 3 elements, but it holds 2"),
    ("bad/hand-lp-bad-totbytes.rdb", "header says 14 bytes, but the blob has 13"),
    ("bad/hand-lzf-len-mismatch.rdb", "decompresses to 3 bytes, but the header says 10"),
    ("bad/hand-module-truncated.rdb", "unexpected end of input"),
    ("bad/hand-string-enc-4.rdb", "unknown string encoding 4"),
    ("bad/hand-type-22-under-v11.rdb", "type byte 22"),
    ("bad/hand-unknown-type-60.rdb", "byte 60"),
    ("bad/hand-unknown-type-8.rdb", "type byte 8"),
    ("bad/nonnumeric-version.rdb", "not 4 decimal digits"),
    ("bad/raw-sync-bulk.rdb", "RESP bulk header"),
    ("bad/resp-error-err.rdb", "-ERR unknown command"),
    ("bad/text-file.rdb", "bad magic"),
    ("bad/trailing-garbage.rdb", "23 byte(s) after the end of the RDB"),
    ("bad/trunc-at-116068.rdb", "offset 116068: unexpected end of input"),
    ("bad/trunc-at-232128.rdb", "offset 232128: unexpected end of input"),
    ("bad/trunc-at-232135.rdb", "offset 232135: unexpected end of input"),
    ("bad/trunc-at-40.rdb", "offset 40: unexpected end of input"),
    ("bad/trunc-at-5.rdb", "9-byte RDB magic"),
    ("bad/trunc-at-9.rdb", "EOF opcode 0xFF is missing"),
    ("bad/version-0000.rdb", "version 0"),
    ("bad/version-0099.rdb", "version 99"),
    ("bad/vkcs-envelope-lz4.rdb", "VKCS"),
    ("synthetic/synthetic-redis-magic-v80-invalid.rdb", "version 80"),
    ("synthetic/synthetic-valkey-magic-v11-invalid.rdb", "VALKEY magic with version 11"),
];

struct Case {
    file: String,
    verdict: String,
}

fn manifest() -> Vec<Case> {
    let text = std::fs::read_to_string(data_dir().join("MANIFEST.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (f, v) = (col("file"), col("verdict"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Case { file: cols[f].to_string(), verdict: cols[v].to_string() }
        })
        .collect()
}

#[test]
fn corpus_gets_the_manifest_verdicts() {
    let cases = manifest();
    assert!(cases.len() >= 140, "MANIFEST.tsv lists {} files", cases.len());
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let path = data_dir().join(&c.file);
        let input = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut verdict = c.verdict.as_str();
        if let Some(&(_, was, now)) = MANIFEST_ERRATA.iter().find(|e| e.0 == c.file) {
            assert_eq!(verdict, was, "{}: the manifest changed; revisit MANIFEST_ERRATA", c.file);
            verdict = now;
        }
        // alternate between stdin and a FILE argument
        let out = if i % 2 == 0 { run(&[], &input) } else { run(&[path.to_str().unwrap()], &[]) };
        let err = stderr(&out);
        let code = out.status.code();
        let problem = match verdict {
            "accept" | "accept-warn" => {
                if code != Some(0) {
                    Some(format!("exit {code:?}, stderr: {err}"))
                } else if out.stdout != input {
                    Some(format!("output differs from input ({} vs {} bytes)", out.stdout.len(), input.len()))
                } else if verdict == "accept" && !err.is_empty() {
                    Some(format!("unexpected stderr: {err}"))
                } else if verdict == "accept-warn" && !err.contains("rdbcheck: warning:") {
                    Some(format!("no warning on stderr: {err:?}"))
                } else {
                    None
                }
            }
            "reject" => {
                let want = EXPECTED_ERRORS.iter().find(|e| e.0 == c.file).map(|e| e.1);
                if code != Some(1) {
                    Some(format!("exit {code:?} (want 1), stderr: {err}"))
                } else if err.lines().count() != 1 || !err.starts_with("rdbcheck: offset ") {
                    Some(format!("error is not one line naming the offset: {err:?}"))
                } else if !input.starts_with(&out.stdout) {
                    Some("output is not a prefix of the input".into())
                } else if want.is_some_and(|w| !err.contains(w)) {
                    Some(format!("error does not name the defect ({:?}): {err}", want.unwrap()))
                } else {
                    None
                }
            }
            v => panic!("{}: unknown verdict {v:?}", c.file),
        };
        if let Some(p) = problem {
            failures.push(format!("{} [{verdict}]: {p}", c.file));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files got the wrong verdict:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // every expected-error entry names a file that exists in the manifest
    for (f, _) in EXPECTED_ERRORS {
        assert!(cases.iter().any(|c| c.file == *f && c.verdict == "reject"), "{f} is not a rejected manifest file");
    }
}

#[test]
fn check_only_writes_nothing() {
    let input = std::fs::read(data_dir().join("redis-7.4.1-full-save.rdb")).unwrap();
    let out = run(&["-n"], &input);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let out = run(&["--check-only"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("empty input"));
}

// ------------------------------------------------------------------------------ mutations

/// Valid dumps with checksums used for the mutation tests (all encodings and versions).
const MUTATED: &[&str] = &[
    "valkey-8.0.1-full-save.rdb",
    "redis-7.4.1-full-save.rdb",
    "redis-7.0.15-debian-full-lfu.rdb",
    "redis-6.2.16-full-lru.rdb",
    "redis-7.4.1-cluster-save.rdb",
    "assets/librdb/stream_v13.rdb",
    "assets/librdb/misc_with_stream.rdb",
    "assets/librdb/module_aux_v12.rdb",
    "assets/librdb/hash_zm_v2.rdb",
    "assets/redis/encodings.rdb",
    "synthetic/synthetic-valkey080-slot-import.rdb",
    "synthetic/synthetic-redis13-keymeta.rdb",
];

fn validate(data: &[u8], opts: &Options) -> sluice::Result<rdb::Report> {
    let mut src = data;
    rdb::validate(&mut src, None, opts)
}

/// Runs `f` on another thread and fails the test if it takes longer than `secs` (a hang).
fn within<T: Send + 'static>(secs: u64, what: String, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: no answer within {secs} s (hang?)"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: the validator panicked"),
    }
}

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn truncation_is_always_detected() {
    for name in MUTATED {
        let data = std::fs::read(data_dir().join(name)).unwrap();
        let opts = Options { record_offsets: true, ..Options::default() };
        let report = validate(&data, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut cuts: Vec<usize> = report.record_offsets.unwrap().iter().map(|&o| o as usize).collect();
        assert!(cuts.len() >= 3, "{name}: record offsets");
        // each record boundary, one byte into each record, the last bytes, and a sample
        let n = cuts.len();
        for i in 0..n {
            cuts.push(cuts[i] + 1);
        }
        cuts.extend((0..12).map(|k| data.len().saturating_sub(k + 1)));
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ data.len() as u64);
        cuts.extend((0..300).map(|_| rng.below(data.len())));
        cuts.sort_unstable();
        cuts.dedup();
        let data = std::sync::Arc::new(data);
        let d = data.clone();
        let name2 = name.to_string();
        let bad = within(120, format!("{name}: truncations"), move || {
            let mut bad = Vec::new();
            for &cut in &cuts {
                if cut >= d.len() {
                    continue;
                }
                match validate(&d[..cut], &Options::default()) {
                    Err(e) if e.kind() == ErrorKind::Data => {}
                    other => bad.push(format!("{name2} cut at {cut}: {:?}", other.map(|_| "accepted"))),
                }
            }
            bad
        });
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }
}

#[test]
fn bit_flips_are_detected_and_never_panic() {
    for name in MUTATED {
        let data = std::fs::read(data_dir().join(name)).unwrap();
        let has_crc = data[5..9].iter().all(u8::is_ascii_digit)
            && std::str::from_utf8(&data[5..9]).unwrap().parse::<u32>().unwrap() >= 5
            || data.starts_with(b"VALKEY");
        let name2 = name.to_string();
        let bad = within(120, format!("{name}: bit flips"), move || {
            let mut rng = Rng(0xdead_beef_cafe_f00d ^ data.len() as u64);
            let mut bad = Vec::new();
            let flips = 400.min(data.len() * 8);
            for _ in 0..flips {
                let mut m = data.clone();
                let at = rng.below(m.len());
                m[at] ^= 1 << rng.below(8);
                let res = validate(&m, &Options::default());
                if has_crc && res.is_ok() {
                    bad.push(format!("{name2}: flip at {at} accepted"));
                }
                if let Err(e) = res {
                    assert_eq!(e.kind(), ErrorKind::Data, "{name2}: flip at {at}: {e}");
                }
            }
            // random byte values too (lengths, type bytes, encodings), no CRC expectations
            for _ in 0..200 {
                let mut m = data.clone();
                let at = rng.below(m.len());
                m[at] = rng.next() as u8;
                let _ = validate(&m, &Options::default());
            }
            bad
        });
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }
}

// ------------------------------------------------------------------- hand-built streams

/// Builds an RDB: magic, `body`, EOF, CRC-64.
fn rdb(magic: &str, body: &[u8]) -> Vec<u8> {
    let mut v = magic.as_bytes().to_vec();
    v.extend_from_slice(body);
    v.push(0xFF);
    let c = crc64(&v);
    v.extend_from_slice(&c.to_le_bytes());
    v
}

fn s(x: &[u8]) -> Vec<u8> {
    assert!(x.len() < 64);
    let mut v = vec![x.len() as u8];
    v.extend_from_slice(x);
    v
}

fn kv(k: &[u8], v: &[u8]) -> Vec<u8> {
    [vec![0u8], s(k), s(v)].concat()
}

#[test]
fn duplicate_keys_only_with_check_duplicates() {
    let body = [vec![0xFE, 0], kv(b"a", b"1"), kv(b"b", b"2"), kv(b"a", b"3"), vec![0xFE, 1], kv(b"a", b"4")].concat();
    let file = rdb("REDIS0011", &body);
    let out = run(&["-n"], &file);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&["-n", "--check-duplicates"], &file);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("duplicate key in db 0") && err.contains("key #3"), "{err}");
    assert!(!err.contains("\"a\""), "key names only with -v: {err}");
    let out = run(&["-n", "--check-duplicates", "-v"], &file);
    assert!(stderr(&out).contains("key \"a\""), "{}", stderr(&out));
    // the same name in another database is not a duplicate
    let body = [vec![0xFE, 0], kv(b"a", b"1"), vec![0xFE, 1], kv(b"a", b"4")].concat();
    let out = run(&["-n", "--check-duplicates"], &rdb("REDIS0011", &body));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn dangling_key_attributes_fail() {
    // EXPIRETIME_MS, IDLE, FREQ right before EOF
    for attr in [vec![0xFC, 1, 2, 3, 4, 5, 6, 7, 8], vec![0xF8, 5], vec![0xF9, 3]] {
        let body = [vec![0xFE, 0], kv(b"k", b"v"), attr].concat();
        let out = run(&["-n"], &rdb("REDIS0011", &body));
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("followed by a EOF opcode instead of a key"), "{}", stderr(&out));
    }
    // before SELECTDB too
    let body = [vec![0xFE, 0, 0xF9, 3, 0xFE, 1], kv(b"k", b"v")].concat();
    assert_eq!(run(&["-n"], &rdb("REDIS0011", &body)).status.code(), Some(1));
    // and the same attributes before a key are fine
    let body = [vec![0xFE, 0, 0xFC, 1, 2, 3, 4, 5, 6, 7, 0, 0xF9, 3], kv(b"k", b"v")].concat();
    let out = run(&["-n", "-v"], &rdb("REDIS0011", &body));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("db 0: 1 keys, 1 with expiry"), "{}", stderr(&out));
}

#[test]
fn checksum_and_database_flags() {
    let nochk = std::fs::read(data_dir().join("redis-7.4.1-full-nochecksum.rdb")).unwrap();
    assert_eq!(run(&["-n"], &nochk).status.code(), Some(0));
    let out = run(&["-n", "--require-checksum"], &nochk);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--require-checksum"));
    let v4 = std::fs::read(data_dir().join("bad/hand-v4-no-checksum-trailer.rdb")).unwrap();
    assert_eq!(run(&["-n"], &v4).status.code(), Some(0));
    let out = run(&["-n", "--require-checksum"], &v4);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no checksum trailer"), "{}", stderr(&out));
    let db99 = std::fs::read(data_dir().join("bad/hand-dbid-99.rdb")).unwrap();
    assert_eq!(run(&["-n", "--databases", "100"], &db99).status.code(), Some(0));
    assert_eq!(run(&["-n", "--databases", "99"], &db99).status.code(), Some(1));
}

#[test]
fn unknown_and_undocumented_bytes_name_versions() {
    // Redis RDB 14 stream v5: known id, no documented layout
    let body = [vec![0xFE, 0, 27], s(b"k")].concat();
    let out = run(&["-n"], &rdb("REDIS0014", &body));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("byte 27") && err.contains("Redis RDB 14") && err.contains("no documented layout"), "{err}");
    // Valkey type 22 (HASH_2) is not valid under the REDIS magic before version 12, and means
    // HASH_METADATA_PRE_GA there; under VALKEY080 it is HASH_2.
    let hash2 = [vec![0xFE, 0, 22], s(b"h"), vec![1], s(b"f"), s(b"v"), (-1i64).to_le_bytes().to_vec()].concat();
    let out = run(&["-n", "-v"], &rdb("VALKEY080", &hash2));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("hash2=1"));
    assert_eq!(run(&["-n"], &rdb("REDIS0012", &hash2)).status.code(), Some(1));
    // a future version
    let out = run(&["-n"], &rdb("REDIS0015", &[]));
    assert!(stderr(&out).contains("unsupported RDB version 15"), "{}", stderr(&out));
    // Valkey 9.2-dev UPDATE opcode
    let out = run(&["-n"], &rdb("VALKEY081", &[0xF2, 0]));
    assert!(stderr(&out).contains("UPDATE") && stderr(&out).contains("VALKEY081"), "{}", stderr(&out));
}

#[test]
fn module_values_need_known_opcodes() {
    // module id, UINT 5, STRING "x", DOUBLE, EOF
    let ok = [
        vec![0xFE, 0, 7],
        s(b"m"),
        vec![0x81],
        0x1234_5678_9abc_def0u64.to_be_bytes().to_vec(),
        vec![2, 5, 5],
        s(b"x"),
        vec![4],
        1.5f64.to_le_bytes().to_vec(),
        vec![0],
    ]
    .concat();
    let out = run(&["-n", "-v"], &rdb("REDIS0011", &ok));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bad = [vec![0xFE, 0, 7], s(b"m"), vec![10, 9, 1, 0]].concat();
    let out = run(&["-n"], &rdb("REDIS0011", &bad));
    assert!(stderr(&out).contains("unknown module opcode 9"), "{}", stderr(&out));
}

#[test]
fn eof_marker_is_passed_through_and_others_refused() {
    let base = rdb("REDIS0011", &[vec![0xFE, 0], kv(b"k", b"v")].concat());
    let mut with_mark = base.clone();
    with_mark.extend_from_slice(b"0123456789abcdef0123456789abcdef01234567");
    let out = run(&["-v"], &with_mark);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.stdout, with_mark);
    assert!(stderr(&out).contains("$EOF marker (passed through)"));
    for tail in [
        &b"0123456789abcdef0123456789abcdef0123456"[..],
        b"0123456789abcdef0123456789abcdef012345678",
        b"\n",
        b"0123456789abcdef0123456789abcdef0123456Z",
    ] {
        let mut m = base.clone();
        m.extend_from_slice(tail);
        assert_eq!(run(&["-n"], &m).status.code(), Some(1), "tail of {} bytes", tail.len());
    }
}

// ------------------------------------------------------------------------- the process

#[test]
fn closed_pipe_exits_quietly_with_141() {
    let input = std::fs::read(data_dir().join("redis-7.4.1-full-save.rdb")).unwrap();
    let mut child =
        Command::new(bin()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take()); // the reader goes away before anything is written
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(&input);
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn usage_and_io_errors() {
    assert_eq!(run(&["--no-such-flag"], b"").status.code(), Some(2));
    assert_eq!(run(&["--databases", "0"], b"").status.code(), Some(2));
    let out = run(&["/nonexistent/dump.rdb"], b"");
    assert_eq!(out.status.code(), Some(6));
    assert!(stderr(&out).contains("/nonexistent/dump.rdb"));
    // A full disk (/dev/full) on the output side: exit 6, one line.
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out =
        Command::new(bin()).arg(data_dir().join("redis-7.4.1-full-cli-diskless.rdb")).stdout(full).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("No space left on device") && stderr(&out).lines().count() == 1, "{}", stderr(&out));
    let help = Command::new(bin()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("$EOF:") && help.contains("PASSES THEM THROUGH") && help.contains("--check-duplicates"));
}

#[test]
fn json_report_on_success_and_failure() {
    let dir = std::env::temp_dir().join(format!("rdbcheck-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("r.json");
    let input = std::fs::read(data_dir().join("redis-7.4.1-full-cli-diskless.rdb")).unwrap();
    let out = run(&["-n", "--top", "3", "--json", json.to_str().unwrap()], &input);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["format"]["version"], 12);
    assert_eq!(v["keys"], 47);
    assert_eq!(v["databases"]["0"]["keys"], 42);
    assert_eq!(v["databases"]["15"]["by_kind"]["list"], 1);
    assert_eq!(v["aux"]["redis-ver"], "7.4.1");
    assert_eq!(v["eof_marker"], true);
    assert_eq!(v["checksum"]["status"], "ok");
    let top = v["largest_keys"].as_array().unwrap();
    assert_eq!(top.len(), 3);
    assert!(top[0]["bytes"].as_u64() >= top[1]["bytes"].as_u64());
    assert!(top[0].get("key").is_none(), "key names only with -v");
    // -v adds names; "-" writes to stderr; failures are reported too
    let bad = std::fs::read(data_dir().join("bad/hand-lp-bad-count.rdb")).unwrap();
    let out = run(&["-n", "-v", "--json", "-"], &bad);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let start = err.find('{').unwrap();
    let v: serde_json::Value = serde_json::from_str(&err[start..]).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["error"].as_str().unwrap().contains("listpack header counts 3"));
    assert!(err.contains("key \"set\""), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn output_flows_while_input_is_still_arriving() {
    // one 6 MiB string value: streamed through, never held
    let big: Vec<u8> = (0..6u32 << 20).map(|i| (i * 31 % 251) as u8).collect();
    let mut body = vec![0xFE, 0, 0, 1, b'k', 0x80];
    body.extend_from_slice(&(big.len() as u32).to_be_bytes());
    body.extend_from_slice(&big);
    let file = rdb("REDIS0011", &body);
    let mut child =
        Command::new(bin()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut first_mib_at = None;
        loop {
            let n = stdout.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if got.len() >= 2 << 20 && first_mib_at.is_none() {
                first_mib_at = Some(Instant::now());
            }
        }
        (got, first_mib_at)
    });
    let half = 4 << 20;
    stdin.write_all(&file[..half]).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let paused_until = Instant::now();
    stdin.write_all(&file[half..]).unwrap();
    drop(stdin);
    let (got, first) = reader.join().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    assert_eq!(got, file);
    assert!(first.unwrap() < paused_until, "2 MiB of output should flow before the input is complete");
}

// ------------------------------------------------------------ in the middle of a pipeline

/// A valid RDB of about 14 MiB: many small keys around one 8 MiB string, so that the
/// pass-through crosses many blocks and window moves in both the small- and large-value paths.
fn big_rdb() -> Vec<u8> {
    let mut body = vec![0xFE, 0];
    for i in 0..120_000u32 {
        body.extend_from_slice(&kv(format!("key:{i}").as_bytes(), format!("v{}", i * 7).as_bytes()));
    }
    body.extend_from_slice(&[0, 3, b'b', b'i', b'g', 0x80]);
    let big: Vec<u8> = (0..8u32 << 20).map(|i| (i * 31 % 251) as u8).collect();
    body.extend_from_slice(&(big.len() as u32).to_be_bytes());
    body.extend_from_slice(&big);
    for i in 0..120_000u32 {
        body.extend_from_slice(&kv(format!("tail:{i}").as_bytes(), b"x"));
    }
    rdb("REDIS0011", &body)
}

/// Writes `data` in uneven pieces, as a producer in a pipeline does.
fn feed_unevenly(mut w: impl Write, data: &[u8]) {
    let mut at = 0;
    let mut step = 1;
    while at < data.len() {
        step = (step * 7 + 4093) % 150_001 + 1;
        let end = (at + step).min(data.len());
        if w.write_all(&data[at..end]).is_err() {
            return;
        }
        at = end;
    }
}

#[test]
fn pipe_to_pipe_is_byte_identical_and_the_pipes_are_enlarged() {
    use std::os::fd::AsFd;
    let input = big_rdb();
    let mut child =
        Command::new(bin()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let data = input.clone();
    let feeder = std::thread::spawn(move || {
        let mut stdin = stdin;
        // the first write blocks until rdbcheck reads, so it has enlarged the pipe by now
        feed_unevenly(&mut stdin, &data[..1 << 20]);
        let size = sluice::sys::pipe::capacity(stdin.as_fd()).unwrap();
        feed_unevenly(&mut stdin, &data[1 << 20..]);
        size
    });
    let mut got = Vec::new();
    let mut buf = vec![0u8; 100_003];
    loop {
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    let out_size = sluice::sys::pipe::capacity(stdout.as_fd()).unwrap();
    let in_size = feeder.join().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(got == input, "output differs from the input ({} of {} bytes)", got.len(), input.len());
    let want = (1usize << 20).min(sluice::sys::pipe::max_size().unwrap());
    assert!(in_size >= want, "stdin pipe holds {in_size} bytes, want {want}");
    assert!(out_size >= want, "stdout pipe holds {out_size} bytes, want {want}");
}

#[test]
fn pipe_to_file_and_file_to_pipe_are_byte_identical() {
    let input = big_rdb();
    let dir = std::env::temp_dir().join(format!("rdbcheck-pipes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // stdin a pipe, stdout a file
    let outfile = dir.join("out.rdb");
    let mut child = Command::new(bin())
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&outfile).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    feed_unevenly(child.stdin.take().unwrap(), &input);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(&outfile).unwrap() == input, "file output differs");
    // stdin a file (and the FILE argument), stdout a pipe
    for args in [vec![], vec![outfile.to_str().unwrap()]] {
        let stdin = if args.is_empty() { Stdio::from(std::fs::File::open(&outfile).unwrap()) } else { Stdio::null() };
        let out = Command::new(bin()).args(&args).stdin(stdin).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(out.stdout == input, "pipe output differs (args {args:?})");
    }
    // and through the library, on descriptors
    let src = std::fs::File::open(&outfile).unwrap();
    let copy = dir.join("copy.rdb");
    let dst = std::fs::File::create(&copy).unwrap();
    let mut v = rdb::Validator::new(Options::default());
    use std::os::fd::AsFd;
    v.run_fds(src.as_fd(), Some(dst.as_fd())).unwrap();
    assert_eq!(v.report().keys, 240_001);
    assert!(std::fs::read(&copy).unwrap() == input);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn reader_closing_mid_stream_ends_quietly_with_a_prefix() {
    let input = big_rdb();
    let mut child =
        Command::new(bin()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let data = input.clone();
    let feeder = std::thread::spawn(move || feed_unevenly(stdin, &data));
    let mut got = vec![0u8; 3 << 20];
    stdout.read_exact(&mut got).unwrap();
    drop(stdout); // the reader goes away after 3 MiB
    feeder.join().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    assert!(input.starts_with(&got));
}
