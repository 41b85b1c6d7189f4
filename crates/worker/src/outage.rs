//! How a job waits out an unreachable object store: a transient failure never decides a verdict.
//! The job is handed back (Retrying) with backoff, and fails only once the store has been out of
//! reach for `retry_for` since the job first met the outage, with the store's code. While the
//! breaker (`objects::Breaker`) is open, a job that reaches its turn is handed back without a
//! request, unless it is the probe.
use std::time::Duration;

use stowaway_objects::ObjectError;
use stowaway_store::{Claimed, Completion};

/// The wait after the first hand-back; it doubles with each, up to [`LONGEST_DELAY`].
const FIRST_DELAY: Duration = Duration::from_secs(1);
const LONGEST_DELAY: Duration = Duration::from_secs(60);

/// The wait before a job handed back `retries` times before runs again (±20 % jitter, so jobs
/// handed back together do not return together).
pub fn retry_delay(retries: i32) -> Duration {
    let doubled = FIRST_DELAY.saturating_mul(1 << retries.clamp(0, 16));
    doubled.min(LONGEST_DELAY).mul_f64(0.8 + 0.4 * fastrand::f64())
}

/// The job handed back to retry after `e`; `Err` with the error to fail it with once its budget
/// (`retry_for` since it first met the outage) is spent.
pub fn hand_back(job: &Claimed, e: &ObjectError, retry_for: Duration) -> Result<Completion, ObjectError> {
    let waited = job
        .retrying_since
        .map(|since| (chrono::Utc::now() - since).to_std().unwrap_or_default())
        .unwrap_or_default();
    if waited >= retry_for {
        return Err(ObjectError {
            message: format!(
                "{} (the object store could not be reached for {} s; given up after {} tries)",
                e.message,
                waited.as_secs(),
                job.retries + 1
            ),
            ..e.clone()
        });
    }
    let delay = retry_delay(job.retries);
    tracing::warn!(code = %e.code, retries = job.retries, delay_ms = delay.as_millis() as u64,
        "the object store cannot be reached; the job waits and runs again");
    Ok(Completion::retry_in(job, delay, e.to_string()))
}

/// The error a job is handed back with when the breaker is open and it is not the probe.
pub fn breaker_open(since_error: &str) -> ObjectError {
    ObjectError {
        code: "ServiceUnavailable".into(),
        message: format!("not tried: the object store is unreachable ({since_error})"),
        status: None,
        transient: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stowaway_store::JobState;

    fn job(retries: i32, since_secs: Option<i64>) -> Claimed {
        Claimed {
            id: 1,
            job_id: "c1".into(),
            attempt: retries + 1,
            bucket: "b".into(),
            region: "r".into(),
            object: "o".into(),
            request: serde_json::Value::Null,
            result: None,
            retries,
            retrying_since: since_secs.map(|s| chrono::Utc::now() - chrono::Duration::seconds(s)),
        }
    }

    #[test]
    fn delays_double_from_a_second_to_a_minute_with_jitter() {
        for (retries, nominal) in [(0, 1.0), (1, 2.0), (3, 8.0), (6, 60.0), (40, 60.0), (-1, 1.0)] {
            let d = retry_delay(retries).as_secs_f64();
            assert!(d >= nominal * 0.8 && d <= nominal * 1.2, "{retries}: {d}");
        }
    }

    #[test]
    fn a_job_waits_until_its_budget_in_time_is_spent_then_fails_with_the_stores_code() {
        let refused = ObjectError {
            code: "ServiceUnavailable".into(),
            message: "cannot reach the S3 store: Connection refused".into(),
            status: None,
            transient: true,
        };
        let hour = Duration::from_secs(3600);
        let c = hand_back(&job(0, None), &refused, hour).unwrap();
        assert_eq!((c.state, c.attempt), (JobState::Retrying, 1));
        assert!(c.retry_in.unwrap() <= Duration::from_millis(1200));
        assert!(c.error.unwrap().contains("Connection refused"));
        assert!(hand_back(&job(30, Some(3599)), &refused, hour).is_ok(), "59 min 59 s into an hour");
        let failed = hand_back(&job(31, Some(3601)), &refused, hour).unwrap_err();
        assert_eq!(failed.code, "ServiceUnavailable");
        assert!(failed.message.contains("could not be reached for 3601 s"), "{}", failed.message);
        assert!(failed.message.contains("after 32 tries"), "{}", failed.message);
    }
}
