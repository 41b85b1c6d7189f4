//! Helpers shared by the store's test binaries (each uses some).
#![allow(dead_code)]

use serde_json::Value;
use sqlx::{PgConnection, PgPool};

/// Pages (shared buffers hit or read) that running `sql` on `conn` touched, what a function's
/// statements read included: a kept sequential scan tells from an index lookup by them.
pub async fn pages(conn: &mut PgConnection, sql: &str) -> i64 {
    let plan: Value = sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let top = &plan[0]["Plan"];
    top["Shared Hit Blocks"].as_i64().unwrap() + top["Shared Read Blocks"].as_i64().unwrap()
}

/// Moves job `id`'s creation `days` into the past, with the claim order's and the suspicious
/// listing's copies; `jobs`' trigger that refuses to change it is off for this transaction only.
pub async fn created_days_ago(pool: &PgPool, id: i64, days: i32) {
    sqlx::raw_sql(&format!(
        "BEGIN;
         SET LOCAL session_replication_role = replica;
         UPDATE jobs SET created_at = created_at - make_interval(days => {days}) WHERE id = {id};
         UPDATE job_ready SET created_at = created_at - make_interval(days => {days}) WHERE id = {id};
         UPDATE job_suspicious SET created_at = created_at - make_interval(days => {days}) WHERE id = {id};
         COMMIT;"
    ))
    .execute(pool)
    .await
    .unwrap();
}

/// Job `id`, finished, as it is `days` after it was created and finished.
pub async fn finished_days_ago(pool: &PgPool, id: i64, days: i32) {
    created_days_ago(pool, id, days).await;
    sqlx::query("UPDATE jobs SET finished_at = now() - make_interval(days => $2) WHERE id = $1")
        .bind(id)
        .bind(days)
        .execute(pool)
        .await
        .unwrap();
}
