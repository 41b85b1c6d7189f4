//! Tencent Cloud Infinite's wire shapes for ImageInspect, shared by the API (responses), the
//! worker (results) and the notifier (callback bodies). Pure: bytes and structs, no I/O.
//!
//! Element names and order follow `shared/seed/ImageInspect-submit-task.txt` and
//! `shared/spec/tencent-ci-spec.md` §1, §2 and §5.3.

mod batch;
mod callback;
pub mod cos_sign;
mod error;
mod events;
mod job;
mod notify;
mod queue;
mod submit;
mod text;
mod workflow;

pub use batch::{batch_response, parse_batch, BatchInput, BatchKind, BatchSpec, BatchView, TimeInterval};
pub use callback::{callback_json, callback_xml, TASK_FINISH};
pub use error::{ErrorBody, WireError};
pub use events::{
    form_decode, parse_bucket_events, upload_occurrence, BucketEvents, EventError, ObjectCreated,
    CREATION_EVENTS,
};
pub use job::{
    tencent_time, AutoProcessResult, ImageInspectOptions, ImageInspectResult, Input, JobWorkflow, JobsDetail,
    JobsResponse, Operation, ProcessResult, SyncResult, TaggingResult,
};
pub use notify::{
    is_public, select_callback, url_host_port, AddressPolicy, CallbackFormat, CallbackKind, CallbackTarget,
    KAFKA_REGIONS, MQ_REGIONS,
};
pub use queue::{
    parse_queue_update, NotifyConfig, PicBucket, PicBucketListResponse, PicBucketResponse, QueueDetail,
    QueueListResponse, QueueResponse, QueueUpdate,
};
pub use submit::{
    parse_submit, validate_object_key, CallBackKafkaConfig, CallBackMqConfig, ProcessType, SubmitRequest,
};
pub use workflow::{
    media_workflow_response, parse_workflow, trigger_workflow_response, workflow_execution_list_response,
    workflow_execution_response, workflow_finish_json, workflow_finish_xml, workflow_id_response,
    workflow_list_response, ExecutionView, ExtFilter, StartInput, TaskView, WorkflowEvent, WorkflowNotify,
    WorkflowSpec, WorkflowState, WorkflowView, AUDIO_EXTS, IMAGE_EXTS, VIDEO_EXTS, WORKFLOW_FINISH,
};

/// Renders a serializable element as XML (no declaration; Tencent's bodies carry none on success).
pub fn to_xml<T: serde::Serialize>(value: &T) -> String {
    // Serialising our own structs cannot fail: no maps with non-string keys, no unsupported types.
    quick_xml::se::to_string(value).unwrap_or_default()
}
