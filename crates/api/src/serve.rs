//! The HTTP/1.1 server loop. axum's `serve` writes header names in lowercase, which HTTP allows
//! but Tencent's Python SDK does not survive: it copies response headers into a plain dict and
//! looks up `Content-Type` and `Content-Length` by exact case, and `x-cos-request-id` in lowercase.
//! So connections are served by hyper directly with title-case headers, and the `x-ci-*`/`x-cos-*`
//! names are lowered on the way out, as Tencent's servers send them.
//!
//! The loop also keeps what a router cannot see: slow clients (a head, then a body, must arrive in
//! time; see [`Timeouts`]), a shutdown that does not wait for clients still sending a head, and
//! RFC 9112's one valid `Host` per request.
mod timed_body;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{CONNECTION, HOST};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, Uri};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use stowaway_wire::WireError;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;

use timed_body::TimedBody;

use crate::error::ApiError;

/// How long a client may take to send a request; [`serve`] uses [`Timeouts::default`].
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// For a request's head, from the connection's start or the previous response.
    pub header_read: Duration,
    /// Longest silence while a request's body is read.
    pub body_idle: Duration,
    /// Longest a request's body may take, from when its reading starts.
    pub body_total: Duration,
}

impl Default for Timeouts {
    /// Bodies are at most 64 KiB, so 30 s asks ~2 KiB/s of a client, and 10 s of silence is a
    /// stalled or hostile client rather than a slow link (TCP retransmits within a few seconds).
    fn default() -> Timeouts {
        Timeouts {
            header_read: Duration::from_secs(30),
            body_idle: Duration::from_secs(10),
            body_total: Duration::from_secs(30),
        }
    }
}

/// Serves `app` until `shutdown` resolves, then lets requests in progress finish.
pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) {
    serve_with(listener, app, shutdown, Timeouts::default()).await
}

/// [`serve`] with these timeouts. On `shutdown` it stops accepting and closes at once the
/// connections that have not delivered a request (hyper alone would wait up to `header_read`
/// for a head being sent); idle keep-alive ones hyper closes itself; requests in progress finish.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
    timeouts: Timeouts,
) {
    let refusals = refusals();
    let (stop, stopped) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let requested = Arc::new(AtomicBool::new(false));
        let gate = Gate {
            app: TowerToHyperService::new(app.clone()),
            refusals: refusals.clone(),
            timeouts,
            requested: requested.clone(),
        };
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            // A client that sends no complete head within this is dropped (hyper's default
            // only applies with a timer set).
            .header_read_timeout(timeouts.header_read)
            .title_case_headers(true)
            .serve_connection(TokioIo::new(TencentHeaderCase::new(stream)), gate);
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            tokio::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                _ = stopped.changed() => {
                    if !requested.load(Ordering::Acquire) {
                        return; // dropping the connection closes its socket
                    }
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(stopped);
    let _ = stop.send(());
    // Each connection's task holds a receiver until it ends.
    stop.closed().await;
}

/// One connection's service: checks what the router cannot, and times the request body.
struct Gate {
    app: TowerToHyperService<Router>,
    refusals: TowerToHyperService<Router>,
    timeouts: Timeouts,
    /// Whether this connection has delivered a request (so shutdown must let it finish).
    requested: Arc<AtomicBool>,
}

impl Service<Request<Incoming>> for Gate {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.requested.store(true, Ordering::Release);
        let (method, uri) = (request.method().clone(), request.uri().clone());
        if let Some(problem) = host_problem(request.headers()) {
            return Box::pin(refuse(
                self.refusals.clone(),
                method,
                uri,
                WireError::invalid_argument(problem),
            ));
        }
        let timed_out = Arc::new(AtomicBool::new(false));
        let request = request.map(|body| TimedBody::new(body, self.timeouts, timed_out.clone()));
        let answer = self.app.call(request);
        let refusals = self.refusals.clone();
        let Timeouts { body_idle, body_total, .. } = self.timeouts;
        Box::pin(async move {
            let response = answer.await?;
            if !timed_out.load(Ordering::Acquire) {
                return Ok(response);
            }
            // The handler saw a failed read (400); the client's slowness is what it must hear.
            let message = format!(
                "the request body did not arrive in time: it may pause at most {body_idle:?} \
                 and must end within {body_total:?}"
            );
            refuse(refusals, method, uri, WireError::new(408, "RequestTimeout", message)).await
        })
    }
}

/// Why a request's `Host` cannot say which bucket it is for (RFC 9112 §3.2), if it cannot. A
/// missing `Host` is left to the router (the default bucket), as before.
fn host_problem(headers: &HeaderMap) -> Option<String> {
    let mut hosts = headers.get_all(HOST).iter();
    let host = hosts.next()?;
    let others = hosts.count();
    if others > 0 {
        return Some(format!("the request has {} Host headers; HTTP/1.1 allows one", others + 1));
    }
    (!host.is_empty() && !valid_host(host)).then(|| "the Host header is not a valid host[:port]".to_string())
}

/// `uri-host [":" port]`: an authority without userinfo, whose port is digits.
fn valid_host(value: &HeaderValue) -> bool {
    let Some(authority) = value.to_str().ok().and_then(|h| h.parse::<Authority>().ok()) else {
        return false;
    };
    // With userinfo the authority does not start with its host.
    let port = authority.as_str().strip_prefix(authority.host()).and_then(|rest| match rest {
        "" => Some(""),
        _ => rest.strip_prefix(':'),
    });
    port.is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// Renders `wire` as the router renders errors (request id, `<Error>`), and ends the connection:
/// what follows such a request cannot be trusted to be framed as the client meant.
async fn refuse(
    refusals: TowerToHyperService<Router>,
    method: Method,
    uri: Uri,
    wire: WireError,
) -> Result<Response<Body>, Infallible> {
    let mut request = Request::new(Body::empty());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    request.extensions_mut().insert(wire);
    let mut response = refusals.call(request).await?;
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    Ok(response)
}

/// Answers every request with the [`WireError`] in its extensions, through the router's context.
fn refusals() -> TowerToHyperService<Router> {
    let answer = |request: axum::extract::Request| async move {
        let wire = request.extensions().get::<WireError>().cloned();
        ApiError::Client(wire.unwrap_or_else(|| WireError::internal("refused without a reason")))
    };
    let router =
        Router::new().fallback(answer).layer(axum::middleware::from_fn(crate::context::request_context));
    TowerToHyperService::new(router)
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
