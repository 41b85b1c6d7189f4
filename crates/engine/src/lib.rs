//! The lease engine. Work that lives in a table and is done elsewhere (jobs by workers, callbacks
//! by notifiers, object listings by the batch lister) is held under leases: claimed in batches
//! with SKIP LOCKED or handed over by a statement in this process, run concurrently, its outcomes
//! recorded in batches, and what is left handed back on shutdown. `lease.rs` is that loop, once,
//! behind [`Consumer`] (the store operations and the work) and [`Capacity`] (how much to hold).
//! `maintenance.rs` is the shape of the periodic services (rescuers, pruner).
mod batches;
mod lease;
mod maintenance;

pub use lease::{run, Capacity, Consumer, LoopConfig, Ran};
pub use maintenance::{Maintenance, Service};
