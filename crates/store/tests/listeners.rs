//! Wake-ups from other processes (LISTEN) against a real PostgreSQL.
use std::time::Duration;

use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use stowaway_store::{NewJob, Store};

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn listeners_leave_the_pool_to_statements(_: PgPoolOptions, options: PgConnectOptions) {
    // One connection, as a process with `STOWAWAY_DB_CONNECTIONS=1` has, and all three listeners.
    let store = Store::from_pool(Store::pool_options(1).connect_with(options.clone()).await.unwrap());
    let mut jobs = store.listen_for_jobs().await;
    let callbacks = store.listen_for_callbacks().await;
    let batches = store.listen_for_batches().await;
    let queue =
        tokio::time::timeout(Duration::from_secs(3), store.ensure_queue("b-1250000000", "ap-chongqing"))
            .await
            .expect("a statement waited for a connection the listeners held")
            .unwrap();

    // Another process's submit still wakes the worker's listener.
    let other = Store::from_pool(Store::pool_options(2).connect_with(options).await.unwrap());
    let job = NewJob {
        job_id: "c0".into(),
        queue_id: queue.queue_id,
        bucket: "b-1250000000".into(),
        region: "ap-chongqing".into(),
        object: "a.png".into(),
        job_level: 1,
        request: json!({}),
        once: false,
    };
    other.insert_jobs(&[job]).await.unwrap();
    // Under the 5 s after which a listener without a connection returns anyway.
    tokio::time::timeout(Duration::from_secs(2), jobs.next()).await.expect("no wake-up from the other store");
    drop((jobs, callbacks, batches));
    store.pool().close().await;
    other.pool().close().await;
}
