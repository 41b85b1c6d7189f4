//! `stowaway migrate` as an operator runs it, against the real PostgreSQL (`DATABASE_URL`).
use std::process::Command;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;

fn migrate(url: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stowaway"))
        .arg("migrate")
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into())
}

#[tokio::test]
async fn migrate_is_idempotent_and_fails_with_one_clear_line() {
    let server = std::env::var("DATABASE_URL").expect("DATABASE_URL (scripts/test.sh sets it)");
    let opts = PgConnectOptions::from_str(&server).unwrap();
    let db = format!("stowaway_migrate_test_{}", std::process::id());
    let mut admin = opts.connect().await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db}")).execute(&mut admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}")).execute(&mut admin).await.unwrap();
    let url = opts.clone().database(&db).to_url_lossy().to_string();

    for _ in 0..2 {
        let (code, err) = migrate(&url);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("migrations applied"));
    }
    let mut conn = opts.clone().database(&db).connect().await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('jobs', 'queues')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(tables, 2);
    drop(conn);
    sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)")).execute(&mut admin).await.unwrap();

    let (code, err) = migrate("postgres://nobody@127.0.0.1:1/none");
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "one line, no backtrace: {err}");
    assert!(err.starts_with("stowaway: connecting to the database:"), "{err}");
}
