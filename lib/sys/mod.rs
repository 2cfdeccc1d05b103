//! The only module with `unsafe` (the crate root denies it everywhere else): thin, safe
//! wrappers over the system calls std does not offer. Every `unsafe` block says why it is sound.
//!
//! - [`stdio`]: standard input and output as plain files (no buffering, EINTR visible)
//! - [`signal`]: signal handlers, the signal mask, a sigwait thread, `_exit`, `kill`
//! - [`procfs`]: which processes read a pipe and whether they catch a signal (/proc)
//! - [`pipe`]: pipe capacity (F_GETPIPE_SZ, F_SETPIPE_SZ)
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod pipe;
pub mod procfs;
pub mod signal;
pub mod stdio;
