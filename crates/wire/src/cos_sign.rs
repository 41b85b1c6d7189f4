//! COS/CI request signatures, `q-sign-algorithm=sha1` (spec §6): checking them, as the server
//! does, and making them, as the SDKs do (tests, benches and clients of our own). Pure: strings
//! in, verdicts out; which keys exist and what they may do is the API's business.
//!
//! A signature covers only what the client listed in `q-header-list` and `q-url-param-list`
//! (Python leaves `cancel` in `PUT /jobs/<id>?cancel` unsigned), over the percent-decoded path.
use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::{Digest, Sha1};

use crate::WireError;

/// Everything but `A–Z a–z 0–9 - _ . ~` is percent-encoded, with uppercase hex (spec §6.1).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// COS's UrlEncode: UTF-8 percent-encoding of everything but the unreserved characters.
pub fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// Percent-decodes (`+` stays `+`: in a path the SDKs encode spaces as `%20`); invalid UTF-8 is
/// replaced.
pub fn url_decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// A query string as decoded `(name, value)` pairs, in order; `?acl` gives `("acl", "")`. Form
/// decoding (`+` is a space): the SDKs' HTTP libraries send `object=a+b.png` for the key
/// `a b.png` (and `%2B` for a `+`), and sign it as `a%20b.png`.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| url_decode(&s.replace('+', " "));
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The parts of a request a signature covers. Header names in any case; the path as received.
#[derive(Clone, Copy, Debug)]
pub struct SignedParts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub headers: &'a [(String, String)],
}

/// A parsed `Authorization` (header or presigned query).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    pub secret_id: String,
    pub sign_time: String,
    pub key_time: String,
    /// Signed header names, as the client listed them (UrlEncoded, lowercase).
    pub header_list: Vec<String>,
    /// Signed query parameter names, as the client listed them.
    pub param_list: Vec<String>,
    pub signature: String,
    /// The signing window from `q-sign-time`, Unix seconds.
    pub start: i64,
    pub end: i64,
}

/// Why a request's signature was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header and no `q-signature` in the query.
    Missing,
    /// The authorization could not be read (what is wrong with it).
    Malformed(String),
    /// `q-ak` names no key we know.
    UnknownKey,
    /// The window starts later than now plus the allowed skew.
    NotYetValid,
    /// The window ended before now minus the allowed skew.
    Expired,
    /// The signature is not the one the key makes for this request.
    Mismatch,
}

impl AuthError {
    /// The `<Error>` a client sees: always 403, with COS's codes (spec §5.4, §6.3).
    pub fn to_wire(&self) -> WireError {
        let (code, message) = match self {
            AuthError::Missing => (
                "AccessDenied",
                "the request is not signed: send an Authorization header (q-sign-algorithm=sha1) or a presigned URL"
                    .to_string(),
            ),
            AuthError::Malformed(why) => ("AccessDenied", format!("the authorization is malformed: {why}")),
            AuthError::UnknownKey => ("InvalidAccessKeyId", "the SecretId (q-ak) is not known here".into()),
            AuthError::NotYetValid => (
                "RequestTimeTooSkewed",
                "the signature's q-sign-time starts in the future; check the client's clock".into(),
            ),
            AuthError::Expired => ("AccessDenied", "Request has expired: the signature's q-sign-time has ended".into()),
            AuthError::Mismatch => (
                "SignatureDoesNotMatch",
                "the request signature we calculated does not match the signature you provided; check your SecretKey"
                    .into(),
            ),
        };
        WireError::forbidden(code, message)
    }
}

/// Longest authorization we read; real ones are under 1 KiB.
const MAX_AUTHORIZATION: usize = 8 * 1024;
/// Most headers or parameters one signature may list (the SDKs list under ten).
const MAX_SIGNED_NAMES: usize = 64;

impl Authorization {
    /// Reads an `Authorization` header value: `q-sign-algorithm=sha1&q-ak=…&q-signature=…`.
    pub fn from_header(value: &str) -> Result<Authorization, AuthError> {
        if value.len() > MAX_AUTHORIZATION {
            return Err(AuthError::Malformed("longer than 8 KiB".into()));
        }
        // Taken literally: the lists hold UrlEncoded names (`x%25y`), not URL-encoded text.
        let pairs: Vec<(String, String)> = value
            .trim()
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.trim().to_string(), v.to_string())
            })
            .collect();
        Authorization::from_pairs(&pairs)
    }

    /// Reads a presigned URL's query; `None` when the query carries no signature.
    pub fn from_query(query: &[(String, String)]) -> Option<Result<Authorization, AuthError>> {
        let signed = query.iter().any(|(k, _)| k == "q-sign-algorithm" || k == "q-signature");
        signed.then(|| Authorization::from_pairs(query))
    }

    fn from_pairs(pairs: &[(String, String)]) -> Result<Authorization, AuthError> {
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim());
        let required = |name: &'static str| {
            get(name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| AuthError::Malformed(format!("{name} is missing")))
        };
        let algorithm = required("q-sign-algorithm")?;
        if !algorithm.eq_ignore_ascii_case("sha1") {
            return Err(AuthError::Malformed(format!("q-sign-algorithm must be sha1, not {algorithm:?}")));
        }
        let sign_time = required("q-sign-time")?;
        let (start, end) = window(sign_time)?;
        let key_time = get("q-key-time").filter(|v| !v.is_empty()).unwrap_or(sign_time);
        window(key_time)?;
        let list = |name| -> Vec<String> {
            get(name).unwrap_or("").split(';').filter(|s| !s.is_empty()).map(str::to_string).collect()
        };
        let (header_list, param_list) = (list("q-header-list"), list("q-url-param-list"));
        if header_list.len() > MAX_SIGNED_NAMES || param_list.len() > MAX_SIGNED_NAMES {
            return Err(AuthError::Malformed(format!(
                "more than {MAX_SIGNED_NAMES} signed headers or parameters"
            )));
        }
        let signature = required("q-signature")?;
        if signature.len() != 40 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AuthError::Malformed("q-signature must be 40 hex digits".into()));
        }
        Ok(Authorization {
            secret_id: required("q-ak")?.to_string(),
            sign_time: sign_time.to_string(),
            key_time: key_time.to_string(),
            header_list,
            param_list,
            signature: signature.to_ascii_lowercase(),
            start,
            end,
        })
    }

    /// Whether `now` lies in the signing window, give or take `skew` seconds.
    pub fn check_time(&self, now: i64, skew: i64) -> Result<(), AuthError> {
        if self.start > now.saturating_add(skew) {
            Err(AuthError::NotYetValid)
        } else if self.end < now.saturating_sub(skew) {
            Err(AuthError::Expired)
        } else {
            Ok(())
        }
    }

    /// Whether the signature is the one `secret_key` makes for `request`. `Host` is tried as
    /// received and without its port: Python signs the host name alone, the others with the port.
    pub fn verify(&self, request: &SignedParts, secret_key: &str) -> Result<(), AuthError> {
        let Ok(given) = hex_decode(&self.signature) else {
            return Err(AuthError::Mismatch);
        };
        let Some(params) = canonical(&self.param_list, request.query, None) else {
            return Err(AuthError::Mismatch);
        };
        let mut hosts = vec![None];
        if self.header_list.iter().any(|h| h == "host") {
            let host = find(request.headers, "host").unwrap_or_default();
            if let Some((name, port)) = host.rsplit_once(':') {
                if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
                    hosts.push(Some(name.to_string()));
                }
            }
        }
        for host in hosts {
            let Some(headers) = canonical(&self.header_list, request.headers, host.as_deref()) else {
                return Err(AuthError::Mismatch);
            };
            let http = http_string(request.method, &url_decode(request.path), &params, &headers);
            let mac = signature_mac(secret_key, &self.key_time, &self.sign_time, &http);
            // `verify_slice` compares in constant time.
            if mac.verify_slice(&given).is_ok() {
                return Ok(());
            }
        }
        Err(AuthError::Mismatch)
    }

    /// The header value, as the SDKs send it.
    pub fn to_header(&self) -> String {
        format!(
            "q-sign-algorithm=sha1&q-ak={}&q-sign-time={}&q-key-time={}&q-header-list={}&q-url-param-list={}&q-signature={}",
            self.secret_id,
            self.sign_time,
            self.key_time,
            self.header_list.join(";"),
            self.param_list.join(";"),
            self.signature
        )
    }

    /// The same, as query parameters of a presigned URL (to append after `?` or `&`).
    pub fn to_query(&self) -> String {
        self.to_header()
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').expect("k=v");
                format!("{k}={}", url_encode(v))
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Signs `request` the way the SDKs do: every query parameter and every given header, over the
/// window `start..end` (Unix seconds).
pub fn sign(secret_id: &str, secret_key: &str, start: i64, end: i64, request: &SignedParts) -> Authorization {
    let names = |pairs: &[(String, String)]| {
        let mut names: Vec<String> = pairs.iter().map(|(k, _)| url_encode(k).to_lowercase()).collect();
        names.sort();
        names.dedup();
        names
    };
    let header_list = names(request.headers);
    let param_list = names(request.query);
    let key_time = format!("{start};{end}");
    let http = http_string(
        request.method,
        &url_decode(request.path),
        &canonical(&param_list, request.query, None).unwrap_or_default(),
        &canonical(&header_list, request.headers, None).unwrap_or_default(),
    );
    let mac = signature_mac(secret_key, &key_time, &key_time, &http);
    Authorization {
        secret_id: secret_id.to_string(),
        sign_time: key_time.clone(),
        key_time,
        header_list,
        param_list,
        signature: hex(&mac.finalize().into_bytes()),
        start,
        end,
    }
}

/// `lower(method)\npath\nparams\nheaders\n` (spec §6.1).
pub fn http_string(method: &str, decoded_path: &str, params: &str, headers: &str) -> String {
    format!("{}\n{decoded_path}\n{params}\n{headers}\n", method.to_lowercase())
}

/// `SignKey = hex(HMAC-SHA1(SecretKey, KeyTime))`, then HMAC-SHA1 over the string to sign, ready
/// to finalize or verify.
fn signature_mac(secret_key: &str, key_time: &str, sign_time: &str, http_string: &str) -> Hmac<Sha1> {
    let mut key = Hmac::<Sha1>::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key");
    key.update(key_time.as_bytes());
    let sign_key = hex(&key.finalize().into_bytes());
    let to_sign = format!("sha1\n{sign_time}\n{}\n", hex(&Sha1::digest(http_string.as_bytes())));
    let mut mac = Hmac::<Sha1>::new_from_slice(sign_key.as_bytes()).expect("HMAC takes any key");
    mac.update(to_sign.as_bytes());
    mac
}

/// `k1=v1&k2=v2` for the listed names, in the listed order; a listed name the request lacks
/// counts as the empty value. `host` overrides the Host header's value. `None` when a listed
/// name has two values: which one the signature covered is ambiguous, and a handler reading the
/// other would act on something unsigned.
fn canonical(list: &[String], pairs: &[(String, String)], host: Option<&str>) -> Option<String> {
    // Each name encoded once: the list is bounded, the pairs are not.
    let encoded: Vec<String> = pairs.iter().map(|(k, _)| url_encode(k).to_lowercase()).collect();
    let mut out = Vec::with_capacity(list.len());
    for name in list {
        let value = match host {
            Some(h) if name == "host" => h,
            _ => {
                let mut found = encoded.iter().zip(pairs).filter(|(e, _)| *e == name).map(|(_, (_, v))| v);
                match (found.next(), found.next()) {
                    (Some(v), None) => v.as_str(),
                    (None, _) => "",
                    (Some(_), Some(_)) => return None,
                }
            }
        };
        out.push(format!("{name}={}", url_encode(value)));
    }
    Some(out.join("&"))
}

fn find(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
}

fn window(v: &str) -> Result<(i64, i64), AuthError> {
    let bad =
        || AuthError::Malformed(format!("a time window must be <start>;<end> in Unix seconds, not {v:?}"));
    let (a, b) = v.split_once(';').ok_or_else(bad)?;
    let (a, b) = (a.trim().parse::<i64>().map_err(|_| bad())?, b.trim().parse::<i64>().map_err(|_| bad())?);
    if a > b {
        return Err(bad());
    }
    Ok((a, b))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Result<Vec<u8>, ()> {
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or(()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const SECRET_ID: &str = "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q";
    const SECRET_KEY: &str = "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz";

    /// Tencent's PUT example (spec §6.2).
    #[test]
    fn official_put_vector() {
        let headers = pairs(&[
            ("Date", "Thu, 16 May 2019 06:45:51 GMT"),
            ("Host", "examplebucket-1250000000.cos.ap-beijing.myqcloud.com"),
            ("Content-Type", "text/plain"),
            ("Content-Length", "13"),
            ("Content-MD5", "mQ/fVh815F3k6TAUm8m0eg=="),
            ("x-cos-acl", "private"),
            ("x-cos-grant-read", "uin=\"100000000011\""),
        ]);
        let request = SignedParts {
            method: "PUT",
            path: "/exampleobject(%E8%85%BE%E8%AE%AF%E4%BA%91)",
            query: &[],
            headers: &headers,
        };
        let auth = sign(SECRET_ID, SECRET_KEY, 1557989151, 1557996351, &request);
        assert_eq!(
            auth.header_list.join(";"),
            "content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read"
        );
        assert_eq!(auth.signature, "3b8851a11a569213c17ba8fa7dcf2abec6935172");
        assert_eq!(Authorization::from_header(&auth.to_header()).unwrap(), auth);
        auth.verify(&request, SECRET_KEY).unwrap();
        assert_eq!(auth.verify(&request, "another key"), Err(AuthError::Mismatch));
    }

    /// Tencent's GET example, checked from the header Tencent prints.
    #[test]
    fn official_get_vector() {
        let header = "q-sign-algorithm=sha1&q-ak=AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q&q-sign-time=1557989753;1557996953&q-key-time=1557989753;1557996953&q-header-list=date;host&q-url-param-list=response-cache-control;response-content-type&q-signature=01681b8c9d798a678e43b685a9f1bba0f6c0e012";
        let auth = Authorization::from_header(header).unwrap();
        let query = query_pairs(
            "response-content-type=application%2Foctet-stream&response-cache-control=max-age%3D600",
        );
        let headers = pairs(&[
            ("Date", "Thu, 16 May 2019 06:55:53 GMT"),
            ("Host", "examplebucket-1250000000.cos.ap-beijing.myqcloud.com"),
            ("User-Agent", "not signed"),
        ]);
        let request = SignedParts {
            method: "GET",
            path: "/exampleobject(%E8%85%BE%E8%AE%AF%E4%BA%91)",
            query: &query,
            headers: &headers,
        };
        auth.verify(&request, SECRET_KEY).unwrap();
        assert_eq!(auth.to_header(), header);
        let changed = pairs(&[("response-content-type", "text/html")]);
        assert_eq!(
            auth.verify(&SignedParts { query: &changed, ..request }, SECRET_KEY),
            Err(AuthError::Mismatch)
        );
    }

    #[test]
    fn host_is_accepted_with_or_without_its_port() {
        let with_port = pairs(&[("host", "127.0.0.1:8080")]);
        let without = pairs(&[("host", "127.0.0.1")]);
        let request = SignedParts { method: "GET", path: "/jobs", query: &[], headers: &with_port };
        // Python signs the host name alone but sends the port.
        let python = sign("id", "key", 0, 10, &SignedParts { headers: &without, ..request });
        python.verify(&request, "key").unwrap();
        let node = sign("id", "key", 0, 10, &request);
        node.verify(&request, "key").unwrap();
    }

    #[test]
    fn unlisted_parameters_are_not_signed() {
        let signed = sign(
            "id",
            "key",
            0,
            10,
            &SignedParts { method: "PUT", path: "/jobs/c1", query: &[], headers: &[] },
        );
        let cancel = pairs(&[("cancel", "")]);
        signed
            .verify(&SignedParts { method: "PUT", path: "/jobs/c1", query: &cancel, headers: &[] }, "key")
            .unwrap();
    }

    #[test]
    fn a_signed_name_given_twice_is_refused() {
        let once = pairs(&[("size", "1")]);
        let request = SignedParts { method: "GET", path: "/jobs", query: &once, headers: &[] };
        let auth = sign("id", "key", 0, 10, &request);
        auth.verify(&request, "key").unwrap();
        // The handler may read the second value, which the signature never covered.
        for twice in [pairs(&[("size", "1"), ("size", "100")]), pairs(&[("size", "1"), ("SIZE", "100")])] {
            assert_eq!(
                auth.verify(&SignedParts { query: &twice, ..request }, "key"),
                Err(AuthError::Mismatch)
            );
        }
        let many = format!(
            "q-sign-algorithm=sha1&q-ak=a&q-sign-time=1;2&q-url-param-list={}&q-signature={}",
            vec!["p"; 65].join(";"),
            "0".repeat(40)
        );
        assert!(matches!(Authorization::from_header(&many), Err(AuthError::Malformed(_))));
    }

    #[test]
    fn windows_and_malformed_authorizations() {
        let auth =
            sign("id", "key", 100, 200, &SignedParts { method: "GET", path: "/", query: &[], headers: &[] });
        assert_eq!(auth.check_time(150, 0), Ok(()));
        assert_eq!(auth.check_time(50, 30), Err(AuthError::NotYetValid));
        assert_eq!(auth.check_time(50, 60), Ok(()));
        assert_eq!(auth.check_time(300, 60), Err(AuthError::Expired));
        for bad in [
            "",
            "q-sign-algorithm=md5&q-ak=a&q-sign-time=1;2&q-signature=0000000000000000000000000000000000000000",
            "q-sign-algorithm=sha1&q-ak=a&q-sign-time=2;1&q-signature=0000000000000000000000000000000000000000",
            "q-sign-algorithm=sha1&q-ak=a&q-sign-time=x&q-signature=0000000000000000000000000000000000000000",
            "q-sign-algorithm=sha1&q-sign-time=1;2&q-signature=0000000000000000000000000000000000000000",
            "q-sign-algorithm=sha1&q-ak=a&q-sign-time=1;2&q-signature=xyz",
        ] {
            assert!(matches!(Authorization::from_header(bad), Err(AuthError::Malformed(_))), "{bad}");
        }
        let presigned = query_pairs(&format!("ci-process=ImageInspect&{}", auth.to_query()));
        assert_eq!(Authorization::from_query(&presigned).unwrap().unwrap(), auth);
        assert!(Authorization::from_query(&pairs(&[("imageInspect", "")])).is_none());
    }
}
