//! s3ls: flags, output formats and the listing loop.

use super::args::{ReportArgs, S3Args};
use super::Tool;
use crate::cli::filter::FilterArgs;
use crate::http::unquote_etag;
use crate::records::RecordWriter;
use crate::run::{self, Target};
use crate::s3::list::{Entry, ListOptions};
use crate::s3::responses::{BucketEntry, ObjectEntry, UploadEntry};
use crate::s3::S3Url;
use crate::sys::stdio;
use crate::time::rfc3339;
use crate::{Error, Result};
use clap::Parser;
use serde_json::json;
use std::io::{BufWriter, Write};
use std::time::SystemTime;

pub(crate) const ABOUT: &str = "List buckets, objects or in-progress multipart uploads, one s3:// URL per line";

pub(crate) const LONG_ABOUT: &str = "\
Lists what is stored in any S3-compatible store. Without an argument, lists the buckets. With \
s3://BUCKET[/PREFIX], lists every object whose key starts with PREFIX (the whole bucket without \
one), in key order, one s3://BUCKET/KEY URL per line, so the output feeds s3get and s3rm directly.

Listing uses ListObjectsV2 with continuation tokens and encoding-type=url; when the server \
rejects or ignores v2 it falls back to ListObjects v1 (markers) by itself, or from the start with \
--list-v1. Output is written page by page as the listing arrives, and memory stays that of one \
page (1,000 keys) however long the listing is.

Filters are applied while streaming. Time filters compare the object's LastModified (for \
--uploads, the upload's Initiated time); an entry without one never passes a time filter. With \
--delimiter, common prefixes pass --match but are left out when a size or time filter is given.

Output formats (stdout carries only these records):
  default   s3://BUCKET/KEY   (buckets: s3://BUCKET; common prefixes: s3://BUCKET/PREFIX/)
  -l        LAST-MODIFIED  SIZE  ETAG  URL, aligned: UTC RFC 3339 time, size in bytes, ETag
            without quotes; a common prefix shows `-  PRE  -  URL`; buckets show CREATED  URL
  --json    one JSON object per line: objects {url, bucket, key, size, last_modified, etag,
            storage_class}; prefixes {url, bucket, prefix}; uploads {url, bucket, key,
            upload_id, initiated}; buckets {url, bucket, created}
  --uploads URL<TAB>UPLOAD-ID<TAB>INITIATED, exactly what `s3rm --uploads` reads back
Keys may contain any character. Except with -0, a control character in a key is escaped so a \
record stays on one line: \\n, \\r, \\t, \\xHH (other ASCII controls), \\u{HHHH} (C1 controls), and \
a backslash is doubled (\\\\). s3rm reverses this. With -0 records end in NUL and keys are written \
raw (JSON strings are always JSON-escaped).";

pub const EXAMPLES: &str = "\
Examples:
  s3ls s3://backups/valkey/
  s3ls --match '^valkey/\\d{8}T\\d{6}Z\\.rdb$' -l s3://backups/valkey/
  s3ls --older-than 30d s3://backups/valkey/ | s3rm       # retention, e.g. from cron
  s3ls --uploads --older-than 1d s3://backups/ | s3rm --uploads
  s3ls -0 s3://backups/odd/ | xargs -0 -n1 s3get > all.bin";

#[derive(Parser, Debug)]
#[command(name = "s3ls", version, about = ABOUT, long_about = LONG_ABOUT,
          after_help = super::after_help(&[], EXAMPLES))]
pub struct Args {
    /// What to list: s3://BUCKET or s3://BUCKET/PREFIX (none: the buckets)
    #[arg(value_name = "s3://BUCKET[/PREFIX]")]
    pub(crate) url: Option<String>,

    #[command(flatten)]
    pub(crate) s3: S3Args,

    #[command(flatten)]
    pub(crate) filter: FilterArgs,

    /// Long format: last-modified time, size, ETag, URL
    #[arg(short, long, conflicts_with = "json", help_heading = "Output")]
    pub(crate) long: bool,
    /// One JSON object per line
    #[arg(long, help_heading = "Output")]
    pub(crate) json: bool,
    /// End records with NUL instead of newline and write keys unescaped (for xargs -0, s3rm -0)
    #[arg(short = '0', long = "null", help_heading = "Output")]
    pub(crate) null: bool,

    /// List one level: keys are grouped at this separator into common prefixes (usually /)
    #[arg(long, value_name = "SEP", help_heading = "Listing")]
    pub(crate) delimiter: Option<String>,
    /// List in-progress multipart uploads instead of objects
    #[arg(long, conflicts_with_all = ["delimiter", "list_v1"], help_heading = "Listing")]
    pub(crate) uploads: bool,
    /// Use ListObjects v1 (markers) instead of v2 (automatic when the server rejects v2)
    #[arg(long, help_heading = "Listing")]
    pub(crate) list_v1: bool,
    /// Keys per listing request (the server may return fewer; default: the server's, 1,000 on S3)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000), help_heading = "Listing")]
    pub(crate) page_size: Option<u32>,

    #[command(flatten)]
    pub(crate) report: ReportArgs,
}

/// Column widths of `-l`: 13 digits hold 5 TiB; 38 characters hold an MD5 with "-10000".
const SIZE_W: usize = 13;
const ETAG_W: usize = 38;

enum Format {
    Plain,
    Long,
    Json,
}

struct Printer<W: Write> {
    w: RecordWriter<W>,
    format: Format,
    bucket: String,
}

impl<W: Write> Printer<W> {
    fn url(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.w.name(key))
    }

    /// A `--json` record: `url` and `bucket`, `name_field` holding `name`, and `fields`.
    fn json(&self, name_field: &str, name: &str, mut fields: serde_json::Value) -> String {
        fields["url"] = json!(format!("s3://{}/{name}", self.bucket));
        fields["bucket"] = json!(self.bucket);
        fields[name_field] = json!(name);
        fields.to_string()
    }

    fn object(&mut self, o: &ObjectEntry) -> Result<()> {
        let line = match self.format {
            Format::Plain => self.url(&o.key),
            Format::Long => {
                let etag = o.etag.as_deref().map(unquote_etag).filter(|e| !e.is_empty()).unwrap_or_else(|| "-".into());
                format!(
                    "{:<20}  {:>SIZE_W$}  {:<ETAG_W$}  {}",
                    o.last_modified.map(rfc3339).unwrap_or_else(|| "-".into()),
                    o.size,
                    crate::records::escape(&etag),
                    self.url(&o.key)
                )
            }
            Format::Json => self.json(
                "key",
                &o.key,
                json!({
                    "size": o.size,
                    "last_modified": o.last_modified.map(rfc3339),
                    "etag": o.etag.as_deref().map(unquote_etag),
                    "storage_class": o.storage_class,
                }),
            ),
        };
        self.w.write(&line)
    }

    fn prefix(&mut self, p: &str) -> Result<()> {
        let line = match self.format {
            Format::Plain => self.url(p),
            Format::Long => format!("{:<20}  {:>SIZE_W$}  {:<ETAG_W$}  {}", "-", "PRE", "-", self.url(p)),
            Format::Json => self.json("prefix", p, json!({})),
        };
        self.w.write(&line)
    }

    fn upload(&mut self, u: &UploadEntry) -> Result<()> {
        let initiated = u.initiated.map(rfc3339).unwrap_or_else(|| "-".into());
        let line = match self.format {
            Format::Plain | Format::Long => {
                format!("{}\t{}\t{initiated}", self.url(&u.key), self.w.name(&u.upload_id))
            }
            Format::Json => {
                self.json("key", &u.key, json!({ "upload_id": u.upload_id, "initiated": u.initiated.map(rfc3339) }))
            }
        };
        self.w.write(&line)
    }

    fn bucket(&mut self, b: &BucketEntry) -> Result<()> {
        let url = format!("s3://{}", self.w.name(&b.name));
        let line = match self.format {
            Format::Plain => url,
            Format::Long => format!("{:<20}  {url}", b.creation_date.map(rfc3339).unwrap_or_else(|| "-".into())),
            Format::Json => json!({
                "url": format!("s3://{}", b.name),
                "bucket": b.name,
                "created": b.creation_date.map(rfc3339),
            })
            .to_string(),
        };
        self.w.write(&line)
    }
}

impl Tool for Args {
    fn target(&self) -> Target {
        match &self.url {
            Some(u) => Target::new(crate::log::printable(u)).field("url", u.as_str()),
            None => Target::new("buckets").field("url", serde_json::Value::Null),
        }
    }

    /// Runs s3ls: validates every flag before the first request, then streams the listing.
    // `while let` rather than `for`: the loop asks the lister whether its page is used up.
    #[allow(clippy::while_let_on_iterator)]
    fn run(&self) -> Result<()> {
        let filter = self.filter.build(SystemTime::now())?;
        let url = self.url.as_deref().map(S3Url::parse).transpose()?;
        if self.uploads && (filter.min_size.is_some() || filter.max_size.is_some()) {
            return Err(Error::usage("--min-size and --max-size do not apply to --uploads (uploads have no size yet)"));
        }
        if url.is_none() && (self.uploads || self.delimiter.is_some() || filter.needs_attributes()) {
            return Err(Error::usage(
                "listing buckets takes only --match; give s3://BUCKET[/PREFIX] to list objects or uploads",
            ));
        }
        let client = self.s3.client()?;
        if self.s3.net.verbose >= 1 {
            crate::log::note(format!("filters: {}", filter.describe()));
        }
        let format = if self.json {
            Format::Json
        } else if self.long {
            Format::Long
        } else {
            Format::Plain
        };
        let out = BufWriter::with_capacity(64 << 10, stdio::stdout());
        let mut p = Printer { w: RecordWriter::new(out, self.null), format, bucket: String::new() };

        let Some(url) = url else {
            // S3 sorts buckets by name; Garage does not. Sorted output diffs well.
            let mut buckets = client.list_buckets()?;
            buckets.sort_by(|a, b| a.name.cmp(&b.name));
            let mut entries = 0u64;
            for b in buckets {
                if filter.key_matches(&b.name) {
                    entries += 1;
                    p.bucket(&b)?;
                }
            }
            run::set("entries", entries);
            return p.w.flush();
        };
        p.bucket = url.bucket.clone();

        let (mut listed, mut shown, mut bytes) = (0u64, 0u64, 0u64);
        if self.uploads {
            let mut lister = client.list_uploads(&url.bucket, &url.key);
            while let Some(u) = lister.next() {
                let u = u?;
                listed += 1;
                if filter.matches(&u.key, 0, u.initiated) {
                    shown += 1;
                    p.upload(&u)?;
                }
                if lister.page_exhausted() {
                    p.w.flush()?;
                    tally(shown, listed, bytes);
                }
            }
        } else {
            let opts = ListOptions {
                prefix: url.key.clone(),
                delimiter: self.delimiter.clone().filter(|d| !d.is_empty()),
                force_v1: self.list_v1,
                max_keys: self.page_size,
            };
            let mut lister = client.list_objects(&url.bucket, opts);
            while let Some(e) = lister.next() {
                listed += 1;
                match e? {
                    Entry::Object(o) => {
                        if filter.matches(&o.key, o.size, o.last_modified) {
                            shown += 1;
                            bytes += o.size;
                            p.object(&o)?;
                        }
                    }
                    Entry::Prefix(pre) => {
                        if filter.prefix_matches(&pre) {
                            shown += 1;
                            p.prefix(&pre)?;
                        }
                    }
                }
                // Hand each page to the reader before waiting for the next one.
                if lister.page_exhausted() {
                    p.w.flush()?;
                    tally(shown, listed, bytes);
                }
            }
            if self.s3.net.verbose >= 1 {
                let v = if lister.pager().version() == crate::s3::list::ListVersion::V2 { "v2" } else { "v1" };
                crate::log::note(format!(
                    "{shown} of {listed} entries shown ({}), {} page(s) of ListObjects {v}",
                    crate::units::human(bytes),
                    lister.pages()
                ));
            }
        }
        if self.uploads && self.s3.net.verbose >= 1 {
            crate::log::note(format!("{shown} of {listed} uploads shown"));
        }
        p.w.flush()?;
        tally(shown, listed, bytes);
        Ok(())
    }
}

/// The listing so far, for the run's result: entries shown, entries listed, bytes shown.
fn tally(shown: u64, listed: u64, bytes: u64) {
    run::set("entries", shown);
    run::set("listed", listed);
    run::set_bytes(bytes);
}
