//! s3put: see `s3put --help` and s3put(1).

fn main() {
    sluice::cli::main::<sluice::cli::s3put::Args>()
}
