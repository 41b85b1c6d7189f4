//! What operators ask of the database: is it reachable and migrated (`/readyz`), and how much
//! work is waiting (`/metrics`). Each count reads a table of waiting or running work, or a partial
//! index, so a scrape stays cheap however large the history grows.
use crate::maintenance::no_jit;
use crate::model::{delivery_state, running_under_claims};
use crate::{Result, Store, MIGRATOR};

/// Work waiting, at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Backlog {
    /// Jobs waiting to be claimed (`Submitted`).
    pub queued: i64,
    /// Jobs a worker holds (`Running`).
    pub running: i64,
    /// Jobs waiting out a storage outage (`Retrying`).
    pub retrying: i64,
    /// Age of the oldest `Submitted` job, in seconds (0 when none).
    pub oldest_queued_secs: f64,
    /// Callbacks waiting to be sent, or being sent.
    pub callbacks: i64,
}

/// One statement: the state machine's tables (migration 0019), each small however large the
/// history grows. Running jobs are the jobs of the claims held.
macro_rules! oldest_submitted {
    ($level:literal) => {
        concat!(
            "(SELECT created_at FROM job_ready WHERE job_level = ",
            $level,
            " ORDER BY job_level DESC, created_at LIMIT 1)"
        )
    };
}
const BACKLOG: &str = concat!(
    "SELECT (SELECT count(*) FROM job_ready), (SELECT count(*) FROM ",
    running_under_claims!(""),
    "), (SELECT count(*) FROM job_retries), COALESCE(EXTRACT(EPOCH FROM now() - LEAST(",
    oldest_submitted!("2"),
    ", ",
    oldest_submitted!("1"),
    ", ",
    oldest_submitted!("0"),
    "))::float8, 0), (SELECT count(*) FROM deliveries WHERE state IN (",
    delivery_state!(Pending, Sending),
    "))"
);

impl Store {
    /// A round trip to the database.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Migrations this binary knows that the database has not applied successfully.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        let applied: Vec<i64> = match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&self.pool)
            .await
        {
            Ok(v) => v,
            // No migrations table at all: nothing applied.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(MIGRATOR.iter().map(|m| m.version).filter(|v| !applied.contains(v)).collect())
    }

    pub async fn backlog(&self) -> Result<Backlog> {
        let mut tx = self.pool.begin().await?;
        no_jit(&mut tx).await?;
        let (queued, running, retrying, oldest_queued_secs, callbacks): (i64, i64, i64, f64, i64) =
            sqlx::query_as(BACKLOG).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(Backlog { queued, running, retrying, oldest_queued_secs, callbacks })
    }

    /// Closes the pool: waits for connections in use to come back, then closes them all.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
