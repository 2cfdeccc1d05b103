//! s3get: see `s3get --help`.

use clap::Parser;
use sluice::cli::{exit_with, s3get::{run, Args}};

fn main() {
    let args = Args::parse();
    exit_with(run(&args));
}
