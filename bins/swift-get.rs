//! swift-get: see `swift-get --help` and swift-get(1).

fn main() {
    sluice::cli::main::<sluice::cli::swift_get::Args>()
}
