//! Every connection's stream, so that every request has the idle timeouts, kept-alive or not.
//!
//! ureq 2 sets a socket's read and write timeouts when it opens the connection, and clears them
//! when the connection goes back to its pool (`Stream::reset` in its stream.rs): a request sent
//! on a reused connection would then wait forever on a stalled server. ureq hands the stream of
//! every https connection it opens to a [`ureq::TlsConnector`]; ours wraps it in an
//! [`IdleStream`], which does TLS (rustls) for https endpoints and nothing more for http ones,
//! and sets the idle timeouts again whenever a new request starts on the connection (its first
//! write after a read). Plain-http URLs reach ureq as https URLs with their port and Host
//! header ([`wire_url`]), so that their connections go through the same wrapper. ureq keeps
//! everything else: the pool, its check that a pooled connection is still open, and the
//! whole-request deadlines of cleanup requests.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;
use ureq::ReadWrite;

/// Opens the stream of a new connection: TLS when `tls` is set, then the idle timeouts.
pub(crate) struct Connector {
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub idle: Duration,
}

impl ureq::TlsConnector for Connector {
    fn connect(&self, dns_name: &str, io: Box<dyn ReadWrite>) -> Result<Box<dyn ReadWrite>, ureq::Error> {
        // The handshake too waits at most the idle timeout for each step.
        arm(io.socket(), self.idle)?;
        let inner = match &self.tls {
            None => Inner::Plain(io),
            Some(config) => Inner::Tls(Box::new(handshake(config, dns_name, io)?)),
        };
        Ok(Box::new(IdleStream { inner, idle: self.idle, rearm: false }))
    }
}

fn handshake(
    config: &Arc<rustls::ClientConfig>,
    dns_name: &str,
    mut io: Box<dyn ReadWrite>,
) -> io::Result<rustls::StreamOwned<rustls::ClientConnection, Box<dyn ReadWrite>>> {
    // URLs bracket IPv6 addresses; a server name does not.
    let name = dns_name.trim_start_matches('[').trim_end_matches(']');
    let server = rustls_pki_types::ServerName::try_from(name.to_string())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("TLS server name {name:?}: {e}")))?;
    let mut conn = rustls::ClientConnection::new(Arc::clone(config), server).map_err(io::Error::other)?;
    // Runs the handshake to its end (rustls loops until it is done or fails).
    conn.complete_io(&mut io).map_err(|e| timed_out(e, "during the TLS handshake"))?;
    Ok(rustls::StreamOwned::new(conn, io))
}

enum Inner {
    Plain(Box<dyn ReadWrite>),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, Box<dyn ReadWrite>>>),
}

/// A connection's stream: re-arms the idle timeouts when a request starts, and says what a
/// timeout means.
pub(crate) struct IdleStream {
    inner: Inner,
    idle: Duration,
    /// Set by a read: the next write starts a new request, on a connection ureq may have taken
    /// from its pool with no timeouts.
    rearm: bool,
}

impl std::fmt::Debug for IdleStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner {
            Inner::Plain(_) => "plain",
            Inner::Tls(_) => "tls",
        };
        write!(f, "IdleStream({kind}, idle {:?})", self.idle)
    }
}

impl ReadWrite for IdleStream {
    // ureq uses the socket for its pool (timeouts cleared on return, a peek for a closed
    // connection) and for request deadlines; all of that keeps working.
    fn socket(&self) -> Option<&TcpStream> {
        match &self.inner {
            Inner::Plain(s) => s.socket(),
            Inner::Tls(s) => s.get_ref().socket(),
        }
    }
}

impl Read for IdleStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = match &mut self.inner {
            Inner::Plain(s) => s.read(buf),
            Inner::Tls(s) => s.read(buf),
        };
        self.rearm = true;
        r.map_err(|e| timed_out(e, "waiting for the server"))
    }
}

impl Write for IdleStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.rearm {
            self.rearm = false;
            arm(self.socket(), self.idle)?;
        }
        let r = match &mut self.inner {
            Inner::Plain(s) => s.write(buf),
            Inner::Tls(s) => s.write(buf),
        };
        r.map_err(|e| timed_out(e, "sending to the server"))
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = match &mut self.inner {
            Inner::Plain(s) => s.flush(),
            Inner::Tls(s) => s.flush(),
        };
        r.map_err(|e| timed_out(e, "sending to the server"))
    }
}

fn arm(socket: Option<&TcpStream>, idle: Duration) -> io::Result<()> {
    if let Some(s) = socket {
        s.set_read_timeout(Some(idle))?;
        s.set_write_timeout(Some(idle))?;
    }
    Ok(())
}

/// A socket timeout (EAGAIN on Linux, "Resource temporarily unavailable (os error 11)") as a
/// `TimedOut` error that says what it was; other errors unchanged.
fn timed_out(e: io::Error, doing: &str) -> io::Error {
    if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) {
        io::Error::new(io::ErrorKind::TimedOut, Silence(doing.to_string()))
    } else {
        e
    }
}

/// The error a socket timeout becomes. Its text is generic: which limit ran out (the idle
/// timeout or a cleanup request's deadline) is said by whoever knows the request.
#[derive(Debug)]
pub(crate) struct Silence(String);

impl std::fmt::Display for Silence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "timed out {}", self.0)
    }
}

impl std::error::Error for Silence {}

/// The URL and Host header to give ureq for `url`. An https URL goes as it is. An http URL goes
/// as https with an explicit port, so that ureq hands its connection to our [`Connector`] (which
/// does no TLS for it), with the Host header ureq would have sent for the http URL: the
/// authority without a default `:80`. Anything else goes as it is, for ureq to refuse.
pub(crate) fn wire_url(url: &str) -> (String, Option<String>) {
    let Some(rest) = url.strip_prefix("http://") else { return (url.to_string(), None) };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    // The port follows the last ':' outside an IPv6 literal's brackets.
    let port_at = authority.rfind(':').filter(|&i| !authority[i..].contains(']'));
    let (host, port) = match port_at {
        Some(i) if !authority[i + 1..].is_empty() => (&authority[..i], &authority[i + 1..]),
        Some(i) => (&authority[..i], "80"),
        None => (authority, "80"),
    };
    let host_header = if port == "80" { host.to_string() } else { format!("{host}:{port}") };
    (format!("https://{host}:{port}{tail}"), Some(host_header))
}

#[cfg(test)]
mod tests {
    use super::wire_url;

    #[test]
    fn http_urls_go_as_https_with_their_port_and_host() {
        let w = |u: &str| wire_url(u);
        assert_eq!(
            w("http://127.0.0.1:3900/b/k?x=1"),
            ("https://127.0.0.1:3900/b/k?x=1".into(), Some("127.0.0.1:3900".into()))
        );
        assert_eq!(w("http://s3.example/b"), ("https://s3.example:80/b".into(), Some("s3.example".into())));
        assert_eq!(w("http://s3.example:80/"), ("https://s3.example:80/".into(), Some("s3.example".into())));
        assert_eq!(w("http://[::1]:9000/b"), ("https://[::1]:9000/b".into(), Some("[::1]:9000".into())));
        assert_eq!(w("http://[::1]/b"), ("https://[::1]:80/b".into(), Some("[::1]".into())));
        assert_eq!(w("http://h?q"), ("https://h:80?q".into(), Some("h".into())));
        assert_eq!(w("https://h/b"), ("https://h/b".into(), None));
    }
}
