//! Connection settings, read from the environment by the service.

use std::fmt;

/// Where the objects live and how to sign requests to them.
#[derive(Clone, PartialEq, Eq)]
pub struct ObjectStoreConfig {
    /// The S3 endpoint, e.g. `http://minio:9000`; `None` means AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// Path-style URLs (`http://host/bucket/key`) instead of virtual-hosted ones; self-hosted
    /// stores (MinIO, garage, s3s) want this.
    pub path_style: bool,
    /// For `http://` endpoints, acknowledge every segment at once (see `quickack.rs`); off, the
    /// SDK's own client is used.
    pub quick_ack: bool,
}

impl fmt::Debug for ObjectStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreConfig")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.as_ref().map(|_| "<redacted>"))
            .field("path_style", &self.path_style)
            .field("quick_ack", &self.quick_ack)
            .finish()
    }
}

impl ObjectStoreConfig {
    /// Reads `STOWAWAY_S3_ENDPOINT` (optional: unset or empty = AWS), `STOWAWAY_S3_REGION`
    /// (default `us-east-1`), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`
    /// (optional), `STOWAWAY_S3_PATH_STYLE` (default `true`) and `STOWAWAY_S3_QUICK_ACK` (default `true`). A missing key or a bad value is a
    /// one-line message naming the variable.
    pub fn from_env() -> Result<ObjectStoreConfig, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any source of variables.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<ObjectStoreConfig, String> {
        let optional = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let required = |name: &str| {
            optional(name)
                .ok_or_else(|| format!("{name} is not set (the S3 credentials Stowaway signs with)"))
        };
        let path_style = match optional("STOWAWAY_S3_PATH_STYLE") {
            None => true,
            Some(v) => parse_bool(&v)
                .ok_or_else(|| format!("STOWAWAY_S3_PATH_STYLE must be true or false, not {v:?}"))?,
        };
        let quick_ack = match optional("STOWAWAY_S3_QUICK_ACK") {
            None => true,
            Some(v) => parse_bool(&v)
                .ok_or_else(|| format!("STOWAWAY_S3_QUICK_ACK must be true or false, not {v:?}"))?,
        };
        Ok(ObjectStoreConfig {
            endpoint: optional("STOWAWAY_S3_ENDPOINT"),
            region: optional("STOWAWAY_S3_REGION").unwrap_or_else(|| "us-east-1".to_string()),
            access_key_id: required("AWS_ACCESS_KEY_ID")?,
            secret_access_key: required("AWS_SECRET_ACCESS_KEY")?,
            session_token: optional("AWS_SESSION_TOKEN"),
            path_style,
            quick_ack,
        })
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Result<ObjectStoreConfig, String> {
        ObjectStoreConfig::from_lookup(|n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_and_errors() {
        let keys = [("AWS_ACCESS_KEY_ID", "ak"), ("AWS_SECRET_ACCESS_KEY", "s3cr3t")];
        let c = cfg(&keys).unwrap();
        assert_eq!(
            (c.endpoint, c.region.as_str(), c.path_style, c.session_token),
            (None, "us-east-1", true, None)
        );
        let err = cfg(&keys[..1]).unwrap_err();
        assert!(err.starts_with("AWS_SECRET_ACCESS_KEY is not set"), "{err}");
        assert!(!err.contains('\n'));
        let err = cfg(&[keys[0], keys[1], ("STOWAWAY_S3_PATH_STYLE", "maybe")]).unwrap_err();
        assert!(err.contains("STOWAWAY_S3_PATH_STYLE"), "{err}");
        let c = cfg(&[keys[0], keys[1], ("STOWAWAY_S3_PATH_STYLE", "false"), ("STOWAWAY_S3_ENDPOINT", "")]);
        assert_eq!(c.map(|c| (c.path_style, c.endpoint)), Ok((false, None)));
        let c = cfg(&[keys[0], keys[1], ("STOWAWAY_S3_ENDPOINT", "http://s3:9000")]).unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("http://s3:9000"));
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }
}
