//! s3ls: see `s3ls --help`.

use sluice::cli::{
    exit_with, parse_args,
    s3ls::{run, Args},
};

fn main() {
    let args: Args = parse_args();
    exit_with(run(&args));
}
