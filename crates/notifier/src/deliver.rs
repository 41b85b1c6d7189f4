//! One attempt at one delivery: resolve where it goes (once), render Tencent's TaskFinish body,
//! send it, and decide what happens next.
use std::time::Duration;

use chrono::Utc;
use serde::Deserialize;
use stowaway_store::{AttemptLog, ClaimedDelivery, DeliveryOutcome, DeliveryState, DeliveryTarget, Message};
use stowaway_wire::{
    callback_json, callback_xml, select_callback, workflow_finish_json, workflow_finish_xml, CallbackFormat,
    CallbackKind, NotifyConfig, SubmitRequest, TASK_FINISH, WORKFLOW_FINISH,
};

use crate::kafka::KafkaSender;
use crate::schedule::RetrySchedule;
use crate::sign::Signer;
use crate::url::UrlSender;

/// Everything an attempt needs, shared by all of a notifier's attempts.
pub(crate) struct Senders {
    pub url: UrlSender,
    pub kafka: Option<KafkaSender>,
    pub signer: Option<Signer>,
    pub schedule: RetrySchedule,
}

/// How one send went, whatever the channel.
#[derive(Default)]
struct Sent {
    error: Option<String>,
    status: Option<u16>,
    retry_after: Option<Duration>,
    /// Retrying cannot help (410 Gone, an address the policy refuses).
    permanent: bool,
    latency: Duration,
}

impl Sent {
    /// Nothing was owed: a delivery whose messages were all acknowledged before.
    fn nothing() -> Sent {
        Sent::default()
    }
}

/// Where a claimed delivery goes: the target recorded on an earlier attempt, or one resolved now
/// (then `true`, and the outcome records it). `None` when nothing is configured any more.
pub(crate) fn target_of(d: &ClaimedDelivery) -> (Option<DeliveryTarget>, bool) {
    match d.target() {
        Some(t) => (Some(t), false),
        None => (resolve(d), true),
    }
}

pub(crate) fn is_kafka(target: &DeliveryTarget) -> bool {
    matches!(target.kind, CallbackKind::Tdmq | CallbackKind::Kafka)
}

/// One attempt at `d`, going to `target` as `target_of` found it.
pub(crate) async fn attempt(
    s: &Senders,
    d: &ClaimedDelivery,
    (target, resolved): (Option<DeliveryTarget>, bool),
) -> DeliveryOutcome {
    let Some(target) = target else {
        metrics::counter!("stowaway_callback_attempts_total", "kind" => "none", "outcome" => "Skipped")
            .increment(1);
        return DeliveryOutcome {
            delivery_id: d.delivery_id,
            attempt: d.attempt,
            state: DeliveryState::Skipped,
            retry_in: Duration::ZERO,
            target: None,
            log: None,
            sent: d.sent,
        };
    };
    let format = target.format;
    let kafka = is_kafka(&target);
    let at = Utc::now();
    // A workflow's job may owe TaskFinish and WorkflowFinish: sent in that order, each once
    // acknowledged, so a retry sends only what is still owed.
    let mut acked = d.sent;
    let mut sent: Option<Sent> = None;
    for message in d.owed() {
        let (body, webhook_id) = render(d, message, format);
        let this = if kafka {
            send_kafka(s, &target, &d.job.job_id, &webhook_id, message, format, body).await
        } else {
            send_url(s, &target, &webhook_id, format, body).await
        };
        let failed = this.error.is_some();
        if !failed {
            acked |= message as i16;
        }
        sent = Some(match sent {
            None => this,
            Some(before) => Sent { latency: before.latency + this.latency, ..this },
        });
        if failed {
            break;
        }
    }
    let sent = sent.unwrap_or(Sent::nothing());
    let webhook_id = format!("msg_{}", d.webhook_id.simple());

    let (state, retry_in) = if sent.error.is_none() {
        (DeliveryState::Delivered, Duration::ZERO)
    } else if sent.permanent {
        (DeliveryState::Dead, Duration::ZERO)
    } else {
        let failed = (d.attempt - d.schedule_from).max(1) as u32;
        match s.schedule.delay_after(failed) {
            Some(delay) => (DeliveryState::Pending, sent.retry_after.unwrap_or(delay)),
            None => (DeliveryState::Dead, Duration::ZERO),
        }
    };
    let kind = target.kind.as_str();
    // Pending means "failed, will retry".
    let outcome = if state == DeliveryState::Pending { "Retry" } else { state.as_str() };
    metrics::counter!("stowaway_callback_attempts_total", "kind" => kind, "outcome" => outcome).increment(1);
    match &sent.error {
        None => {
            tracing::debug!(job_id = %d.job.job_id, webhook_id, attempt = d.attempt, "callback delivered")
        }
        Some(e) => tracing::warn!(
            job_id = %d.job.job_id, webhook_id, attempt = d.attempt, to = %target.address, error = %e,
            next = state.as_str(), retry_in_ms = retry_in.as_millis() as u64, "callback attempt failed"
        ),
    }
    DeliveryOutcome {
        delivery_id: d.delivery_id,
        attempt: d.attempt,
        state,
        retry_in,
        target: resolved.then_some(target),
        sent: acked,
        log: Some(AttemptLog {
            number: d.attempt,
            at,
            status: sent.status.map(i32::from),
            latency_ms: sent.latency.as_millis().min(i32::MAX as u128) as i32,
            error: sent.error,
        }),
    }
}

/// One message's body and `webhook-id` (the delivery's, with a suffix for WorkflowFinish, so a
/// receiver deduplicates each message on its own).
fn render(d: &ClaimedDelivery, message: Message, format: CallbackFormat) -> (String, String) {
    let id = format!("msg_{}", d.webhook_id.simple());
    match message {
        Message::TaskFinish => {
            let detail = d.job.jobs_detail();
            let body = match format {
                CallbackFormat::Xml => callback_xml(&detail),
                CallbackFormat::Json => callback_json(&detail),
            };
            (body, id)
        }
        Message::WorkflowFinish => {
            let body = match d.job.run() {
                Some(run) => match format {
                    CallbackFormat::Xml => workflow_finish_xml(&run.view(true)),
                    CallbackFormat::Json => workflow_finish_json(&run.view(true)),
                },
                None => String::new(), // owed only by a workflow's job
            };
            (body, format!("{id}_wf"))
        }
    }
}

/// The job's own CallBack* settings over its queue's NotifyConfig as it is now. A TDMQ target
/// with a region is addressed `region/topic` (`KafkaSender::send` picks the region's cluster).
fn resolve(d: &ClaimedDelivery) -> Option<DeliveryTarget> {
    let request = SubmitRequest::deserialize(&d.job.request).ok()?;
    let notify = d.notify_config.as_ref().and_then(|v| NotifyConfig::deserialize(v).ok());
    let t = select_callback(&request, notify.as_ref())?;
    let address = match (t.kind, t.mq_region.as_deref().map(str::to_ascii_lowercase)) {
        (CallbackKind::Tdmq, Some(region)) if !region.is_empty() => format!("{region}/{}", t.address),
        _ => t.address,
    };
    Some(DeliveryTarget { kind: t.kind, address, format: t.format })
}

async fn send_url(
    s: &Senders,
    target: &DeliveryTarget,
    webhook_id: &str,
    format: CallbackFormat,
    body: String,
) -> Sent {
    let timestamp = Utc::now().timestamp();
    let mut headers = vec![
        ("content-type", format.content_type().to_string()),
        ("webhook-id", webhook_id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
    ];
    if let Some(signer) = &s.signer {
        headers.push(("webhook-signature", signer.signature(webhook_id, timestamp, body.as_bytes())));
    }
    let r = s.url.post(&target.address, &headers, body.into()).await;
    Sent {
        permanent: r.refused || r.status == Some(410),
        error: r.error,
        status: r.status,
        retry_after: r.retry_after,
        latency: r.latency,
    }
}

async fn send_kafka(
    s: &Senders,
    target: &DeliveryTarget,
    job_id: &str,
    webhook_id: &str,
    message: Message,
    format: CallbackFormat,
    body: String,
) -> Sent {
    let started = std::time::Instant::now();
    let event = match message {
        Message::TaskFinish => TASK_FINISH,
        Message::WorkflowFinish => WORKFLOW_FINISH,
    };
    let result = match &s.kafka {
        Some(k) => {
            let headers = [
                ("EventName", event),
                ("ResultFormat", format.as_str()),
                ("content-type", format.content_type()),
                ("webhook-id", webhook_id),
            ];
            k.send(&target.address, job_id, body.as_bytes(), &headers).await
        }
        // The API refuses TDMQ without brokers; a notifier configured differently retries, so
        // fixing its configuration within the schedule loses nothing.
        None => Err("no Kafka brokers configured for this notifier (STOWAWAY_KAFKA_BROKERS)".into()),
    };
    Sent {
        error: result.err(),
        status: None,
        retry_after: None,
        permanent: false,
        latency: started.elapsed(),
    }
}
