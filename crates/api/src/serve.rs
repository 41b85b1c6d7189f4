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
use hyper_util::rt::TokioIo;
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
            .title_case_headers(true)
            .serve_connection(TokioIo::new(TencentHeaderCase(stream)), TowerToHyperService::new(app.clone()));
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

/// A connection whose response heads get [`LOWERCASE_NAMES`] lowered. hyper writes a head in one
/// buffer (it flattens, since this stream does not claim vectored writes), so each name arrives
/// whole; bodies never hold CRLF followed by these names.
struct TencentHeaderCase<S>(S);

impl<S: AsyncRead + Unpin> AsyncRead for TencentHeaderCase<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TencentHeaderCase<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if memchr::memmem::find(buf, b"\r\nX-C").is_none() {
            return Pin::new(&mut self.0).poll_write(cx, buf);
        }
        let mut lowered = buf.to_vec();
        for name in LOWERCASE_NAMES {
            for at in memchr::memmem::find_iter(buf, name) {
                lowered[at..at + name.len()].make_ascii_lowercase();
            }
        }
        Pin::new(&mut self.0).poll_write(cx, &lowered)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
