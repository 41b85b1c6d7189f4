//! Callbacks, API side: refusing callback settings that can never be delivered (at submit and
//! queue update), and Stowaway's extension routes to inspect and resend a job's deliveries:
//!
//! - `GET /jobs/<jobId>/callbacks`: every delivery of the job with each attempt (time, HTTP
//!   status, latency, error).
//! - `POST /jobs/<jobId>/callbacks/<webhookId>/resend`: send a finished delivery again, with the
//!   same `webhook-id` and a fresh retry schedule.
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use stowaway_store::DeliveryRecord;
use stowaway_wire::{tencent_time, to_xml, NotifyConfig, SubmitRequest};

use crate::context::{xml_response, Target};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs/{id}/callbacks", get(list))
        .route("/jobs/{id}/callbacks/{webhook_id}/resend", post(resend))
}

impl AppState {
    /// A job's own callback settings, refused now when they can already be known undeliverable.
    pub(crate) fn check_job_callback(&self, r: &SubmitRequest) -> ApiResult<()> {
        if matches!(r.callback_type.as_deref(), Some("TDMQ" | "Kafka")) {
            self.check_tdmq("CallBackType")?;
        } else if let Some(url) = r.callback.as_deref().filter(|u| *u != "no") {
            self.check_url("CallBack", url)?;
        }
        Ok(())
    }

    /// A queue's NotifyConfig, checked like a job's callback settings.
    pub(crate) fn check_notify_config(&self, n: &NotifyConfig) -> ApiResult<()> {
        if n.r#type.as_deref() == Some("TDMQ") {
            self.check_tdmq("NotifyConfig/Type")?;
        } else if let Some(url) = n.url.as_deref() {
            self.check_url("NotifyConfig/Url", url)?;
        }
        Ok(())
    }

    pub(crate) fn check_tdmq(&self, field: &str) -> ApiResult<()> {
        if self.config.kafka_enabled {
            return Ok(());
        }
        Err(ApiError::invalid(format!(
            "{field} TDMQ needs a message broker, and this server has none configured (STOWAWAY_KAFKA_BROKERS)"
        )))
    }

    pub(crate) fn check_url(&self, field: &str, url: &str) -> ApiResult<()> {
        self.config.callback_addresses.check_url(url).map_err(|e| ApiError::invalid(format!("{field}: {e}")))
    }
}

#[derive(Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
struct CallbacksResponse {
    request_id: String,
    job_id: String,
    callbacks: Callbacks,
}

#[derive(Serialize)]
struct Callbacks {
    #[serde(rename = "Callback")]
    callback: Vec<CallbackDetail>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CallbackDetail {
    webhook_id: String,
    state: &'static str,
    /// `Url` or `TDMQ`; empty until the notifier resolved the delivery.
    r#type: String,
    /// The URL or the topic.
    address: String,
    format: String,
    creation_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time: Option<String>,
    message: String,
    attempts: Attempts,
}

#[derive(Serialize)]
struct Attempts {
    #[serde(rename = "Attempt")]
    attempt: Vec<AttemptDetail>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AttemptDetail {
    number: i32,
    time: String,
    /// The HTTP status; empty when no response came (or for Kafka).
    status: String,
    latency_ms: i32,
    error: String,
}

fn detail(d: &DeliveryRecord) -> CallbackDetail {
    CallbackDetail {
        webhook_id: format!("msg_{}", d.webhook_id.simple()),
        state: d.state.as_str(),
        r#type: d.kind.clone().unwrap_or_default(),
        address: d.address.clone().unwrap_or_default(),
        format: d.format.clone().unwrap_or_default(),
        creation_time: tencent_time(d.created_at),
        next_attempt_time: (d.state == stowaway_store::DeliveryState::Pending)
            .then(|| tencent_time(d.next_at)),
        end_time: d.finished_at.map(tencent_time),
        message: d.last_error.clone().unwrap_or_default(),
        attempts: Attempts {
            attempt: d
                .attempts
                .iter()
                .map(|a| AttemptDetail {
                    number: a.number,
                    time: tencent_time(a.at),
                    status: a.status.map(|s| s.to_string()).unwrap_or_default(),
                    latency_ms: a.latency_ms,
                    error: a.error.clone().unwrap_or_default(),
                })
                .collect(),
        },
    }
}

async fn list(State(app): State<AppState>, target: Target, Path(id): Path<String>) -> ApiResult<Response> {
    let deliveries = app.store.deliveries_of_job(&target.bucket, &id).await?.ok_or_else(|| no_job(&id))?;
    Ok(xml_response(to_xml(&CallbacksResponse {
        request_id: uuid::Uuid::new_v4().simple().to_string(),
        job_id: id,
        callbacks: Callbacks { callback: deliveries.iter().map(detail).collect() },
    })))
}

async fn resend(
    State(app): State<AppState>,
    target: Target,
    Path((id, webhook_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let not_found =
        || ApiError::not_found("NoSuchCallback", format!("job {id} has no callback {webhook_id}"));
    let uuid =
        webhook_id.strip_prefix("msg_").and_then(|s| uuid::Uuid::parse_str(s).ok()).ok_or_else(not_found)?;
    if !app.store.resend_delivery(&target.bucket, &id, uuid).await? {
        return Err(not_found());
    }
    list(State(app), target, Path(id)).await
}

fn no_job(id: &str) -> ApiError {
    ApiError::not_found("NoSuchJob", format!("no job {id} in this bucket"))
}
