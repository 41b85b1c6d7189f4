//! Polling a store that sends no bucket events (s3s-fs) against a real PostgreSQL: a workflow's
//! first poll only sets its cursor, later polls start one run per new upload its prefix and
//! ExtFilter admit, never twice, named as MinIO's event of the same upload would be.
use std::time::Duration;

use sqlx::PgPool;
use stowaway_engine::Service;
use stowaway_store::{JobFilter, Store};
use stowaway_testkit::{clean_png, fresh_bucket, S3Server};
use stowaway_wire::{parse_workflow, ObjectCreated};
use stowaway_worker::poller::WorkflowPoller;
use tokio::sync::watch;

const WORKFLOW: &str = "<Request><MediaWorkflow><Name>poll</Name><State>Active</State><Topology>\
<Dependencies><Start>ImageInspectNode</Start><ImageInspectNode>End</ImageInspectNode></Dependencies>\
<Nodes><Start><Type>Start</Type><Input><ObjectPrefix>up/</ObjectPrefix><ExtFilter><State>On</State>\
<Image>true</Image></ExtFilter></Input></Start><ImageInspectNode><Type>ImageInspect</Type>\
</ImageInspectNode></Nodes></Topology></MediaWorkflow></Request>";

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn polls_start_one_run_per_new_upload(pool: PgPool) {
    let store = Store::from_pool(pool);
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    let queue = store.ensure_queue(&bucket, "ap-chongqing").await.unwrap();
    let w = store.create_workflow(&bucket, &parse_workflow(WORKFLOW.as_bytes()).unwrap()).await.unwrap();
    let poller =
        WorkflowPoller { store: store.clone(), objects: objects.clone(), every: Duration::from_secs(1) };
    let (_stop, stopped) = watch::channel(false);
    let runs = || {
        let filter = JobFilter {
            bucket: bucket.clone(),
            workflow_id: Some(w.workflow_id.clone()),
            limit: 100,
            ..JobFilter::default()
        };
        let store = store.clone();
        async move {
            let mut objects: Vec<String> =
                store.list_jobs(&filter).await.unwrap().into_iter().map(|j| j.object).collect();
            objects.sort();
            objects
        }
    };

    objects.put(&bucket, "up/before.png", clean_png()).await.unwrap();
    poller.run_once(&stopped).await.unwrap();
    assert!(runs().await.is_empty(), "the first poll only sets the cursor");
    assert!(store.poll_cursor(&w.workflow_id).await.unwrap().is_some());

    for key in ["up/new one.png", "up/照片/猫+1.jpg", "up/notes.txt", "other/x.png"] {
        objects.put(&bucket, key, clean_png()).await.unwrap();
    }
    poller.run_once(&stopped).await.unwrap();
    assert_eq!(runs().await, ["up/new one.png", "up/照片/猫+1.jpg"]);
    poller.run_once(&stopped).await.unwrap();
    assert_eq!(runs().await.len(), 2, "a later poll starts nothing twice");

    // MinIO's event of the same upload (sequencer: Last-Modified in ns) names the same run.
    let listed = objects.list_page(&bucket, "up/new", None, 1000).await.unwrap().objects.remove(0);
    let event = ObjectCreated {
        bucket: bucket.clone(),
        key: listed.key.clone(),
        size: Some(listed.size),
        etag: Some(listed.etag.clone()),
        version_id: None,
        sequencer: Some(format!("{:X}", listed.modified_ms as u128 * 1_000_000 + 123)),
        content_type: Some("image/png".into()),
        event_name: "ObjectCreated:Put".into(),
    };
    let from_event = w.run(&queue, &listed.key, event.occurrence().as_deref());
    assert!(store.insert_jobs(&[from_event]).await.unwrap().is_empty(), "the poll's run already");

    // A paused workflow is not polled.
    store.set_workflow_state(&bucket, &w.workflow_id, stowaway_wire::WorkflowState::Paused).await.unwrap();
    objects.put(&bucket, "up/later.png", clean_png()).await.unwrap();
    poller.run_once(&stopped).await.unwrap();
    assert_eq!(runs().await.len(), 2);
}
