//! The only home of `unsafe`: thin, safe wrappers over the system calls std does not offer.

pub mod pipe;
pub mod signal;
