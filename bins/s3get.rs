//! s3get: see `s3get --help`.

use sluice::cli::{exit_with, parse_args, s3get::{run, Args}};

fn main() {
    let args: Args = parse_args();
    exit_with(run(&args));
}
