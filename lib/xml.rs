//! PLACEHOLDER until the `sig` branch lands (type-checking only).
#![allow(unused)]
pub use roxmltree::{Document, Node};
pub fn parse(text: &str) -> Result<Document<'_>, crate::Error> { unimplemented!() }
pub fn escape(s: &str) -> String { unimplemented!() }
pub struct S3ErrorBody { pub code: String, pub message: String, pub request_id: Option<String>, pub host_id: Option<String>, pub region: Option<String>, pub bucket: Option<String>, pub key: Option<String> }
pub fn parse_s3_error(body: &str) -> Option<S3ErrorBody> { unimplemented!() }
