//! s3get: see `s3get --help` and s3get(1).

fn main() {
    sluice::cli::main::<sluice::cli::s3get::Args>()
}
