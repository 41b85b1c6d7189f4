//! Small commands for operators: `stowaway probe <url>` (a health check for images without curl),
//! `stowaway sign <METHOD> <PATH>` (an `Authorization` for curl) and `stowaway token` (a temporary key).
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use stowaway_wire::cos_sign::{query_pairs, sign, SignedParts};

#[derive(clap::Args)]
pub struct ProbeArgs {
    /// An http:// URL, e.g. http://127.0.0.1:8080/readyz; exit 0 when it answers 2xx.
    url: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
}

pub fn probe(args: ProbeArgs) -> ExitCode {
    match get_status(&args.url, Duration::from_secs(args.timeout.max(1))) {
        Ok(status) if (200..300).contains(&status) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("stowaway probe: {} answered {status}", args.url);
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("stowaway probe: {}: {e}", args.url);
            ExitCode::from(1)
        }
    }
}

/// One HTTP/1.1 GET; the status code of the answer.
fn get_status(url: &str, timeout: Duration) -> Result<u16, String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
    let (authority, path) =
        rest.split_once('/').map_or((rest, "/".to_string()), |(a, p)| (a, format!("/{p}")));
    // `host` alone means port 80, as in any URL.
    let with_port = if authority.rsplit_once(':').is_some_and(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("the host resolves to no address")?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).map_err(|e| e.to_string())?;
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "not an HTTP answer".into())
}

#[derive(clap::Args)]
pub struct SignArgs {
    /// HTTP method, e.g. POST.
    method: String,
    /// Path and query as sent, e.g. /jobs or '/photo.png?ci-process=ImageInspect'.
    path: String,
    /// SecretId to sign with.
    #[arg(long, env = "STOWAWAY_SECRET_ID")]
    secret_id: String,
    /// SecretKey to sign with.
    #[arg(long, env = "STOWAWAY_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// Seconds the signature stays valid.
    #[arg(long, default_value_t = 3600)]
    expires: i64,
}

/// Prints an `Authorization` value for one request. It signs the path and every query parameter
/// but no header, so it holds whatever `Host` the request carries.
pub fn sign_request(args: SignArgs) -> ExitCode {
    let (path, query) = args.path.split_once('?').unwrap_or((&args.path, ""));
    let query = query_pairs(query);
    let now = chrono::Utc::now().timestamp();
    let parts = SignedParts { method: &args.method, path, query: &query, headers: &[] };
    let auth = sign(&args.secret_id, &args.secret_key, now - 60, now + args.expires.max(1), &parts);
    println!("{}", auth.to_header());
    ExitCode::SUCCESS
}

#[derive(clap::Args)]
pub struct TokenArgs {
    /// SecretId of the issuing key (a configured one; the temporary key never exceeds it).
    #[arg(long, env = "STOWAWAY_SECRET_ID")]
    secret_id: String,
    /// SecretKey of the issuing key.
    #[arg(long, env = "STOWAWAY_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// A CAM policy (Tencent's JSON, or a file holding it); without one, everything the issuing
    /// key may do.
    #[arg(long)]
    policy: Option<String>,
    /// Seconds the temporary key lasts (1 to 129,600).
    #[arg(long, default_value_t = 1800)]
    duration: i64,
    /// A name for the logs (GetFederationToken's Name).
    #[arg(long, default_value = "")]
    name: String,
}

/// Prints a temporary key as GetFederationToken's `Response`; needs no running service, which
/// verifies it with the issuing key alone.
pub fn token(args: TokenArgs) -> ExitCode {
    let policy = match &args.policy {
        None => Ok(stowaway_api::TemporaryKeyPolicy::everything()),
        Some(p) => {
            let text =
                if p.trim_start().starts_with('{') { Ok(p.clone()) } else { std::fs::read_to_string(p) };
            text.map_err(|e| format!("--policy {p}: {e}"))
                .and_then(|t| stowaway_api::TemporaryKeyPolicy::from_cam(&t))
        }
    };
    let now = chrono::Utc::now().timestamp();
    let issued = policy.and_then(|policy| {
        stowaway_api::issue_temporary_key(
            &args.secret_id,
            &args.secret_key,
            &args.name,
            policy,
            now,
            args.duration,
        )
    });
    match issued {
        Ok(c) => {
            println!("{}", stowaway_api::federation_token_answer(&c, "local"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stowaway token: {e}");
            ExitCode::from(2)
        }
    }
}
