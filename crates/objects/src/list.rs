//! Listing a prefix (ListObjectsV2), a page at a time: what polls and batch jobs walk.
use crate::{ObjectError, Objects};

/// One object of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    /// Without quotes.
    pub etag: String,
    pub size: u64,
    /// Last-Modified, in milliseconds since the epoch (the store's clock).
    pub modified_ms: i64,
}

/// One page of a listing, and where the next one starts (`None`: this was the last).
#[derive(Clone, Debug, Default)]
pub struct Page {
    pub objects: Vec<Listed>,
    pub next: Option<String>,
}

impl Objects {
    /// One page (up to `max_keys`, in key order) of the objects under `prefix`, from the start or
    /// from `continuation` (the previous page's `next`). Retried like every call. S3, MinIO,
    /// Ceph and garage return at most 1,000 keys whatever is asked (rclone's `--s3-list-chunk`
    /// relies on the same); stores without that cap give more.
    pub async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
        max_keys: i32,
    ) -> Result<Page, ObjectError> {
        let output = self
            .retrying("ListObjectsV2", bucket, prefix, || async {
                let call = self
                    .client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix)
                    .max_keys(max_keys.max(1))
                    .set_continuation_token(continuation.map(String::from));
                call.send().await.map_err(ObjectError::from_sdk)
            })
            .await?;
        let objects = output
            .contents()
            .iter()
            .filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_string(),
                    etag: o.e_tag().unwrap_or_default().trim_matches('"').to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    modified_ms: o.last_modified()?.to_millis().ok()?,
                })
            })
            .collect();
        let next = match output.is_truncated() {
            Some(true) => output.next_continuation_token().map(String::from),
            _ => None,
        };
        Ok(Page { objects, next })
    }
}
