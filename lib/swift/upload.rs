//! swift-slo-put's destination: segments in `<container>_segments` named like
//! python-swiftclient's stdin uploads, an SLO manifest (nested when the segments outgrow one
//! manifest), verification by HEAD, cleanup of everything uploaded on failure, and removal of
//! an overwritten SLO's segments after success.

use super::client::{describe, ObjectMeta, SwiftClient};
use super::slo::{self, Entry, Stored};
use crate::error::{Error, ErrorKind, Result};
use crate::http::Request;
use crate::log::{self, printable};
use crate::run;
use crate::transfer::{Destination, Part};
use md5::{Digest as _, Md5};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) const SEGMENT_CONTENT_TYPE: &str = "application/swiftclient-segment";
const CLEANUP_DEADLINE: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, Default)]
pub(crate) struct UploadOptions {
    /// Default: `<container>_segments`.
    pub segment_container: Option<String>,
    pub segment_size: u64,
    pub content_type: Option<String>,
    /// Extra object headers (X-Object-Meta-*).
    pub headers: Vec<(String, String)>,
    pub leave_segments: bool,
}

pub(crate) struct SwiftDestination {
    client: SwiftClient,
    container: String,
    object: String,
    seg_container: String,
    /// `<object>/slo/<mtime>/<segment size>/`: segment N is `prefix + %08d` (from 0).
    prefix: String,
    mtime: String,
    opts: UploadOptions,
    per_manifest: usize,
    /// Objects in the segment container we may have created: deleted on abort.
    written: Mutex<Vec<String>>,
    aborted: AtomicBool,
    /// The overwritten SLO's entries, deleted after the new object verifies.
    old: Mutex<Vec<Stored>>,
    /// The ETag of the top manifest once its PUT was sent: if that PUT's answer was lost, abort
    /// must remove a manifest that did get stored (recognised by this ETag, so an older object
    /// by the same name is never deleted).
    top_etag: Mutex<Option<String>>,
    /// The overwritten DLO's `container/prefix`: its segments go after success too.
    old_dlo: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn md5_hex(data: &[u8]) -> ([u8; 16], String) {
    let d: [u8; 16] = Md5::digest(data).into();
    (d, hex::encode(d))
}

impl SwiftDestination {
    pub fn new(client: SwiftClient, container: &str, object: &str, opts: UploadOptions) -> Result<SwiftDestination> {
        if container.is_empty() || container.contains('/') {
            return Err(Error::usage(format!("container {container:?}: must be non-empty and without '/'")));
        }
        if object.is_empty() {
            return Err(Error::usage("the object name is empty"));
        }
        let seg_container = opts.segment_container.clone().unwrap_or_else(|| format!("{container}_segments"));
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        // swiftclient's "%f" of the time: microseconds keep two uploads in one second apart.
        let mtime = format!("{}.{:06}", now.as_secs(), now.subsec_micros());
        let prefix = format!("{object}/slo/{mtime}/{}/", opts.segment_size);
        let info = client.info()?;
        let longest = seg_container.len() + prefix.len() + 20;
        let per_manifest = slo::entries_per_manifest(info.max_manifest_segments, info.max_manifest_size, longest);
        Ok(SwiftDestination {
            client,
            container: container.to_string(),
            object: object.to_string(),
            seg_container,
            prefix,
            mtime,
            opts,
            per_manifest,
            written: Mutex::new(Vec::new()),
            aborted: AtomicBool::new(false),
            old: Mutex::new(Vec::new()),
            top_etag: Mutex::new(None),
            old_dlo: Mutex::new(None),
        })
    }

    pub(crate) fn segment_container(&self) -> &str {
        &self.seg_container
    }

    /// Checks the container and, unless --leave-segments, remembers the segments of an SLO
    /// this upload will replace. With `create`, a missing container is created.
    pub(crate) fn prepare(&self, create: bool) -> Result<()> {
        match self.client.container_policy(&self.container) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound && create => self.client.put_container(&self.container, None)?,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "container {:?} does not exist: create it (swift post {0}) or pass --create-container",
                        self.container
                    ),
                ))
            }
            Err(e) => return Err(e),
        }
        if self.opts.leave_segments {
            return Ok(());
        }
        match self.client.head_object(&self.container, &self.object) {
            Ok(meta) if meta.slo => {
                let old = self.stored_manifest(&self.container, &self.object)?;
                *lock(&self.old) = old;
            }
            Ok(meta) if meta.dlo.is_some() => *lock(&self.old_dlo) = meta.dlo,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn stored_manifest(&self, container: &str, object: &str) -> Result<Vec<Stored>> {
        let text = self
            .client
            .send_text(&Request::new("GET", Some(container), Some(object)).query("multipart-manifest", "get"))?;
        slo::parse_stored(&text)
    }

    fn record(&self, name: &str) {
        lock(&self.written).push(name.to_string());
    }

    fn object_headers(&self) -> Vec<(String, String)> {
        let mut h = vec![("X-Object-Meta-Mtime".to_string(), self.mtime.clone())];
        if let Some(ct) = &self.opts.content_type {
            h.push(("Content-Type".into(), ct.clone()));
        }
        h.extend(self.opts.headers.iter().cloned());
        h
    }

    /// PUTs one manifest (heartbeat on: a big manifest validates for a while) and returns
    /// the ETag Swift reports for it.
    fn put_manifest(
        &self,
        container: &str,
        object: &str,
        entries: &[Entry],
        headers: &[(String, String)],
    ) -> Result<String> {
        let body = slo::manifest_json(entries);
        let mut req = Request::new("PUT", Some(container), Some(object))
            .query("multipart-manifest", "put")
            .query("heartbeat", "on")
            .header("Accept", "application/json")
            .body(body.as_bytes());
        req.headers.extend(headers.iter().cloned());
        let what = describe(&req);
        let text = self.client.send_text(&req)?;
        slo::parse_heartbeat(&text)
            .map(|e| e.unwrap_or_default())
            .map_err(|m| Error::server(format!("{what}: the manifest was refused: {m}")))
    }

    /// After the new object verified: deletes the segments of the SLO it replaced (those the
    /// new one does not use). Failures are reported, not fatal: the upload succeeded.
    pub(crate) fn delete_old_segments(&self) {
        if let Some(dlo) = lock(&self.old_dlo).take() {
            self.delete_old_dlo_segments(&dlo);
        }
        let old = std::mem::take(&mut *lock(&self.old));
        if old.is_empty() {
            return;
        }
        let mine: HashSet<String> =
            lock(&self.written).iter().map(|o| format!("/{}/{o}", self.seg_container)).collect();
        let mut plain = Vec::new();
        for s in old.iter().filter(|s| !mine.contains(&s.name)) {
            let Some((c, o)) = s.container_object() else { continue };
            if s.sub_slo {
                // A nested manifest: Swift deletes it and everything below it.
                match self.client.delete_object(&c, &o, true, Some(CLEANUP_DEADLINE)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => log::warn(format!("could not delete the old sub-manifest {}: {}", s.name, e.message())),
                }
            } else {
                plain.push((c, o));
            }
        }
        let failed = self.client.delete_paths(&plain, CLEANUP_DEADLINE);
        if let Some((p, why)) = failed.first() {
            log::warn(format!("could not delete {} old segment(s), e.g. {p}: {why}", failed.len()));
        } else if self.client.verbose() >= 1 {
            log::note(format!("deleted {} old segment(s) of the replaced object", old.len()));
        }
    }

    /// A DLO's segments are whatever its prefix lists, as python-swiftclient deletes them.
    fn delete_old_dlo_segments(&self, manifest: &str) {
        let Some((c, prefix)) = manifest.split_once('/') else { return };
        // Never our own new segments, should the prefixes overlap.
        let mine: HashSet<String> =
            if c == self.seg_container { lock(&self.written).iter().cloned().collect() } else { HashSet::new() };
        let mut paths = Vec::new();
        let listed = super::list::for_each(&self.client, Some(c), Some(prefix), None, 10_000, |item| {
            if !mine.contains(&item.name) {
                paths.push((c.to_string(), item.name));
            }
            Ok(())
        });
        if let Err(e) = listed {
            log::warn(format!("could not list the old DLO segments under {manifest}: {}", e.message()));
            return;
        }
        let failed = self.client.delete_paths(&paths, CLEANUP_DEADLINE);
        if let Some((p, why)) = failed.first() {
            log::warn(format!("could not delete {} old DLO segment(s), e.g. {p}: {why}", failed.len()));
        }
    }

    fn discard(&self, meta: &ObjectMeta) {
        match self.client.delete_object(&self.container, &self.object, meta.slo, Some(CLEANUP_DEADLINE)) {
            Ok(()) => run::cleanup("object_deleted", true),
            Err(e) if e.kind() == ErrorKind::NotFound => run::cleanup("object_deleted", true),
            Err(e) => {
                run::cleanup("object_deleted", false);
                log::warn(format!("could not delete {} after failed verification: {}", self.describe(), e.message()));
            }
        }
    }
}

impl Destination for SwiftDestination {
    fn describe(&self) -> String {
        format!("swift://{}/{}", self.container, printable(&self.object))
    }

    fn put_single(&self, data: &[u8]) -> Result<Part> {
        let (md5, hex) = md5_hex(data);
        let etag = self.client.put_object(&self.container, &self.object, data, &hex, &self.object_headers())?;
        Ok(Part { number: 1, size: data.len() as u64, md5: Some(md5), etag, extra: None })
    }

    fn begin(&self) -> Result<()> {
        let policy = self.client.container_policy(&self.container)?;
        match self.client.container_policy(&self.seg_container) {
            Ok(p) => {
                if policy.is_some() && p != policy {
                    log::warn(format!(
                        "segment container {} has storage policy {} but {} has {}: segments stay on the former",
                        self.seg_container,
                        p.unwrap_or_default(),
                        self.container,
                        policy.unwrap_or_default()
                    ));
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.client.put_container(&self.seg_container, policy.as_deref())?;
                if self.client.verbose() >= 1 {
                    log::note(format!(
                        "created segment container {} (policy {})",
                        self.seg_container,
                        policy.unwrap_or_default()
                    ));
                }
            }
            Err(e) => return Err(e.context("checking the segment container")),
        }
        Ok(())
    }

    fn put_part(&self, number: u32, data: &[u8]) -> Result<Part> {
        let name = format!("{}{:08}", self.prefix, number - 1);
        // Recorded before the PUT, so an abort racing with it deletes it too.
        self.record(&name);
        let (md5, hex) = md5_hex(data);
        let headers = [("Content-Type".to_string(), SEGMENT_CONTENT_TYPE.to_string())];
        let etag = self.client.put_object(&self.seg_container, &name, data, &hex, &headers)?;
        if self.aborted.load(Ordering::SeqCst) {
            let _ = self.client.delete_object(&self.seg_container, &name, false, Some(CLEANUP_DEADLINE));
        }
        Ok(Part { number, size: data.len() as u64, md5: Some(md5), etag, extra: Some(name) })
    }

    fn complete(&self, parts: &[Part], _total: u64) -> Result<()> {
        let mut level: Vec<Entry> = parts
            .iter()
            .map(|p| Entry {
                container: self.seg_container.clone(),
                object: p.extra.clone().unwrap_or_default(),
                etag: p.etag.clone(),
                size: p.size,
            })
            .collect();
        let mut depth = 0;
        let sub_headers = [("Content-Type".to_string(), SEGMENT_CONTENT_TYPE.to_string())];
        while level.len() > self.per_manifest {
            depth += 1;
            let mut next = Vec::new();
            for (i, r) in slo::chunk_ranges(level.len(), self.per_manifest).into_iter().enumerate() {
                let name = format!("{}manifest-{depth}/{i:08}", self.prefix);
                let group = &level[r];
                let etag = slo::slo_etag(group.iter().map(|e| e.etag.as_str()));
                self.record(&name);
                let got = self.put_manifest(&self.seg_container, &name, group, &sub_headers)?;
                if !got.is_empty() && !got.eq_ignore_ascii_case(&etag) {
                    return Err(Error::verify(format!(
                        "sub-manifest {name}: Swift reports ETag {got}, expected {etag}"
                    )));
                }
                next.push(Entry {
                    container: self.seg_container.clone(),
                    object: name,
                    etag,
                    size: group.iter().map(|e| e.size).sum(),
                });
            }
            if self.client.verbose() >= 1 {
                log::note(format!("{} sub-manifests at level {depth}", next.len()));
            }
            level = next;
        }
        *lock(&self.top_etag) = Some(slo::slo_etag(level.iter().map(|e| e.etag.as_str())));
        self.put_manifest(&self.container, &self.object, &level, &self.object_headers())?;
        Ok(())
    }

    fn verify(&self, parts: &[Part], total: u64, single: bool) -> Result<String> {
        let meta = match self.client.head_object(&self.container, &self.object) {
            Ok(m) => m,
            Err(e) => {
                self.discard(&ObjectMeta { slo: !single, ..ObjectMeta::default() });
                return Err(e.context(format!("verifying {}", self.describe())));
            }
        };
        let expected = if single {
            parts[0].md5.map(hex::encode).unwrap_or_default()
        } else {
            let leaves: Vec<String> = parts.iter().map(|p| p.md5.map(hex::encode).unwrap_or_default()).collect();
            slo::nested_etag(&leaves, self.per_manifest)
        };
        let problem = if meta.size != total {
            Some(format!("the stored object has {} bytes but {total} were read", meta.size))
        } else if !meta.etag.eq_ignore_ascii_case(&expected) {
            Some(format!("the stored ETag {} is not the expected {expected}", meta.etag))
        } else if !single && !meta.slo {
            Some("the stored object is not a Static Large Object".to_string())
        } else {
            None
        };
        if let Some(p) = problem {
            self.discard(&meta);
            return Err(Error::verify(format!(
                "verification of {} failed: {p}; the object was deleted",
                self.describe()
            )));
        }
        if self.client.verbose() >= 1 {
            log::note(format!("verified {}: {total} bytes, ETag {}", self.describe(), meta.etag));
        }
        Ok(meta.etag)
    }

    fn abort(&self) {
        self.aborted.store(true, Ordering::SeqCst);
        if let Some(etag) = lock(&self.top_etag).take() {
            if let Ok(meta) = self.client.head_object(&self.container, &self.object) {
                if meta.slo && meta.etag.eq_ignore_ascii_case(&etag) {
                    // Only the manifest: its segments are deleted below.
                    let gone = self.client.delete_object(&self.container, &self.object, false, Some(CLEANUP_DEADLINE));
                    run::cleanup("object_deleted", gone.is_ok());
                }
            }
        }
        let names = std::mem::take(&mut *lock(&self.written));
        if names.is_empty() {
            return;
        }
        let paths: Vec<(String, String)> = names.iter().map(|n| (self.seg_container.clone(), n.clone())).collect();
        let failed = self.client.delete_paths(&paths, CLEANUP_DEADLINE);
        run::cleanup("segments_deleted", names.len() - failed.len());
        run::cleanup("segments_left", failed.len());
        if let Some((p, why)) = failed.first() {
            log::warn(format!(
                "could not delete {} uploaded segment(s) (e.g. {p}: {why}); remove them with: swift delete {} --prefix {}",
                failed.len(),
                self.seg_container,
                self.prefix
            ));
        } else if self.client.verbose() >= 1 {
            log::note(format!("deleted the {} segment(s) uploaded so far", names.len()));
        }
    }
}
