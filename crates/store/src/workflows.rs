//! Workflows (`/workflow`): what starts a run on an upload. A run is one job (its RunId shares
//! the job's hex digits, `WorkflowRun`), so runs are read from `jobs` (`jobs_workflow` index).
use chrono::{DateTime, Utc};
use serde_json::Value;
use stowaway_wire::{WorkflowSpec, WorkflowState};

use crate::{Result, Store};

/// A stored workflow.
#[derive(Clone, Debug)]
pub struct WorkflowRecord {
    pub workflow_id: String,
    pub bucket: String,
    pub state: WorkflowState,
    pub spec: WorkflowSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    workflow_id: String,
    bucket: String,
    active: bool,
    spec: Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "workflow_id, bucket, active, spec, created_at, updated_at";

impl TryFrom<Row> for WorkflowRecord {
    type Error = crate::Error;

    fn try_from(r: Row) -> Result<WorkflowRecord> {
        let spec =
            serde_json::from_value(r.spec).map_err(|e| crate::Error::unreadable("workflows.spec", e))?;
        let state = if r.active { WorkflowState::Active } else { WorkflowState::Paused };
        Ok(WorkflowRecord {
            workflow_id: r.workflow_id,
            bucket: r.bucket,
            state,
            spec,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn records(rows: Vec<Row>) -> Result<Vec<WorkflowRecord>> {
    rows.into_iter().map(WorkflowRecord::try_from).collect()
}

/// Why an update was refused; nothing changed then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateRefused {
    Unknown,
    /// Tencent changes a workflow's configuration only while it is Paused.
    Active,
}

/// `GET /workflow` filters.
#[derive(Clone, Debug, Default)]
pub struct WorkflowFilter {
    pub ids: Option<Vec<String>>,
    pub name: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

async fn insert(db: impl sqlx::PgExecutor<'_>, bucket: &str, spec: &WorkflowSpec) -> Result<WorkflowRecord> {
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO workflows (workflow_id, bucket, name, active, spec) VALUES ($1, $2, $3, $4, $5)
         RETURNING {COLUMNS}"
    ))
    .bind(format!("w{}", uuid::Uuid::new_v4().simple()))
    .bind(bucket)
    .bind(&spec.name)
    .bind(spec.initial_state() == WorkflowState::Active)
    .bind(serde_json::to_value(spec).expect("plain data"))
    .fetch_one(db)
    .await?;
    row.try_into()
}

impl Store {
    /// Stores a new workflow (`state` as asked, Paused when not given).
    pub async fn create_workflow(&self, bucket: &str, spec: &WorkflowSpec) -> Result<WorkflowRecord> {
        insert(&self.pool, bucket, spec).await
    }

    /// The bucket's workflow named like `spec`, created from it if there is none (`true` then).
    /// Serialised per bucket and name, so two deployments starting at once make one.
    pub async fn ensure_workflow(&self, bucket: &str, spec: &WorkflowSpec) -> Result<(WorkflowRecord, bool)> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))")
            .bind(bucket)
            .bind(&spec.name)
            .execute(&mut *tx)
            .await?;
        let existing: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM workflows WHERE bucket = $1 AND name = $2 ORDER BY created_at LIMIT 1"
        ))
        .bind(bucket)
        .bind(&spec.name)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = existing {
            return Ok((row.try_into()?, false));
        }
        let created = insert(&mut *tx, bucket, spec).await?;
        tx.commit().await?;
        Ok((created, true))
    }

    /// Replaces a Paused workflow's configuration (its state too, if `spec` asks for one).
    pub async fn update_workflow(
        &self,
        bucket: &str,
        workflow_id: &str,
        spec: &WorkflowSpec,
    ) -> Result<std::result::Result<WorkflowRecord, UpdateRefused>> {
        let mut tx = self.pool.begin().await?;
        let active: Option<bool> = sqlx::query_scalar(
            "SELECT active FROM workflows WHERE bucket = $1 AND workflow_id = $2 FOR UPDATE",
        )
        .bind(bucket)
        .bind(workflow_id)
        .fetch_optional(&mut *tx)
        .await?;
        match active {
            None => return Ok(Err(UpdateRefused::Unknown)),
            Some(true) => return Ok(Err(UpdateRefused::Active)),
            Some(false) => {}
        }
        let row: Row = sqlx::query_as(&format!(
            "UPDATE workflows SET name = $3, spec = $4, active = coalesce($5, active), updated_at = now()
             WHERE bucket = $1 AND workflow_id = $2 RETURNING {COLUMNS}"
        ))
        .bind(bucket)
        .bind(workflow_id)
        .bind(&spec.name)
        .bind(serde_json::to_value(spec).expect("plain data"))
        .bind(spec.state.map(|s| s == WorkflowState::Active))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(row.try_into()?))
    }

    /// Turns a workflow on or off; false if the bucket has no such workflow.
    pub async fn set_workflow_state(
        &self,
        bucket: &str,
        workflow_id: &str,
        state: WorkflowState,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE workflows SET active = $3, updated_at = now() WHERE bucket = $1 AND workflow_id = $2",
        )
        .bind(bucket)
        .bind(workflow_id)
        .bind(state == WorkflowState::Active)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a workflow; its runs (jobs) stay until the pruner takes them. False if unknown.
    pub async fn delete_workflow(&self, bucket: &str, workflow_id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM workflows WHERE bucket = $1 AND workflow_id = $2")
            .bind(bucket)
            .bind(workflow_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One page of the bucket's workflows (oldest first) and how many match in all.
    pub async fn workflows(&self, bucket: &str, f: &WorkflowFilter) -> Result<(i64, Vec<WorkflowRecord>)> {
        let filter = "bucket = $1 AND ($2::text[] IS NULL OR workflow_id = ANY($2))
                      AND ($3::text IS NULL OR name = $3)";
        let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM workflows WHERE {filter}"))
            .bind(bucket)
            .bind(&f.ids)
            .bind(&f.name)
            .fetch_one(&self.pool)
            .await?;
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM workflows WHERE {filter}
             ORDER BY created_at, workflow_id OFFSET $4 LIMIT $5"
        ))
        .bind(bucket)
        .bind(&f.ids)
        .bind(&f.name)
        .bind(f.offset)
        .bind(f.limit)
        .fetch_all(&self.pool)
        .await?;
        Ok((total, records(rows)?))
    }

    /// One workflow of the bucket.
    pub async fn workflow(&self, bucket: &str, workflow_id: &str) -> Result<Option<WorkflowRecord>> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM workflows WHERE bucket = $1 AND workflow_id = $2"
        ))
        .bind(bucket)
        .bind(workflow_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(WorkflowRecord::try_from).transpose()
    }

    /// The bucket's active workflows: what an upload there is matched against.
    pub async fn active_workflows(&self, bucket: &str) -> Result<Vec<WorkflowRecord>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM workflows WHERE bucket = $1 AND active ORDER BY created_at, workflow_id"
        ))
        .bind(bucket)
        .fetch_all(&self.pool)
        .await?;
        records(rows)
    }

    /// Every bucket's Active workflows (what polls walk).
    pub async fn all_active_workflows(&self) -> Result<Vec<WorkflowRecord>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM workflows WHERE active ORDER BY bucket, created_at"
        ))
        .fetch_all(&self.pool)
        .await?;
        records(rows)
    }

    /// Where a workflow's first poll found its prefix and how far it has been polled since (the
    /// store's Last-Modified); `None` before its first poll.
    pub async fn poll_cursor(&self, workflow_id: &str) -> Result<Option<(DateTime<Utc>, DateTime<Utc>)>> {
        sqlx::query_as("SELECT since, seen_until FROM workflow_polls WHERE workflow_id = $1")
            .bind(workflow_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(crate::Error::from)
    }

    /// Moves a workflow's poll cursor forward to `seen_until` (never back: two pollers may race);
    /// the first call also sets where polling began.
    pub async fn advance_poll_cursor(&self, workflow_id: &str, seen_until: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO workflow_polls (workflow_id, since, seen_until) SELECT $1, $2, $2
             WHERE EXISTS (SELECT 1 FROM workflows WHERE workflow_id = $1)
             ON CONFLICT (workflow_id) DO UPDATE
             SET seen_until = greatest(workflow_polls.seen_until, EXCLUDED.seen_until), polled_at = now()",
        )
        .bind(workflow_id)
        .bind(seen_until)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
