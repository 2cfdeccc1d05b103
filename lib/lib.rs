//! sluice: the shared core of the sluice binaries.
//!
//! Each module owns one protocol or concern; the binaries under `bins/` are thin mains that
//! parse flags, build what they need from here, run it and map the error to an exit code.

pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod log;
pub mod rdb;
pub mod records;
pub mod s3;
pub mod sigv4;
pub mod swift;
pub mod sys;
pub mod time;
pub mod transfer;
pub mod xml;

pub use error::{Error, ErrorKind, Result};
