//! sluice: the shared core of the sluice binaries.
//!
//! Each module owns one protocol or concern; the binaries under `bins/` are thin mains that
//! parse flags, build what they need from here, run it and map the error to an exit code.

pub mod cli;
pub mod error;
pub mod sigv4;
pub mod time;
pub mod xml;
pub mod rdb;

pub use error::{Error, ErrorKind, Result};
