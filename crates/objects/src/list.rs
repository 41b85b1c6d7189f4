//! Listing a prefix (ListObjectsV2), a page at a time with the store's continuation tokens: what
//! polls and batch jobs walk (`walk.rs` lists folder by folder instead).
use aws_sdk_s3::operation::list_objects_v2::builders::ListObjectsV2FluentBuilder;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;

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
            .list_objects(bucket, prefix, max_keys, |call| {
                call.set_continuation_token(continuation.map(String::from))
            })
            .await?;
        let next = match output.is_truncated() {
            Some(true) => output.next_continuation_token().map(String::from),
            _ => None,
        };
        Ok(Page { objects: listed(&output), next })
    }
}

impl Objects {
    /// ListObjectsV2 of `prefix`, at most `max_keys` keys, with what `more` adds; retried.
    pub(crate) async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        max_keys: i32,
        more: impl Fn(ListObjectsV2FluentBuilder) -> ListObjectsV2FluentBuilder,
    ) -> Result<ListObjectsV2Output, ObjectError> {
        self.retrying("ListObjectsV2", bucket, prefix, || async {
            let call = self.client.list_objects_v2().bucket(bucket).prefix(prefix).max_keys(max_keys.max(1));
            more(call).send().await.map_err(ObjectError::from_sdk)
        })
        .await
    }
}

pub(crate) fn listed(output: &ListObjectsV2Output) -> Vec<Listed> {
    output
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
        .collect()
}
