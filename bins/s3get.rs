//! s3get: see `s3get --help`.

use sluice::cli::{
    exit_writer, parse_args,
    s3get::{run, Args},
};

fn main() {
    let args: Args = parse_args();
    sluice::transfer::uploader::abort_downstream_on_signals();
    exit_writer(run(&args));
}
