//! One ImageInspect job: fetch the object, run the detector, apply AutoProcess, and say what the
//! API should show. Retries are safe: the verdict is checkpointed before AutoProcess touches the
//! object, and every AutoProcess action is idempotent, so an attempt after a crash finishes the
//! job from the checkpoint instead of inspecting an object the first attempt already moved.
//!
//! AutoProcess acts only on verdicts at or above `min_confidence`
//! (`STOWAWAY_AUTOPROCESS_MIN_CONFIDENCE`): a suspicious verdict below it stays `Suspicious` and
//! gets `AutoProcessResult` `Skipped`, with the object untouched. The decision is made once, before
//! the checkpoint: only a verdict that is to be acted on is checkpointed, so an attempt that finds
//! a checkpoint finishes the action (which may have started) whatever the threshold is now.
//!
//! Verdict tags (`tag_objects`) are written before the checkpoint, which records their outcome:
//! an attempt that resumes never tags again, and a backup's copy carries them.
//!
//! A store that cannot be reached decides nothing: the job is handed back to wait (`outage.rs`).
use std::time::Duration;

use stowaway_detect::Confidence;
use stowaway_objects::{Admit, Fetched, ObjectError, Objects};
use stowaway_store::{Checkpoint, Claimed, Completion, Store};
use stowaway_wire::{AutoProcessResult, ImageInspectResult, ProcessResult, ProcessType, SubmitRequest};
use uuid::Uuid;

use crate::head_start::{Early, HeadStarts};
use crate::outage;
use crate::tags::{self, Status};

/// What a worker needs to run one job.
#[derive(Clone)]
pub struct JobContext {
    pub store: Store,
    pub objects: Objects,
    pub worker: Uuid,
    /// Base of `InputObjectUrl`: `<base>/<bucket>/<key>`, or `<base>/<key>` with `{bucket}` in
    /// the base replaced (`STOWAWAY_PUBLIC_OBJECT_URL`; the S3 endpoint by default).
    pub object_url_base: String,
    /// The lowest confidence at which AutoProcess acts; `Possible` (Tencent's behaviour) acts on
    /// every suspicious verdict.
    pub min_confidence: Confidence,
    /// Write verdict tags on every object judged (`STOWAWAY_OBJECT_TAGS`, Stowaway's extension).
    pub tag_objects: bool,
    /// How long a job waits out an unreachable store before it fails (`STOWAWAY_JOB_RETRY_SECS`).
    pub retry_for: Duration,
}

/// A day: a store down longer than that needs an operator more than a retry.
pub const DEFAULT_RETRY_FOR: Duration = Duration::from_secs(86_400);

/// Runs `job`; `None` when the lease was lost (another worker owns the job now). While the store
/// is unreachable, only the breaker's probe is tried; the rest are handed back at once.
pub async fn run(ctx: &JobContext, job: &Claimed) -> Option<Completion> {
    run_with(ctx, job, None).await
}

/// [`run`], reading the object from the fetch begun before the job was handed over, if one was
/// (`head_start.rs`).
pub(crate) async fn run_with(
    ctx: &JobContext,
    job: &Claimed,
    early: Option<&HeadStarts>,
) -> Option<Completion> {
    let early = early.and_then(|h| h.take(job));
    let admit = ctx.objects.breaker().admit();
    if admit == Admit::Nothing {
        let error = ctx.objects.breaker().open_since().map(|o| o.1).unwrap_or_default();
        return Some(unreachable(ctx, job, outage::breaker_open(&error)));
    }
    // The breaker's probe asks the store now: a read begun earlier says nothing of it.
    let early = early.filter(|_| admit == Admit::All);
    let request: SubmitRequest = match serde_json::from_value(job.request.clone()) {
        Ok(r) => r,
        Err(e) => return Some(Completion::failed(job, None, format!("unreadable stored request: {e}"))),
    };
    let checkpoint: Option<ImageInspectResult> = job
        .result
        .clone()
        .and_then(|v| serde_json::from_value::<ImageInspectResult>(v).ok())
        .filter(|r| r.process_result.is_some());
    let resumed = checkpoint.is_some();
    let mut result = match checkpoint {
        Some(r) => r,
        None => {
            let (judged, existing_tags) = inspect(ctx, job, early).await;
            match judged {
                Ok(process_result) => {
                    let mut result = success(ctx, job, process_result);
                    if let Some(existing) = existing_tags {
                        let p = result.process_result.as_ref().expect("set on success");
                        let status = if p.suspicious { Status::Suspicious } else { Status::Clean };
                        let ours =
                            tags::verdict_tags(status, p.suspicious_type.as_deref(), chrono::Utc::now());
                        result.tagging_result =
                            Some(tags::write(&ctx.objects, &job.bucket, &job.object, existing, ours).await);
                    }
                    result
                }
                Err(e) if e.transient => return Some(unreachable(ctx, job, e)),
                Err(e) => {
                    let mut failed = failure(ctx, job, &e);
                    if let Some(existing) = existing_tags {
                        let ours = tags::verdict_tags(Status::Error, None, chrono::Utc::now());
                        failed.tagging_result =
                            Some(tags::write(&ctx.objects, &job.bucket, &job.object, existing, ours).await);
                    }
                    let value = serde_json::to_value(&failed).ok();
                    return Some(Completion::failed(job, value, format!("{}: {}", e.code, e.message)));
                }
            }
        }
    };
    let process = result.process_result.as_mut().expect("set on success");
    if let (true, Some(action)) = (process.suspicious, request.auto_process()) {
        if let (false, Some(skipped)) = (resumed, below_threshold(process, ctx.min_confidence)) {
            tracing::info!(
                job_id = %job.job_id,
                confidence = process.suspicious_confidence.map_or("unknown", Confidence::as_str),
                min_confidence = ctx.min_confidence.as_str(),
                action = action.as_str(),
                "AutoProcess skipped: the verdict is below the minimum confidence"
            );
            process.auto_process_result = Some(skipped);
            return Some(Completion::success(job, Some(serde_json::to_value(&result).expect("plain data"))));
        }
        let snapshot = serde_json::to_value(&result).expect("plain data");
        match ctx.store.checkpoint(ctx.worker, job.id, job.attempt, &snapshot).await.ok()? {
            Checkpoint::Held => {}
            Checkpoint::Lost => {
                tracing::warn!(job_id = %job.job_id, "lease lost before AutoProcess; leaving the job to its new holder");
                return None;
            }
            // Completed untouched: the store ends it Cancel.
            Checkpoint::Cancelled => {
                tracing::info!(job_id = %job.job_id, "cancelled before AutoProcess; the object is left alone");
                return Some(Completion::success(job, Some(snapshot)));
            }
        }
        let outcome = match auto_process(&ctx.objects, &job.bucket, &job.object, action).await {
            // The checkpoint is kept: the next attempt acts again, without inspecting.
            Err(e) if e.transient => return Some(unreachable(ctx, job, e)),
            outcome => acted(outcome, &job.bucket, &job.object, action),
        };
        result.process_result.as_mut().expect("set").auto_process_result = Some(outcome);
    }
    Some(Completion::success(job, Some(serde_json::to_value(&result).expect("plain data"))))
}

/// The job handed back to wait for the store, or failed with the store's error once its time
/// is up.
fn unreachable(ctx: &JobContext, job: &Claimed, e: ObjectError) -> Completion {
    outage::hand_back(job, &e, ctx.retry_for).unwrap_or_else(|e| {
        tracing::error!(code = %e.code, message = %e.message, "job failed: the object store stayed unreachable");
        let value = serde_json::to_value(failure(ctx, job, &e)).ok();
        Completion::failed(job, value, format!("{}: {}", e.code, e.message))
    })
}

/// Fetches and judges the object; with tagging on, also its tags: read (GetObjectTagging) only
/// when the fetch says it has some, so tagging a fresh upload costs one request, the write.
async fn inspect(
    ctx: &JobContext,
    job: &Claimed,
    early: Option<Early>,
) -> (Result<ProcessResult, ObjectError>, Option<ExistingTags>) {
    let object = match early {
        Some(early) => early.read().await,
        None => None,
    };
    let object = match object {
        Some(object) => object,
        None => ctx.objects.fetch(&job.bucket, &job.object).await,
    };
    let existing = match (ctx.tag_objects, &object) {
        (false, _) => None,
        (true, Ok(o)) if o.tag_count() == 0 => Some(Ok(Vec::new())),
        // A missing object has nothing to tag.
        (true, Err(e)) if e.is_no_such_key() || e.code == "NoSuchBucket" => None,
        // The job waits for the store; its tags with it.
        (true, Err(e)) if e.transient => None,
        (true, _) => Some(ctx.objects.tags(&job.bucket, &job.object).await),
    };
    (judge(object).await, existing)
}

type ExistingTags = Result<Vec<tags::Tag>, ObjectError>;

async fn judge(object: Result<Fetched, ObjectError>) -> Result<ProcessResult, ObjectError> {
    let object = object?;
    let bytes = object.len() as u64;
    let started = std::time::Instant::now();
    let report =
        tokio::task::spawn_blocking(move || stowaway_detect::inspect(&object)).await.map_err(|e| {
            ObjectError {
                code: "InternalError".into(),
                message: format!("the detector stopped: {e}"),
                status: None,
                transient: false,
            }
        })?;
    metrics::counter!("stowaway_detector_bytes_total").increment(bytes);
    metrics::histogram!("stowaway_detector_duration_seconds").record(started.elapsed().as_secs_f64());
    Ok(ProcessResult::from(&report))
}

fn success(ctx: &JobContext, job: &Claimed, process_result: ProcessResult) -> ImageInspectResult {
    ImageInspectResult {
        state: "Success".into(),
        code: "Success".into(),
        message: String::new(),
        input_object_name: job.object.clone(),
        input_object_url: object_url(&ctx.object_url_base, &job.bucket, &job.object),
        process_result: Some(process_result),
        tagging_result: None,
    }
}

fn failure(ctx: &JobContext, job: &Claimed, e: &ObjectError) -> ImageInspectResult {
    ImageInspectResult {
        state: "Failed".into(),
        code: e.code.clone(),
        message: e.message.clone(),
        input_object_name: job.object.clone(),
        input_object_url: object_url(&ctx.object_url_base, &job.bucket, &job.object),
        process_result: None,
        tagging_result: None,
    }
}

/// `AutoProcessResult` `Skipped` when the verdict's confidence is below `min` (a verdict without
/// one counts as `possible`, the least certain); `None` when AutoProcess should act.
fn below_threshold(process: &ProcessResult, min: Confidence) -> Option<AutoProcessResult> {
    let confidence = process.suspicious_confidence.unwrap_or(Confidence::Possible);
    (confidence < min).then(|| AutoProcessResult {
        code: SKIPPED.into(),
        message: format!(
            "Skipped: confidence {confidence} is below {min}, the lowest at which AutoProcess acts; \
             the object was not touched"
        ),
    })
}

/// `AutoProcessResult` `Code` of a verdict AutoProcess did not act on (Stowaway's; Tencent
/// documents `Success` and `Failed`).
pub const SKIPPED: &str = "Skipped";

/// Applies the action.
async fn auto_process(
    objects: &Objects,
    bucket: &str,
    key: &str,
    action: ProcessType,
) -> Result<(), ObjectError> {
    match action {
        ProcessType::BackupObject => objects.backup(bucket, key).await.map(|_| ()),
        ProcessType::SwitchObjectToPrivate => {
            objects.make_private(bucket, key).await?;
            still_public(objects.readable_by_anyone(bucket, key).await?)
        }
        ProcessType::DeleteObject => objects.delete(bucket, key).await,
    }
}

/// SwitchObjectToPrivate succeeded only if the object is no longer readable without credentials:
/// a store that accepts the ACL and ignores it (MinIO) must not be reported as having acted.
fn still_public(readable_by_anyone: bool) -> Result<(), ObjectError> {
    match readable_by_anyone {
        false => Ok(()),
        true => Err(ObjectError {
            code: IGNORED_ACL.into(),
            message: "the store accepted the private ACL, but the object is still readable without \
                      credentials (a store that ignores object ACLs, such as MinIO, or a bucket policy \
                      that grants reads): deny reads by the verdict tag (README, \"Verdict tags\"), or \
                      use BackupObject"
                .into(),
            status: None,
            transient: false,
        }),
    }
}

/// `AutoProcessResult` `Message` code of a SwitchObjectToPrivate that had no effect.
pub const IGNORED_ACL: &str = "AccessControlIgnored";

/// The action's result; a refusal (a store without ACLs, say) is reported, not retried.
fn acted(
    outcome: Result<(), ObjectError>,
    bucket: &str,
    key: &str,
    action: ProcessType,
) -> AutoProcessResult {
    match outcome {
        Ok(()) => AutoProcessResult { code: "Success".into(), message: "Success".into() },
        Err(e) => {
            tracing::warn!(bucket, key, action = action.as_str(), code = %e.code, "AutoProcess failed");
            AutoProcessResult { code: "Failed".into(), message: format!("{}: {}", e.code, e.message) }
        }
    }
}

/// `<base>/<bucket>/<key>` (path style), or `<base>/<key>` when the base names the bucket
/// itself with `{bucket}` (`https://{bucket}.cos.example.com`, as Tencent's URLs are), the key
/// percent-encoded except `/`.
pub fn object_url(base: &str, bucket: &str, key: &str) -> String {
    let base = base.trim_end_matches('/');
    let mut url = match base.contains("{bucket}") {
        true => format!("{}/", base.replace("{bucket}", bucket)),
        false => format!("{base}/{bucket}/"),
    };
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(confidence: Option<Confidence>) -> ProcessResult {
        ProcessResult {
            pic_size: 100,
            pic_type: "png".into(),
            suspicious: true,
            suspicious_begin_byte: Some(60),
            suspicious_end_byte: Some(99),
            suspicious_size: Some(40),
            suspicious_type: Some("Unknown".into()),
            suspicious_confidence: confidence,
            auto_process_result: None,
        }
    }

    #[test]
    fn private_means_unreadable_without_credentials() {
        assert!(still_public(false).is_ok());
        let e = still_public(true).unwrap_err();
        assert_eq!((e.code.as_str(), e.transient), (IGNORED_ACL, false));
        let r = acted(Err(e), "b", "k", ProcessType::SwitchObjectToPrivate);
        assert_eq!(r.code, "Failed");
        assert!(
            r.message.starts_with("AccessControlIgnored: the store accepted the private ACL"),
            "{}",
            r.message
        );
    }

    #[test]
    fn object_urls_are_path_style_unless_the_base_names_the_bucket() {
        let b = "examplebucket-1250000000";
        assert_eq!(
            object_url("http://minio:9000", b, "a b/c.png"),
            format!("http://minio:9000/{b}/a%20b/c.png")
        );
        assert_eq!(
            object_url("https://cdn.example.com/", b, "x.png"),
            format!("https://cdn.example.com/{b}/x.png")
        );
        assert_eq!(
            object_url("https://{bucket}.cos.example.com", b, "dir/图.png"),
            format!("https://{b}.cos.example.com/dir/%E5%9B%BE.png")
        );
    }

    #[test]
    fn auto_process_acts_at_or_above_the_minimum_and_skips_below_it() {
        use Confidence::*;
        for (have, min, acts) in [
            (Possible, Possible, true),
            (Likely, Possible, true),
            (Certain, Possible, true),
            (Possible, Likely, false),
            (Likely, Likely, true),
            (Certain, Likely, true),
            (Possible, Certain, false),
            (Likely, Certain, false),
            (Certain, Certain, true),
        ] {
            let skipped = below_threshold(&verdict(Some(have)), min);
            assert_eq!(skipped.is_none(), acts, "{have} against {min}");
            if let Some(s) = skipped {
                assert_eq!(s.code, SKIPPED);
                assert!(s.message.contains(&format!("confidence {have} is below {min}")), "{}", s.message);
            }
        }
        // A verdict stored without a confidence counts as the least certain.
        assert!(below_threshold(&verdict(None), Possible).is_none());
        assert!(below_threshold(&verdict(None), Likely).is_some());
    }
}
