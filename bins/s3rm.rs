//! s3rm: see `s3rm --help`.

use sluice::cli::{
    exit_with, parse_args,
    s3rm::{run, Args},
};

fn main() {
    let args: Args = parse_args();
    exit_with(run(&args));
}
