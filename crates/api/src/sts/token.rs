//! Temporary keys that need no storage: the token carries who issued it, until when and what it
//! allows, sealed with the issuing key's secret; the temporary SecretKey is derived from the same
//! secret and the token, so only the issuer and the holder know it. Rotating or removing the issuing
//! key revokes every token it issued.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::policy::Policy;

/// Tencent's limit for a sub-account's temporary key (36 h); the default is its 30 min.
pub const MAX_DURATION_SECS: i64 = 129_600;
pub const DEFAULT_DURATION_SECS: i64 = 1_800;
/// Longest token issued (Tencent's `Policy` parameter is at most 2,048 characters).
const MAX_TOKEN: usize = 6 * 1024;
const VERSION: &str = "stw1";

/// What a token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The SecretId of the key that issued it (its permissions bound the token's).
    #[serde(rename = "p")]
    pub parent: String,
    /// The temporary SecretId requests are signed with.
    #[serde(rename = "i")]
    pub secret_id: String,
    /// GetFederationToken's `Name`, for the logs.
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "s")]
    pub start: i64,
    #[serde(rename = "e")]
    pub expires: i64,
    #[serde(rename = "x")]
    pub policy: Policy,
}

/// A temporary key as Tencent's GetFederationToken returns it.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub tmp_secret_id: String,
    pub tmp_secret_key: String,
    pub token: String,
    pub claims: Claims,
}

/// Why a token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token we issued, or altered since.
    Invalid(&'static str),
    /// Its issuing key is not (or no longer) configured.
    UnknownIssuer,
    Expired,
}

/// Issues a temporary key under `parent` (`parent_secret` its SecretKey), valid from `now` for
/// `duration_secs`.
pub fn issue(
    parent: &str,
    parent_secret: &str,
    name: &str,
    policy: Policy,
    now: i64,
    duration_secs: i64,
) -> Result<Credentials, String> {
    if !(1..=MAX_DURATION_SECS).contains(&duration_secs) {
        return Err(format!("DurationSeconds must be 1 to {MAX_DURATION_SECS}"));
    }
    let claims = Claims {
        parent: parent.into(),
        secret_id: format!("AKID{}", uuid::Uuid::new_v4().simple()),
        name: name.into(),
        start: now,
        expires: now + duration_secs,
        policy,
    };
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialise"));
    let token = format!("{VERSION}.{body}.{}", seal(parent_secret, "token", &body));
    if token.len() > MAX_TOKEN {
        return Err(format!(
            "the policy is too long: the token would be {} bytes (at most {MAX_TOKEN})",
            token.len()
        ));
    }
    let tmp_secret_key = derive_secret(parent_secret, &body);
    Ok(Credentials { tmp_secret_id: claims.secret_id.clone(), tmp_secret_key, token, claims })
}

/// Opens `token`: `secret_of` gives an issuing key's SecretKey by SecretId. Returns the claims and
/// the temporary SecretKey the request must have been signed with.
pub fn open<'k>(
    token: &str,
    secret_of: impl Fn(&str) -> Option<&'k str>,
    now: i64,
) -> Result<(Claims, String), TokenError> {
    let mut parts = token.split('.');
    let (Some(VERSION), Some(body), Some(seal), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Invalid("not a token this service issued"));
    };
    let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| TokenError::Invalid("the token is not base64"))?;
    let claims: Claims =
        serde_json::from_slice(&json).map_err(|_| TokenError::Invalid("the token is unreadable"))?;
    let secret = secret_of(&claims.parent).ok_or(TokenError::UnknownIssuer)?;
    if !sealed(secret, "token", body, seal) {
        return Err(TokenError::Invalid("the token was altered or its issuing key changed"));
    }
    if now >= claims.expires {
        return Err(TokenError::Expired);
    }
    let key = derive_secret(secret, body);
    Ok((claims, key))
}

/// `body`'s seal under `secret` for `label` (each use of a key its own label: a token sealed for
/// one purpose never passes for another).
pub(crate) fn seal(secret: &str, label: &str, body: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(secret, label, body))
}

/// Whether `seal` is `body`'s under `secret` for `label`, compared in constant time.
pub(crate) fn sealed(secret: &str, label: &str, body: &str, seal: &str) -> bool {
    let Ok(seal) = URL_SAFE_NO_PAD.decode(seal) else { return false };
    let mut check = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    check.update(label.as_bytes());
    check.update(b"\n");
    check.update(body.as_bytes());
    check.verify_slice(&seal).is_ok()
}

fn mac(secret: &str, label: &str, body: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(label.as_bytes());
    m.update(b"\n");
    m.update(body.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// A different label from the seal's: the token travels in every request, the key never does.
fn derive_secret(parent_secret: &str, body: &str) -> String {
    seal(parent_secret, "secret", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn issued() -> Credentials {
        issue("AKIDroot", "rootsecret", "uploader", Policy::everything(), NOW, 600).unwrap()
    }

    #[test]
    fn a_token_opens_with_its_issuer_until_it_expires() {
        let c = issued();
        let secret = |id: &str| (id == "AKIDroot").then_some("rootsecret");
        let (claims, key) = open(&c.token, secret, NOW + 599).unwrap();
        assert_eq!(claims, c.claims);
        assert_eq!(key, c.tmp_secret_key);
        assert!(c.tmp_secret_id.starts_with("AKID") && c.tmp_secret_id.len() == 36);
        assert_eq!(open(&c.token, secret, NOW + 600).unwrap_err(), TokenError::Expired);
        assert_ne!(issued().tmp_secret_key, c.tmp_secret_key, "every key is its own");
    }

    #[test]
    fn an_altered_or_foreign_token_is_refused() {
        let c = issued();
        let secret = |_: &str| Some("rootsecret");
        let (v, rest) = c.token.split_once('.').unwrap();
        let (body, seal) = rest.split_once('.').unwrap();
        let mut claims = c.claims.clone();
        claims.expires += 86_400;
        let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
        for bad in [
            format!("{v}.{forged}.{seal}"),
            format!("{v}.{body}.{seal}x"),
            format!("stw0.{body}.{seal}"),
            "junk".into(),
        ] {
            assert!(matches!(open(&bad, secret, NOW), Err(TokenError::Invalid(_))), "{bad}");
        }
        assert!(matches!(open(&c.token, |_| Some("rotated"), NOW), Err(TokenError::Invalid(_))));
        assert_eq!(open(&c.token, |_| None, NOW).unwrap_err(), TokenError::UnknownIssuer);
    }

    #[test]
    fn durations_are_bounded() {
        for d in [0, MAX_DURATION_SECS + 1] {
            assert!(issue("a", "b", "n", Policy::everything(), NOW, d).is_err());
        }
    }
}
