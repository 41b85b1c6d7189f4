//! Object tags (GetObjectTagging, PutObjectTagging): the verdict tags' two calls.

use aws_sdk_s3::types::{Tag, Tagging};

use crate::{ObjectError, Objects};

impl Objects {
    /// The object's tags, in the store's order. A store without tagging answers with its own
    /// error (s3s-fs, garage: `501 NotImplemented`), which is permanent.
    pub async fn tags(&self, bucket: &str, key: &str) -> Result<Vec<(String, String)>, ObjectError> {
        let out = self
            .retrying("GetObjectTagging", bucket, key, || async {
                let call = self.client.get_object_tagging().bucket(bucket).key(key);
                call.send().await.map_err(ObjectError::from_sdk)
            })
            .await?;
        Ok(out.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
    }

    /// Replaces the object's whole tag set (S3 has no per-tag update: callers merge first).
    pub async fn set_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: &[(String, String)],
    ) -> Result<(), ObjectError> {
        let tag_set =
            tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build().expect("key and value set"));
        let tagging = Tagging::builder().set_tag_set(Some(tag_set.collect())).build().expect("tag set given");
        self.retrying("PutObjectTagging", bucket, key, || async {
            let call = self.client.put_object_tagging().bucket(bucket).key(key).tagging(tagging.clone());
            call.send().await.map(drop).map_err(ObjectError::from_sdk)
        })
        .await
    }
}
