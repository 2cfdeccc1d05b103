//! The transfer layer: moving a stream into a store, whatever the store.
//!
//! - [`engine`]: the upload engine shared by s3put and swift-slo-put (bounded buffer pool,
//!   concurrent parts, per-part retry inside the destination, abort on failure or signal,
//!   verification, progress). It knows nothing of S3 or Swift: a [`Destination`] does the
//!   protocol work (`s3::upload::S3Destination`, `swift::SwiftDestination`).
//! - [`plan`]: the part plan, which bounds memory.
//! - [`source`]: what is read: stdin, or a command's output in command mode.
//! - [`tee`]: `--tee`, the input copied to stdout, with `--onfail`.
//! - [`uploader`]: how an uploader binary puts those together ([`run_upload`]).

pub mod engine;
pub mod plan;
pub mod source;
pub mod tee;
pub mod uploader;

pub(crate) use engine::{Destination, Options, Part, Summary};
pub(crate) use plan::PartPlan;
pub(crate) use source::{CommandSource, Source};
pub(crate) use tee::{OnFail, StdoutTee, Tee};
pub(crate) use uploader::{run_upload, Uploader};
