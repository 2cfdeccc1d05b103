//! Static Large Object manifests: the JSON we PUT, nesting when the segments outgrow one
//! manifest, the ETag Swift will report, and the stored manifest `?multipart-manifest=get`
//! returns.

use crate::error::{Error, Result};
use md5::{Digest as _, Md5};
use serde_json::{json, Value};

/// One manifest entry: a segment or a sub-manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub container: String,
    pub object: String,
    /// Hex, unquoted: the segment's MD5, or a sub-SLO's md5-of-etags.
    pub etag: String,
    pub size: u64,
}

impl Entry {
    pub fn path(&self) -> String {
        format!("/{}/{}", self.container, self.object)
    }
}

/// The `?multipart-manifest=put` body.
pub(crate) fn manifest_json(entries: &[Entry]) -> String {
    let v: Vec<Value> =
        entries.iter().map(|e| json!({ "path": e.path(), "etag": e.etag, "size_bytes": e.size })).collect();
    Value::Array(v).to_string()
}

/// The ETag Swift gives an SLO: the MD5 of its entries' hex ETags, concatenated.
pub(crate) fn slo_etag<'a>(etags: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Md5::new();
    for e in etags {
        h.update(e.as_bytes());
    }
    hex::encode(h.finalize())
}

/// How many entries one manifest may hold: the cluster's segment limit, and few enough that
/// the JSON stays under max_manifest_size even for long names.
pub(crate) fn entries_per_manifest(max_segments: usize, max_manifest_size: u64, longest_path: usize) -> usize {
    // JSON escaping can at worst sextuple a character (\u00XX); 100 covers keys and numbers.
    let per_entry = (longest_path * 6 + 100) as u64;
    let by_size = (max_manifest_size.saturating_sub(2) / per_entry) as usize;
    max_segments.min(by_size).max(2)
}

/// Groups `entries` into consecutive chunks of at most `per`; each chunk becomes a
/// sub-manifest. Returns (chunk index range) pairs for the caller to store.
pub(crate) fn chunk_ranges(n: usize, per: usize) -> Vec<std::ops::Range<usize>> {
    (0..n).step_by(per.max(1)).map(|s| s..(s + per).min(n)).collect()
}

/// The ETag of the top manifest that nesting `leaves` in manifests of `per` entries yields;
/// used by verification independently of what `complete` stored.
pub(crate) fn nested_etag(leaf_etags: &[String], per: usize) -> String {
    let mut level: Vec<String> = leaf_etags.to_vec();
    while level.len() > per {
        level =
            chunk_ranges(level.len(), per).into_iter().map(|r| slo_etag(level[r].iter().map(String::as_str))).collect();
    }
    slo_etag(level.iter().map(String::as_str))
}

/// One entry of a stored manifest (`?multipart-manifest=get`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stored {
    /// `/container/object`, not URL-encoded.
    pub name: String,
    pub hash: String,
    pub bytes: u64,
    pub sub_slo: bool,
    /// A byte range of the segment, when the manifest uses one.
    pub range: Option<String>,
}

impl Stored {
    /// Splits `/container/object`.
    pub(crate) fn container_object(&self) -> Option<(String, String)> {
        let p = self.name.strip_prefix('/')?;
        let (c, o) = p.split_once('/')?;
        Some((c.to_string(), o.to_string()))
    }
}

pub(crate) fn parse_stored(body: &str) -> Result<Vec<Stored>> {
    let v: Value =
        serde_json::from_str(body).map_err(|e| Error::server(format!("the stored manifest is not JSON ({e})")))?;
    let arr = v.as_array().ok_or_else(|| Error::server("the stored manifest is not a JSON array"))?;
    Ok(arr
        .iter()
        .map(|e| Stored {
            name: e["name"].as_str().unwrap_or("").to_string(),
            hash: e["hash"].as_str().unwrap_or("").to_string(),
            bytes: e["bytes"].as_u64().unwrap_or(0),
            sub_slo: e["sub_slo"].as_bool().unwrap_or(false),
            range: e["range"].as_str().map(str::to_string),
        })
        .collect())
}

/// Reads the final status of a `heartbeat=on` manifest PUT: whitespace, then JSON with
/// "Response Status" and "Errors". Returns the manifest's ETag on success.
pub(crate) fn parse_heartbeat(body: &str) -> std::result::Result<Option<String>, String> {
    let v: Value = serde_json::from_str(body.trim())
        .map_err(|_| format!("unexpected answer: {}", body.trim().chars().take(200).collect::<String>()))?;
    let status = v["Response Status"].as_str().unwrap_or("");
    if status.starts_with('2') {
        return Ok(v["Etag"].as_str().map(|e| e.trim_matches('"').to_string()));
    }
    let mut msg = status.to_string();
    if let Some(b) = v["Response Body"].as_str().filter(|b| !b.trim().is_empty()) {
        msg.push_str(&format!(": {}", b.split_whitespace().collect::<Vec<_>>().join(" ")));
    }
    if let Some(errs) = v["Errors"].as_array().filter(|e| !e.is_empty()) {
        let list: Vec<String> = errs
            .iter()
            .take(5)
            .map(|e| format!("{} {}", e[0].as_str().unwrap_or(""), e[1].as_str().unwrap_or("")))
            .collect();
        msg.push_str(&format!(" ({}{})", list.join("; "), if errs.len() > 5 { "; ..." } else { "" }));
    }
    Err(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_nest() {
        let leaves: Vec<String> = (0..25).map(|i| format!("{:032x}", i)).collect();
        // 25 leaves, 10 per manifest: 3 sub-manifests, one top.
        let subs: Vec<String> =
            chunk_ranges(25, 10).into_iter().map(|r| slo_etag(leaves[r].iter().map(String::as_str))).collect();
        assert_eq!(subs.len(), 3);
        assert_eq!(nested_etag(&leaves, 10), slo_etag(subs.iter().map(String::as_str)));
        assert_eq!(nested_etag(&leaves[..10], 10), slo_etag(leaves[..10].iter().map(String::as_str)));
        // 101 leaves at 10: 11 subs, which nest once more into 2.
        let many: Vec<String> = (0..101).map(|i| format!("{:032x}", i)).collect();
        let l1: Vec<String> =
            chunk_ranges(101, 10).into_iter().map(|r| slo_etag(many[r].iter().map(String::as_str))).collect();
        let l2: Vec<String> =
            chunk_ranges(l1.len(), 10).into_iter().map(|r| slo_etag(l1[r].iter().map(String::as_str))).collect();
        assert_eq!(nested_etag(&many, 10), slo_etag(l2.iter().map(String::as_str)));
    }

    #[test]
    fn manifest_limits() {
        assert_eq!(entries_per_manifest(1000, 8 << 20, 100), 1000);
        assert!(entries_per_manifest(1000, 8 << 20, 4000) < 1000);
    }

    #[test]
    fn heartbeat_answers() {
        assert_eq!(
            parse_heartbeat("  \n {\"Response Status\": \"201 Created\", \"Etag\": \"\\\"abc\\\"\", \"Errors\": []}"),
            Ok(Some("abc".into()))
        );
        let e = parse_heartbeat(r#"{"Response Status": "400 Bad Request", "Errors": [["/c/o", "Etag Mismatch"]]}"#)
            .unwrap_err();
        assert!(e.contains("Etag Mismatch"));
    }
}
