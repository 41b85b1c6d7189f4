//! `/picbucket`: turning image async processing on and off per bucket, and listing where it is on
//! (spec §2.3).
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use stowaway_store::Queue;
use stowaway_wire::{tencent_time, to_xml, PicBucket, PicBucketListResponse, PicBucketResponse};

use crate::context::{query_value, xml_response, Target};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/picbucket", get(list).post(activate).delete(deactivate))
}

fn pic_bucket(q: &Queue) -> PicBucket {
    PicBucket {
        bucket_id: q.bucket.clone(),
        name: q.bucket.clone(),
        region: q.region.clone(),
        create_time: tencent_time(q.created_at),
    }
}

fn respond(q: &Queue) -> Response {
    xml_response(to_xml(&PicBucketResponse {
        request_id: uuid::Uuid::new_v4().simple().to_string(),
        pic_bucket: pic_bucket(q),
    }))
}

/// Turns processing on and creates the bucket's queue; idempotent.
async fn activate(State(app): State<AppState>, target: Target) -> ApiResult<Response> {
    let q = app.store.set_activated(&target.bucket, &target.region, true).await?;
    Ok(respond(&q.expect("created when activating")))
}

/// Turns processing off: new jobs are refused; jobs already queued still run.
async fn deactivate(State(app): State<AppState>, target: Target) -> ApiResult<Response> {
    app.queues.forget(&target.bucket);
    match app.store.set_activated(&target.bucket, &target.region, false).await? {
        Some(q) => Ok(respond(&q)),
        None => Err(ApiError::not_found(
            "NoSuchBucket",
            format!("image async processing was never enabled for bucket {}", target.bucket),
        )),
    }
}

/// `GET /picbucket?regions=&bucketNames=&bucketName=&pageNumber=&pageSize=` (bucket-less host).
/// `bucketNames` are exact names, `bucketName` a name prefix.
async fn list(State(app): State<AppState>, Query(q): Query<Vec<(String, String)>>) -> ApiResult<Response> {
    let list =
        |name| query_value(&q, name).map(|v| v.split(',').map(|s| s.trim().to_string()).collect::<Vec<_>>());
    let regions = list("regions");
    let names = list("bucketNames");
    // `bucketName` searches by name (Tencent's demo passes `demo` to find `demo-1253960454`).
    let prefix = query_value(&q, "bucketName");
    let number = |name: &str, default: i64| -> ApiResult<i64> {
        query_value(&q, name).map_or(Ok(default), |v| {
            v.parse::<i64>()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| ApiError::invalid(format!("{name} must be a positive number, not {v:?}")))
        })
    };
    let page_number = number("pageNumber", 1)?;
    let page_size = number("pageSize", 10)?.min(100);
    let (total, queues) = app
        .store
        .activated_buckets(
            regions.as_deref(),
            names.as_deref(),
            prefix,
            (page_number - 1) * page_size,
            page_size,
        )
        .await?;
    Ok(xml_response(to_xml(&PicBucketListResponse {
        request_id: uuid::Uuid::new_v4().simple().to_string(),
        total_count: total as u64,
        page_number: page_number as u64,
        page_size: page_size as u64,
        pic_bucket_list: queues.iter().map(pic_bucket).collect(),
    })))
}
