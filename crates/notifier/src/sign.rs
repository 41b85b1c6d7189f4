//! Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` is
//! `v1,<base64 HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>">`, one per secret,
//! space-separated, so receivers keep verifying while keys rotate.
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The signing keys, newest first.
#[derive(Clone)]
pub struct Signer {
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Signer {
    // Never print the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({} keys)", self.keys.len())
    }
}

impl Signer {
    /// Parses `STOWAWAY_CALLBACK_SIGNING_SECRETS`: secrets separated by commas or spaces, each
    /// `whsec_<base64>` (the Standard Webhooks form, base64 of 24 to 64 random bytes).
    pub fn parse(secrets: &str) -> Result<Signer, String> {
        let keys = secrets
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(|s| {
                let b64 = s.strip_prefix("whsec_").ok_or("signing secrets start with whsec_")?;
                let key = BASE64.decode(b64).map_err(|_| "a signing secret is not whsec_<base64>")?;
                if key.len() < 24 {
                    return Err("a signing secret must hold at least 24 bytes");
                }
                Ok(key)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err("no signing secret given".into());
        }
        Ok(Signer { keys })
    }

    /// The `webhook-signature` value for one message.
    pub fn signature(&self, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
        let signed = |key: &[u8]| {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(format!("{webhook_id}.{timestamp}.").as_bytes());
            mac.update(body);
            format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
        };
        self.keys.iter().map(|k| signed(k)).collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the Standard Webhooks specification's test vectors.
    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        let signer = Signer::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signer.signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn every_key_signs_during_rotation() {
        let s =
            Signer::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
                .unwrap();
        let sig = s.signature("msg_1", 1, b"{}");
        assert_eq!(sig.split(' ').count(), 2);
        assert!(sig.split(' ').all(|p| p.starts_with("v1,")));
    }

    #[test]
    fn bad_secrets_are_refused() {
        for bad in ["", "secret", "whsec_%%%", "whsec_c2hvcnQ="] {
            assert!(Signer::parse(bad).is_err(), "{bad}");
        }
    }
}
