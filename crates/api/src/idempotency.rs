//! `Idempotency-Key` on `POST /jobs` (Stowaway's extension, Stripe's convention; Tencent's SDKs
//! do not send it): a client that lost the answer to a submit can send it again and get the
//! first job back instead of a second one. The key names the job: its id is derived from the
//! bucket and the key, and inserted at most once (`NewJob::once`), so two repeats racing each
//! other still make one job. A key is honoured while its job is kept (`STOWAWAY_RETENTION_DAYS`).
use axum::http::HeaderMap;
use stowaway_store::{JobRecord, NewJob, Store};
use stowaway_wire::WireError;

use crate::error::{ApiError, ApiResult};

pub const HEADER: &str = "idempotency-key";
const MAX_LEN: usize = 255;
/// The namespace of job ids derived from keys (a fixed, random UUID).
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x8a41_d3a6_5c2e_4f0b_9a57_1d3e_6c0b_72f4);

/// The request's key: absent, or 1–255 visible ASCII characters, once.
pub fn key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let mut values = headers.get_all(HEADER).iter();
    let Some(value) = values.next() else { return Ok(None) };
    let refused = |why: &str| ApiError::invalid(format!("Idempotency-Key {why}"));
    if values.next().is_some() {
        return Err(refused("is given more than once"));
    }
    let key = value.to_str().ok().filter(|k| !k.is_empty() && k.len() <= MAX_LEN);
    match key {
        Some(k) if k.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(k.to_string())),
        _ => Err(refused(&format!("must be 1 to {MAX_LEN} visible ASCII characters"))),
    }
}

/// The job id `key` stands for in `bucket`: `c` and 32 hex digits, like any job id.
pub fn job_id(bucket: &str, key: &str) -> String {
    let name = format!("{bucket}\n{key}");
    format!("c{}", uuid::Uuid::new_v5(&NAMESPACE, name.as_bytes()).simple())
}

pub enum Submit {
    New(JobRecord),
    /// The key's job, as it is now.
    Repeat(JobRecord),
}

/// Inserts `job` unless its key's job exists; a key sent again with another object or other
/// options is refused (409), as it would otherwise answer for a job the client did not ask for.
pub async fn first_or_submit(store: &Store, job: NewJob, key: &str) -> ApiResult<Submit> {
    if let Some(record) = store.insert_jobs(std::slice::from_ref(&job)).await?.pop() {
        return Ok(Submit::New(record));
    }
    let first = store.jobs_by_id(&job.bucket, std::slice::from_ref(&job.job_id)).await?.pop();
    match first {
        Some(first) if first.object == job.object && first.request == job.request => {
            Ok(Submit::Repeat(first))
        }
        Some(first) => Err(ApiError::Client(WireError::new(
            409,
            "IdempotentParameterMismatch",
            format!(
                "Idempotency-Key {key:?} was first sent with another request (job {}, object {:?})",
                first.job_id, first.object
            ),
        ))),
        // Its queue was deleted meanwhile, as when a submit races a deletion.
        None => Err(stowaway_store::Error::NoSuchQueue.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_names_one_job_per_bucket() {
        let id = job_id("examplebucket-1250000000", "order-7");
        assert_eq!(id.len(), 33);
        assert!(id.starts_with('c') && id[1..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(id, job_id("examplebucket-1250000000", "order-7"));
        assert_ne!(id, job_id("otherbucket-1250000000", "order-7"));
        assert_ne!(id, job_id("examplebucket-1250000000", "order-8"));
    }

    #[test]
    fn keys_are_visible_ascii_given_once() {
        let with = |values: &[&str]| {
            let mut h = HeaderMap::new();
            values.iter().for_each(|v| {
                h.append(HEADER, v.parse().unwrap());
            });
            key(&h).map_err(|e| format!("{e:?}"))
        };
        assert_eq!(with(&[]).unwrap(), None);
        assert_eq!(with(&["a1-B2_c3"]).unwrap().as_deref(), Some("a1-B2_c3"));
        assert!(with(&["a", "b"]).unwrap_err().contains("more than once"));
        assert!(with(&["has space"]).is_err());
        assert!(with(&[&"k".repeat(256)]).is_err());
        assert!(with(&[&"k".repeat(255)]).is_ok());
    }
}
