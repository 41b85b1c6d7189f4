//! Workflows and their runs against a real PostgreSQL (`#[sqlx::test]`, one database per test).
use sqlx::PgPool;
use stowaway_store::{job_id_of, run_id_of, JobFilter, Store, UpdateRefused, WorkflowFilter};
use stowaway_wire::{parse_workflow, WorkflowState};

const BUCKET: &str = "examplebucket-1250000000";

fn workflow(name: &str, state: &str) -> stowaway_wire::WorkflowSpec {
    let body = format!(
        "<Request><MediaWorkflow><Name>{name}</Name><State>{state}</State><Topology><Dependencies>\
         <Start>ImageInspectNode</Start><ImageInspectNode>End</ImageInspectNode></Dependencies><Nodes>\
         <Start><Type>Start</Type><Input><ObjectPrefix>up/</ObjectPrefix><NotifyConfig><Url>https://example.com/cb\
         </Url><Event>WorkflowFinish</Event></NotifyConfig></Input></Start><ImageInspectNode><Type>ImageInspect\
         </Type></ImageInspectNode></Nodes></Topology></MediaWorkflow></Request>"
    );
    parse_workflow(body.as_bytes()).unwrap()
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn an_upload_told_twice_makes_one_run_beside_a_clients_job(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let queue = store.ensure_queue(BUCKET, "ap-chongqing").await.unwrap();
    let w = store.create_workflow(BUCKET, &workflow("w", "Active")).await.unwrap();
    let run = w.run(&queue, "up/a b.png", Some("upload-1"));
    assert!(run.once);
    assert_eq!(run.job_id, w.run(&queue, "up/a b.png", Some("upload-1")).job_id, "derived from the upload");
    assert_ne!(run.job_id, w.run(&queue, "up/a b.png", Some("upload-2")).job_id);
    let client = stowaway_store::NewJob {
        job_id: "cclient".into(),
        request: serde_json::json!({"object": "up/a b.png"}),
        once: false,
        ..run.clone()
    };

    // The same upload twice in one statement, beside a client's job, then once more later.
    let records = store.insert_jobs(&[run.clone(), client, run.clone()]).await.unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(store.insert_jobs(std::slice::from_ref(&run)).await.unwrap().is_empty(), "already inserted");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(count, 2);

    // The job is the run: its RunId, its callbacks, listed by workflow.
    let job = &store.jobs_by_id(BUCKET, std::slice::from_ref(&run.job_id)).await.unwrap()[0];
    let r = job.run().expect("a workflow's job");
    assert_eq!(Some(r.workflow.run_id.clone()), run_id_of(&run.job_id));
    assert_eq!(job_id_of(&r.workflow.run_id), Some(run.job_id.clone()));
    assert_eq!(r.view(true).state, "Running");
    let filter = JobFilter {
        bucket: BUCKET.into(),
        workflow_id: Some(w.workflow_id.clone()),
        limit: 10,
        ..JobFilter::default()
    };
    let listed = store.list_jobs(&filter).await.unwrap();
    assert_eq!(listed.iter().map(|j| j.job_id.as_str()).collect::<Vec<_>>(), [run.job_id.as_str()]);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn an_active_workflow_is_changed_only_once_paused(pool: PgPool) {
    let store = Store::from_pool(pool);
    let w = store.create_workflow(BUCKET, &workflow("w", "")).await.unwrap();
    assert_eq!(w.state, WorkflowState::Paused, "no state asked: Paused");
    assert!(store.active_workflows(BUCKET).await.unwrap().is_empty());
    assert!(store.set_workflow_state(BUCKET, &w.workflow_id, WorkflowState::Active).await.unwrap());
    let refused = store.update_workflow(BUCKET, &w.workflow_id, &workflow("renamed", "")).await.unwrap();
    assert_eq!(refused.unwrap_err(), UpdateRefused::Active);
    assert!(store.set_workflow_state(BUCKET, &w.workflow_id, WorkflowState::Paused).await.unwrap());
    let updated =
        store.update_workflow(BUCKET, &w.workflow_id, &workflow("renamed", "")).await.unwrap().unwrap();
    assert_eq!((updated.spec.name.as_str(), updated.state), ("renamed", WorkflowState::Paused));
    let unknown = store.update_workflow(BUCKET, "wnope", &workflow("x", "")).await.unwrap();
    assert_eq!(unknown.unwrap_err(), UpdateRefused::Unknown);
    assert!(!store.set_workflow_state("otherbucket", &w.workflow_id, WorkflowState::Active).await.unwrap());

    let all = WorkflowFilter { limit: 10, ..WorkflowFilter::default() };
    assert_eq!(store.workflows(BUCKET, &all).await.unwrap().0, 1);
    assert!(store.delete_workflow(BUCKET, &w.workflow_id).await.unwrap());
    assert!(!store.delete_workflow(BUCKET, &w.workflow_id).await.unwrap());
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn ensuring_a_workflow_twice_makes_one(pool: PgPool) {
    let store = Store::from_pool(pool);
    let (first, created) = store.ensure_workflow(BUCKET, &workflow("uploads", "Active")).await.unwrap();
    assert!(created && first.state == WorkflowState::Active);
    let (again, created) = store.ensure_workflow(BUCKET, &workflow("uploads", "Active")).await.unwrap();
    assert!(!created);
    assert_eq!(again.workflow_id, first.workflow_id);
    assert_eq!(store.active_workflows(BUCKET).await.unwrap().len(), 1);
}
