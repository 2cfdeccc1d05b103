//! rdbcheck: see `rdbcheck --help` and rdbcheck(1).

fn main() {
    sluice::cli::main::<sluice::cli::rdbcheck::Args>()
}
