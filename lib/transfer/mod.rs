//! The transfer layer: the upload engine and the uploaders' plumbing.
mod engine;
pub mod uploader;

pub use engine::*;
