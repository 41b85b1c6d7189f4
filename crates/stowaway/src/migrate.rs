//! `stowaway migrate`: apply pending migrations, then exit.
use std::process::ExitCode;

use stowaway_store::Store;

#[derive(clap::Args)]
pub struct MigrateArgs {
    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
}

pub fn run(args: MigrateArgs) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async {
        let store = Store::connect(&args.database_url, 2)
            .await
            .map_err(|e| format!("connecting to the database: {e}"))?;
        store.migrate().await.map_err(|e| format!("applying migrations: {e}"))
    });
    match result {
        Ok(()) => {
            eprintln!("stowaway: migrations applied");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stowaway: {e}");
            ExitCode::from(2)
        }
    }
}
