//! Listings that stream: objects (ListObjectsV2, falling back to v1), multipart uploads, buckets.
//!
//! [`ObjectLister`] is an iterator of [`Entry`] that holds one page at a time, so a listing of
//! a million keys uses the memory of one page (1,000 keys) and callers print as pages arrive.
//! The paging decisions live in [`Pager`], a state machine separate from the HTTP client, so the
//! provider quirks (missing IsTruncated, no NextMarker, v2 rejected or ignored) are tested on
//! documented response bodies.

use super::client::{Request, S3Client};
use super::responses::{self, BucketEntry, ListObjectsPage, ObjectEntry, UploadEntry};
use crate::error::{Error, Result};
use std::collections::VecDeque;

/// Which ListObjects API a listing uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListVersion {
    /// ListObjectsV2 (`list-type=2`, continuation tokens).
    V2,
    /// ListObjects (v1, markers): older servers, and `--list-v1`.
    V1,
}

#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    /// Only keys starting with this (may be empty).
    pub prefix: String,
    /// Group keys by this separator into common prefixes (`/` lists one level).
    pub delimiter: Option<String>,
    /// Use v1 from the start instead of v2 with automatic fallback.
    pub force_v1: bool,
    /// Keys per page (server default 1,000 when None).
    pub max_keys: Option<u32>,
}

/// One listed name: an object, or a common prefix when a delimiter is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    Object(ObjectEntry),
    Prefix(String),
}

/// The paging state of an object listing: which query to send next, and what a page means
/// for the one after it.
#[derive(Clone, Debug)]
pub struct Pager {
    opts: ListOptions,
    version: ListVersion,
    token: Option<String>,
    marker: Option<String>,
    /// Whether a page was accepted; the v1 fallback happens only before the first one.
    started: bool,
    done: bool,
    fell_back: bool,
    /// Ask without `encoding-type`: the server answered without saying whether it encoded.
    raw: bool,
}

impl Pager {
    pub fn new(opts: ListOptions) -> Pager {
        let version = if opts.force_v1 { ListVersion::V1 } else { ListVersion::V2 };
        Pager { opts, version, token: None, marker: None, started: false, done: false, fell_back: false, raw: false }
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    pub fn version(&self) -> ListVersion {
        self.version
    }

    /// Whether the listing switched from v2 to v1 because the server rejected or ignored v2.
    pub fn fell_back(&self) -> bool {
        self.fell_back
    }

    /// The query parameters of the next page's request.
    pub fn query(&self) -> Vec<(String, String)> {
        let mut q: Vec<(String, String)> = Vec::new();
        let mut add = |k: &str, v: &str| q.push((k.to_string(), v.to_string()));
        if self.version == ListVersion::V2 {
            add("list-type", "2");
            if let Some(t) = &self.token {
                add("continuation-token", t);
            }
        } else if let Some(m) = &self.marker {
            add("marker", m);
        }
        // url encoding lets keys with characters XML 1.0 cannot carry (\x01) through.
        if !self.raw {
            add("encoding-type", "url");
        }
        if !self.opts.prefix.is_empty() {
            add("prefix", &self.opts.prefix);
        }
        if let Some(d) = &self.opts.delimiter {
            add("delimiter", d);
        }
        if let Some(n) = self.opts.max_keys {
            add("max-keys", &n.to_string());
        }
        q
    }

    /// Takes the answer to `query()`: a page to use (`Some`), or `None` when the same page must
    /// be asked again: as v1 because the server rejected v2, or without `encoding-type` because
    /// the answer did not say whether its keys are encoded (never guessed).
    pub fn absorb(&mut self, answer: Result<String>) -> Result<Option<ListObjectsPage>> {
        let body = match answer {
            Ok(b) => b,
            Err(e) if self.version == ListVersion::V2 && !self.started && rejects_v2(&e) => {
                self.version = ListVersion::V1;
                self.fell_back = true;
                return Ok(None);
            }
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        let page = match responses::parse_list_objects(&body) {
            Ok(p) => p,
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        if page.encoding_unknown && !self.raw {
            self.raw = true;
            return Ok(None);
        }
        self.started = true;
        if !page.is_truncated {
            self.done = true;
            return Ok(Some(page));
        }
        let stuck = |what: &str| {
            Error::server(format!("the server's listing is truncated but {what}; stopping rather than looping"))
        };
        match self.version {
            ListVersion::V2 => {
                if let Some(t) = &page.next_continuation_token {
                    if self.token.as_ref() == Some(t) {
                        self.done = true;
                        return Err(stuck("repeats the same continuation token"));
                    }
                    self.token = Some(t.clone());
                } else if let Some(m) = &page.next_marker {
                    // A v1 answer to a v2 request (the server ignored list-type=2): go on as v1.
                    self.version = ListVersion::V1;
                    self.fell_back = true;
                    self.marker = Some(m.clone());
                } else {
                    self.done = true;
                    return Err(stuck("has no continuation token"));
                }
            }
            ListVersion::V1 => match &page.next_marker {
                Some(m) if self.marker.as_ref() != Some(m) => self.marker = Some(m.clone()),
                Some(_) => {
                    self.done = true;
                    return Err(stuck("repeats the same marker"));
                }
                None => {
                    self.done = true;
                    return Err(stuck("is empty and has no NextMarker"));
                }
            },
        }
        Ok(Some(page))
    }
}

/// Errors that mean "this server does not do ListObjectsV2".
fn rejects_v2(e: &Error) -> bool {
    matches!(e.code(), Some("NotImplemented" | "InvalidArgument" | "InvalidRequest" | "MethodNotAllowed"))
        || matches!(e.status(), Some(501 | 405))
}

/// A page's objects and common prefixes merged in key order (each list is sorted already).
pub(crate) fn page_entries(page: ListObjectsPage) -> VecDeque<Entry> {
    let mut out = VecDeque::with_capacity(page.objects.len() + page.common_prefixes.len());
    let mut objs = page.objects.into_iter().peekable();
    let mut pres = page.common_prefixes.into_iter().peekable();
    loop {
        let take_obj = match (objs.peek(), pres.peek()) {
            (Some(o), Some(p)) => o.key <= *p,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_obj {
            out.extend(objs.next().map(Entry::Object));
        } else {
            out.extend(pres.next().map(Entry::Prefix));
        }
    }
    out
}

/// Streams a bucket's objects (and common prefixes), one page in memory at a time.
pub(crate) struct ObjectLister<'c> {
    client: &'c S3Client,
    bucket: String,
    pager: Pager,
    pending: VecDeque<Entry>,
    pages: u64,
}

impl<'c> ObjectLister<'c> {
    pub fn new(client: &'c S3Client, bucket: &str, opts: ListOptions) -> Self {
        ObjectLister { client, bucket: bucket.to_string(), pager: Pager::new(opts), pending: VecDeque::new(), pages: 0 }
    }

    pub(crate) fn pager(&self) -> &Pager {
        &self.pager
    }

    /// Pages received so far.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// Whether the next `next()` call would need a request (callers flush output then).
    pub(crate) fn page_exhausted(&self) -> bool {
        self.pending.is_empty()
    }
}

/// A listing that arrives a page at a time: its entries are handed out from `pending`, and a
/// new page is fetched when it runs dry, until the listing is done.
trait Paged {
    type Entry;
    fn pending(&mut self) -> &mut VecDeque<Self::Entry>;
    fn done(&self) -> bool;
    fn fetch(&mut self) -> Result<()>;

    fn next_entry(&mut self) -> Option<Result<Self::Entry>> {
        loop {
            if let Some(e) = self.pending().pop_front() {
                return Some(Ok(e));
            }
            if self.done() {
                return None;
            }
            if let Err(e) = self.fetch() {
                return Some(Err(e));
            }
        }
    }
}

impl Paged for ObjectLister<'_> {
    type Entry = Entry;

    fn pending(&mut self) -> &mut VecDeque<Entry> {
        &mut self.pending
    }

    fn done(&self) -> bool {
        self.pager.is_done()
    }

    fn fetch(&mut self) -> Result<()> {
        loop {
            let mut req = Request::new("GET", Some(&self.bucket), None);
            req.query = self.pager.query();
            let answer = self.client.send_text(&req);
            let was_v2 = self.pager.version() == ListVersion::V2 && !self.pager.started;
            let was_raw = self.pager.raw;
            match self.pager.absorb(answer)? {
                Some(page) => {
                    self.pages += 1;
                    self.pending = page_entries(page);
                    return Ok(());
                }
                None if self.pager.raw != was_raw => {
                    if self.client.verbose() >= 2 {
                        crate::log::note(format!(
                            "s3://{}: the listing does not say whether its keys are url-encoded; asking without encoding-type",
                            self.bucket
                        ));
                    }
                }
                None => {
                    if was_v2 && self.client.verbose() >= 1 {
                        crate::log::note(format!(
                            "s3://{}: the server rejects ListObjectsV2; listing with v1",
                            self.bucket
                        ));
                    }
                }
            }
        }
    }
}

impl Iterator for ObjectLister<'_> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        self.next_entry()
    }
}

/// Streams a bucket's in-progress multipart uploads (ListMultipartUploads, key and upload-id
/// markers), one page in memory at a time.
pub(crate) struct UploadLister<'c> {
    client: &'c S3Client,
    bucket: String,
    prefix: String,
    key_marker: Option<String>,
    upload_id_marker: Option<String>,
    pending: VecDeque<UploadEntry>,
    done: bool,
    /// Ask without `encoding-type` (see `ListUploadsPage::encoding_unknown`).
    raw: bool,
}

impl<'c> UploadLister<'c> {
    pub fn new(client: &'c S3Client, bucket: &str, prefix: &str) -> Self {
        UploadLister {
            client,
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            key_marker: None,
            upload_id_marker: None,
            pending: VecDeque::new(),
            done: false,
            raw: false,
        }
    }

    pub(crate) fn page_exhausted(&self) -> bool {
        self.pending.is_empty()
    }
}

impl Paged for UploadLister<'_> {
    type Entry = UploadEntry;

    fn pending(&mut self) -> &mut VecDeque<UploadEntry> {
        &mut self.pending
    }

    fn done(&self) -> bool {
        self.done
    }

    fn fetch(&mut self) -> Result<()> {
        let mut page = self.client.list_uploads_page(
            &self.bucket,
            &self.prefix,
            self.key_marker.as_deref(),
            self.upload_id_marker.as_deref(),
            !self.raw,
        );
        if matches!(&page, Ok(p) if p.encoding_unknown && !self.raw) {
            // Ceph RGW url-encodes the keys without saying so: ask again for raw keys.
            self.raw = true;
            page = self.client.list_uploads_page(
                &self.bucket,
                &self.prefix,
                self.key_marker.as_deref(),
                self.upload_id_marker.as_deref(),
                false,
            );
        }
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        if page.is_truncated {
            // Without NextKeyMarker, continue after the last upload listed (as for v1 markers).
            let key = page.next_key_marker.clone().or_else(|| page.uploads.last().map(|u| u.key.clone()));
            let id = page.next_upload_id_marker.clone().or_else(|| page.uploads.last().map(|u| u.upload_id.clone()));
            let advanced = key.is_some() && (key != self.key_marker || id != self.upload_id_marker);
            if !advanced {
                self.done = true;
                return Err(Error::server(
                    "the server's upload listing is truncated but gives no new marker; stopping rather than looping",
                ));
            }
            self.key_marker = key;
            self.upload_id_marker = id;
        } else {
            self.done = true;
        }
        self.pending = page.uploads.into();
        Ok(())
    }
}

impl Iterator for UploadLister<'_> {
    type Item = Result<UploadEntry>;

    fn next(&mut self) -> Option<Result<UploadEntry>> {
        self.next_entry()
    }
}

impl S3Client {
    /// ListBuckets: every bucket the credentials own.
    pub(crate) fn list_buckets(&self) -> Result<Vec<BucketEntry>> {
        let body = self.send_text(&Request::new("GET", None, None))?;
        responses::parse_list_buckets(&body)
    }

    /// Streams the objects under `opts.prefix`.
    pub(crate) fn list_objects<'c>(&'c self, bucket: &str, opts: ListOptions) -> ObjectLister<'c> {
        ObjectLister::new(self, bucket, opts)
    }

    /// Streams the in-progress multipart uploads under `prefix`.
    pub(crate) fn list_uploads<'c>(&'c self, bucket: &str, prefix: &str) -> UploadLister<'c> {
        UploadLister::new(self, bucket, prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Entry {
        fn name(&self) -> &str {
            match self {
                Entry::Object(o) => &o.key,
                Entry::Prefix(p) => p,
            }
        }
    }

    fn q(p: &Pager) -> Vec<(String, String)> {
        p.query()
    }

    #[test]
    fn v2_query_then_token() {
        let mut p =
            Pager::new(ListOptions { prefix: "a b/".into(), delimiter: Some("/".into()), ..Default::default() });
        assert!(q(&p).contains(&("list-type".into(), "2".into())));
        assert!(q(&p).contains(&("encoding-type".into(), "url".into())));
        assert!(q(&p).contains(&("prefix".into(), "a b/".into())));
        let body = "<ListBucketResult><KeyCount>1</KeyCount><IsTruncated>true</IsTruncated>\
                    <NextContinuationToken>T1</NextContinuationToken>\
                    <Contents><Key>a</Key><Size>1</Size></Contents></ListBucketResult>";
        assert!(p.absorb(Ok(body.into())).unwrap().is_some());
        assert!(q(&p).contains(&("continuation-token".into(), "T1".into())));
        assert!(!p.is_done());
        let e = p.absorb(Ok(body.into())).unwrap_err();
        assert!(e.message().contains("same continuation token"));
        assert!(p.is_done());
    }

    #[test]
    fn entries_merge_in_order() {
        let page = ListObjectsPage {
            objects: ["a", "c/", "e"]
                .iter()
                .map(|k| ObjectEntry {
                    key: k.to_string(),
                    last_modified: None,
                    etag: None,
                    size: 0,
                    storage_class: None,
                })
                .collect(),
            common_prefixes: vec!["b/".into(), "d/".into()],
            ..Default::default()
        };
        let names: Vec<String> = page_entries(page).iter().map(|e| e.name().to_string()).collect();
        assert_eq!(names, ["a", "b/", "c/", "d/", "e"]);
    }
}
