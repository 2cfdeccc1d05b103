//! swift-get: stream a Swift object to stdout, verified. See --help.

use clap::Parser;
use sluice::cli::{exit_writer, swift_get::Args};
use sluice::swift::get;
use sluice::Result;

fn main() {
    let args = Args::parse();
    sluice::transfer::uploader::abort_downstream_on_signals();
    exit_writer(run(&args));
}

fn run(args: &Args) -> Result<()> {
    let client = args.swift.client()?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let s = get::get(&client, &args.container, &args.object, &mut out)?;
    if args.json {
        sluice::log::note(serde_json::json!({ "size": s.bytes, "etag": s.etag, "verified": s.verified }));
    }
    Ok(())
}
