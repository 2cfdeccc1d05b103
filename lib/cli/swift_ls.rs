//! swift-ls's flags.

use super::args::{ReportArgs, SwiftArgs, AUTH_HELP};
use super::filter::{Filter, FilterArgs};
use super::Tool;
use crate::run::{self, Target};
use crate::swift::list::{self, Item};
use crate::swift::split_path;
use crate::{Error, Result};
use clap::Parser;
use std::io::Write;
use std::time::SystemTime;

pub(crate) const ABOUT: &str = "List Swift containers, or the objects of a container";

pub const EXAMPLES: &str = "\
Examples:
  swift-ls                              # containers
  swift-ls -l backups/valkey/           # objects under a prefix, with size and date
  swift-ls --older-than 30d -0 backups | xargs -0 ...";

/// How the shared filters read on Swift listings.
const FILTERS_HELP: &str = "\
The filters are s3ls's: --match and --exclude apply to names (containers, objects and, with \
--delimiter, rolled-up subdirs); time and size filters apply to objects only, using Swift's \
last_modified (UTC) and bytes, so they need a CONTAINER, and rolled-up subdirs are then left out.";

#[derive(Parser, Debug)]
#[command(name = "swift-ls", version, about = ABOUT, after_help = super::after_help(&[FILTERS_HELP, AUTH_HELP], EXAMPLES))]
pub struct Args {
    /// CONTAINER, or CONTAINER/PREFIX; nothing lists the containers
    pub(crate) path: Option<String>,

    #[command(flatten)]
    pub(crate) swift: SwiftArgs,

    /// Long format: size, last modified (UTC), ETag and name
    #[arg(short, long, help_heading = "Output")]
    pub(crate) long: bool,
    /// One JSON object per line
    #[arg(long, conflicts_with = "long", help_heading = "Output")]
    pub(crate) json: bool,
    /// End names with NUL instead of newline (for xargs -0)
    #[arg(short = '0', long = "null", help_heading = "Output")]
    pub(crate) null: bool,
    /// Roll up names at this delimiter, like directories (e.g. /)
    #[arg(short, long, value_name = "CHAR", help_heading = "Filters")]
    pub(crate) delimiter: Option<char>,

    #[command(flatten)]
    pub(crate) filter: FilterArgs,

    /// Names per listing request (Swift's maximum is 10000; smaller values test pagination)
    #[arg(long, hide = true, default_value_t = 10_000)]
    pub(crate) page_size: usize,

    #[command(flatten)]
    pub(crate) report: ReportArgs,
}

impl Tool for Args {
    fn target(&self) -> Target {
        match &self.path {
            Some(p) => Target::new(crate::log::printable(p)).field("path", p.as_str()),
            None => Target::new("containers").field("path", serde_json::Value::Null),
        }
    }

    fn run(&self) -> Result<()> {
        let filter = self.filter.build(SystemTime::now())?;
        let (container, prefix) = match self.path.as_deref() {
            Some(p) => {
                let (c, pre) = split_path(p);
                (Some(c), pre)
            }
            None => (None, None),
        };
        if container.is_none() && filter.needs_attributes() {
            return Err(Error::usage(
                "listing containers takes only --match and --exclude; give CONTAINER[/PREFIX] to filter objects by time or size",
            ));
        }
        let client = self.swift.client()?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let end = if self.null { b'\0' } else { b'\n' };
        let (mut entries, mut bytes) = (0u64, 0u64);
        list::for_each(&client, container, prefix, self.delimiter, self.page_size, |item| {
            if !passes(&item, &filter) {
                return Ok(());
            }
            entries += 1;
            bytes += item.bytes;
            run::set("entries", entries);
            run::set_bytes(bytes);
            let line = if self.json {
                serde_json::json!({
                    "name": item.name, "bytes": item.bytes, "hash": item.hash, "last_modified": item.last_modified,
                    "content_type": item.content_type, "count": item.count, "subdir": item.subdir,
                })
                .to_string()
            } else if self.long {
                let when = item.modified().map(crate::time::rfc3339).unwrap_or_else(|| "-".repeat(20));
                let tag = item.hash.clone().or(item.count.map(|c| format!("{c} objects"))).unwrap_or_default();
                format!("{:>14} {when} {tag:<32} {}", item.bytes, item.name)
            } else {
                item.name.clone()
            };
            out.write_all(line.as_bytes()).and_then(|_| out.write_all(&[end])).map_err(Error::stdout)
        })?;
        out.flush().map_err(Error::stdout)
    }
}

/// Whether the shared listing filters keep a Swift item: rolled-up subdirs and containers are
/// judged by name alone (swift-ls refuses time and size filters on the container listing);
/// objects by name, size and last modification.
fn passes(item: &Item, f: &Filter) -> bool {
    if item.subdir {
        f.prefix_matches(&item.name)
    } else if item.count.is_some() {
        f.key_matches(&item.name)
    } else {
        f.matches(&item.name, item.bytes, item.modified())
    }
}
