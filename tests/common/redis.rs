//! A throwaway redis-server (Debian's) on 127.0.0.1 for pipeline tests; killed on drop.

use super::TempDir;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Redis {
    child: Child,
    pub port: u16,
    pub dir: TempDir,
}

impl Redis {
    /// Starts redis-server; fails the test (never skips) when it is not installed.
    pub fn start(extra: &[&str]) -> Redis {
        let dir = TempDir::new("redis");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"])
            .arg("--dir")
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server is not installed ({e}): run scripts/install-test-deps"));
        let r = Redis { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while r.cmd(&["PING"]).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }

    /// Sends one command (RESP) and returns the reply's first line or bulk payload.
    pub fn cmd(&self, args: &[&str]) -> std::io::Result<Vec<u8>> {
        let bin: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd_bin(&bin)
    }

    pub fn cmd_bin(&self, args: &[&[u8]]) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(120)))?;
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        s.write_all(&req)?;
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line)?;
        match line.as_bytes().first() {
            Some(b'$') => {
                let n: i64 = line[1..].trim().parse().unwrap_or(-1);
                if n < 0 {
                    return Ok(Vec::new());
                }
                let mut buf = vec![0u8; n as usize + 2];
                r.read_exact(&mut buf)?;
                buf.truncate(n as usize);
                Ok(buf)
            }
            Some(b'-') => Err(std::io::Error::other(line.trim().to_string())),
            _ => Ok(line.trim_end().as_bytes().to_vec()),
        }
    }

    /// A varied dataset of roughly `big_mib` MiB: random strings, small keys of every type,
    /// TTLs, a stream with a consumer group, a second database.
    pub fn load_varied(&self, big_mib: usize) {
        let ok = |r: std::io::Result<Vec<u8>>| r.expect("redis command");
        for i in 0..big_mib {
            let v = super::random_bytes(1 << 20, i as u64 + 1000);
            ok(self.cmd_bin(&[b"SET", format!("big:{i}").as_bytes(), &v]));
        }
        ok(self.cmd(&["DEBUG", "POPULATE", "50000", "small", "64"]));
        for i in 0..200 {
            let k = format!("{i}");
            ok(self.cmd(&["HSET", &format!("h:{k}"), "a", &k, "b", "x"]));
            ok(self.cmd(&["RPUSH", &format!("l:{k}"), "1", "2", "three"]));
            ok(self.cmd(&["SADD", &format!("s:{k}"), "1", "2", "3"]));
            ok(self.cmd(&["SADD", &format!("ss:{k}"), "a", "b"]));
            ok(self.cmd(&["ZADD", &format!("z:{k}"), "1", "a", "2.5", "b"]));
            ok(self.cmd(&["SET", &format!("ttl:{k}"), "v", "EX", "100000"]));
        }
        ok(self.cmd(&["XADD", "stream", "*", "f", "v"]));
        ok(self.cmd(&["XGROUP", "CREATE", "stream", "g", "0"]));
        // Each call is its own connection, so SELECT would not stick: MOVE into database 1.
        ok(self.cmd(&["SET", "db1", "x"]));
        ok(self.cmd(&["MOVE", "db1", "1"]));
    }

    /// DEBUG DIGEST of the whole dataset: equal digests mean equal data.
    pub fn digest(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["DEBUG", "DIGEST"]).expect("DEBUG DIGEST"))
            .trim_start_matches('+')
            .to_string()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
