//! One type for every secret: S3 secret keys and session tokens, Swift keys, passwords,
//! application-credential secrets and tokens.
//!
//! The value is reachable only through [`Secret::expose`], which is what the code that must
//! send it calls (the signer, an auth request, the `X-Auth-Token` header); `Debug` prints
//! `"<redacted>"`, and there is no `Display`, so a secret cannot slip into a message, a `-v`
//! line or a derived `Debug` of a struct holding it.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the code that must send it or sign with it. Never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "\"<redacted>\"");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(\"<redacted>\")");
        assert_eq!(s.expose(), "hunter2");
    }
}
