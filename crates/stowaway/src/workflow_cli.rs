//! `stowaway workflow`: makes sure a bucket has an Active ImageInspect workflow of a given name,
//! straight in the database (a deployment's one-shot, so that uploads are inspected with no
//! client code: docker-compose runs it). A workflow of that name that exists is left as it is.
use std::process::ExitCode;

use stowaway_store::Store;
use stowaway_wire::{ExtFilter, ImageInspectOptions, ProcessType, StartInput, WorkflowSpec, WorkflowState};

#[derive(clap::Args)]
pub struct WorkflowArgs {
    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// The bucket whose uploads the workflow inspects.
    #[arg(long, env = "STOWAWAY_DEFAULT_BUCKET")]
    bucket: String,
    /// The bucket's region (its queue's, if this makes it).
    #[arg(long, env = "STOWAWAY_DEFAULT_REGION", default_value = "ap-guangzhou")]
    region: String,
    /// The workflow's name; one of that name in the bucket is kept as it is.
    #[arg(long, default_value = "uploads")]
    name: String,
    /// Only keys under this prefix (empty: the whole bucket).
    #[arg(long, default_value = "")]
    prefix: String,
    /// Inspect every upload, not only image suffixes (ExtFilter off).
    #[arg(long)]
    all_files: bool,
    /// What to do with a suspicious upload: `none`, `BackupObject`, `SwitchObjectToPrivate` or
    /// `DeleteObject`.
    #[arg(long, default_value = "none")]
    auto_process: String,
}

fn spec(args: &WorkflowArgs) -> Result<WorkflowSpec, String> {
    let process_type = match args.auto_process.as_str() {
        "none" => None,
        "BackupObject" => Some(ProcessType::BackupObject),
        "SwitchObjectToPrivate" => Some(ProcessType::SwitchObjectToPrivate),
        "DeleteObject" => Some(ProcessType::DeleteObject),
        other => {
            return Err(format!(
                "--auto-process {other:?}: none, BackupObject, SwitchObjectToPrivate or DeleteObject"
            ))
        }
    };
    Ok(WorkflowSpec {
        name: args.name.clone(),
        state: Some(WorkflowState::Active),
        node_name: "ImageInspectNode".into(),
        start: StartInput {
            object_prefix: args.prefix.trim_start_matches('/').to_string(),
            queue_id: None,
            notify: None,
            ext_filter: ExtFilter { on: !args.all_files, image: !args.all_files, ..ExtFilter::default() },
        },
        inspect: ImageInspectOptions {
            auto_process: process_type.is_some(),
            process_type: process_type.unwrap_or(ProcessType::BackupObject),
        },
    })
}

pub fn run(args: WorkflowArgs) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async {
        let spec = spec(&args)?;
        let store = Store::connect(&args.database_url, 2)
            .await
            .map_err(|e| format!("connecting to the database: {e}"))?;
        // The bucket's queue too, so that a poll finds the bucket active (the API makes it on
        // first use; this may run before any request).
        store
            .ensure_queue(&args.bucket, &args.region)
            .await
            .map_err(|e| format!("making the bucket's queue: {e}"))?;
        store.ensure_workflow(&args.bucket, &spec).await.map_err(|e| format!("storing the workflow: {e}"))
    });
    match result {
        Ok((w, created)) => {
            let what = if created { "created" } else { "exists" };
            eprintln!("stowaway: workflow {} ({}) in bucket {} {what}", w.workflow_id, w.spec.name, w.bucket);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stowaway: {e}");
            ExitCode::from(2)
        }
    }
}
