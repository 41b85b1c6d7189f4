//! The worker side of Stowaway. So far: the maintenance services, each its own component with its
//! own loop (River style), stopped by a shared shutdown signal.

pub mod maintenance;

/// How long a claim is held without a heartbeat. Workers heartbeat every third of it; with the
/// rescuer's period this bounds how long a dead worker's jobs wait: lease + rescue period.
pub const LEASE: std::time::Duration = std::time::Duration::from_secs(30);
