//! AutoProcess actions (backup, make private, delete) and the small calls around them.

use aws_sdk_s3::primitives::{ByteStream, SdkBody};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, ObjectCannedAcl};

use crate::{ObjectError, Objects};

/// Where [`Objects::backup`] moves an object: `abnormal_images_backup/<key>` in the same bucket.
pub const BACKUP_PREFIX: &str = "abnormal_images_backup/";

impl Objects {
    /// BackupObject: copies the object to `abnormal_images_backup/<key>` (CopyObject gives the
    /// copy the default private ACL), then deletes the original. Idempotent: when the source is
    /// already gone but the backup exists (a retry after a crash between copy and delete), that
    /// is success; in the "copied but not deleted" state the copy is simply made again. Returns
    /// the backup key. (CopyObject copies objects of up to 5 GiB.)
    pub async fn backup(&self, bucket: &str, key: &str) -> Result<String, ObjectError> {
        let backup_key = format!("{BACKUP_PREFIX}{key}");
        let source = format!("{bucket}/{}", encode_key(key));
        let copied = self
            .retrying("CopyObject", bucket, key, || async {
                let call = self.client.copy_object().bucket(bucket).key(&backup_key).copy_source(&source);
                call.send().await.map(drop).map_err(ObjectError::from_sdk)
            })
            .await;
        match copied {
            Ok(()) => {
                self.delete(bucket, key).await?;
                tracing::info!(bucket, key, backup_key, "moved object to the backup folder");
                Ok(backup_key)
            }
            Err(e) if e.is_no_such_key() && self.exists(bucket, &backup_key).await? => {
                tracing::info!(bucket, key, backup_key, "object was already moved to the backup folder");
                Ok(backup_key)
            }
            Err(e) => Err(e),
        }
    }

    /// Undoes [`Objects::backup`]: copies `abnormal_images_backup/<key>` back to `<key>`, then
    /// deletes the backup. Idempotent: with the backup gone and the object back (a retry after a
    /// crash, or a second undo), that is success; with both gone, the backup's `NoSuchKey`.
    pub async fn restore(&self, bucket: &str, key: &str) -> Result<(), ObjectError> {
        let backup_key = format!("{BACKUP_PREFIX}{key}");
        let source = format!("{bucket}/{}", encode_key(&backup_key));
        let copied = self
            .retrying("CopyObject", bucket, &backup_key, || async {
                let call = self.client.copy_object().bucket(bucket).key(key).copy_source(&source);
                call.send().await.map(drop).map_err(ObjectError::from_sdk)
            })
            .await;
        match copied {
            Ok(()) => {
                self.delete(bucket, &backup_key).await?;
                tracing::info!(bucket, key, backup_key, "restored object from the backup folder");
                Ok(())
            }
            Err(e) if e.is_no_such_key() && self.exists(bucket, key).await? => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// SwitchObjectToPrivate: PutObjectAcl with the canned ACL `private`. A store that refuses
    /// ACLs (garage, s3s-fs: `501 NotImplemented`; AWS buckets with ACLs disabled:
    /// `AccessControlListNotSupported`) returns its error, which is permanent.
    pub async fn make_private(&self, bucket: &str, key: &str) -> Result<(), ObjectError> {
        self.retrying("PutObjectAcl", bucket, key, || async {
            let call = self.client.put_object_acl().bucket(bucket).key(key).acl(ObjectCannedAcl::Private);
            call.send().await.map(drop).map_err(ObjectError::from_sdk)
        })
        .await?;
        tracing::info!(bucket, key, "made object private");
        Ok(())
    }

    /// Whether anyone can read the object without credentials (an unsigned HeadObject answers
    /// 2xx): after SwitchObjectToPrivate it must not, and a store that accepted the ACL but
    /// ignores ACLs (MinIO) still lets them.
    pub async fn readable_by_anyone(&self, bucket: &str, key: &str) -> Result<bool, ObjectError> {
        let head = self.anonymous.head_object().bucket(bucket).key(key).send().await;
        match head.map_err(ObjectError::from_sdk) {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.status, Some(401 | 403 | 404)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// DeleteObject; deleting a missing object is success.
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), ObjectError> {
        let deleted = self
            .retrying("DeleteObject", bucket, key, || async {
                let call = self.client.delete_object().bucket(bucket).key(key);
                call.send().await.map(drop).map_err(ObjectError::from_sdk)
            })
            .await;
        match deleted {
            Err(e) if !e.is_no_such_key() => Err(e),
            _ => {
                tracing::info!(bucket, key, "deleted object");
                Ok(())
            }
        }
    }

    /// HeadObject. A 404 is `false` (HEAD answers have no body, so a missing bucket looks the
    /// same as a missing key).
    pub async fn exists(&self, bucket: &str, key: &str) -> Result<bool, ObjectError> {
        let head = self
            .retrying("HeadObject", bucket, key, || async {
                let call = self.client.head_object().bucket(bucket).key(key);
                call.send().await.map(drop).map_err(ObjectError::from_sdk)
            })
            .await;
        match head {
            Ok(()) => Ok(true),
            Err(e) if e.status == Some(404) || e.is_no_such_key() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether the store answers with these credentials: HeadBucket on `bucket`, or ListBuckets
    /// without one. One attempt, no retries (readiness probes repeat by themselves); an answer
    /// closes the breaker, a failure alone does not open it.
    pub async fn ping(&self, bucket: Option<&str>) -> Result<(), ObjectError> {
        let answer = match bucket {
            Some(b) => {
                self.client.head_bucket().bucket(b).send().await.map(drop).map_err(ObjectError::from_sdk)
            }
            None => self.client.list_buckets().send().await.map(drop).map_err(ObjectError::from_sdk),
        };
        if answer.is_ok() {
            self.breaker.answered();
        }
        answer
    }

    /// PutObject from memory (tests and tools).
    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), ObjectError> {
        let body = SdkBody::from(body);
        self.retrying("PutObject", bucket, key, || async {
            let body = ByteStream::new(body.try_clone().expect("an in-memory body can be cloned"));
            let call = self.client.put_object().bucket(bucket).key(key).body(body);
            call.send().await.map(drop).map_err(ObjectError::from_sdk)
        })
        .await
    }

    /// PutObjectAcl `public-read`: anyone may read it (undoing SwitchObjectToPrivate).
    pub async fn make_public(&self, bucket: &str, key: &str) -> Result<(), ObjectError> {
        self.retrying("PutObjectAcl", bucket, key, || async {
            let call = self.client.put_object_acl().bucket(bucket).key(key).acl(ObjectCannedAcl::PublicRead);
            call.send().await.map(drop).map_err(ObjectError::from_sdk)
        })
        .await
    }

    /// CreateBucket in the configured region; a bucket this account already owns (or, on stores
    /// that answer `BucketAlreadyExists` for it, can use) is success (tests and tools).
    pub async fn create_bucket(&self, bucket: &str) -> Result<(), ObjectError> {
        let region = self.client.config().region().map(|r| r.as_ref().to_string());
        let created = self
            .retrying("CreateBucket", bucket, "", || async {
                let mut call = self.client.create_bucket().bucket(bucket);
                if let Some(region) = region.as_deref().filter(|r| *r != "us-east-1") {
                    let location = BucketLocationConstraint::from(region);
                    call = call.create_bucket_configuration(
                        CreateBucketConfiguration::builder().location_constraint(location).build(),
                    );
                }
                call.send().await.map(drop).map_err(ObjectError::from_sdk)
            })
            .await;
        match created {
            Err(e) if e.code == "BucketAlreadyExists" => {
                // Single-user stores (s3s-fs) say this for one's own bucket too: fine if we can use it.
                let head = self.client.head_bucket().bucket(bucket).send().await;
                head.map(drop).map_err(|_| e)
            }
            Err(e) if e.code != "BucketAlreadyOwnedByYou" => Err(e),
            _ => Ok(()),
        }
    }
}

/// A key as CopyObject's `x-amz-copy-source` wants it: percent-encoded UTF-8, `/` kept.
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for &b in key.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encode_key() {
        assert_eq!(super::encode_key("a b/ü+%.png"), "a%20b/%C3%BC%2B%25.png");
    }
}
