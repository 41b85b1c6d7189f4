//! The worker side of Stowaway: the job loop ([`runner`]) running ImageInspect jobs
//! ([`inspect_job`]), and the maintenance services, each its own component with its own loop
//! (River style), stopped by a shared shutdown signal.

mod head_start;
pub mod inspect_job;
pub mod lister;
pub mod maintenance;
pub mod outage;
pub mod poller;
pub mod runner;
pub mod tags;

pub use inspect_job::JobContext;
pub use runner::{run_worker, WorkerConfig};

/// How long a claim is held without a heartbeat. Workers heartbeat every third of it; with the
/// rescuer's period this bounds how long a dead worker's jobs wait: lease + rescue period.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(30);
