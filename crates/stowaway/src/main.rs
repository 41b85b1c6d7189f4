//! `stowaway`: one binary for every part of the service.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod auth_args;
mod callback_args;
mod migrate;
mod output;
mod scan;
mod service;
mod telemetry;
mod tools;
mod undo_cli;
mod workflow_cli;

/// Every part allocates per request, job and callback; glibc's malloc took 40 % of the notifier's
/// CPU under load, mimalloc a fraction of that (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "stowaway", version, about = "Finds what hides inside images")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect files and directories (recursively; `-` reads standard input). Exit code 0 when all
    /// are clean, 1 when anything is suspicious, 2 when any file could not be read.
    Scan(scan::ScanArgs),
    /// Run the API, the worker, the notifier and the maintenance services in one process
    /// (applies migrations first).
    Serve(service::ServiceArgs),
    /// Run only the HTTP API.
    Api(service::ServiceArgs),
    /// Run only the worker (jobs, rescuer, pruner).
    Worker(service::ServiceArgs),
    /// Run only the notifier (callbacks to URLs and Kafka).
    Notifier(service::ServiceArgs),
    /// Apply pending database migrations (DATABASE_URL) and exit.
    Migrate(migrate::MigrateArgs),
    /// GET a URL; exit 0 when it answers 2xx (container health checks: `stowaway probe
    /// http://127.0.0.1:8080/readyz`).
    Probe(tools::ProbeArgs),
    /// Print an `Authorization` header value for one request, signed with STOWAWAY_SECRET_ID and
    /// STOWAWAY_SECRET_KEY (for curl).
    Sign(tools::SignArgs),
    /// Print a temporary key (SecretId, SecretKey, security token) issued under STOWAWAY_SECRET_ID,
    /// narrowed by a CAM policy, as Tencent's GetFederationToken answers it.
    Token(tools::TokenArgs),
    /// Undo AutoProcess for jobs after a false alarm: copy each object back from the backup
    /// folder (or make it readable again), recorded on the job.
    Undo(undo_cli::UndoArgs),
    /// Make sure a bucket has an Active ImageInspect workflow of a given name (uploads its bucket
    /// events or polls report start runs of it), then exit.
    Workflow(workflow_cli::WorkflowArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Serve(args) => service::run(args, service::Parts::ALL),
        Command::Api(args) => service::run(args, service::Parts::API),
        Command::Worker(args) => service::run(args, service::Parts::WORKER),
        Command::Notifier(args) => service::run(args, service::Parts::NOTIFIER),
        Command::Migrate(args) => migrate::run(args),
        Command::Probe(args) => tools::probe(args),
        Command::Sign(args) => tools::sign_request(args),
        Command::Token(args) => tools::token(args),
        Command::Undo(args) => undo_cli::run(args),
        Command::Workflow(args) => workflow_cli::run(args),
    }
}
