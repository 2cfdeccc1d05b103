//! swift-slo-put: stream stdin into Swift as a Static Large Object, verified. See --help.

use clap::Parser;
use sluice::cli::args::engine_options;
use sluice::cli::{exit_with, swift_slo_put::Args};
use sluice::swift::SwiftDestination;
use sluice::transfer::uploader as pipeline;
use sluice::Result;
use std::sync::Arc;

fn main() {
    let args = Args::parse();
    exit_with(run(&args));
}

fn run(args: &Args) -> Result<()> {
    let client = args.swift.client()?;
    let plan = args.plan(&client.info()?)?;
    let dest = Arc::new(SwiftDestination::new(client, &args.container, &args.object, args.upload_options()?)?);
    dest.prepare(args.create_container)?;
    let opts = engine_options(args.jobs, plan, args.allow_empty, args.progress, args.swift.verbose);
    let summary = pipeline::run_upload(dest.clone(), args.pipeline.uploader(opts))?;
    dest.delete_old_segments();
    if args.json {
        let out = serde_json::json!({
            "container": args.container,
            "object": args.object,
            "size": summary.bytes,
            "etag": summary.etag,
            "segments": summary.parts,
            "segment_container": dest.segment_container(),
            "seconds": (summary.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        });
        // With --tee, stdout carries the data: the result goes to stderr instead.
        sluice::cli::print_result(&out.to_string(), args.pipeline.tee)?;
    }
    Ok(())
}
