//! Url callbacks: one HTTP POST per attempt, through a client that connects only to addresses
//! the policy permits (checked on the resolved addresses, so DNS rebinding cannot slip past a
//! check made earlier), never follows redirects, and bounds every attempt in time.
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use stowaway_wire::AddressPolicy;

/// What one POST came to.
#[derive(Clone, Debug, Default)]
pub struct Response {
    /// The HTTP status, when the receiver answered.
    pub status: Option<u16>,
    /// Why the attempt failed, when it did.
    pub error: Option<String>,
    /// The receiver's `Retry-After` on 429 or 503.
    pub retry_after: Option<Duration>,
    /// Refused by the address policy: retrying would not help.
    pub refused: bool,
    pub latency: Duration,
}

#[derive(Clone, Debug)]
pub struct UrlSender {
    client: Client<HttpsConnector<HttpConnector<GuardedResolver>>, Full<Bytes>>,
    policy: Arc<AddressPolicy>,
    timeout: Duration,
}

const USER_AGENT: &str = concat!("Stowaway-Notifier/", env!("CARGO_PKG_VERSION"));
/// Response bodies are read (so the connection can be reused) up to this much, then dropped.
const MAX_RESPONSE_BODY: usize = 64 * 1024;

impl UrlSender {
    /// `connect_timeout` bounds the TCP (and TLS) connect, `timeout` the whole attempt.
    pub fn new(policy: AddressPolicy, connect_timeout: Duration, timeout: Duration) -> UrlSender {
        let policy = Arc::new(policy);
        let mut http = HttpConnector::new_with_resolver(GuardedResolver { policy: policy.clone() });
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider.clone())
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "no CA certificates found: https callbacks will fail");
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                    rustls::ClientConfig::builder_with_provider(provider)
                        .with_safe_default_protocol_versions()
                        .expect("ring supports the default TLS versions")
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth(),
                )
            })
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client =
            Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(tls);
        UrlSender { client, policy, timeout }
    }

    /// POSTs `body` to `url`. Never panics, never follows a redirect.
    pub async fn post(&self, url: &str, headers: &[(&str, String)], body: Bytes) -> Response {
        let started = Instant::now();
        let mut r = match self.checked_request(url, headers, body) {
            Ok(req) => match tokio::time::timeout(self.timeout, self.exchange(req)).await {
                Ok(r) => r,
                Err(_) => failed(format!("no answer within {} ms", self.timeout.as_millis())),
            },
            Err(refusal) => Response { refused: true, ..failed(refusal) },
        };
        r.latency = started.elapsed();
        r
    }

    fn checked_request(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<hyper::Request<Full<Bytes>>, String> {
        // IP-literal hosts never reach the resolver, so they are judged here.
        self.policy.check_url(url)?;
        let mut req = hyper::Request::post(url).header("user-agent", USER_AGENT);
        for (name, value) in headers {
            req = req.header(*name, value.as_str());
        }
        req.body(Full::new(body)).map_err(|e| format!("not a valid request: {e}"))
    }

    async fn exchange(&self, req: hyper::Request<Full<Bytes>>) -> Response {
        let resp = match self.client.request(req).await {
            Ok(resp) => resp,
            Err(e) => {
                let refused = refusal_in(&e);
                let message = refused.clone().unwrap_or_else(|| error_chain(&e));
                return Response { refused: refused.is_some(), ..failed(message) };
            }
        };
        let status = resp.status().as_u16();
        let retry_after = matches!(status, 429 | 503)
            .then(|| resp.headers().get("retry-after").and_then(|v| parse_retry_after(v.to_str().ok()?)))
            .flatten();
        // Drain the body so the connection goes back to the pool; its content is not used.
        let _ = Limited::new(resp.into_body(), MAX_RESPONSE_BODY).collect().await;
        let error = match status {
            200..=299 => None,
            300..=399 => Some(format!("HTTP {status}: redirects are not followed")),
            _ => Some(format!("HTTP {status}")),
        };
        Response { status: Some(status), error, retry_after, ..Response::default() }
    }
}

fn failed(error: String) -> Response {
    Response { error: Some(error), ..Response::default() }
}

/// `Retry-After` as seconds or as an HTTP date, capped at a day.
fn parse_retry_after(v: &str) -> Option<Duration> {
    let secs = match v.trim().parse::<u64>() {
        Ok(s) => s,
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
            (at.timestamp() - chrono::Utc::now().timestamp()).max(0) as u64
        }
    };
    Some(Duration::from_secs(secs.min(24 * 3600)))
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    msg
}

/// The policy's refusal, if that is why the connect failed.
fn refusal_in(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refused>() {
            return Some(r.0.clone());
        }
        cur = err.source();
    }
    None
}

#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Resolves names and keeps only the addresses the policy permits; with none left the connect
/// fails with `Refused`.
#[derive(Clone, Debug)]
struct GuardedResolver {
    policy: Arc<AddressPolicy>,
}

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (permitted, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
                all.into_iter().partition(|a| policy.permits(a.ip()));
            if permitted.is_empty() {
                let ips: Vec<IpAddr> = refused.iter().map(|a| a.ip()).collect();
                return Err(Box::new(Refused(format!(
                    "refused: {host} resolves only to non-public addresses {ips:?} \
                     (STOWAWAY_CALLBACK_ALLOW_PRIVATE lifts this)"
                ))) as Self::Error);
            }
            Ok(permitted.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_as_seconds_or_a_date() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("999999"), Some(Duration::from_secs(86400)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
