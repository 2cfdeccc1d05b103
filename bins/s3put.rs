//! s3put: stream stdin into one S3 object, verified. See `s3put --help` and s3put(1).

use clap::Parser;
use sluice::cli::args::engine_options;
use sluice::cli::{exit_with, s3put::Args};
use sluice::s3::{upload::S3Destination, S3Url};
use sluice::transfer::uploader as pipeline;
use sluice::Result;
use std::sync::Arc;

fn main() {
    let args = Args::parse();
    exit_with(run(&args));
}

fn run(args: &Args) -> Result<()> {
    let url = S3Url::parse_object(&args.url)?;
    let client = args.s3.client()?;
    let plan = args.part_plan(client.endpoint().provider())?;
    if args.create_bucket {
        client.create_bucket(&url.bucket)?;
    }
    let dest = Arc::new(S3Destination::new(client, url.clone(), args.object_options()?));
    let engine = engine_options(args.jobs, plan, args.allow_empty, args.progress, args.s3.verbose);
    let summary = pipeline::run_upload(dest, args.pipeline.uploader(engine))?;
    if args.json {
        let out = serde_json::json!({
            "url": url.to_url_string(),
            "size": summary.bytes,
            "etag": summary.etag,
            "parts": summary.parts,
            "seconds": (summary.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        });
        // With --tee, stdout carries the data: the result goes to stderr instead.
        sluice::cli::print_result(&out.to_string(), args.pipeline.tee)?;
    }
    Ok(())
}
