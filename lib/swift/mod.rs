//! OpenStack Swift: authentication (v1, Keystone v2.0/v3, pre-authenticated) and the
//! catalog, requests with token renewal, Static Large Objects (nested when needed), the
//! upload destination for swift-slo-put, listings for swift-ls and verified GETs for swift-get.

pub mod auth;
pub mod client;
pub mod get;
pub mod list;
pub mod slo;
pub mod upload;

pub(crate) use auth::AuthConfig;
pub(crate) use client::SwiftClient;
pub(crate) use upload::{SwiftDestination, UploadOptions};

/// Splits `CONTAINER[/PREFIX]`.
pub(crate) fn split_path(s: &str) -> (&str, Option<&str>) {
    match s.split_once('/') {
        Some((c, p)) => (c, Some(p)),
        None => (s, None),
    }
}
