//! swift-ls's flags.

use super::swift_common::{SwiftArgs, AUTH_HELP};
use crate::cli::filter::FilterArgs;
use clap::Parser;

pub const ABOUT: &str = "List Swift containers, or the objects of a container";

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

    #[command(flatten)]
    pub filter: FilterArgs,

    /// Names per listing request (Swift's maximum is 10000; smaller values test pagination)
    #[arg(long, hide = true, default_value_t = 10_000)]
    pub page_size: usize,
}

pub fn after_help() -> String {
    format!("{FILTERS_HELP}\n\n{AUTH_HELP}\n\n{}\n{EXAMPLES}", super::exit_status_help())
}
