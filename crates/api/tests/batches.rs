//! `/inventorytriggerjob` through the router against the real PostgreSQL: cancel in each SDK's
//! spelling (children not yet started cancelled with it), and a batch's children found by
//! `GET /jobs?inventoryTriggerJobId=`. The listing itself is the worker's (crates/stowaway/tests).
mod common;

use std::time::Duration;

use common::{app, call, HOST};
use sqlx::PgPool;
use stowaway_api::ApiConfig;
use stowaway_store::{batch_children, PageListed, Store};

const BATCH: &str = "<Request><Name>one</Name><Type>Job</Type><Input><Object>in/a.png</Object></Input>\
<Operation><Tag>ImageInspect</Tag></Operation></Request>";

/// Creates a batch over one object and makes its child as the lister's step would.
async fn batch_with_child(app: &axum::Router, store: &Store) -> String {
    let created = call(app, "POST", "/inventorytriggerjob", Some(HOST), BATCH).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = created.get("JobId").to_string();
    let lister = uuid::Uuid::new_v4();
    let claimed = store.claim_batches(lister, 10, Duration::from_secs(60)).await.unwrap();
    let batch = claimed.into_iter().find(|b| b.batch_id == id).expect("claimed");
    let queue = store.queue_of_bucket(&batch.bucket).await.unwrap().unwrap();
    store.insert_jobs(&batch_children(&batch, &queue, &[], "in/a.png")).await.unwrap();
    let step = PageListed {
        id: batch.id,
        attempt: batch.attempt,
        next_page: None,
        failed: None,
        wait: Duration::ZERO,
    };
    assert_eq!(store.record_pages(lister, &[step]).await.unwrap(), 1);
    id
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn cancel_in_every_spelling_takes_the_waiting_children_with_it(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let app = app(pool.clone(), ApiConfig::default());
    for cancel in ["?cancel", "?cancel=", ""] {
        let id = batch_with_child(&app, &store).await;
        let children =
            call(&app, "GET", &format!("/jobs?tag=ImageInspect&inventoryTriggerJobId={id}"), Some(HOST), "")
                .await;
        assert_eq!(children.all("JobId").len(), 1, "{}", children.body);
        assert_eq!(children.get("State"), "Submitted");
        let running = call(&app, "GET", &format!("/inventorytriggerjob/{id}"), Some(HOST), "").await;
        assert_eq!((running.get("State"), running.get("Progress")), ("Running", "0"), "{}", running.body);

        let done = call(&app, "PUT", &format!("/inventorytriggerjob/{id}{cancel}"), Some(HOST), "").await;
        assert_eq!((done.status.as_u16(), done.body.as_str()), (200, ""), "PUT …{cancel}");
        let batch = call(&app, "GET", &format!("/inventorytriggerjob/{id}"), Some(HOST), "").await;
        assert_eq!(batch.get("State"), "Cancel", "{}", batch.body);
        let child = call(&app, "GET", &format!("/jobs?inventoryTriggerJobId={id}"), Some(HOST), "").await;
        assert_eq!(child.get("State"), "Cancel", "{}", child.body);
    }
    let unknown =
        call(&app, "PUT", &format!("/inventorytriggerjob/b{}?cancel", "0".repeat(32)), Some(HOST), "").await;
    assert_eq!((unknown.status.as_u16(), unknown.error_code()), (404, "NoSuchJob"));
    let none = call(&app, "GET", "/jobs?inventoryTriggerJobId=bnothing", Some(HOST), "").await;
    assert!(none.all("JobId").is_empty(), "{}", none.body);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn refused_batches_say_why(pool: PgPool) {
    let app = app(pool, ApiConfig::default());
    let manifest = BATCH.replace("<Object>in/a.png</Object>", "<Manifest>manifest.json</Manifest>");
    let r = call(&app, "POST", "/inventorytriggerjob", Some(HOST), &manifest).await;
    assert_eq!((r.status.as_u16(), r.error_code()), (400, "InvalidArgument"));
    let queue = BATCH.replace("<Tag>", "<QueueId>pnotours</QueueId><Tag>");
    let r = call(&app, "POST", "/inventorytriggerjob", Some(HOST), &queue).await;
    assert_eq!((r.status.as_u16(), r.error_code()), (404, "NoSuchQueue"));
    let flow = "<Request><Name>f</Name><Type>Workflow</Type><Input><Prefix>/</Prefix></Input>\
                <Operation><WorkflowIds>wnothere</WorkflowIds></Operation></Request>";
    let r = call(&app, "POST", "/inventorytriggerjob", Some(HOST), flow).await;
    assert_eq!((r.status.as_u16(), r.error_code()), (404, "NoSuchWorkflow"));
}
