//! Typed S3 XML bodies: parsers for the responses we read, builders for the bodies we send.
//!
//! Parsing matches local names only (see [`crate::xml`]), so AWS's namespace, Tencent COS's
//! four and none at all read the same. Every parser turns an `<Error>` root into an
//! `ErrorKind::Server` error carrying its code, message and request id: S3 may answer 200 OK
//! and still fail (CompleteMultipartUpload documents it).
//!
//! Reference: <https://docs.aws.amazon.com/AmazonS3/latest/API/> (one page per operation).

use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::http::encoding::percent_decode;
use crate::time::parse_rfc3339;
use crate::xml::{self, child, child_text, children, escape, Node};

/// The namespace AWS writes in request bodies; servers ignore or expect it.
const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

fn unexpected(what: impl std::fmt::Display) -> Error {
    Error::server(format!("unexpected response from server: {what}"))
}

/// Parses `body` and returns the root element, which must be `expected` (by local name).
/// An `<Error>` root becomes the error it describes.
fn with_root<T>(body: &str, expected: &str, f: impl FnOnce(Node) -> Result<T>) -> Result<T> {
    if let Some(e) = xml::parse_s3_error(body) {
        let code = Some(e.code.clone()).filter(|c| !c.is_empty());
        return Err(Error::server(format!("{expected}: server returned {}", e.summary())).with_code(code, Some(200)));
    }
    let doc = xml::parse(body).map_err(|e| e.context(format!("reading <{expected}>")))?;
    let root = doc.root_element();
    let name = root.tag_name().name();
    if name != expected {
        return Err(unexpected(format!("expected <{expected}>, got <{name}>")));
    }
    f(root)
}

fn required<'a>(node: Node<'a, '_>, local: &str) -> Result<&'a str> {
    child_text(node, local).ok_or_else(|| unexpected(format!("<{}> has no <{local}>", node.tag_name().name())))
}

/// Optional text, `None` when absent or empty.
fn opt_text(node: Node, local: &str) -> Option<String> {
    child_text(node, local).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn parse_bool(node: Node, local: &str) -> Result<Option<bool>> {
    match child_text(node, local).map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(v) => Err(unexpected(format!("<{local}> is {v:?}, not true or false"))),
    }
}

fn parse_time(node: Node, local: &str) -> Option<SystemTime> {
    child_text(node, local).and_then(parse_rfc3339)
}

/// `EncodingType` says the listing's keys are percent-encoded (form style: `+` is a space).
fn url_encoded(root: Node) -> bool {
    child_text(root, "EncodingType").is_some_and(|t| t.trim().eq_ignore_ascii_case("url"))
}

/// Asked with `encoding-type=url` but the answer does not say `EncodingType`: whether the texts
/// read differently encoded and raw (a `%` or `+` in any of them). Ceph RGW encodes the keys of
/// ListMultipartUploads without saying so; other servers ignore the parameter. When ambiguous,
/// the caller asks for the page again without `encoding-type` rather than guess.
fn ambiguous<'a>(encoded: bool, texts: impl IntoIterator<Item = &'a str>) -> bool {
    !encoded && texts.into_iter().any(|t| t.contains(['%', '+']))
}

fn decode_if(encoded: bool, s: &str, what: &str) -> Result<String> {
    if encoded {
        percent_decode(s, true).map_err(|e| e.context(format!("decoding {what}")))
    } else {
        Ok(s.to_owned())
    }
}

/// CreateMultipartUpload's `<InitiateMultipartUploadResult>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitiateMultipartUpload {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
}

/// Parses `<InitiateMultipartUploadResult>`. Only `UploadId` is required (and must not be empty);
/// `Bucket` and `Key` default to "" for servers that leave them out.
pub fn parse_initiate(body: &str) -> Result<InitiateMultipartUpload> {
    with_root(body, "InitiateMultipartUploadResult", |root| {
        let upload_id = required(root, "UploadId")?.trim();
        if upload_id.is_empty() {
            return Err(unexpected("<InitiateMultipartUploadResult> has an empty <UploadId>"));
        }
        Ok(InitiateMultipartUpload {
            bucket: child_text(root, "Bucket").unwrap_or("").to_owned(),
            key: child_text(root, "Key").unwrap_or("").to_owned(),
            upload_id: upload_id.to_owned(),
        })
    })
}

/// CompleteMultipartUpload's `<CompleteMultipartUploadResult>`; every field is optional
/// because providers differ in what they echo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompleteMultipartUpload {
    pub location: Option<String>,
    pub bucket: Option<String>,
    pub key: Option<String>,
    /// As returned, quotes included (`"3858f62230ac3c915f300c664312c11f-9"`).
    pub etag: Option<String>,
}

/// Parses the CompleteMultipartUpload answer. A 200 OK whose body is `<Error>` is an `Err`
/// (kind Server) naming the code, message and request id. The body may start with the
/// whitespace S3 sends to keep the connection alive.
pub fn parse_complete(body: &str) -> Result<CompleteMultipartUpload> {
    if body.trim().is_empty() {
        return Err(unexpected("CompleteMultipartUpload returned an empty body"));
    }
    with_root(body, "CompleteMultipartUploadResult", |root| {
        Ok(CompleteMultipartUpload {
            location: opt_text(root, "Location"),
            bucket: opt_text(root, "Bucket"),
            key: child_text(root, "Key").map(str::to_owned),
            etag: opt_text(root, "ETag"),
        })
    })
}

/// The CompleteMultipartUpload request body: `(part number, ETag as UploadPart returned it)`,
/// written in ascending part order as S3 requires.
pub fn complete_body(parts: &[(u32, String)]) -> String {
    let mut sorted: Vec<&(u32, String)> = parts.iter().collect();
    sorted.sort_by_key(|(n, _)| *n);
    let mut out = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUpload xmlns=\"{S3_XMLNS}\">");
    for (n, etag) in sorted {
        out.push_str(&format!("<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>", escape(etag)));
    }
    out.push_str("</CompleteMultipartUpload>");
    out
}

/// The CreateBucket body: `None` for us-east-1 (and ""), which rejects a LocationConstraint
/// (InvalidLocationConstraint); every other region requires one.
pub fn create_bucket_body(region: &str) -> Option<String> {
    let region = region.trim();
    if region.is_empty() || region == "us-east-1" {
        return None;
    }
    Some(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CreateBucketConfiguration xmlns=\"{S3_XMLNS}\"><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
        escape(region)
    ))
}

/// One `<Contents>` of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectEntry {
    pub key: String,
    pub last_modified: Option<SystemTime>,
    /// As returned, quotes included.
    pub etag: Option<String>,
    pub size: u64,
    pub storage_class: Option<String>,
}

/// One page of ListObjectsV2 or ListObjects (v1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListObjectsPage {
    pub objects: Vec<ObjectEntry>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// v2: pass as `continuation-token`.
    pub next_continuation_token: Option<String>,
    /// v1: pass as `marker` (decoded; filled in from the last entry when the server omits it).
    pub next_marker: Option<String>,
    /// No `EncodingType` in the answer and a key, prefix or marker that reads differently
    /// percent-decoded: ask again without `encoding-type` (see `ambiguous`).
    pub encoding_unknown: bool,
}

/// Parses a ListObjectsV2 or v1 `<ListBucketResult>`.
///
/// * `EncodingType` url: `Key` and `Prefix` are decoded (`+` is a space). v1's `NextMarker` is
///   then not used: Ceph RGW sends it raw while encoding the keys; the last key or common
///   prefix is the marker S3 documents it to be.
/// * `IsTruncated` missing: truncated iff a next token or marker is present.
/// * v1 truncated without `NextMarker` (S3 sends it only with a delimiter): the next marker is
///   the last key or common prefix, whichever sorts last, as the S3 docs tell clients to do.
pub fn parse_list_objects(body: &str) -> Result<ListObjectsPage> {
    with_root(body, "ListBucketResult", |root| {
        let enc = url_encoded(root);
        let mut objects = Vec::new();
        for c in children(root, "Contents") {
            let key = decode_if(enc, required(c, "Key")?, "an object key")?;
            let size = match child_text(c, "Size").map(str::trim) {
                Some(s) => {
                    s.parse::<u64>().map_err(|_| unexpected(format!("<Size> {s:?} of {key:?} is not a number")))?
                }
                None => return Err(unexpected(format!("<Contents> of {key:?} has no <Size>"))),
            };
            objects.push(ObjectEntry {
                last_modified: parse_time(c, "LastModified"),
                etag: opt_text(c, "ETag"),
                size,
                storage_class: opt_text(c, "StorageClass"),
                key,
            });
        }
        let mut common_prefixes = Vec::new();
        for cp in children(root, "CommonPrefixes") {
            for p in children(cp, "Prefix") {
                common_prefixes.push(decode_if(enc, p.text().unwrap_or(""), "a common prefix")?);
            }
        }
        let next_continuation_token = opt_text(root, "NextContinuationToken");
        let raw_next_marker = opt_text(root, "NextMarker");
        let encoding_unknown = ambiguous(
            enc,
            objects
                .iter()
                .map(|o| o.key.as_str())
                .chain(common_prefixes.iter().map(String::as_str))
                .chain(raw_next_marker.as_deref()),
        );
        // With url encoding, a page with entries continues after its last one (below); an
        // empty truncated page (Garage sends those) has only NextMarker to go on.
        let entries = !objects.is_empty() || !common_prefixes.is_empty();
        let mut next_marker = match &raw_next_marker {
            Some(m) if enc && !entries => Some(decode_if(enc, m, "NextMarker")?),
            Some(_) if enc => None,
            m => m.clone(),
        };
        let is_truncated =
            parse_bool(root, "IsTruncated")?.unwrap_or(next_continuation_token.is_some() || raw_next_marker.is_some());
        let is_v2 = child(root, "KeyCount").is_some()
            || child(root, "ContinuationToken").is_some()
            || next_continuation_token.is_some()
            || child(root, "StartAfter").is_some();
        // (A NextMarker sent but set aside above is marker paging too, whatever else the
        // answer carries: Garage's v1 answer has v2 elements.)
        if is_truncated && next_marker.is_none() && (!is_v2 || raw_next_marker.is_some()) {
            let last_key = objects.last().map(|o| o.key.as_str());
            let last_prefix = common_prefixes.last().map(String::as_str);
            next_marker = last_key.max(last_prefix).map(str::to_owned);
        }
        Ok(ListObjectsPage {
            objects,
            common_prefixes,
            is_truncated,
            next_continuation_token,
            next_marker,
            encoding_unknown,
        })
    })
}

/// One `<Upload>` of ListMultipartUploads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadEntry {
    pub key: String,
    pub upload_id: String,
    pub initiated: Option<SystemTime>,
}

/// One page of ListMultipartUploads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListUploadsPage {
    pub uploads: Vec<UploadEntry>,
    pub is_truncated: bool,
    /// Pass as `key-marker` (decoded).
    pub next_key_marker: Option<String>,
    /// Pass as `upload-id-marker`.
    pub next_upload_id_marker: Option<String>,
    /// No `EncodingType` in the answer and a key or marker that reads differently
    /// percent-decoded (Ceph RGW encodes without saying so): ask again without `encoding-type`.
    pub encoding_unknown: bool,
}

/// Parses `<ListMultipartUploadsResult>`; with `EncodingType` url, keys and `NextKeyMarker` are
/// decoded. `IsTruncated` missing: truncated iff a next key marker is present. Without
/// `EncodingType`, `encoding_unknown` tells whether the keys may be encoded all the same.
pub fn parse_list_uploads(body: &str) -> Result<ListUploadsPage> {
    with_root(body, "ListMultipartUploadsResult", |root| {
        let enc = url_encoded(root);
        let mut uploads = Vec::new();
        for u in children(root, "Upload") {
            uploads.push(UploadEntry {
                key: decode_if(enc, required(u, "Key")?, "an upload's key")?,
                upload_id: required(u, "UploadId")?.trim().to_owned(),
                initiated: parse_time(u, "Initiated"),
            });
        }
        let raw_marker = opt_text(root, "NextKeyMarker");
        let encoding_unknown = ambiguous(enc, uploads.iter().map(|u| u.key.as_str()).chain(raw_marker.as_deref()));
        let next_key_marker = match raw_marker {
            Some(m) => Some(decode_if(enc, &m, "NextKeyMarker")?),
            None => None,
        };
        let next_upload_id_marker = opt_text(root, "NextUploadIdMarker");
        let is_truncated = parse_bool(root, "IsTruncated")?.unwrap_or(next_key_marker.is_some());
        Ok(ListUploadsPage { uploads, is_truncated, next_key_marker, next_upload_id_marker, encoding_unknown })
    })
}

/// One bucket of ListBuckets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketEntry {
    pub name: String,
    pub creation_date: Option<SystemTime>,
}

/// Parses `<ListAllMyBucketsResult>`.
pub fn parse_list_buckets(body: &str) -> Result<Vec<BucketEntry>> {
    with_root(body, "ListAllMyBucketsResult", |root| {
        let mut out = Vec::new();
        if let Some(buckets) = child(root, "Buckets") {
            for b in children(buckets, "Bucket") {
                out.push(BucketEntry {
                    name: required(b, "Name")?.to_owned(),
                    creation_date: parse_time(b, "CreationDate"),
                });
            }
        }
        Ok(out)
    })
}

/// A key DeleteObjects could not delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteError {
    pub key: String,
    pub code: String,
    pub message: String,
}

/// DeleteObjects' `<DeleteResult>`: deleted keys (none in quiet mode) and per-key errors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteResult {
    pub deleted: Vec<String>,
    pub errors: Vec<DeleteError>,
}

/// Parses `<DeleteResult>`.
pub fn parse_delete_result(body: &str) -> Result<DeleteResult> {
    with_root(body, "DeleteResult", |root| {
        let mut deleted = Vec::new();
        for d in children(root, "Deleted") {
            deleted.push(required(d, "Key")?.to_owned());
        }
        let mut errors = Vec::new();
        for e in children(root, "Error") {
            errors.push(DeleteError {
                key: required(e, "Key")?.to_owned(),
                code: child_text(e, "Code").unwrap_or("").trim().to_owned(),
                message: child_text(e, "Message").unwrap_or("").trim().to_owned(),
            });
        }
        Ok(DeleteResult { deleted, errors })
    })
}

/// The DeleteObjects request body (at most 1000 keys per request, the caller's job). Keys are
/// escaped, control characters as numeric references (a newline is `&#xA;`).
pub fn delete_objects_body(keys: &[String], quiet: bool) -> String {
    let mut out = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Delete xmlns=\"{S3_XMLNS}\">");
    if quiet {
        out.push_str("<Quiet>true</Quiet>");
    }
    for k in keys {
        out.push_str("<Object><Key>");
        out.push_str(&escape(k));
        out.push_str("</Key></Object>");
    }
    out.push_str("</Delete>");
    out
}

/// GetObjectRetention: `<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>...</RetainUntilDate>`,
/// as (mode, retain-until date as sent).
pub(crate) fn parse_retention(body: &str) -> Result<(Option<String>, Option<String>)> {
    with_root(body, "Retention", |root| Ok((opt_text(root, "Mode"), opt_text(root, "RetainUntilDate"))))
}

/// GetObjectLegalHold: `<LegalHold><Status>ON</Status></LegalHold>`.
pub(crate) fn parse_legal_hold(body: &str) -> Result<Option<String>> {
    with_root(body, "LegalHold", |root| Ok(opt_text(root, "Status")))
}

/// Parses GetBucketLocation's `<LocationConstraint>`: `None` for an empty one (us-east-1),
/// the legacy `EU` as `eu-west-1`, anything else as given.
pub fn parse_location_constraint(body: &str) -> Result<Option<String>> {
    with_root(body, "LocationConstraint", |root| {
        let text = root.text().unwrap_or("").trim();
        Ok(match text {
            "" => None,
            "EU" => Some("eu-west-1".to_owned()),
            t => Some(t.to_owned()),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shapes of the GetObjectRetention and GetObjectLegalHold references, with and without
    // AWS's namespace (Ceph RGW sends it).
    #[test]
    fn retention_and_legal_hold() {
        let ns = r#"<?xml version="1.0" encoding="UTF-8"?><Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>GOVERNANCE</Mode><RetainUntilDate>2027-01-01T00:00:00.000000000Z</RetainUntilDate></Retention>"#;
        let (mode, until) = parse_retention(ns).unwrap();
        assert_eq!((mode.as_deref(), until.as_deref()), (Some("GOVERNANCE"), Some("2027-01-01T00:00:00.000000000Z")));
        assert!(until.as_deref().and_then(parse_rfc3339).is_some());
        assert_eq!(parse_legal_hold("<LegalHold><Status>ON</Status></LegalHold>").unwrap().as_deref(), Some("ON"));
        let denied = "<Error><Code>AccessDenied</Code><Message></Message></Error>";
        assert_eq!(parse_retention(denied).unwrap_err().code(), Some("AccessDenied"));
        assert!(parse_legal_hold("<Retention/>").is_err());
    }
}
