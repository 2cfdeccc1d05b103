//! Command-line definitions of the binaries (clap), from which help, man pages and
//! completions are generated.

pub mod rdbcheck;
