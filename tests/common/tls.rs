//! An in-process TLS front end (rustls) that forwards plaintext to a real server, with a
//! private CA and server certificate for 127.0.0.1/localhost made by the `openssl` CLI, plus
//! a second, unrelated CA for "untrusted certificate" cases.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};

use super::{run, S3Env, TempDir};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no traffic either way for this long is closed.
const IDLE_MS: i32 = 300_000;
/// Bounds each blocking write, so a peer that stops reading cannot pin a thread forever.
const IO_TIMEOUT: Duration = Duration::from_secs(300);

pub struct TlsTerminator {
    addr: SocketAddr,
    dir: TempDir,
    stop: Arc<AtomicBool>,
}

impl TlsTerminator {
    /// Makes the certificates and listens on 127.0.0.1:<free port>, forwarding to `upstream`.
    pub fn start(upstream: SocketAddr) -> TlsTerminator {
        let dir = TempDir::new("tls");
        make_ca(dir.path(), "ca", "sluice test CA");
        make_ca(dir.path(), "other-ca", "sluice unrelated CA");
        make_server_cert(dir.path());
        let config = Arc::new(server_config(dir.path()));

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind TLS terminator");
        let addr = listener.local_addr().expect("TLS addr");
        let stop = Arc::new(AtomicBool::new(false));
        let sp = stop.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let config = config.clone();
                // A failed handshake (untrusted CA on the client) just ends that connection.
                thread::spawn(move || {
                    let _ = serve(conn, upstream, config);
                });
            }
        });
        TlsTerminator { addr, dir, stop }
    }

    /// TLS in front of the test Garage.
    pub fn for_s3(env: &S3Env) -> TlsTerminator {
        TlsTerminator::start(env.addr())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:<port>` (the certificate has IP SAN 127.0.0.1).
    pub fn endpoint(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// `https://localhost:<port>` (the certificate has DNS SAN localhost).
    pub fn localhost_endpoint(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// PEM of the CA that signed the server certificate.
    pub fn ca_pem(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// PEM of a CA that did not sign it: trusting only this must fail verification.
    pub fn other_ca_pem(&self) -> PathBuf {
        self.dir.join("other-ca.pem")
    }

    /// The server certificate and key, should a test need them.
    pub fn server_cert_pem(&self) -> PathBuf {
        self.dir.join("server.pem")
    }

    pub fn server_key_pem(&self) -> PathBuf {
        self.dir.join("server.key")
    }
}

impl Drop for TlsTerminator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = run(Command::new("openssl").current_dir(dir).args(args), None);
    assert!(
        out.status.success(),
        "openssl {} failed: {}",
        args.first().unwrap_or(&""),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

// P-256 keys: quick to generate, and rustls/ring verify them.
fn make_ca(dir: &Path, name: &str, cn: &str) {
    let key = format!("{name}.key");
    let pem = format!("{name}.pem");
    openssl(dir, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", &key]);
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &key,
            "-out",
            &pem,
            "-days",
            "2",
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

fn make_server_cert(dir: &Path) {
    openssl(dir, &["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.ec.key"]);
    // PKCS#8, the most widely accepted private key PEM form.
    openssl(dir, &["pkcs8", "-topk8", "-nocrypt", "-in", "server.ec.key", "-out", "server.key"]);
    openssl(dir, &["req", "-new", "-key", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .expect("write server.ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
}

fn server_config(dir: &Path) -> ServerConfig {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .expect("read server.pem")
        .collect::<Result<_, _>>()
        .expect("parse server.pem");
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).expect("read server.key");
    // An explicit provider: the build may enable more than one rustls backend.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate")
}

fn tls_err(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Relays one connection: TLS records from the client, plaintext to and from the server.
/// One thread per connection, multiplexed with poll(2) because a rustls connection cannot be
/// split between a reading and a writing thread.
fn serve(mut tcp: TcpStream, upstream: SocketAddr, config: Arc<ServerConfig>) -> io::Result<()> {
    let mut tls = ServerConnection::new(config).map_err(tls_err)?;
    tcp.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    tcp.set_write_timeout(Some(HANDSHAKE_TIMEOUT))?;
    while tls.is_handshaking() {
        tls.complete_io(&mut tcp)?;
    }
    tcp.set_read_timeout(Some(IO_TIMEOUT))?;
    tcp.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut up = TcpStream::connect_timeout(&upstream, CONNECT_TIMEOUT)?;
    up.set_write_timeout(Some(IO_TIMEOUT))?;
    up.set_nodelay(true)?;
    tcp.set_nodelay(true)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut client_done = false;
    loop {
        flush_tls(&mut tls, &mut tcp)?;
        // Plaintext rustls already decrypted goes to the server before waiting again.
        while !client_done {
            match tls.reader().read(&mut buf) {
                Ok(0) => {
                    // close_notify: no more requests; let the server finish its answer.
                    client_done = true;
                    let _ = up.shutdown(std::net::Shutdown::Write);
                }
                Ok(n) => up.write_all(&buf[..n])?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        let mut fds = [
            libc::pollfd { fd: up.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: tcp.as_raw_fd(), events: if client_done { 0 } else { libc::POLLIN }, revents: 0 },
        ];
        // SAFETY: fds is a valid array of initialised pollfd for the duration of the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, IDLE_MS) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Ok(()); // idle too long
        }
        let ready = libc::POLLIN | libc::POLLHUP | libc::POLLERR;
        if fds[1].revents & ready != 0 {
            if tls.read_tls(&mut tcp)? == 0 {
                return Ok(()); // client gone
            }
            tls.process_new_packets().map_err(tls_err)?;
        }
        if fds[0].revents & ready != 0 {
            let n = up.read(&mut buf)?;
            if n == 0 {
                tls.send_close_notify();
                flush_tls(&mut tls, &mut tcp)?;
                return Ok(());
            }
            let mut data = &buf[..n];
            while !data.is_empty() {
                let w = tls.writer().write(data)?;
                data = &data[w..];
                flush_tls(&mut tls, &mut tcp)?;
            }
        }
    }
}

fn flush_tls(tls: &mut ServerConnection, tcp: &mut TcpStream) -> io::Result<()> {
    while tls.wants_write() {
        tls.write_tls(tcp)?;
    }
    Ok(())
}
