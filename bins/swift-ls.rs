//! swift-ls: list containers or objects. See --help.

use clap::Parser;
use sluice::cli::{exit_with, swift_ls::Args};
use sluice::swift::get::write_err;
use sluice::swift::{list, split_path};
use sluice::{Error, Result};
use std::io::Write;
use std::time::SystemTime;

fn main() {
    let args = Args::parse();
    exit_with(run(&args));
}

fn run(args: &Args) -> Result<()> {
    let filter = args.filter.build(SystemTime::now())?;
    let (container, prefix) = match args.path.as_deref() {
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
    let client = args.swift.client()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let end = if args.null { b'\0' } else { b'\n' };
    let written = list::for_each(&client, container, prefix, args.delimiter, args.page_size, |item| {
        if !item.passes(&filter) {
            return Ok(());
        }
        let line = if args.json {
            serde_json::json!({
                "name": item.name, "bytes": item.bytes, "hash": item.hash, "last_modified": item.last_modified,
                "content_type": item.content_type, "count": item.count, "subdir": item.subdir,
            })
            .to_string()
        } else if args.long {
            let when = item.modified().map(sluice::time::rfc3339).unwrap_or_else(|| "-".repeat(20));
            let tag = item.hash.clone().or(item.count.map(|c| format!("{c} objects"))).unwrap_or_default();
            format!("{:>14} {when} {tag:<32} {}", item.bytes, item.name)
        } else {
            item.name.clone()
        };
        out.write_all(line.as_bytes()).and_then(|_| out.write_all(&[end])).map_err(write_err)
    });
    written?;
    out.flush().map_err(write_err)
}
