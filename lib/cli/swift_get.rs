//! swift-get's flags.

use super::args::{RateArgs, ReportArgs, SwiftArgs, AUTH_HELP};
use super::Tool;
use crate::run::{self, Target};
use crate::swift::get;
use crate::Result;
use clap::Parser;

pub(crate) const ABOUT: &str = "Stream a Swift object (plain, SLO or DLO) to standard output, verified";

pub(crate) const LONG_ABOUT: &str = "\
Writes CONTAINER/OBJECT to standard output. A broken connection is resumed with a Range request \
(the ETag must not change). Afterwards the length is checked, and the content: the MD5 of a plain \
object, each segment's MD5 of a Static Large Object (following nested manifests) and the \
manifest against the object's ETag. A mismatch exits with status 5 after the data was written: \
do not trust the output then. A reader that closes early (| head) ends swift-get quietly.";

pub const EXAMPLES: &str = "\
Examples:
  swift-get backups full.tar | tar -t
  swift-get backups valkey/latest.rdb | rdbcheck > /dev/null";

#[derive(Parser, Debug)]
#[command(name = "swift-get", version, about = ABOUT, long_about = LONG_ABOUT,
          after_help = super::after_help(&[AUTH_HELP], EXAMPLES))]
pub struct Args {
    pub(crate) container: String,
    pub(crate) object: String,

    #[command(flatten)]
    pub(crate) swift: SwiftArgs,

    #[command(flatten)]
    pub(crate) rate: RateArgs,

    /// Print a JSON summary (size, etag, verified) on stderr at the end
    #[arg(long, help_heading = "Output")]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) report: ReportArgs,
}

impl Tool for Args {
    const WRITES_STREAM: bool = true;

    fn target(&self) -> Target {
        let url = format!("swift://{}/{}", self.container, self.object);
        Target::new(crate::log::printable(&url))
            .field("url", url)
            .field("container", self.container.as_str())
            .field("object", self.object.as_str())
    }

    fn run(&self) -> Result<()> {
        let client = self.swift.client_limited(self.rate.limit())?;
        let mut out = run::Counting(std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock()));
        let s = get::get(&client, &self.container, &self.object, &mut out)?;
        run::set_bytes(s.bytes);
        run::set("etag", s.etag.as_str());
        run::set("verified", s.verified);
        if self.json {
            let result = serde_json::json!({ "size": s.bytes, "etag": s.etag, "verified": s.verified });
            crate::log::Event::info("result", "result").field("result", result.clone()).text(result.to_string()).emit();
        }
        Ok(())
    }
}
