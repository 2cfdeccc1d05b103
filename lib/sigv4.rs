//! PLACEHOLDER until the `sig` branch lands (type-checking only).
#![allow(unused)]
use std::time::SystemTime;
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
pub fn sha256_hex(data: &[u8]) -> String { unimplemented!() }
pub fn uri_encode(s: &str, encode_slash: bool) -> String { unimplemented!() }
pub fn percent_decode(s: &str, plus_as_space: bool) -> Result<String, crate::Error> { unimplemented!() }
pub fn canonical_query_string(query: &[(String, String)]) -> String { unimplemented!() }
#[derive(Clone)]
pub struct Credentials { pub access_key_id: String, secret_access_key: String, pub session_token: Option<String> }
impl Credentials { pub fn new(id: impl Into<String>, secret: impl Into<String>, token: Option<String>) -> Self { unimplemented!() } }
impl std::fmt::Debug for Credentials { fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { Ok(()) } }
pub struct SignableRequest<'a> { pub method: &'a str, pub path: &'a str, pub query: &'a [(String, String)], pub headers: &'a [(String, String)], pub payload_hash: &'a str }
#[derive(Clone, Debug)]
pub struct Signer;
impl Signer {
    pub fn s3(credentials: Credentials, region: &str) -> Self { unimplemented!() }
    pub fn region(&self) -> &str { unimplemented!() }
    pub fn with_region(&self, region: &str) -> Self { unimplemented!() }
    pub fn sign(&self, req: &SignableRequest, now: SystemTime) -> Vec<(String, String)> { unimplemented!() }
    pub fn presign(&self, req: &SignableRequest, now: SystemTime, expires_secs: u64) -> String { unimplemented!() }
}
