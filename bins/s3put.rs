//! s3put: stream stdin into one S3 object, verified. See `s3put --help` and s3put(1).

use clap::Parser;
use sluice::cli::{exit_with, s3put::Args};
use sluice::s3::{upload::S3Destination, S3Url};
use sluice::transfer::{self, Options, Stdin};
use sluice::{signals, Result};
use std::sync::Arc;

fn main() {
    let args = Args::parse();
    signals::install(signals::ABORT_SIGNALS);
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
    let opts = Options {
        jobs: args.jobs as usize,
        plan,
        allow_empty: args.allow_empty,
        progress: args.show_progress(),
        verbose: args.s3.verbose,
        tee: None,
    };
    let summary = transfer::upload(&mut Stdin::new(), dest, opts)?;
    if args.json {
        let out = serde_json::json!({
            "url": url.to_url_string(),
            "size": summary.bytes,
            "etag": summary.etag,
            "parts": summary.parts,
            "seconds": (summary.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        });
        println!("{out}");
    }
    Ok(())
}
