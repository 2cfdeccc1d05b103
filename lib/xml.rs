//! Namespace-agnostic XML reading over `roxmltree`, and escaping for the bodies we write.
//!
//! S3-compatible servers disagree about namespaces: AWS uses
//! `http://s3.amazonaws.com/doc/2006-03-01/`, Tencent COS four different ones, B2 and others
//! none at all. Everything here matches elements by local name only, so one parser reads them
//! all.

use crate::error::{Error, Result};

pub use roxmltree::{Document, Node};

/// Parses a response body. Leading whitespace and a byte-order mark are tolerated (some
/// servers send a newline before the XML declaration); a DTD is refused.
pub fn parse(text: &str) -> Result<Document<'_>> {
    let text = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    Document::parse(text).map_err(|e| Error::server(format!("unexpected response from server: malformed XML ({e})")))
}

/// The first child element with this local name, whatever its namespace.
pub fn child<'a, 'i>(node: Node<'a, 'i>, local: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == local)
}

/// Every child element with this local name, in document order.
pub fn children<'a, 'i>(node: Node<'a, 'i>, local: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| c.is_element() && c.tag_name().name() == local)
}

/// The text of the first child element with this local name: `Some("")` for `<X/>`, `None`
/// when there is no such child. Not trimmed: keys may begin or end with spaces.
pub fn child_text<'a, 'i>(node: Node<'a, 'i>, local: &str) -> Option<&'a str> {
    child(node, local).map(|n| n.text().unwrap_or(""))
}

/// Descends through child elements by local names: `path(root, &["Owner", "ID"])`.
pub fn path<'a, 'i>(node: Node<'a, 'i>, locals: &[&str]) -> Option<Node<'a, 'i>> {
    locals.iter().try_fold(node, |n, l| child(n, l))
}

/// Escapes text for element content: `&`, `<`, `>` as entities, and control characters as
/// numeric references so they survive parsing (a literal CR or LF would be normalised to LF, a
/// tab could be trimmed). XML 1.0 only allows tab, LF and CR as references; other C0 controls
/// are written as references too (AWS documents this for object keys), the server decides.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("&#x{:X};", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// An S3 `<Error>` body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3ErrorBody {
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub host_id: Option<String>,
    /// `<Region>` of `AuthorizationHeaderMalformed`: the region the bucket really is in.
    pub region: Option<String>,
    /// `<BucketName>` (`NoSuchBucket`).
    pub bucket: Option<String>,
    pub key: Option<String>,
}

impl S3ErrorBody {
    /// One line for an error message: `NoSuchBucket: The specified bucket does not exist
    /// (bucket mybucket, request id 4442587FB7D0A2F9)`.
    pub fn summary(&self) -> String {
        let mut s = if self.message.is_empty() {
            self.code.clone()
        } else {
            // Errors are one line: fold any line breaks a server put in its message.
            format!("{}: {}", self.code, self.message.split_whitespace().collect::<Vec<_>>().join(" "))
        };
        let mut extra = Vec::new();
        if let Some(b) = &self.bucket {
            extra.push(format!("bucket {b}"));
        }
        if let Some(k) = &self.key {
            extra.push(format!("key {k}"));
        }
        if let Some(r) = &self.region {
            extra.push(format!("region {r}"));
        }
        if let Some(id) = &self.request_id {
            extra.push(format!("request id {id}"));
        }
        if !extra.is_empty() {
            s.push_str(&format!(" ({})", extra.join(", ")));
        }
        s
    }
}

/// `Some(..)` when the body is an S3 error: the root element's local name is `Error`, also
/// on a 200 OK (CompleteMultipartUpload, CopyObject). An `<ErrorResponse><Error>` wrapper, as
/// STS-style gateways send, is unwrapped. `None` for anything else, including non-XML.
pub fn parse_s3_error(body: &str) -> Option<S3ErrorBody> {
    let doc = parse(body).ok()?;
    let mut root = doc.root_element();
    if root.tag_name().name() == "ErrorResponse" {
        root = child(root, "Error")?;
    }
    if root.tag_name().name() != "Error" {
        return None;
    }
    let opt = |name: &str| child_text(root, name).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    Some(S3ErrorBody {
        code: opt("Code").unwrap_or_default(),
        message: opt("Message").unwrap_or_default(),
        request_id: opt("RequestId"),
        host_id: opt("HostId"),
        region: opt("Region"),
        bucket: opt("BucketName"),
        key: child_text(root, "Key").filter(|s| !s.is_empty()).map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_local_name() {
        let doc = parse("\n<a:R xmlns:a='urn:x' xmlns='urn:y'><B><C>t</C><C/></B><a:B/></a:R>").unwrap();
        let r = doc.root_element();
        assert_eq!(children(r, "B").count(), 2);
        assert_eq!(child_text(path(r, &["B"]).unwrap(), "C"), Some("t"));
        assert_eq!(children(child(r, "B").unwrap(), "C").nth(1).map(|n| n.text().unwrap_or("")), Some(""));
        assert!(path(r, &["B", "D"]).is_none());
        assert_eq!(child_text(r, "Z"), None);
    }

    #[test]
    fn escapes() {
        assert_eq!(escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
        assert_eq!(escape("l1\nl2\r\t\u{1}"), "l1&#xA;l2&#xD;&#x9;&#x1;");
        assert_eq!(escape("ሴ ok"), "ሴ ok");
        let text = format!("<K>{}</K>", escape("x\r\ny & <z>\t"));
        let doc = parse(&text).unwrap();
        assert_eq!(doc.root_element().text(), Some("x\r\ny & <z>\t"));
    }

    #[test]
    fn malformed_is_a_server_error() {
        let e = parse("<a><b></a>").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Server);
        assert!(e.message().starts_with("unexpected response from server"));
        assert!(parse_s3_error("not xml").is_none());
        assert!(parse_s3_error("<ListBucketResult/>").is_none());
    }
}
