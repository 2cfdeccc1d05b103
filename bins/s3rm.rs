//! s3rm: see `s3rm --help` and s3rm(1).

fn main() {
    sluice::cli::main::<sluice::cli::s3rm::Args>()
}
