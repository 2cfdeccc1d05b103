//! s3get: flags and the download loop.

use super::args::{RateArgs, ReportArgs, S3Args, SseCArgs};
use super::Tool;
use crate::run::{self, Target};
use crate::s3::get::{download, ByteRange, GetOptions};
use crate::s3::parts::Verified;
use crate::s3::S3Url;
use crate::sys::stdio;
use crate::units::human;
use crate::units::parse_size;
use crate::{Error, Result};
use clap::Parser;
use std::sync::Arc;
use std::time::Instant;

pub(crate) const ABOUT: &str = "Write S3 objects to standard output, in order, verified";

pub(crate) const LONG_ABOUT: &str = "\
Writes each object named on the command line to standard output, one after the other, from any \
S3-compatible store. URLs are taken literally (s3ls -0 | xargs -0 s3get works for any key).

An object larger than one chunk is fetched as concurrent ranged GETs (--jobs, --chunk-size) \
that are written strictly in order; memory stays below (jobs + 2) x chunk size. Each range is \
retried on its own and a response cut short is resumed where it stopped. The ETag of the first \
answer is pinned with If-Match, so an object overwritten during the download fails instead of \
being spliced from two versions.

Every object is verified: the byte count must equal the length the server announced, and the \
bytes must give the object's ETag. A single-part object's ETag is its MD5; a multipart object's \
is the MD5 of its parts' MD5s, so s3get hashes each part as it streams, at any --jobs, whoever \
uploaded the object: it learns the part boundaries from the part plan s3put records in the \
object's metadata, else from the server (HEAD ?partNumber=N), else by trying the default part \
size of common clients that gives the object's part count (aws-cli 8 MiB, rclone 5 MiB...: a \
match proves the bytes, a mismatch only that the guess failed). Where the ETag is no MD5 of the \
bytes (SSE-KMS, SSE-C, Cloudflare R2's multipart ETags), with a --range that does not cover the \
whole object, or when the part sizes stay unknown, only the length is checked; -v and \
--json say which (\"verified\": \"md5\", \"parts\" or \"length\"). The last 64 KiB of each object \
are written only once it is verified. When the bytes do not give the ETag, s3get reads every \
part a second time to say which differs: the first part whose two reads differ when the second \
gives the ETag (damaged in transit), or that the object as stored does not give its ETag \
(damaged at rest). A short, corrupt or changed object is an error (exit \
status 4 or 5) and the stage reading the output is signalled (PIPELINE SAFETY), so \
s3get | rdbcheck > dump.rdb fails instead of leaving a file that looks complete; the output \
must then be discarded. When the reader closes the pipe early (s3get ... | head -c 10), s3get \
stops at once, silently, with status 141 like any program killed by SIGPIPE.";

pub const EXAMPLES: &str = "\
Examples:
  s3get s3://backups/valkey/20261121T030000Z.rdb | rdbcheck > dump.rdb
  s3get -j 8 --chunk-size 16M s3://backups/pg/app.sql.zst | zstd -d | psql app
  s3get --range 0-1023 s3://backups/big.tar | xxd | head";

#[derive(Parser, Debug)]
#[command(name = "s3get", version, about = ABOUT, long_about = LONG_ABOUT,
          after_help = super::after_help(&[], EXAMPLES))]
pub struct Args {
    /// Objects to write, in this order: s3://BUCKET/KEY
    #[arg(value_name = "s3://BUCKET/KEY", required = true)]
    pub(crate) urls: Vec<String>,

    #[command(flatten)]
    pub(crate) s3: S3Args,

    /// Ranged GETs in flight for a large object (1: a single sequential stream)
    #[arg(short, long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), help_heading = "Download")]
    pub(crate) jobs: u16,
    /// Bytes per ranged GET (64K to 1G); objects no larger than this take one request
    #[arg(long, value_name = "SIZE", default_value = "8M", value_parser = parse_size, help_heading = "Download")]
    pub(crate) chunk_size: u64,
    /// Only these bytes of each object: START-END (inclusive), START- or -LAST
    #[arg(long, value_name = "START-END", allow_hyphen_values = true, help_heading = "Download")]
    pub(crate) range: Option<ByteRange>,

    /// Print a JSON line per object (url, size, etag, verified, how) on stderr
    #[arg(long, help_heading = "Output")]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) report: ReportArgs,
    #[command(flatten)]
    pub(crate) sse_c: SseCArgs,
    #[command(flatten)]
    pub(crate) rate: RateArgs,
}

impl Tool for Args {
    const WRITES_STREAM: bool = true;

    fn target(&self) -> Target {
        let describe = match &self.urls[..] {
            [one] => crate::log::printable(one),
            many => format!("{} objects", many.len()),
        };
        Target::new(describe).field("urls", self.urls.clone())
    }

    /// Runs s3get: every URL is checked before the first byte is written.
    fn run(&self) -> Result<()> {
        let urls = self.urls.iter().map(|u| S3Url::parse_object(u)).collect::<Result<Vec<_>>>()?;
        if !(64 << 10..=1 << 30).contains(&self.chunk_size) {
            return Err(Error::usage("--chunk-size must be between 64K and 1G"));
        }
        let client = Arc::new(self.s3.client_limited(self.rate.limit())?);
        let sse_c = self.sse_c.key(client.endpoint())?;
        let opts = GetOptions { jobs: self.jobs as usize, chunk_size: self.chunk_size, range: self.range, sse_c };
        let mut out = run::Counting(stdio::stdout());
        let mut weakest: Option<Verified> = None;
        for (i, url) in urls.iter().enumerate() {
            let start = Instant::now();
            let s = download(&client, url, &mut out, &opts)?;
            weakest = Some(match (weakest, s.verified) {
                (Some(Verified::Length), _) | (_, Verified::Length) => Verified::Length,
                (Some(Verified::Parts), _) | (_, Verified::Parts) => Verified::Parts,
                _ => Verified::Md5,
            });
            run::set("objects", i + 1);
            if self.s3.net.verbose >= 1 {
                let secs = start.elapsed().as_secs_f64().max(1e-3);
                crate::log::note(format!(
                    "{url}: {} in {secs:.2}s ({}/s), {} ranged request(s), {} resumed; verified: {}{}",
                    human(s.bytes),
                    human((s.bytes as f64 / secs) as u64),
                    s.ranged_requests,
                    s.resumed,
                    s.verified.as_str(),
                    s.how.as_deref().map(|h| format!(" ({h})")).unwrap_or_default(),
                ));
            }
            if self.json {
                let line = serde_json::json!({
                    "url": url.to_url_string(),
                    "size": s.bytes,
                    "etag": s.etag,
                    "verified": s.verified.as_str(),
                    "how": s.how,
                    "seconds": (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
                });
                super::print_result(&line, true)?;
            }
        }
        // The weakest check any object had: the length only, every part's MD5, or the MD5.
        run::set("verified", weakest.unwrap_or_default().as_str());
        Ok(())
    }
}
