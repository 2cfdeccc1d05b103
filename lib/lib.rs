//! sluice: the shared core of the sluice binaries. ARCHITECTURE.md at the top of the
//! repository describes the layers; each module below names what it owns.
//!
//! Layers point down only: `cli` -> `transfer` -> protocols (`sigv4`, `config`, `credentials`,
//! `s3`, `swift`, `rdb`) -> `http`, `xml` -> core (`error`, `units`, `time`, `log`, `run`,
//! `metrics`, `secret`, `signals`, `records`, `rate`) -> `sys`, the only module allowed `unsafe`.
#![deny(unsafe_code)]

// The system layer: the only `unsafe` (raw stdio, signals, the /proc scan).
#[allow(unsafe_code)]
pub mod sys;

// Core types.
pub mod error;
pub mod log;
pub mod metrics;
pub mod rate;
pub mod records;
pub mod run;
pub mod secret;
pub mod signals;
pub mod time;
pub mod units;

// HTTP and XML.
pub mod http;
pub mod xml;

// Protocols.
pub mod config;
pub mod credentials;
pub mod rdb;
pub mod s3;
pub mod sigv4;
pub mod swift;

// Moving streams.
pub mod transfer;

// The binaries' shared main, flags and documentation.
pub mod cli;

pub use error::{Error, ErrorKind, Result};
