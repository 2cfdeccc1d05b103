//! PLACEHOLDER until the `sig` branch lands (type-checking only).
#![allow(unused)]
use crate::Result;
use std::time::SystemTime;
pub struct InitiateMultipartUpload { pub bucket: String, pub key: String, pub upload_id: String }
pub fn parse_initiate(body: &str) -> Result<InitiateMultipartUpload> { unimplemented!() }
pub struct CompleteMultipartUpload { pub location: Option<String>, pub bucket: Option<String>, pub key: Option<String>, pub etag: Option<String> }
pub fn parse_complete(body: &str) -> Result<CompleteMultipartUpload> { unimplemented!() }
pub fn complete_body(parts: &[(u32, String)]) -> String { unimplemented!() }
pub fn create_bucket_body(region: &str) -> Option<String> { unimplemented!() }
pub struct ObjectEntry { pub key: String, pub last_modified: Option<SystemTime>, pub etag: Option<String>, pub size: u64, pub storage_class: Option<String> }
pub struct ListObjectsPage { pub objects: Vec<ObjectEntry>, pub common_prefixes: Vec<String>, pub is_truncated: bool, pub next_continuation_token: Option<String>, pub next_marker: Option<String> }
pub fn parse_list_objects(body: &str) -> Result<ListObjectsPage> { unimplemented!() }
pub struct UploadEntry { pub key: String, pub upload_id: String, pub initiated: Option<SystemTime> }
pub struct ListUploadsPage { pub uploads: Vec<UploadEntry>, pub is_truncated: bool, pub next_key_marker: Option<String>, pub next_upload_id_marker: Option<String> }
pub fn parse_list_uploads(body: &str) -> Result<ListUploadsPage> { unimplemented!() }
pub struct BucketEntry { pub name: String, pub creation_date: Option<SystemTime> }
pub fn parse_list_buckets(body: &str) -> Result<Vec<BucketEntry>> { unimplemented!() }
pub struct DeleteError { pub key: String, pub code: String, pub message: String }
pub struct DeleteResult { pub deleted: Vec<String>, pub errors: Vec<DeleteError> }
pub fn parse_delete_result(body: &str) -> Result<DeleteResult> { unimplemented!() }
pub fn delete_objects_body(keys: &[String], quiet: bool) -> String { unimplemented!() }
pub fn parse_location_constraint(body: &str) -> Result<Option<String>> { unimplemented!() }
