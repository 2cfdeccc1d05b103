//! s3rm: see `s3rm --help`.

use clap::Parser;
use sluice::cli::{exit_with, s3rm::{run, Args}};

fn main() {
    let args = Args::parse();
    exit_with(run(&args));
}
