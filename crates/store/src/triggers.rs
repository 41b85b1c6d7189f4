//! A workflow's run on one object, as the job that does it. Every path that starts runs (bucket
//! events, polls, batches, `POST /triggerworkflow`) builds its jobs here.
use serde_json::Value;
use stowaway_wire::{BatchKind, CallBackMqConfig, CallbackKind, JobWorkflow, SubmitRequest, WorkflowEvent};

use crate::{ClaimedBatch, NewJob, Queue, WorkflowRecord};

/// Keys of a workflow job's `request` beside the `SubmitRequest`: the run (`JobsDetail`'s
/// `Workflow`) and the callbacks its NotifyConfig asked for.
pub const REQUEST_WORKFLOW: &str = "workflow";
pub const REQUEST_EVENTS: &str = "notify_events";
/// Key of the batch (`b…`) that started a job, beside the `SubmitRequest`.
pub const REQUEST_BATCH: &str = "batch_id";

/// Ids of runs and their jobs share 32 hex digits: `c…` the job, `i…` the run.
pub fn run_id_of(job_id: &str) -> Option<String> {
    job_id.strip_prefix('c').map(|hex| format!("i{hex}"))
}

/// The job of a run, from its RunId.
pub fn job_id_of(run_id: &str) -> Option<String> {
    run_id.strip_prefix('i').filter(|h| h.len() == 32).map(|hex| format!("c{hex}"))
}

/// Namespace of the ids derived from what started a run (UUID v5).
const TRIGGER_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5707_a3a4_7f1e_4c3b_9d2e_0b1c_2d3e_4f50);

impl WorkflowRecord {
    /// The job that runs this workflow on `object` in `queue`. `occurrence` names the upload
    /// (`wire::upload_occurrence`, from a bucket event or a poll): the same occurrence always
    /// gives the same job id, so telling it twice inserts one job (`NewJob::once`). `None` (a
    /// person asking, or an event that cannot name its upload) gives a fresh one.
    pub fn run(&self, queue: &Queue, object: &str, occurrence: Option<&str>) -> NewJob {
        let id = match occurrence {
            Some(o) => {
                uuid::Uuid::new_v5(&TRIGGER_NAMESPACE, format!("{}\n{o}", self.workflow_id).as_bytes())
            }
            None => uuid::Uuid::new_v4(),
        };
        let job_id = format!("c{}", id.simple());
        let run = JobWorkflow {
            run_id: run_id_of(&job_id).expect("c id"),
            workflow_id: self.workflow_id.clone(),
            workflow_name: self.spec.name.clone(),
            name: self.spec.node_name.clone(),
        };
        let mut request = serde_json::to_value(self.submit_request(object)).expect("plain data");
        let events: Vec<&str> = self.notify_events().iter().map(|e| e.as_str()).collect();
        if let Value::Object(map) = &mut request {
            map.insert(REQUEST_WORKFLOW.into(), serde_json::to_value(run).expect("plain data"));
            map.insert(REQUEST_EVENTS.into(), events.into());
        }
        NewJob {
            job_id,
            queue_id: queue.queue_id.clone(),
            bucket: queue.bucket.clone(),
            region: queue.region.clone(),
            object: object.to_string(),
            job_level: 0,
            request,
            once: occurrence.is_some(),
        }
    }

    /// The callbacks a run sends: its NotifyConfig's TaskFinish and WorkflowFinish; without one,
    /// the queue's TaskFinish (Tencent: "unset ⇒ the queue's callback").
    pub fn notify_events(&self) -> Vec<WorkflowEvent> {
        match &self.spec.start.notify {
            None => vec![WorkflowEvent::TaskFinish],
            Some(n) => n.events.iter().copied().filter(|e| *e != WorkflowEvent::WorkflowStart).collect(),
        }
    }

    /// The run's job as a client would have submitted it: the ImageInspect node's options and
    /// the NotifyConfig's target as the job's callback.
    fn submit_request(&self, object: &str) -> SubmitRequest {
        let mut r = SubmitRequest {
            object: object.to_string(),
            image_inspect: Some(self.spec.inspect),
            ..SubmitRequest::default()
        };
        let Some(n) = &self.spec.start.notify else { return r };
        if self.notify_events().is_empty() {
            r.callback = Some("no".into());
            return r;
        }
        r.callback_format = Some(n.format.as_str().into());
        match n.kind {
            CallbackKind::Tdmq => {
                r.callback_type = Some("TDMQ".into());
                r.callback_mq = n.mq_name.as_ref().map(|name| CallBackMqConfig {
                    mq_mode: n.mq_mode.clone(),
                    mq_region: n.mq_region.clone(),
                    mq_name: name.clone(),
                });
            }
            CallbackKind::Url => {
                r.callback_type = Some("Url".into());
                r.callback = n.url.clone();
            }
            // Workflows are parsed with Url or TDMQ only.
            CallbackKind::Kafka => {}
        }
        r
    }
}

/// The jobs a batch makes for one object: a Type=Job batch, one ImageInspect job as `POST /jobs`
/// would have made it; a Type=Workflow batch, one run of each of `workflows`. Each names its
/// batch (`REQUEST_BATCH`) and has an id derived from the batch and the key, so a page listed
/// again after a crash inserts nothing new.
pub fn batch_children(
    batch: &ClaimedBatch,
    queue: &Queue,
    workflows: &[WorkflowRecord],
    key: &str,
) -> Vec<NewJob> {
    let occurrence = format!("batch\n{}\n{key}", batch.batch_id);
    let mut jobs = match batch.spec.kind {
        BatchKind::Job => {
            let id = uuid::Uuid::new_v5(&TRIGGER_NAMESPACE, occurrence.as_bytes());
            vec![NewJob {
                job_id: format!("c{}", id.simple()),
                queue_id: queue.queue_id.clone(),
                bucket: queue.bucket.clone(),
                region: queue.region.clone(),
                object: key.to_string(),
                job_level: batch.spec.job_level,
                request: serde_json::to_value(batch.spec.child_request(key)).expect("plain data"),
                once: true,
            }]
        }
        BatchKind::Workflow => workflows.iter().map(|w| w.run(queue, key, Some(&occurrence))).collect(),
    };
    for job in &mut jobs {
        if let Value::Object(map) = &mut job.request {
            map.insert(REQUEST_BATCH.into(), batch.batch_id.clone().into());
        }
    }
    jobs
}
