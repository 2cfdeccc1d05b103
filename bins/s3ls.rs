//! s3ls: see `s3ls --help`.

use clap::Parser;
use sluice::cli::{exit_with, s3ls::{run, Args}};

fn main() {
    let args = Args::parse();
    exit_with(run(&args));
}
