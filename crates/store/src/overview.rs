//! What the console's overview shows of a bucket: its jobs by state, by hour with how many were
//! suspicious and of which payload type, since a moment (`jobs`' bucket-and-time index, or
//! `job_suspicious` for the suspicious jobs alone).
use chrono::{DateTime, Utc};

use crate::{JobState, Result, Store};

#[derive(Clone, Debug, Default)]
pub struct Overview {
    pub by_state: Vec<(JobState, i64)>,
    /// (hour, jobs, suspicious), oldest first; hours without jobs left out.
    pub by_hour: Vec<(DateTime<Utc>, i64, i64)>,
    /// (SuspiciousType, jobs), most first.
    pub by_type: Vec<(String, i64)>,
    /// (hour, SuspiciousType, jobs), oldest first.
    pub by_hour_and_type: Vec<(DateTime<Utc>, String, i64)>,
}

impl Store {
    pub async fn overview(&self, bucket: &str, since: DateTime<Utc>) -> Result<Overview> {
        let states: Vec<(i16, i64)> = sqlx::query_as(
            "SELECT state, count(*) FROM jobs WHERE bucket = $1 AND created_at >= $2 GROUP BY 1",
        )
        .bind(bucket)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let by_hour = sqlx::query_as(
            "SELECT date_trunc('hour', created_at), count(*),
                    count(*) FILTER (WHERE result->'ProcessResult'->>'Suspicious' = 'true')
             FROM jobs WHERE bucket = $1 AND created_at >= $2 GROUP BY 1 ORDER BY 1",
        )
        .bind(bucket)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let by_hour_and_type: Vec<(DateTime<Utc>, String, i64)> = sqlx::query_as(
            "SELECT date_trunc('hour', created_at), suspicious_type, count(*)
             FROM job_suspicious WHERE bucket = $1 AND created_at >= $2
             GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .bind(bucket)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut by_type: Vec<(String, i64)> = Vec::new();
        for (_, kind, n) in &by_hour_and_type {
            match by_type.iter_mut().find(|(k, _)| k == kind) {
                Some(entry) => entry.1 += n,
                None => by_type.push((kind.clone(), *n)),
            }
        }
        by_type.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let by_state =
            states.into_iter().filter_map(|(s, n)| Some((JobState::try_from(s).ok()?, n))).collect();
        Ok(Overview { by_state, by_hour, by_type, by_hour_and_type })
    }
}
