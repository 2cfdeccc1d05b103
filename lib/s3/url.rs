//! `s3://bucket/key` URLs as users type them and as s3ls prints them.

use crate::log::printable;
use crate::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct S3Url {
    pub bucket: String,
    /// The key or prefix; empty for a bare `s3://bucket`.
    pub key: String,
}

impl S3Url {
    /// Parses `s3://BUCKET[/KEY]`. The key is taken verbatim (it may contain spaces, `+`, `%`).
    pub fn parse(s: &str) -> Result<S3Url> {
        let rest = s.strip_prefix("s3://").ok_or_else(|| {
            Error::usage(format!("{:?} is not an s3:// URL (expected s3://BUCKET/KEY)", printable(s)))
        })?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::usage(format!("{s:?} has no bucket name (expected s3://BUCKET/KEY)")));
        }
        if bucket.len() > 255
            || bucket.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '\\'))
        {
            return Err(Error::usage(format!("{:?} is not a valid bucket name", printable(bucket))));
        }
        Ok(S3Url { bucket: bucket.to_string(), key: key.to_string() })
    }

    /// Like `parse`, but requires a key that can name exactly one object.
    pub(crate) fn parse_object(s: &str) -> Result<S3Url> {
        let u = Self::parse(s)?;
        if u.key.is_empty() {
            return Err(Error::usage(format!("{s:?} names a bucket, not an object (expected s3://BUCKET/KEY)")));
        }
        // HTTP clients resolve "." and ".." path segments before sending, so such a key would be
        // stored under another name (or signed wrong): refuse it rather than surprise.
        if u.key.split('/').any(|seg| seg == "." || seg == "..") {
            return Err(Error::usage(format!(
                "key {:?} has a '.' or '..' path segment, which HTTP clients rewrite; choose another key",
                printable(&u.key)
            )));
        }
        Ok(u)
    }

    pub(crate) fn to_url_string(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, printable(&self.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(S3Url::parse("s3://b/a b/c+d%").unwrap(), S3Url { bucket: "b".into(), key: "a b/c+d%".into() });
        assert_eq!(S3Url::parse("s3://b").unwrap().key, "");
        assert!(S3Url::parse("http://b/k").is_err());
        assert!(S3Url::parse("s3:///k").is_err());
        assert!(S3Url::parse_object("s3://b/").is_err());
        assert!(S3Url::parse_object("s3://b/a/../c").is_err());
    }
}
