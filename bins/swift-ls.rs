//! swift-ls: see `swift-ls --help` and swift-ls(1).

fn main() {
    sluice::cli::main::<sluice::cli::swift_ls::Args>()
}
