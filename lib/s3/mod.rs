//! Amazon S3 and compatible stores: addressing, requests, responses, and the upload sink.

pub mod client;
pub mod delete;
pub mod get;
pub mod list;
pub mod ops;
pub mod parts;
pub mod payload;
pub mod responses;
pub mod upload;
pub mod url;

pub use client::{Request, S3Client};
pub(crate) use url::S3Url;
