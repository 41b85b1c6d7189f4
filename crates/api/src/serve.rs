//! The HTTP/1.1 server loop. axum's `serve` writes header names in lowercase, which HTTP allows
//! but Tencent's Python SDK does not survive: it copies response headers into a plain dict and
//! looks up `Content-Type` and `Content-Length` by exact case, and `x-cos-request-id` in lowercase.
//! So connections are served by hyper directly with title-case headers, and the `x-ci-*`/`x-cos-*`
//! names are lowered on the way out, as Tencent's servers send them.
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;

/// Serves `app` until `shutdown` resolves, then lets open connections finish their requests.
pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            // A client that sends no complete head within this is dropped (hyper's default
            // only applies with a timer set).
            .header_read_timeout(std::time::Duration::from_secs(30))
            .title_case_headers(true)
            .serve_connection(
                TokioIo::new(TencentHeaderCase::new(stream)),
                TowerToHyperService::new(app.clone()),
            );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
}

/// Header names Tencent sends in lowercase, as hyper's title case writes them (same length).
const LOWERCASE_NAMES: [&[u8]; 4] =
    [b"\r\nX-Ci-Request-Id:", b"\r\nX-Cos-Request-Id:", b"\r\nX-Ci-Trace-Id:", b"\r\nX-Cos-Trace-Id:"];

/// A connection whose response heads get [`LOWERCASE_NAMES`] lowered. hyper writes a response's
/// head, with small bodies after it, in one buffer (it flattens, since this stream does not claim
/// vectored writes), so only a buffer that starts a response is looked at, and only up to the
/// end of its head. A lowered buffer the socket takes only in part is kept and written before
/// anything else, so a name is never split between a lowered and an unlowered write.
struct TencentHeaderCase<S> {
    inner: S,
    pending: Vec<u8>,
    written: usize,
}

impl<S> TencentHeaderCase<S> {
    fn new(inner: S) -> Self {
        TencentHeaderCase { inner, pending: Vec::new(), written: 0 }
    }
}

impl<S: AsyncWrite + Unpin> TencentHeaderCase<S> {
    /// Writes what is left of a lowered buffer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

/// The buffer with [`LOWERCASE_NAMES`] lowered in its head, if it starts a response and holds any.
fn lowered_head(buf: &[u8]) -> Option<Vec<u8>> {
    if !buf.starts_with(b"HTTP/1.") {
        return None;
    }
    let head = memchr::memmem::find(buf, b"\r\n\r\n").map_or(buf.len(), |i| i + 2);
    let mut lowered: Option<Vec<u8>> = None;
    for name in LOWERCASE_NAMES {
        for at in memchr::memmem::find_iter(&buf[..head], name) {
            lowered.get_or_insert_with(|| buf.to_vec())[at..at + name.len()].make_ascii_lowercase();
        }
    }
    lowered
}

impl<S: AsyncRead + Unpin> AsyncRead for TencentHeaderCase<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TencentHeaderCase<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        std::task::ready!(this.poll_pending(cx))?;
        let Some(lowered) = lowered_head(buf) else {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        };
        match Pin::new(&mut this.inner).poll_write(cx, &lowered) {
            Poll::Ready(Ok(n)) => {
                if n < lowered.len() {
                    // The rest is ours to write: report the whole buffer taken.
                    this.pending = lowered;
                    this.written = n;
                }
                Poll::Ready(Ok(buf.len()))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    /// A socket that takes at most 7 bytes per write.
    struct Trickle(Vec<u8>);

    impl AsyncWrite for Trickle {
        fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            let n = buf.len().min(7);
            self.0.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn ids_are_lowered_in_heads_only_and_whole_across_short_writes() {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nX-Ci-Request-Id: ab\r\nX-Cos-Request-Id: ab\r\n\r\n";
        let body = "<Message>\r\nX-Cos-Trace-Id: kept</Message>";
        let mut conn = TencentHeaderCase::new(Trickle(Vec::new()));
        conn.write_all(format!("{head}{body}").as_bytes()).await.unwrap();
        conn.write_all(b"HTTP/1.1 204 No Content\r\nX-Cos-Trace-Id: cd\r\n\r\n").await.unwrap();
        conn.flush().await.unwrap();
        let out = String::from_utf8(conn.inner.0).unwrap();
        assert_eq!(
            out,
            format!(
                "{}{body}HTTP/1.1 204 No Content\r\nx-cos-trace-id: cd\r\n\r\n",
                head.replace("X-Ci-Request-Id", "x-ci-request-id")
                    .replace("X-Cos-Request-Id", "x-cos-request-id")
            )
        );
    }
}
