fn main() {
    eprintln!("s3put: not yet implemented");
    std::process::exit(1);
}
