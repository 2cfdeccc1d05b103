fn main() {
    eprintln!("rdbcheck: not yet implemented");
    std::process::exit(1);
}
