//! Request bodies on a clock, so a client trickling or stalling a body cannot hold a connection.
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

use super::Timeouts;

/// A request body that fails once the client pauses longer than `body_idle` or takes longer than
/// `body_total`. Clocks start at the first read, and only a read that waits can fail: bytes
/// already sent count even if the handler reads late.
pub(super) struct TimedBody {
    inner: Incoming,
    timeouts: Timeouts,
    started: Option<Instant>,
    waiting: Option<Pin<Box<Sleep>>>,
    /// Set when the clock ran out, so the server answers 408 rather than the handler's 400.
    timed_out: Arc<AtomicBool>,
}

impl TimedBody {
    pub(super) fn new(inner: Incoming, timeouts: Timeouts, timed_out: Arc<AtomicBool>) -> TimedBody {
        TimedBody { inner, timeouts, started: None, waiting: None, timed_out }
    }
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let now = Instant::now();
        let started = *this.started.get_or_insert(now);
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.waiting = None;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let Timeouts { body_idle, body_total, .. } = this.timeouts;
        let deadline = (now + body_idle).min(started + body_total);
        let waiting = this.waiting.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        std::task::ready!(waiting.as_mut().poll(cx));
        this.timed_out.store(true, Ordering::Release);
        let late = io::Error::new(io::ErrorKind::TimedOut, "the request body did not arrive in time");
        Poll::Ready(Some(Err(late.into())))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
