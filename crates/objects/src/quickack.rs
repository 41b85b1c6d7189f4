//! The S3 client's connections to `http://` endpoints (MinIO on a private network, the test
//! servers): they acknowledge every segment at once (`TCP_QUICKACK` before each read). A server
//! that writes a response's head and body in two writes without `TCP_NODELAY` otherwise holds
//! the body back until our delayed ACK, 40 ms later, on every request: s3s-fs does, and a GET of
//! any size took 44 ms instead of 0.5 ms (BENCHMARKS.md). The kernel drops quick-ACK mode by
//! itself, so it is set again before every read; a setsockopt costs far less than 40 ms.
//! `https://` endpoints keep the SDK's own client (rustls).
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// An SDK HTTP client for plain-http endpoints whose connections ACK at once, connecting within
/// `connect_timeout`. One connection pool serves every request (the SDK asks for a connector on
/// each attempt; each gets the same pool).
pub(crate) fn quick_ack_client(connect_timeout: Duration) -> SharedHttpClient {
    let client = Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(Connect { timeout: connect_timeout });
    SharedHttpClient::new(QuickAckClient {
        connector: SharedHttpConnector::new(QuickAckConnector { client }),
    })
}

#[derive(Debug)]
struct QuickAckClient {
    connector: SharedHttpConnector,
}

impl HttpClient for QuickAckClient {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        self.connector.clone()
    }
}

#[derive(Clone, Debug)]
struct QuickAckConnector {
    client: Client<Connect, SdkBody>,
}

impl HttpConnector for QuickAckConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(r) => r,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let sent = self.client.request(request);
        HttpConnectorFuture::new(async move {
            // Every failure to get an answer counts as I/O: the caller may retry it.
            let response = sent.await.map_err(|e| ConnectorError::io(e.into()))?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// Opens TCP connections (no TLS) with `TCP_NODELAY`, within the SDK's connect timeout.
#[derive(Clone, Debug)]
struct Connect {
    timeout: Duration,
}

impl tower_service::Service<Uri> for Connect {
    type Response = TokioIo<QuickAck>;
    type Error = io::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = io::Result<TokioIo<QuickAck>>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let timeout = self.timeout;
        Box::pin(async move {
            let host = uri.host().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no host"))?;
            let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
            let port = uri.port_u16().unwrap_or(80);
            let stream =
                tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port))).await.map_err(
                    |_| io::Error::new(io::ErrorKind::TimedOut, "connecting to the S3 store timed out"),
                )??;
            stream.set_nodelay(true)?;
            Ok(TokioIo::new(QuickAck(stream)))
        })
    }
}

/// A TCP stream that asks for an immediate ACK before every read.
#[derive(Debug)]
pub(crate) struct QuickAck(TcpStream);

impl Connection for QuickAck {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for QuickAck {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Best effort: a failure only brings the delayed ACK back.
        let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
