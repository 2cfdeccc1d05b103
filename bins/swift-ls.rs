//! swift-ls: list containers or objects. See --help.

use clap::Parser;
use sluice::cli::{exit_with, swift_ls::Args};
use sluice::swift::get::write_err;
use sluice::swift::{list, split_path};
use sluice::Result;
use std::io::Write;

fn main() {
    let args = Args::parse();
    exit_with(run(&args));
}

fn run(args: &Args) -> Result<()> {
    let client = args.swift.client()?;
    let filter = args.filter()?;
    let (container, prefix) = match args.path.as_deref() {
        Some(p) => {
            let (c, pre) = split_path(p);
            (Some(c), pre)
        }
        None => (None, None),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let end = if args.null { b'\0' } else { b'\n' };
    let written = list::for_each(&client, container, prefix, args.delimiter, args.page_size, |item| {
        if !filter.keeps(&item) {
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
