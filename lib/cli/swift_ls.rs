//! swift-ls's flags.

use super::swift_common::{SwiftArgs, AUTH_HELP};
use crate::swift::list::Filter;
use crate::{Error, Result};
use clap::Parser;
use std::time::SystemTime;

pub const ABOUT: &str = "List Swift containers, or the objects of a container";

pub const EXAMPLES: &str = "\
Examples:
  swift-ls                              # containers
  swift-ls -l backups/valkey/           # objects under a prefix, with size and date
  swift-ls --older-than 30d -0 backups | xargs -0 ...";

#[derive(Parser, Debug)]
#[command(name = "swift-ls", version, about = ABOUT, after_help = after_help(), after_long_help = after_help())]
pub struct Args {
    /// CONTAINER, or CONTAINER/PREFIX; nothing lists the containers
    pub path: Option<String>,

    #[command(flatten)]
    pub swift: SwiftArgs,

    /// Long format: size, last modified (UTC), ETag and name
    #[arg(short, long, help_heading = "Output")]
    pub long: bool,
    /// One JSON object per line
    #[arg(long, conflicts_with = "long", help_heading = "Output")]
    pub json: bool,
    /// End names with NUL instead of newline (for xargs -0)
    #[arg(short = '0', long = "null", help_heading = "Output")]
    pub null: bool,
    /// Roll up names at this delimiter, like directories (e.g. /)
    #[arg(short, long, value_name = "CHAR", help_heading = "Filters")]
    pub delimiter: Option<char>,
    /// Only objects last modified longer ago than this (30d, 12h, 1w2d)
    #[arg(long, value_name = "DURATION", help_heading = "Filters")]
    pub older_than: Option<String>,
    /// Only objects last modified within this duration
    #[arg(long, value_name = "DURATION", help_heading = "Filters")]
    pub newer_than: Option<String>,
    /// Only names matching this regular expression
    #[arg(long = "match", value_name = "REGEX", help_heading = "Filters")]
    pub include: Option<String>,
    /// Skip names matching this regular expression
    #[arg(long, value_name = "REGEX", help_heading = "Filters")]
    pub exclude: Option<String>,
    /// Names per listing request (Swift's maximum is 10000; smaller values test pagination)
    #[arg(long, hide = true, default_value_t = 10_000)]
    pub page_size: usize,
}

pub fn after_help() -> String {
    format!("{AUTH_HELP}\n\n{}\n{EXAMPLES}", super::exit_status_help())
}

impl Args {
    pub fn filter(&self) -> Result<Filter> {
        let ago = |flag: &str, v: &Option<String>| -> Result<Option<SystemTime>> {
            match v {
                None => Ok(None),
                Some(s) => {
                    let d = crate::time::parse_duration(s)
                        .ok_or_else(|| Error::usage(format!("{flag} {s:?}: not a duration (examples: 30d, 12h, 1w2d)")))?;
                    Ok(Some(SystemTime::now().checked_sub(d).unwrap_or(SystemTime::UNIX_EPOCH)))
                }
            }
        };
        let re = |flag: &str, v: &Option<String>| -> Result<Option<regex::Regex>> {
            v.as_deref()
                .map(|r| regex::Regex::new(r).map_err(|e| Error::usage(format!("{flag} {r:?}: {}", e.to_string().replace('\n', " ")))))
                .transpose()
        };
        Ok(Filter {
            older_than: ago("--older-than", &self.older_than)?,
            newer_than: ago("--newer-than", &self.newer_than)?,
            include: re("--match", &self.include)?,
            exclude: re("--exclude", &self.exclude)?,
        })
    }
}
