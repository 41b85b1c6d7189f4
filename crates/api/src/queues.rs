//! `/picqueue`: the bucket's picture-processing queue, listed and updated (spec §2.1, §2.2).
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, put};
use axum::Router;
use stowaway_store::{Queue, QueueChange};
use stowaway_wire::{
    parse_queue_update, tencent_time, to_xml, NotifyConfig, QueueDetail, QueueListResponse, QueueResponse,
};

use crate::context::{query_value, xml_response, Target};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Shown as `MaxSize`, as Tencent's queues report it; Stowaway does not bound the backlog.
const MAX_SIZE: u32 = 10000;

pub fn router() -> Router<AppState> {
    Router::new().route("/picqueue", get(list)).route("/picqueue/{id}", put(update).post(update))
}

pub(crate) fn queue_detail(q: &Queue, max_concurrent: u32) -> QueueDetail {
    QueueDetail {
        queue_id: q.queue_id.clone(),
        name: q.name.clone(),
        state: if q.paused { "Paused" } else { "Active" }.into(),
        notify_config: q
            .notify_config
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_else(NotifyConfig::off),
        max_size: MAX_SIZE,
        max_concurrent,
        update_time: tencent_time(q.updated_at),
        create_time: tencent_time(q.created_at),
        category: "PicProcessing",
    }
}

fn page_param(q: &[(String, String)], name: &str, default: u64, max: u64) -> ApiResult<u64> {
    match query_value(q, name) {
        None => Ok(default),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(format!("{name} must be 1 to {max}, not {v:?}"))),
        },
    }
}

/// `GET /picqueue?queueIds=&state=&pageNumber=&pageSize=`: the bucket's one queue, if it matches.
async fn list(
    State(app): State<AppState>,
    target: Target,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let page_number = page_param(&q, "pageNumber", 1, u64::MAX)?;
    let page_size = page_param(&q, "pageSize", 10, 100)?;
    let wanted_state = match query_value(&q, "state") {
        None | Some("All") => None,
        Some("Active") => Some(false),
        Some("Paused") => Some(true),
        Some(s) => return Err(ApiError::invalid(format!("state must be All, Active or Paused, not {s:?}"))),
    };
    let queue = if app.config.require_activation {
        app.store.queue_of_bucket(&target.bucket).await?
    } else {
        Some(app.store.ensure_queue(&target.bucket, &target.region).await?)
    };
    let ids: Option<Vec<&str>> = query_value(&q, "queueIds").map(|v| v.split(',').map(str::trim).collect());
    let matches = |queue: &Queue| {
        ids.as_ref().is_none_or(|ids| ids.contains(&queue.queue_id.as_str()))
            && wanted_state.is_none_or(|p| p == queue.paused)
    };
    let found: Vec<QueueDetail> =
        queue.iter().filter(|q| matches(q)).map(|q| queue_detail(q, app.config.max_concurrent)).collect();
    let non_exist_pids = ids
        .unwrap_or_default()
        .into_iter()
        .filter(|id| queue.as_ref().is_none_or(|q| q.queue_id != *id))
        .map(String::from)
        .collect();
    let total = found.len() as u64;
    let queue_list = if page_number == 1 { found } else { Vec::new() };
    Ok(xml_response(to_xml(&QueueListResponse {
        request_id: uuid::Uuid::new_v4().simple().to_string(),
        total_count: total,
        page_number,
        page_size,
        queue_list,
        non_exist_pids,
    })))
}

/// `PUT` (or, as the JS docs send it, `POST`) `/picqueue/<id>`.
async fn update(
    State(app): State<AppState>,
    target: Target,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let update = parse_queue_update(&body)?;
    if let Some(n) = &update.notify_config {
        app.check_notify_config(n)?;
    }
    let no_such = || ApiError::not_found("NoSuchQueue", format!("no queue {id} in bucket {}", target.bucket));
    let current = app.store.queue_of_bucket(&target.bucket).await?.ok_or_else(no_such)?;
    if current.queue_id != id {
        return Err(no_such());
    }
    let change = QueueChange {
        name: update.name,
        paused: Some(update.paused),
        notify_config: update.notify_config.map(|n| serde_json::to_value(n).expect("plain data")),
    };
    let queue = app.store.update_queue(&id, &change).await?.ok_or_else(no_such)?;
    Ok(xml_response(to_xml(&QueueResponse {
        request_id: uuid::Uuid::new_v4().simple().to_string(),
        queue: queue_detail(&queue, app.config.max_concurrent),
    })))
}
