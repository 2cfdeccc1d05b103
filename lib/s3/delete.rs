//! Deleting many objects: DeleteObjects batches of up to 1,000 keys, with single DELETEs for
//! keys XML cannot carry and for servers without DeleteObjects.

use super::client::{Request, S3Client};
use super::payload::xml_body;
use super::responses::{self, DeleteError};
use crate::error::Result;

/// DeleteObjects' limit per request.
pub(crate) const MAX_BATCH: usize = 1000;

/// What one batch did: how many keys are gone (deleted now or already absent) and the keys
/// that could not be deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct BatchResult {
    pub deleted: usize,
    pub errors: Vec<DeleteError>,
}

/// Sends batches for one client, remembering whether the server does DeleteObjects.
pub(crate) struct BatchDeleter<'c> {
    client: &'c S3Client,
    bulk: bool,
}

/// Whether XML 1.0 can carry `key`: it has no place for most C0 control characters, not even
/// as character references, so such keys go through a plain DELETE.
pub(crate) fn xml_safe(key: &str) -> bool {
    !key.chars().any(|c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
}

impl<'c> BatchDeleter<'c> {
    pub fn new(client: &'c S3Client) -> Self {
        BatchDeleter { client, bulk: true }
    }

    /// Deletes `keys` (at most [`MAX_BATCH`]) from `bucket`. Keys already gone are not errors.
    /// A failure of the whole request (missing bucket, no permission) is the `Err`.
    pub fn delete(&mut self, bucket: &str, keys: &[String]) -> Result<BatchResult> {
        let (bulk, single): (Vec<String>, Vec<String>) = keys.iter().cloned().partition(|k| self.bulk && xml_safe(k));
        let mut result = BatchResult::default();
        for chunk in bulk.chunks(MAX_BATCH) {
            match self.delete_objects(bucket, chunk) {
                Ok(r) => {
                    result.deleted += r.deleted;
                    result.errors.extend(r.errors);
                }
                Err(e) if result.deleted == 0 && matches!(e.code(), Some("NotImplemented" | "MethodNotAllowed")) => {
                    if self.client.verbose() >= 1 {
                        crate::log::note("the server has no DeleteObjects; deleting one key at a time");
                    }
                    self.bulk = false;
                    let r = self.delete_each(bucket, chunk)?;
                    result.deleted += r.deleted;
                    result.errors.extend(r.errors);
                }
                Err(e) => return Err(e),
            }
        }
        let r = self.delete_each(bucket, &single)?;
        result.deleted += r.deleted;
        result.errors.extend(r.errors);
        Ok(result)
    }

    /// One DeleteObjects request in quiet mode (only failures are listed). Content-MD5 is
    /// required by AWS for this request.
    fn delete_objects(&self, bucket: &str, keys: &[String]) -> Result<BatchResult> {
        let body = responses::delete_objects_body(keys, true);
        let req = xml_body(Request::new("POST", Some(bucket), None).query("delete", ""), &body);
        let text = self.client.send_text(&req)?;
        let parsed =
            responses::parse_delete_result(&text).map_err(|e| e.context(format!("POST s3://{bucket}?delete")))?;
        let errors: Vec<DeleteError> = parsed.errors.into_iter().filter(|e| e.code != "NoSuchKey").collect();
        Ok(BatchResult { deleted: keys.len().saturating_sub(errors.len()), errors })
    }

    /// Plain DELETEs; per-key failures are collected, a missing bucket ends the batch.
    fn delete_each(&self, bucket: &str, keys: &[String]) -> Result<BatchResult> {
        let mut result = BatchResult::default();
        for key in keys {
            // HTTP clients resolve "." and ".." path segments: a DELETE would hit another key.
            if key.split('/').any(|seg| seg == "." || seg == "..") {
                result.errors.push(DeleteError {
                    key: key.clone(),
                    code: String::new(),
                    message: "a key with a '.' or '..' segment can only be deleted with DeleteObjects".into(),
                });
                continue;
            }
            match self.client.delete_object(bucket, key) {
                Ok(()) => result.deleted += 1,
                Err(e) if e.code() == Some("NoSuchBucket") => return Err(e),
                Err(e) => result.errors.push(DeleteError {
                    key: key.clone(),
                    code: e.code().unwrap_or("").to_string(),
                    message: e.message().to_string(),
                }),
            }
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_safety() {
        assert!(xml_safe("a b\n\t\r+%ü"));
        assert!(!xml_safe("a\u{1}b"));
        assert!(!xml_safe("\u{1f}"));
    }
}
