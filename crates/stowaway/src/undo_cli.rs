//! `stowaway undo`: undoes AutoProcess for jobs after a false alarm (the object copied back from
//! the backup folder, or made readable again), straight against the database and the store, as
//! `POST /jobs/<JobId>/undo` and the console do; recorded on each job as by `cli`.
use std::process::ExitCode;

use stowaway_objects::{ObjectStoreConfig, Objects};
use stowaway_store::Store;

#[derive(clap::Args)]
pub struct UndoArgs {
    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// The jobs' bucket.
    #[arg(long, env = "STOWAWAY_DEFAULT_BUCKET")]
    bucket: String,
    /// JobIds to undo.
    #[arg(required = true)]
    job_ids: Vec<String>,
}

/// Exit 0 when every job was undone (or had been), 1 when any was refused or failed.
pub fn run(args: UndoArgs) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async {
        let setup = async {
            let store = Store::connect(&args.database_url, 2)
                .await
                .map_err(|e| format!("connecting to the database: {e}"))?;
            Ok::<_, String>((store, Objects::new(&ObjectStoreConfig::from_env()?)))
        };
        let (store, objects) = match setup.await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("stowaway undo: {e}");
                return ExitCode::from(2);
            }
        };
        let mut failed = false;
        for job_id in &args.job_ids {
            match stowaway_api::undo(&store, &objects, &args.bucket, job_id, Some("cli")).await {
                Ok(u) => println!(
                    "{job_id}\t{}\t{}\tby {}",
                    u.action,
                    u.at.to_rfc3339(),
                    u.by_key.unwrap_or_default()
                ),
                Err(e) => {
                    failed = true;
                    let why = match e {
                        stowaway_api::UndoError::NoSuchJob => "no such job in this bucket".to_string(),
                        stowaway_api::UndoError::Refused(why) => why,
                        stowaway_api::UndoError::Storage(e) => format!("the store: {e}"),
                        stowaway_api::UndoError::Store(e) => format!("the database: {e}"),
                    };
                    eprintln!("stowaway undo: {job_id}: {why}");
                }
            }
        }
        if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    })
}
