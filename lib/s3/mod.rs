//! The S3 protocol: typed XML bodies (requests we build, responses we parse).

pub mod responses;
