//! The encodings S3 and Swift share: RFC 3986 percent-encoding of names (SigV4's rule and
//! python-swiftclient's `quote` are the same one), percent-decoding of S3's url-encoded
//! listings, base64 for Content-MD5 and checksum headers, and ETag quotes.

use crate::error::{Error, Result};
use base64::Engine as _;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but the RFC 3986 unreserved characters `A-Za-z0-9-._~` is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// The same, keeping `/` (path segments).
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// URI-encodes per SigV4 (and Python's `quote(s, safe='/')`): the unreserved characters stay,
/// every other byte of the UTF-8 becomes `%XX` with uppercase hex; `/` stays unless
/// `encode_slash`.
pub fn uri_encode(s: &str, encode_slash: bool) -> String {
    let set = if encode_slash { UNRESERVED } else { UNRESERVED_AND_SLASH };
    utf8_percent_encode(s, set).to_string()
}

/// Decodes `%XX` escapes (either hex case), and `+` as a space only when `plus_as_space`
/// (S3's `encoding-type=url` listings encode like HTML forms). A `%` not followed by two hex
/// digits is an error, as is a result that is not UTF-8. Errors are `ErrorKind::Server`, the
/// usual source being a listing; re-kind them for user input.
pub fn percent_decode(s: &str, plus_as_space: bool) -> Result<String> {
    let b = s.as_bytes();
    let bad_escape = b.iter().enumerate().any(|(i, &c)| {
        c == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if bad_escape {
        return Err(Error::server(format!("unexpected response from server: bad percent-escape in {s:?}")));
    }
    // `+` is never part of an escape, so replacing it first cannot create or break one.
    let spaced;
    let s = if plus_as_space && s.contains('+') {
        spaced = s.replace('+', " ");
        spaced.as_str()
    } else {
        s
    };
    match percent_decode_str(s).decode_utf8() {
        Ok(text) => Ok(text.into_owned()),
        Err(_) => {
            Err(Error::server(format!("unexpected response from server: percent-decoding {s:?} gives invalid UTF-8")))
        }
    }
}

/// Standard base64 (RFC 4648) with padding.
pub(crate) fn base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decodes standard base64 with padding; None when it is not that.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// Strips the quotes S3 and Swift put around ETags.
pub(crate) fn unquote_etag(s: &str) -> String {
    s.trim().trim_matches('"').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes() {
        assert_eq!(uri_encode("a b/c~d$e+f", false), "a%20b/c~d%24e%2Bf");
        assert_eq!(uri_encode("a/b", true), "a%2Fb");
        assert_eq!(uri_encode("ሴ", true), "%E1%88%B4");
        assert_eq!(percent_decode("a%20b+c%2b%E1%88%b4", false).unwrap(), "a b+c+ሴ");
        assert_eq!(percent_decode("a+b", true).unwrap(), "a b");
        assert!(percent_decode("a%2", false).is_err());
        assert!(percent_decode("a%zz", false).is_err());
        assert!(percent_decode("%FF", false).is_err());
    }

    #[test]
    fn quoting_like_swiftclient() {
        assert_eq!(uri_encode("a b/c%d", false), "a%20b/c%25d");
        assert_eq!(uri_encode("a/b", true), "a%2Fb");
        assert_eq!(uri_encode("é", false), "%C3%A9");
    }

    #[test]
    fn base64_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn etags_unquoted() {
        assert_eq!(unquote_etag(" \"abc-2\" "), "abc-2");
    }
}
