//! What protects an object's body on the wire (issue #19): one hash per byte that the server
//! verifies before it accepts the body, chosen per transport and CPU.
//!
//! - Plain http: the payload is signed (hex SHA-256 in `x-amz-content-sha256`): nothing else
//!   authenticates the body there. No Content-MD5: it would check nothing the signed hash does
//!   not, and MD5 is the slower hash on CPUs with SHA instructions.
//! - https: TLS authenticates the body, so the cheaper of the two server-verified hashes on
//!   this CPU: the signed SHA-256 where the CPU has SHA instructions (x86 SHA-NI, ARMv8 SHA2:
//!   SHA-256 is then 2-3x faster than MD5), else `UNSIGNED-PAYLOAD` with Content-MD5 (what the
//!   AWS SDKs, rclone and s5cmd send).
//! - `--payload-signing always|never` (or the profile's `s3 = payload_signing_enabled`)
//!   overrides the choice; `never` always sends Content-MD5, `--content-md5` adds it to any
//!   choice, and object-lock uploads always carry it (S3 refuses them without).
//!
//! Whatever is sent, the completed object is verified by the uploader (size and ETag), see
//! [`super::upload`]. Small XML bodies (DeleteObjects, CompleteMultipartUpload, subresources)
//! always carry both hashes: they cost nothing and some requests require Content-MD5.

use super::client::Request;
use super::ops::ChecksumAlgo;
use crate::http::encoding::base64;
use md5::{Digest as _, Md5};
use sha2::Sha256;

/// `--payload-signing`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PayloadSigning {
    /// Signed SHA-256 over http, and over https where the CPU has SHA instructions.
    #[default]
    Auto,
    /// Always sign the SHA-256 of the payload.
    Always,
    /// Never sign it: UNSIGNED-PAYLOAD with Content-MD5.
    Never,
}

/// The hashes a body carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protection {
    /// Hex SHA-256 signed in `x-amz-content-sha256`; else `UNSIGNED-PAYLOAD`.
    pub signed_sha256: bool,
    /// `Content-MD5`.
    pub content_md5: bool,
}

impl Default for Protection {
    /// The plain-http default.
    fn default() -> Protection {
        Protection { signed_sha256: true, content_md5: false }
    }
}

impl Protection {
    /// What goes with each body, for `-v`.
    pub fn describe(self) -> &'static str {
        match (self.signed_sha256, self.content_md5) {
            (true, false) => "signed SHA-256",
            (true, true) => "signed SHA-256 and Content-MD5",
            (false, true) => "UNSIGNED-PAYLOAD with Content-MD5",
            // Never chosen by `decide`: a body with no hash the server checks.
            (false, false) => "UNSIGNED-PAYLOAD without any hash",
        }
    }
}

/// Whether this CPU has SHA-256 instructions (the sha2 crate uses them when it does).
pub fn cpu_has_sha256() -> bool {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        std::is_x86_feature_detected!("sha")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("sha2")
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// The choice for one upload, and why (for `-v`). `signing` is the flag, else the profile's
/// `payload_signing_enabled` (true: always, false: never), else auto.
pub fn decide(signing: PayloadSigning, https: bool, cpu_sha: bool, content_md5: bool) -> (Protection, String) {
    let (signed, why) = match signing {
        PayloadSigning::Always => (true, "payload signing always".to_string()),
        PayloadSigning::Never => (false, "payload signing never".to_string()),
        PayloadSigning::Auto if !https => (true, "http: the signature is the only check of the body".to_string()),
        PayloadSigning::Auto if cpu_sha => (true, "https, and this CPU has SHA-256 instructions".to_string()),
        PayloadSigning::Auto => (false, "https, and this CPU has no SHA-256 instructions: MD5 is cheaper".to_string()),
    };
    // Unsigned, Content-MD5 is the one hash the server checks.
    let md5 = content_md5 || !signed;
    let why = if content_md5 { format!("{why}; --content-md5") } else { why };
    (Protection { signed_sha256: signed, content_md5: md5 }, why)
}

/// A body's digests, each computed only when something needs it.
#[derive(Clone, Debug, Default)]
pub struct Digests {
    pub md5: Option<[u8; 16]>,
    pub sha256: Option<[u8; 32]>,
}

impl Digests {
    /// Both hashes (small bodies).
    pub fn both(data: &[u8]) -> Digests {
        Digests { md5: Some(Md5::digest(data).into()), sha256: Some(Sha256::digest(data).into()) }
    }

    /// What `p` sends, plus the SHA-256 a `--checksum sha256` header needs.
    pub fn compute(data: &[u8], p: Protection, checksum: Option<ChecksumAlgo>) -> Digests {
        Digests {
            md5: p.content_md5.then(|| Md5::digest(data).into()),
            sha256: (p.signed_sha256 || checksum == Some(ChecksumAlgo::Sha256)).then(|| Sha256::digest(data).into()),
        }
    }

    /// The value of `x-amz-content-sha256` under `p`.
    pub fn payload_hash(&self, p: Protection) -> String {
        match (p.signed_sha256, self.sha256) {
            (true, Some(h)) => hex::encode(h),
            _ => crate::sigv4::UNSIGNED_PAYLOAD.to_string(),
        }
    }

    /// The MD5 of `data`: the one computed, else computed now (an uncertain outcome's check).
    pub fn md5_of(&self, data: &[u8]) -> [u8; 16] {
        self.md5.unwrap_or_else(|| Md5::digest(data).into())
    }
}

/// `req` with a small XML `body` (DeleteObjects, CompleteMultipartUpload, subresources): the
/// content type, Content-MD5 (some of these require it) and the signed SHA-256.
pub(crate) fn xml_body<'a>(req: Request<'a>, body: &'a str) -> Request<'a> {
    let body = body.as_bytes();
    let d = Digests::both(body);
    req.header("content-type", "application/xml")
        .header("content-md5", base64(&d.md5_of(body)))
        .body(body)
        .payload_sha256(d.payload_hash(Protection::default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use PayloadSigning::*;

    fn p(signed: bool, md5: bool) -> Protection {
        Protection { signed_sha256: signed, content_md5: md5 }
    }

    #[test]
    fn decision_table() {
        // (flag, https, cpu has SHA, --content-md5) -> (signed SHA-256, Content-MD5)
        let table = [
            (Auto, false, true, false, p(true, false)),
            (Auto, false, false, false, p(true, false)),
            (Auto, true, true, false, p(true, false)),
            (Auto, true, false, false, p(false, true)),
            (Always, true, false, false, p(true, false)),
            (Always, false, false, false, p(true, false)),
            (Never, false, true, false, p(false, true)),
            (Never, true, true, false, p(false, true)),
            (Auto, false, true, true, p(true, true)),
            (Auto, true, false, true, p(false, true)),
            (Always, true, true, true, p(true, true)),
        ];
        for (flag, https, cpu, md5, want) in table {
            let (got, why) = decide(flag, https, cpu, md5);
            assert_eq!(got, want, "{flag:?} https={https} cpu_sha={cpu} --content-md5={md5}: {why}");
            assert!(got.signed_sha256 || got.content_md5, "no server-verified hash");
        }
    }

    #[test]
    fn digests_are_computed_only_when_needed() {
        let d = Digests::compute(b"abc", p(true, false), None);
        assert!(d.md5.is_none());
        assert_eq!(d.payload_hash(p(true, false)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let d = Digests::compute(b"abc", p(false, true), None);
        assert!(d.sha256.is_none());
        assert_eq!(d.payload_hash(p(false, true)), "UNSIGNED-PAYLOAD");
        assert_eq!(hex::encode(d.md5.unwrap()), "900150983cd24fb0d6963f7d28e17f72");
        // --checksum sha256 needs the hash even when the payload is unsigned.
        let d = Digests::compute(b"abc", p(false, true), Some(ChecksumAlgo::Sha256));
        assert!(d.sha256.is_some());
        assert_eq!(d.payload_hash(p(false, true)), "UNSIGNED-PAYLOAD");
        assert_eq!(hex::encode(Digests::default().md5_of(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
    }
}
