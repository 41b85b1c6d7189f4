//! Fetching whole objects with bounded memory.

use std::fs::{File, OpenOptions};
use std::ops::Deref;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use memmap2::Mmap;
use tokio::io::AsyncWriteExt;

use crate::error::chain;
use crate::{ObjectError, Objects};

/// Bodies up to this size are held in memory; bigger ones are spooled to a temporary file.
pub const SPOOL_THRESHOLD: u64 = 8 << 20;
/// How long the body may stay silent before the transfer counts as broken (and is retried).
const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A whole object's bytes: in memory, or a memory-mapped unlinked temporary file.
pub struct Fetched {
    data: Data,
    tag_count: u32,
}

enum Data {
    Memory(Vec<u8>),
    Mapped(Mmap),
}

impl Fetched {
    /// Whether the body went through a temporary file.
    pub fn is_spooled(&self) -> bool {
        matches!(self.data, Data::Mapped(_))
    }

    /// How many tags the object has (`x-amz-tagging-count`, which S3, MinIO, Ceph and moto send
    /// when there are any).
    pub fn tag_count(&self) -> u32 {
        self.tag_count
    }
}

impl Deref for Fetched {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.data {
            Data::Memory(v) => v,
            Data::Mapped(m) => m,
        }
    }
}

impl AsRef<[u8]> for Fetched {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fetched({} bytes{})", self.len(), if self.is_spooled() { ", spooled" } else { "" })
    }
}

impl Objects {
    /// The whole object. Bodies up to [`SPOOL_THRESHOLD`] are held in memory, bigger ones are
    /// streamed into an unlinked temporary file (under `$TMPDIR`) and memory-mapped. Transient
    /// failures, a body broken mid-way included, are retried from the start. An object over the
    /// client's maximum is refused with [`TOO_LARGE`](crate::TOO_LARGE) as soon as its
    /// `Content-Length` (or, without one, its body) says so.
    pub async fn fetch(&self, bucket: &str, key: &str) -> Result<Fetched, ObjectError> {
        let fetched = self.retrying("GetObject", bucket, key, || self.fetch_once(bucket, key)).await?;
        tracing::debug!(bucket, key, size = fetched.len(), spooled = fetched.is_spooled(), "fetched object");
        Ok(fetched)
    }

    async fn fetch_once(&self, bucket: &str, key: &str) -> Result<Fetched, ObjectError> {
        let out =
            self.client.get_object().bucket(bucket).key(key).send().await.map_err(ObjectError::from_sdk)?;
        let expected = out.content_length().and_then(|n| u64::try_from(n).ok());
        let tag_count = out.tag_count().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        if let Some(n) = expected.filter(|n| *n > self.max_object_bytes) {
            return Err(self.too_large(&format!("{n} bytes")));
        }
        let mut body = out.body;
        let mut memory = Vec::with_capacity(expected.unwrap_or(0).min(SPOOL_THRESHOLD) as usize);
        let mut spool = match expected {
            Some(n) if n > SPOOL_THRESHOLD => Some(Spool::create()?),
            _ => None,
        };
        let mut received = 0u64;
        while let Some(chunk) = next_chunk(&mut body, received, expected).await? {
            let chunk = chunk.as_ref();
            received += chunk.len() as u64;
            if received > self.max_object_bytes {
                return Err(self.too_large(&format!("over {received} bytes")));
            }
            if spool.is_none() && received > SPOOL_THRESHOLD {
                // No or wrong Content-Length: switch to the file once the threshold is passed.
                let mut s = Spool::create()?;
                s.write(&std::mem::take(&mut memory)).await?;
                spool = Some(s);
            }
            match &mut spool {
                Some(s) => s.write(chunk).await?,
                None => memory.extend_from_slice(chunk),
            }
        }
        if let Some(n) = expected.filter(|n| *n != received) {
            return Err(ObjectError::transport(
                "InternalError",
                format!("the object's body ended after {received} of {n} bytes"),
            ));
        }
        let data = match spool {
            Some(s) => s.finish().await?,
            None => Data::Memory(memory),
        };
        Ok(Fetched { data, tag_count })
    }

    fn too_large(&self, size: &str) -> ObjectError {
        ObjectError {
            code: crate::TOO_LARGE.into(),
            message: format!(
                "the object is {size}; this service inspects objects of at most {} bytes                  (STOWAWAY_MAX_OBJECT_MB)",
                self.max_object_bytes
            ),
            status: None,
            transient: false,
        }
    }
}

async fn next_chunk(
    body: &mut ByteStream,
    received: u64,
    expected: Option<u64>,
) -> Result<Option<impl AsRef<[u8]>>, ObjectError> {
    let of = expected.map(|n| format!(" of {n}")).unwrap_or_default();
    match tokio::time::timeout(BODY_IDLE_TIMEOUT, body.try_next()).await {
        Ok(Ok(chunk)) => Ok(chunk),
        Ok(Err(e)) => Err(ObjectError::transport(
            "InternalError",
            format!("the object's body broke off after {received}{of} bytes: {}", chain(&e)),
        )),
        Err(_) => Err(ObjectError::transport(
            "ServiceUnavailable",
            format!("the object's body stalled for {BODY_IDLE_TIMEOUT:?} after {received}{of} bytes"),
        )),
    }
}

/// An unlinked temporary file the body is written to, then mapped.
struct Spool(tokio::fs::File);

impl Spool {
    fn create() -> Result<Spool, ObjectError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir();
        let name = format!(
            ".stowaway-spool-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
        );
        let path = dir.join(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| local_error(&path, "create", e))?;
        // Unlinked at once: the space is freed when the mapping and the handle go, even on a crash.
        std::fs::remove_file(&path).map_err(|e| local_error(&path, "unlink", e))?;
        Ok(Spool(tokio::fs::File::from_std(file)))
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), ObjectError> {
        self.0.write_all(bytes).await.map_err(|e| local_error(&std::env::temp_dir(), "write to", e))
    }

    async fn finish(mut self) -> Result<Data, ObjectError> {
        let tmp = std::env::temp_dir();
        self.0.flush().await.map_err(|e| local_error(&tmp, "write to", e))?;
        let file: File = self.0.into_std().await;
        // SAFETY: the file is private to this process (created 0600 and unlinked at once) and is
        // never written again, so the mapped bytes cannot change under the reader.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| local_error(&tmp, "map a file in", e))?;
        Ok(Data::Mapped(map))
    }
}

fn local_error(path: &Path, what: &str, e: std::io::Error) -> ObjectError {
    ObjectError {
        code: "InternalError".to_string(),
        message: format!("cannot {what} the spool file in {}: {e}", path.display()),
        status: None,
        transient: false,
    }
}
