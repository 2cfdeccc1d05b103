//! s3ls: see `s3ls --help` and s3ls(1).

fn main() {
    sluice::cli::main::<sluice::cli::s3ls::Args>()
}
