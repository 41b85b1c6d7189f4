//! `POST /events/s3` through the router against the real PostgreSQL: what a sender is answered,
//! and which uploads become runs.
mod common;

use common::{app, call, send, HOST};
use sqlx::PgPool;
use stowaway_api::ApiConfig;
use stowaway_testkit::minio::MinioEvent;

const BUCKET: &str = "test-123456789";
const TOKEN: &str = "t0ken";
const WORKFLOW: &str = "<Request><MediaWorkflow><Name>uploads</Name><State>Active</State><Topology>\
<Dependencies><Start>ImageInspectNode</Start><ImageInspectNode>End</ImageInspectNode></Dependencies>\
<Nodes><Start><Type>Start</Type><Input><ObjectPrefix></ObjectPrefix></Input></Start><ImageInspectNode>\
<Type>ImageInspect</Type></ImageInspectNode></Nodes></Topology></MediaWorkflow></Request>";

async fn jobs(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn events_need_the_token_and_never_stall_the_sender(pool: PgPool) {
    let config = ApiConfig { events_token: Some(TOKEN.into()), ..ApiConfig::default() };
    let app = app(pool.clone(), config);
    assert_eq!(call(&app, "POST", "/workflow", Some(HOST), WORKFLOW).await.status, 200);
    let body = MinioEvent::example(BUCKET, "a.png").webhook_body();
    let bearer = format!("Bearer {TOKEN}");
    let post = |auth: Option<String>, body: String| {
        let app = app.clone();
        async move {
            let headers: Vec<(&str, &str)> =
                auth.as_deref().map(|a| ("authorization", a)).into_iter().collect();
            send(&app, "POST", "/events/s3", &headers, &body).await
        }
    };
    let refused = post(None, body.clone()).await;
    assert_eq!((refused.status.as_u16(), refused.error_code()), (401, "AccessDenied"));
    assert_eq!(post(Some("Bearer nope".into()), body.clone()).await.status, 403);
    assert_eq!(post(Some(format!("Basic {TOKEN}")), body.clone()).await.status, 401);
    assert_eq!(jobs(&pool).await, 0);
    for junk in ["", "{", "[]", "{\"Records\": 3}", "<xml/>"] {
        assert_eq!(post(Some(bearer.clone()), junk.into()).await.status, 200, "{junk:?}");
    }
    assert_eq!(post(Some(bearer.clone()), body.clone()).await.status, 200);
    assert_eq!(post(Some(bearer.clone()), body).await.status, 200, "a retry");
    assert_eq!(jobs(&pool).await, 1);
    assert_eq!(send(&app, "HEAD", "/events/s3", &[], "").await.status, 200);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn without_a_token_or_an_active_bucket_nothing_starts(pool: PgPool) {
    let body = MinioEvent::example(BUCKET, "a.png").webhook_body();
    let closed = app(pool.clone(), ApiConfig::default());
    let refused = send(&closed, "POST", "/events/s3", &[("authorization", "Bearer x")], &body).await;
    assert_eq!((refused.status.as_u16(), refused.error_code()), (403, "AccessDenied"));

    // A bucket deactivated while it has a workflow: its uploads are acknowledged, not run.
    let config =
        ApiConfig { events_token: Some(TOKEN.into()), require_activation: true, ..ApiConfig::default() };
    let app = app(pool.clone(), config);
    assert_eq!(call(&app, "POST", "/picbucket", Some(HOST), "").await.status, 200);
    assert_eq!(call(&app, "POST", "/workflow", Some(HOST), WORKFLOW).await.status, 200);
    assert_eq!(call(&app, "DELETE", "/picbucket", Some(HOST), "").await.status, 200);
    let bearer = format!("Bearer {TOKEN}");
    let answer = send(&app, "POST", "/events/s3", &[("authorization", &bearer)], &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(jobs(&pool).await, 0);
}
