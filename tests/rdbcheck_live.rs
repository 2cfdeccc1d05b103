//! rdbcheck against live fixtures: Debian's redis-server is started here, loaded with a dataset
//! that exercises every type and encoding it has, and its snapshots (SAVE, `redis-cli --rdb -`
//! disk-based and diskless, with compression and checksums on and off, with LRU and LFU
//! metadata) must all validate, byte-identical, with key counts matching the server's.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = "/usr/bin/redis-server";
const CLI: &str = "/usr/bin/redis-cli";

fn require_tools() {
    for t in [SERVER, CLI] {
        assert!(
            Path::new(t).exists(),
            "{t} is not installed: run scripts/install-test-deps (Debian's redis-server and redis-tools)"
        );
    }
}

/// A redis-server on 127.0.0.1 with a random free port and its own directory; killed on drop.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Server {
    fn start(name: &str, extra: &[&str]) -> Server {
        require_tools();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("rdbcheck-live-{name}-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            dir.to_str().unwrap(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            "server.log",
            "--enable-debug-command",
            "yes",
            "--repl-diskless-sync-delay",
            "0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new(SERVER)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let s = Server { child, port, dir };
        let t0 = Instant::now();
        while s.cli(&["ping"]).stdout != b"PONG\n" {
            assert!(t0.elapsed() < Duration::from_secs(15), "redis-server did not start: {}", s.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(CLI).args(["-p", &self.port.to_string()]).args(args).output().expect("run redis-cli")
    }

    fn ok(&self, args: &[&str]) {
        let o = self.cli(args);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && !out.starts_with("ERR"),
            "redis-cli {args:?}: {out} {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Feeds a RESP command stream through `redis-cli --pipe`.
    fn pipe(&self, resp: &[u8]) {
        let mut c = Command::new(CLI)
            .args(["-p", &self.port.to_string(), "--pipe"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(resp).unwrap();
        let o = c.wait_with_output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && out.contains("errors: 0"), "redis-cli --pipe: {out}");
    }

    fn save(&self) -> Vec<u8> {
        self.ok(&["save"]);
        std::fs::read(self.dir.join("dump.rdb")).unwrap()
    }

    /// `redis-cli --rdb -`: the snapshot as a replica receives it, on stdout.
    fn cli_rdb(&self, diskless: bool) -> Vec<u8> {
        self.ok(&["config", "set", "repl-diskless-sync", if diskless { "yes" } else { "no" }]);
        let o = self.cli(&["--rdb", "-"]);
        assert!(o.status.success(), "redis-cli --rdb -: {}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    }

    /// Per-database (keys, expires) from INFO keyspace.
    fn keyspace(&self) -> Vec<(u64, u64, u64)> {
        let o = self.cli(&["info", "keyspace"]);
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| {
                let (db, rest) = l.trim().strip_prefix("db")?.split_once(':')?;
                let mut keys = 0;
                let mut expires = 0;
                for kv in rest.split(',') {
                    match kv.split_once('=') {
                        Some(("keys", v)) => keys = v.parse().unwrap(),
                        Some(("expires", v)) => expires = v.parse().unwrap(),
                        _ => {}
                    }
                }
                Some((db.parse().unwrap(), keys, expires))
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn resp(cmds: &[Vec<Vec<u8>>]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in cmds {
        out.extend_from_slice(format!("*{}\r\n", c.len()).as_bytes());
        for a in c {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

fn cmd(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

/// The varied dataset of the benchmark recipes, plus large values and big collections.
fn load_dataset(s: &Server) {
    let recipe = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/recipes/gen_dataset.py");
    let o =
        Command::new("python3").arg(&recipe).args(["--scale", "3"]).output().expect("python3 runs the dataset recipe");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    s.pipe(&o.stdout);
    let mut seed = 0x243f_6a88_85a3_08d3u64;
    let mut rnd = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect()
    };
    let big_text: Vec<u8> = (0..200_000).flat_map(|i| format!("row {i} lorem ipsum\n").into_bytes()).collect();
    let mut cmds = vec![
        cmd(&[b"SELECT", b"3"]),
        cmd(&[b"SET", b"big:random-3m", &rnd(3 << 20)]),
        cmd(&[b"SET", b"big:text", &big_text]),
        cmd(&[b"PEXPIREAT", b"big:text", b"4102444800000"]),
        cmd(&[b"HSET", b"big:hash-bigfield", b"f", &rnd(100_000)]),
    ];
    let mut list = vec![b"RPUSH".to_vec(), b"big:list-compressed".to_vec()];
    list.extend((0..20_000).map(|i| format!("element number {i} of a long list").into_bytes()));
    cmds.push(list);
    let mut lp = vec![b"HSET".to_vec(), b"big:hash-listpack".to_vec()];
    lp.extend((0..100).flat_map(|i| [format!("f{i}").into_bytes(), format!("{}", i * 1000).into_bytes()]));
    cmds.push(lp);
    let mut zs = vec![b"ZADD".to_vec(), b"big:zset-ints".to_vec()];
    zs.extend((0..3000).flat_map(|i| [format!("{}", i as f64 / 7.0).into_bytes(), format!("{i}").into_bytes()]));
    cmds.push(zs);
    for i in 0..50 {
        cmds.push(cmd(&[b"XADD", b"big:stream", b"*", b"n", format!("{i}").as_bytes(), b"blob", &rnd(500)]));
    }
    cmds.push(cmd(&[b"XGROUP", b"CREATE", b"big:stream", b"grp", b"0"]));
    cmds.push(cmd(&[b"XREADGROUP", b"GROUP", b"grp", b"c1", b"COUNT", b"20", b"STREAMS", b"big:stream", b">"]));
    cmds.push(cmd(&[b"XREADGROUP", b"GROUP", b"grp", b"c2", b"COUNT", b"5", b"STREAMS", b"big:stream", b">"]));
    cmds.push(cmd(&[b"SELECT", b"0"]));
    s.pipe(&resp(&cmds));
    s.ok(&["debug", "populate", "5000", "pop", "30"]);
}

/// Runs rdbcheck on `input` (stdin, pass-through), checks it validates and is passed through
/// unchanged, and returns the JSON report.
fn check(label: &str, input: &[u8]) -> serde_json::Value {
    let dir = std::env::temp_dir().join(format!("rdbcheck-live-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join(format!("{label}.json"));
    let mut c = Command::new(env!("CARGO_BIN_EXE_rdbcheck"))
        .args(["--json", json.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = c.stdin.take().unwrap();
    let data = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&data));
    let o = c.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert_eq!(o.status.code(), Some(0), "{label}: {}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stderr.is_empty(), "{label}: {}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout == input, "{label}: output differs from input");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    std::fs::remove_file(&json).ok();
    v
}

fn assert_counts(label: &str, v: &serde_json::Value, keyspace: &[(u64, u64, u64)]) {
    assert!(!keyspace.is_empty());
    for &(db, keys, expires) in keyspace {
        let d = &v["databases"][db.to_string()];
        assert_eq!(d["keys"], keys, "{label}: db {db} key count");
        assert_eq!(d["expires"], expires, "{label}: db {db} expires");
    }
    assert_eq!(v["empty_keys"], 0, "{label}");
}

fn exercise(name: &str, extra: &[&str], checksum: bool) {
    let s = Server::start(name, extra);
    load_dataset(&s);
    let ks = s.keyspace();
    let kinds = |v: &serde_json::Value| -> Vec<String> {
        v["databases"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|d| d["by_type"].as_object().unwrap().keys().cloned().collect::<Vec<_>>())
            .collect()
    };

    let v = check(&format!("{name}-save"), &s.save());
    assert_counts(name, &v, &ks);
    assert_eq!(v["checksum"]["status"], if checksum { "ok" } else { "disabled" });
    assert_eq!(v["format"]["version"], 10, "Debian's redis-server 7.0 writes RDB 10");
    assert!(v["functions"].as_u64().unwrap() >= 1, "the function library");
    let types = kinds(&v);
    for t in [
        "string",
        "list-quicklist2",
        "set",
        "set-intset",
        "zset2",
        "zset-listpack",
        "hash",
        "hash-listpack",
        "stream-v2",
    ] {
        assert!(types.iter().any(|x| x == t), "{name}: no {t} in {types:?}");
    }

    for policy in ["allkeys-lru", "allkeys-lfu"] {
        s.ok(&["config", "set", "maxmemory-policy", policy]);
        let v = check(&format!("{name}-{policy}"), &s.save());
        assert_counts(name, &v, &ks);
    }
    s.ok(&["config", "set", "maxmemory-policy", "noeviction"]);

    let disk = s.cli_rdb(false);
    let v = check(&format!("{name}-cli-disk"), &disk);
    assert_eq!(v["eof_marker"], false);
    assert_counts(name, &v, &ks);
    let diskless = s.cli_rdb(true);
    let v = check(&format!("{name}-cli-diskless"), &diskless);
    assert_eq!(v["eof_marker"], true, "{name}: diskless --rdb - ends with the 40-byte $EOF marker");
    assert_eq!(diskless.len() as u64, v["rdb_bytes"].as_u64().unwrap() + 40);
    assert_counts(name, &v, &ks);

    let funcs = s.cli(&["--functions-rdb", "-"]);
    assert!(funcs.status.success());
    let v = check(&format!("{name}-functions"), &funcs.stdout);
    assert_eq!(v["keys"], 0);
    assert!(v["functions"].as_u64().unwrap() >= 1);

    // the real pipeline: redis-cli --rdb - | rdbcheck
    let mut cli = Command::new(CLI)
        .args(["-p", &s.port.to_string(), "--rdb", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rc = Command::new(env!("CARGO_BIN_EXE_rdbcheck"))
        .arg("-n")
        .stdin(Stdio::from(cli.stdout.take().unwrap()))
        .output()
        .unwrap();
    assert!(cli.wait().unwrap().success());
    assert_eq!(rc.status.code(), Some(0), "{name}: pipeline: {}", String::from_utf8_lossy(&rc.stderr));
}

#[test]
fn live_compression_and_checksum_on() {
    exercise("on", &["--rdbcompression", "yes", "--rdbchecksum", "yes", "--list-compress-depth", "1"], true);
}

#[test]
fn live_compression_and_checksum_off() {
    exercise("off", &["--rdbcompression", "no", "--rdbchecksum", "no"], false);
}

#[test]
fn live_truncated_snapshot_from_the_server_fails() {
    let s = Server::start("trunc", &[]);
    load_dataset(&s);
    let full = s.save();
    for cut in [9, full.len() / 3, full.len() / 2, full.len() - 9, full.len() - 1] {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rdbcheck"))
            .arg("-n")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = c.stdin.take().unwrap().write_all(&full[..cut]);
        let o = c.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(1), "cut at {cut}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("unexpected end of input"), "cut at {cut}");
    }
}
