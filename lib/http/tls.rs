//! TLS for every connection: rustls with the webpki roots plus an optional private CA bundle.

use crate::error::{Error, Result};
use std::path::Path;
use std::sync::Arc;

/// The client configuration: the built-in roots, plus the PEM certificates of `ca_bundle`.
pub fn config(ca_bundle: Option<&Path>) -> Result<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_bundle {
        let bad = |why: String| Error::config(format!("CA bundle {}: {why}", path.display()));
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(pem_error(e)))? {
            let cert = cert.map_err(|e| bad(pem_error(e)))?;
            // A bundle may carry certificates rustls can't use as anchors; skip those, as
            // OpenSSL-based tools do, but insist on at least one usable one.
            if roots.add(cert).is_ok() {
                added += 1;
            }
        }
        if added == 0 {
            return Err(bad("contains no usable PEM certificate".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(cfg)
}

fn pem_error(e: rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::Io(io) => io.to_string(),
        other => format!("not a PEM file ({other:?})"),
    }
}
