//! The authentication settings of `stowaway serve | api` (README "Authentication").
use std::net::SocketAddr;

use stowaway_api::{AccessKey, KeyRing};

#[derive(clap::Args, Clone)]
pub struct AuthArgs {
    /// SecretId of the key that may do everything.
    #[arg(long, env = "STOWAWAY_SECRET_ID")]
    secret_id: Option<String>,
    /// SecretKey of that key.
    #[arg(long, env = "STOWAWAY_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// A JSON file of further keys, each limited to buckets and actions.
    #[arg(long, env = "STOWAWAY_KEYS_FILE")]
    keys_file: Option<String>,
    /// `off` serves requests without checking signatures (never on a public address).
    #[arg(long, env = "STOWAWAY_AUTH", default_value = "on")]
    auth: String,
    /// Seconds a signature's q-sign-time may be off this server's clock.
    #[arg(long, env = "STOWAWAY_AUTH_CLOCK_SKEW_SECS", default_value_t = KeyRing::DEFAULT_CLOCK_SKEW_SECS)]
    auth_clock_skew_secs: i64,
}

impl AuthArgs {
    /// The keys requests must be signed with, or `None` when authentication is off. With no
    /// key configured, only a loopback listener may run unauthenticated, unless `STOWAWAY_AUTH=off`.
    pub fn key_ring(&self, listen: SocketAddr) -> Result<Option<KeyRing>, String> {
        let off = match self.auth.trim().to_ascii_lowercase().as_str() {
            "on" | "true" => false,
            "off" | "false" => true,
            other => return Err(format!("STOWAWAY_AUTH must be on or off, not {other:?}")),
        };
        let mut keys = Vec::new();
        match (
            self.secret_id.as_deref().filter(|s| !s.is_empty()),
            self.secret_key.as_deref().filter(|s| !s.is_empty()),
        ) {
            (Some(id), Some(key)) => keys.push(AccessKey::root(id, key)),
            (None, None) => {}
            _ => {
                return Err(
                    "STOWAWAY_SECRET_ID and STOWAWAY_SECRET_KEY go together: set both or neither".into()
                )
            }
        }
        if let Some(path) = &self.keys_file {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("STOWAWAY_KEYS_FILE {path}: {e}"))?;
            keys.extend(KeyRing::parse_file(&text).map_err(|e| format!("STOWAWAY_KEYS_FILE {path}: {e}"))?);
        }
        if off {
            tracing::warn!(%listen, "STOWAWAY_AUTH=off: requests are not authenticated");
            return Ok(None);
        }
        if keys.is_empty() {
            if listen.ip().is_loopback() {
                tracing::warn!(%listen, "no keys configured: requests are not authenticated (loopback only)");
                return Ok(None);
            }
            return Err(format!(
                "refusing to serve {listen} without authentication: set STOWAWAY_SECRET_ID and \
                 STOWAWAY_SECRET_KEY (or STOWAWAY_KEYS_FILE), or STOWAWAY_AUTH=off on a trusted network"
            ));
        }
        if self.auth_clock_skew_secs < 0 {
            return Err("STOWAWAY_AUTH_CLOCK_SKEW_SECS must not be negative".into());
        }
        let mut ring = KeyRing::new(keys)?;
        ring.clock_skew_secs = self.auth_clock_skew_secs;
        Ok(Some(ring))
    }
}
