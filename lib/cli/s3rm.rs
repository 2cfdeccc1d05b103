//! s3rm: flags, reading URLs, batching deletes and aborts.

use super::args::{ReportArgs, S3Args};
use super::Tool;
use crate::records::{escape, RecordReader, RecordWriter};
use crate::run::{self, Target};
use crate::s3::delete::{BatchDeleter, MAX_BATCH};
use crate::s3::ops::Aborted;
use crate::s3::S3Url;
use crate::sys::stdio;
use crate::{log, Error, ErrorKind, Result};
use clap::Parser;
use std::collections::HashSet;
use std::io::{BufWriter, Write};

pub(crate) const ABOUT: &str = "Delete S3 objects (or abort multipart uploads) named by s3ls's output";

pub(crate) const LONG_ABOUT: &str = "\
Deletes the objects named by s3://BUCKET/KEY URLs, given as arguments or, without arguments, \
read from standard input: one per line exactly as s3ls prints them (escapes such as \\n and \\\\ \
are decoded), or NUL-terminated and raw with -0. Arguments are taken literally.

Keys are sent in DeleteObjects batches of up to 1,000 (with Content-MD5, as AWS requires), \
grouped by bucket in input order, so `s3ls ... | s3rm` deletes while the listing is still \
arriving. A key that is already gone is not an error. A key the server refuses to delete is \
reported on stderr (one line each) and the exit status is then 9. Keys that XML cannot carry \
(ASCII control characters other than tab, newline and carriage return) are deleted with single \
DELETE requests, as is everything on servers without DeleteObjects.

s3rm never deletes a bucket: a URL without a key (s3://BUCKET or s3://BUCKET/) is refused. A \
malformed input record stops s3rm before the batch holding it is sent; batches sent before \
remain deleted.

With --uploads, each input line is what `s3ls --uploads` prints (URL<TAB>UPLOAD-ID<TAB>INITIATED) \
and the multipart upload is aborted; the object, if any, is not touched. An upload the server \
does not know (NoSuchUpload: completed or aborted since it was listed, or the key is wrong) \
counts as failed: one line for each, exit 9 at the end.";

pub const EXAMPLES: &str = "\
Examples:
  s3ls --older-than 30d s3://backups/valkey/ | s3rm          # retention, e.g. from cron
  s3ls --older-than 30d s3://backups/valkey/ | s3rm --dry-run
  s3ls -0 --match '\\.tmp$' s3://backups/ | s3rm -0
  s3ls --uploads --older-than 1d s3://backups/ | s3rm --uploads
  s3rm s3://backups/valkey/20261121T030000Z.rdb";

#[derive(Parser, Debug)]
#[command(name = "s3rm", version, about = ABOUT, long_about = LONG_ABOUT,
          after_help = super::after_help(&[], EXAMPLES))]
pub struct Args {
    /// Objects to delete; none: read URLs from standard input
    #[arg(value_name = "s3://BUCKET/KEY")]
    pub(crate) urls: Vec<String>,

    #[command(flatten)]
    pub(crate) s3: S3Args,

    /// Standard input holds NUL-terminated raw URLs (s3ls -0) instead of escaped lines
    #[arg(short = '0', long = "null", help_heading = "Input")]
    pub(crate) null: bool,
    /// Abort the multipart uploads listed on standard input by `s3ls --uploads`
    #[arg(long, help_heading = "Input")]
    pub(crate) uploads: bool,
    /// Print (to stdout, in s3ls's format) what would be deleted or aborted, and do nothing
    #[arg(short = 'n', long, help_heading = "Input")]
    pub(crate) dry_run: bool,

    #[command(flatten)]
    pub(crate) report: ReportArgs,
}

/// Where the URLs come from: the arguments, or standard input's records.
enum Input<'a> {
    Args(std::slice::Iter<'a, String>, u64),
    Stdin(RecordReader<std::io::StdinLock<'static>>),
}

impl Input<'_> {
    /// The next record and where it came from ("argument 2", "line 7").
    fn next(&mut self) -> Result<Option<(String, String)>> {
        match self {
            Input::Args(it, n) => Ok(it.next().map(|s| {
                *n += 1;
                (s.clone(), format!("argument {n}"))
            })),
            Input::Stdin(r) => {
                let rec = r.next_record()?;
                let what = if r.nul() { "record" } else { "line" };
                Ok(rec.map(|s| (s, format!("input {what} {}", r.number))))
            }
        }
    }
}

/// A URL naming one object; a bare bucket is refused.
fn object_url(rec: &str, whence: &str) -> Result<S3Url> {
    let u = S3Url::parse(rec).map_err(|e| e.context(whence))?;
    if u.key.is_empty() {
        return Err(Error::usage(format!(
            "{whence}: {} names a bucket, not an object; s3rm never deletes buckets",
            crate::log::printable(rec)
        )));
    }
    Ok(u)
}

impl Tool for Args {
    fn target(&self) -> Target {
        let t = match &self.urls[..] {
            [] => Target::new("standard input").field("input", "stdin"),
            [one] => Target::new(crate::log::printable(one)).field("urls", self.urls.clone()),
            many => Target::new(format!("{} objects", many.len())).field("urls", self.urls.clone()),
        };
        t.field("uploads", self.uploads).field("dry_run", self.dry_run)
    }

    /// Runs s3rm.
    fn run(&self) -> Result<()> {
        if self.uploads && !self.urls.is_empty() {
            return Err(Error::usage(
                "--uploads reads `s3ls --uploads` lines from standard input; give no URL arguments",
            ));
        }
        if self.null && !self.urls.is_empty() {
            return Err(Error::usage("-0 describes standard input; it makes no sense with URL arguments"));
        }
        let mut input = if self.urls.is_empty() {
            Input::Stdin(RecordReader::new(std::io::stdin().lock(), self.null))
        } else {
            // Check every argument before deleting anything.
            for (i, u) in self.urls.iter().enumerate() {
                object_url(u, &format!("argument {}", i + 1))?;
            }
            Input::Args(self.urls.iter(), 0)
        };
        // --dry-run needs no credentials: it only parses and prints.
        let client = if self.dry_run { None } else { Some(self.s3.client()?) };
        let mut dry = RecordWriter::new(BufWriter::new(stdio::stdout()), self.null);
        if self.uploads {
            return abort_uploads(self, &mut input, client.as_ref(), &mut dry);
        }

        let mut deleter = client.as_ref().map(BatchDeleter::new);
        let mut batch = Batch::default();
        let mut stats = Stats::default();
        while let Some((rec, whence)) = input.next()? {
            let url = object_url(&rec, &whence)?;
            if batch.bucket.as_deref().is_some_and(|b| b != url.bucket) || batch.keys.len() >= MAX_BATCH {
                batch.flush(deleter.as_mut(), &mut dry, &mut stats)?;
            }
            batch.push(url);
        }
        batch.flush(deleter.as_mut(), &mut dry, &mut stats)?;
        dry.flush()?;
        if self.s3.net.verbose >= 1 {
            log::note(format!(
                "{} key(s) {}, {} failed",
                stats.deleted,
                if self.dry_run { "would be deleted" } else { "deleted or already gone" },
                stats.failed
            ));
        }
        if stats.failed > 0 {
            return Err(Error::new(
                ErrorKind::Partial,
                format!("{} of {} key(s) could not be deleted (see above)", stats.failed, stats.failed + stats.deleted),
            ));
        }
        Ok(())
    }
}

#[derive(Default)]
struct Stats {
    deleted: u64,
    failed: u64,
}

impl Stats {
    /// The counts so far, for the run's result (also when a later batch fails).
    fn record(&self) {
        run::set("deleted", self.deleted);
        run::set("failed", self.failed);
    }
}

#[derive(Default)]
struct Batch {
    bucket: Option<String>,
    keys: Vec<String>,
    seen: HashSet<String>,
}

impl Batch {
    fn push(&mut self, url: S3Url) {
        self.bucket = Some(url.bucket);
        // A key twice in one request is pointless and some servers reject it.
        if self.seen.insert(url.key.clone()) {
            self.keys.push(url.key);
        }
    }

    fn flush<W: Write>(
        &mut self,
        deleter: Option<&mut BatchDeleter>,
        dry: &mut RecordWriter<W>,
        stats: &mut Stats,
    ) -> Result<()> {
        let Some(bucket) = self.bucket.take() else { return Ok(()) };
        let keys = std::mem::take(&mut self.keys);
        self.seen.clear();
        let Some(deleter) = deleter else {
            for k in &keys {
                dry.write(&format!("s3://{bucket}/{}", dry.name(k)))?;
            }
            stats.deleted += keys.len() as u64;
            stats.record();
            return Ok(());
        };
        let r = deleter.delete(&bucket, &keys)?;
        for e in &r.errors {
            let code = if e.code.is_empty() { String::new() } else { format!("{}: ", e.code) };
            log::warn(format!("s3://{bucket}/{}: not deleted: {code}{}", escape(&e.key), e.message));
        }
        stats.deleted += r.deleted as u64;
        stats.failed += r.errors.len() as u64;
        stats.record();
        Ok(())
    }
}

/// Parses an `s3ls --uploads` record: URL, upload id and (optionally) the initiated time,
/// separated by tabs; the URL may hold tabs only in -0 input, so fields are taken from the right.
pub(crate) fn parse_upload_record(rec: &str) -> Option<(&str, &str)> {
    let (rest, last) = rec.rsplit_once('\t')?;
    let (url, id) =
        if last == "-" || crate::time::parse_rfc3339(last).is_some() { rest.rsplit_once('\t')? } else { (rest, last) };
    (!url.is_empty() && !id.is_empty() && !id.contains(char::is_whitespace)).then_some((url, id))
}

fn abort_uploads<W: Write>(
    args: &Args,
    input: &mut Input,
    client: Option<&crate::s3::S3Client>,
    dry: &mut RecordWriter<W>,
) -> Result<()> {
    let (mut done, mut failed) = (0u64, 0u64);
    while let Some((rec, whence)) = input.next()? {
        let (u, id) = parse_upload_record(&rec).ok_or_else(|| {
            Error::usage(format!("{whence}: expected URL<TAB>UPLOAD-ID<TAB>INITIATED as `s3ls --uploads` prints"))
        })?;
        let url = object_url(u, &whence)?;
        let Some(client) = client else {
            dry.write(&format!("s3://{}/{}\t{}", url.bucket, dry.name(&url.key), escape(id)))?;
            done += 1;
            continue;
        };
        match client.abort_multipart(&url.bucket, &url.key, id) {
            Ok(Aborted::Done) => done += 1,
            Ok(Aborted::NotFound) => {
                log::note(format!(
                    "{url} upload {id}: no such upload (completed or aborted since it was listed, or the key is wrong)"
                ));
                failed += 1;
            }
            Err(e) if e.code() == Some("NoSuchBucket") || e.kind() == ErrorKind::Denied => return Err(e),
            Err(e) => {
                log::warn(format!("{url} upload {id}: not aborted: {}", e.message()));
                failed += 1;
            }
        }
        run::set("aborted", done);
        run::set("failed", failed);
    }
    dry.flush()?;
    run::set("aborted", done);
    run::set("failed", failed);
    if args.s3.net.verbose >= 1 {
        log::note(format!(
            "{done} upload(s) {}, {failed} failed",
            if args.dry_run { "would be aborted" } else { "aborted" }
        ));
    }
    if failed > 0 {
        return Err(Error::new(
            ErrorKind::Partial,
            format!("{failed} of {} upload(s) could not be aborted", done + failed),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_records() {
        assert_eq!(parse_upload_record("s3://b/k\tID1\t2026-11-21T03:00:00Z"), Some(("s3://b/k", "ID1")));
        assert_eq!(parse_upload_record("s3://b/a\tb\tID1\t2026-11-21T03:00:00Z"), Some(("s3://b/a\tb", "ID1")));
        assert_eq!(parse_upload_record("s3://b/k\tID1\t-"), Some(("s3://b/k", "ID1")));
        assert_eq!(parse_upload_record("s3://b/k\tID1"), Some(("s3://b/k", "ID1")));
        assert_eq!(parse_upload_record("s3://b/k"), None);
        assert_eq!(parse_upload_record("s3://b/k\t\t2026-11-21T03:00:00Z"), None);
    }

    #[test]
    fn bare_buckets_refused() {
        for u in ["s3://b", "s3://b/"] {
            let e = object_url(u, "argument 1").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage);
            assert!(e.message().contains("never deletes buckets"), "{}", e.message());
        }
        assert_eq!(object_url("s3://b/k", "x").unwrap().key, "k");
    }
}
