//! Where the decoded bytes of a string go: nowhere, a buffer, a bounded prefix, or a fingerprint.

/// Receives the bytes of a string as they are decoded (see `Parser::string`).
pub(crate) trait Sink {
    fn feed(&mut self, bytes: &[u8]);
    /// False if the sink ignores the bytes (then LZF strings are checked without decoding).
    fn wants_bytes(&self) -> bool {
        true
    }
}

/// A sink that keeps nothing.
pub(crate) struct Discard;
impl Sink for Discard {
    #[inline]
    fn feed(&mut self, _: &[u8]) {}
    fn wants_bytes(&self) -> bool {
        false
    }
}

impl Sink for Vec<u8> {
    #[inline]
    fn feed(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Keeps the first bytes of a string (key names, AUX fields, function headers).
pub(crate) struct Keep {
    max: usize,
    pub(crate) buf: Vec<u8>,
}
impl Keep {
    pub(crate) fn new(max: usize) -> Self {
        Keep { max, buf: Vec::new() }
    }
}

impl Sink for Keep {
    fn feed(&mut self, bytes: &[u8]) {
        let room = self.max - self.buf.len();
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}
