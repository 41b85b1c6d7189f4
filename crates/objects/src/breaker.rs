//! Whether the object store is reachable, as this process's calls found it: a circuit breaker.
//! Every call that got an answer (a permanent refusal like `NoSuchKey` included) closes it; after
//! [`OPEN_AFTER`] calls in a row ended in transient failures (their quick retries used up) it
//! opens. While it is open the worker claims no jobs, except one now and then as a probe, waiting
//! [`FIRST_PROBE`] and then twice as long after each failed probe, up to [`LONGEST_WAIT`].
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::ObjectError;

/// Calls in a row that failed transiently before the breaker opens.
pub const OPEN_AFTER: u32 = 3;
/// The wait before the first probe once the breaker opened.
pub const FIRST_PROBE: Duration = Duration::from_secs(1);
/// The longest wait between probes.
pub const LONGEST_WAIT: Duration = Duration::from_secs(15);

/// Shared by every clone of an [`Objects`](crate::Objects).
#[derive(Clone, Debug, Default)]
pub struct Breaker(Arc<Mutex<State>>);

#[derive(Debug, Default)]
struct State {
    failures_in_a_row: u32,
    open: Option<Open>,
}

#[derive(Debug)]
struct Open {
    since: SystemTime,
    next_probe: Instant,
    wait: Duration,
    last_error: String,
}

/// What the breaker lets a worker claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Closed: as much as it has room for.
    All,
    /// Open, and a probe is due: one job.
    Probe,
    /// Open: nothing.
    Nothing,
}

impl Breaker {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().expect("breaker")
    }

    /// What may be claimed now, without taking a probe's turn.
    pub fn peek(&self) -> Admit {
        match &self.state().open {
            None => Admit::All,
            Some(open) if open.next_probe <= Instant::now() => Admit::Probe,
            Some(_) => Admit::Nothing,
        }
    }

    /// What may be claimed now; a probe's turn is taken (the next one is a wait away).
    pub fn admit(&self) -> Admit {
        let mut state = self.state();
        match &mut state.open {
            None => Admit::All,
            Some(open) if open.next_probe <= Instant::now() => {
                open.next_probe = Instant::now() + open.wait;
                Admit::Probe
            }
            Some(_) => Admit::Nothing,
        }
    }

    pub fn is_open(&self) -> bool {
        self.state().open.is_some()
    }

    /// `None` while closed; else since when it is open and the failure that opened or kept it so.
    pub fn open_since(&self) -> Option<(SystemTime, String)> {
        self.state().open.as_ref().map(|o| (o.since, o.last_error.clone()))
    }

    /// The store answered.
    pub(crate) fn answered(&self) {
        let mut state = self.state();
        state.failures_in_a_row = 0;
        if let Some(open) = state.open.take() {
            let secs = open.since.elapsed().unwrap_or_default().as_secs();
            tracing::warn!(unreachable_secs = secs, "the object store answers again; claiming jobs again");
            metrics::gauge!("stowaway_storage_reachable").set(1.0);
        }
    }

    /// A call failed transiently after its quick retries.
    pub(crate) fn failed(&self, e: &ObjectError) {
        let mut state = self.state();
        state.failures_in_a_row += 1;
        let last_error = e.to_string();
        let failures = state.failures_in_a_row;
        match &mut state.open {
            Some(open) => {
                open.wait = (open.wait * 2).min(LONGEST_WAIT);
                open.next_probe = Instant::now() + open.wait;
                open.last_error = last_error;
            }
            None if failures >= OPEN_AFTER => {
                tracing::error!(error = %last_error,
                    "the object store cannot be reached; jobs wait (no claims but a probe now and then)");
                metrics::gauge!("stowaway_storage_reachable").set(0.0);
                metrics::counter!("stowaway_storage_breaker_opened_total").increment(1);
                state.open = Some(Open {
                    since: SystemTime::now(),
                    next_probe: Instant::now() + FIRST_PROBE,
                    wait: FIRST_PROBE,
                    last_error,
                });
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> ObjectError {
        ObjectError::transport("ServiceUnavailable", "cannot reach the S3 store: Connection refused".into())
    }

    #[test]
    fn opens_after_failures_in_a_row_probes_with_growing_waits_and_closes_on_an_answer() {
        let b = Breaker::default();
        b.failed(&refused());
        b.answered();
        b.failed(&refused());
        b.failed(&refused());
        assert_eq!(b.admit(), Admit::All, "an answer in between starts the count again");
        b.failed(&refused());
        assert_eq!(b.peek(), Admit::Nothing, "open: the first probe is {FIRST_PROBE:?} away");
        assert!(b.open_since().unwrap().1.contains("Connection refused"));

        b.state().open.as_mut().unwrap().next_probe = Instant::now();
        assert_eq!(b.peek(), Admit::Probe);
        assert_eq!(b.admit(), Admit::Probe);
        assert_eq!(b.admit(), Admit::Nothing, "one probe per wait");
        b.failed(&refused());
        assert_eq!(b.state().open.as_ref().unwrap().wait, FIRST_PROBE * 2, "a failed probe doubles the wait");
        for _ in 0..10 {
            b.failed(&refused());
        }
        assert_eq!(b.state().open.as_ref().unwrap().wait, LONGEST_WAIT);

        b.answered();
        assert_eq!(b.admit(), Admit::All);
        assert!(b.open_since().is_none());
    }
}
