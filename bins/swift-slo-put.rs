//! swift-slo-put: see `swift-slo-put --help` and swift-slo-put(1).

fn main() {
    sluice::cli::main::<sluice::cli::swift_slo_put::Args>()
}
