//! MinIO's bucket-notification bodies, byte for byte: what its webhook target POSTs and its Kafka
//! target produces as the message value (the same bytes), and the Kafka message key.
//!
//! Reproduced from `minio/minio` @ 7aac2a2c5b7c882e68c1ce017d8256be2feea27f (2026-02-12):
//!
//! * `internal/event/target/webhook.go` (`send`) and `internal/event/target/kafka.go`
//!   (`toProducerMessage`): `key := bucket + "/" + url.QueryUnescape(s3.object.key)`, body
//!   `json.Marshal(event.Log{EventName, Key: key, Records: []event.Event{eventData}})`, Kafka key
//!   `sarama.StringEncoder(key)`.
//! * `internal/event/event.go`, in field order (Go's `encoding/json` keeps struct order, sorts map
//!   keys byte-wise, escapes `<` `>` `&` U+2028 U+2029):
//!   ```text
//!   Log      { EventName Name; Key string; Records []Event }                   // no tags
//!   Event    { eventVersion, eventSource, awsRegion, eventTime, eventName Name,
//!              userIdentity Identity, requestParameters map[string]string,
//!              responseElements map[string]string, s3 Metadata, source Source, Type `json:"-"` }
//!   Identity { principalId }
//!   Metadata { s3SchemaVersion, configurationId, bucket Bucket, object Object }
//!   Bucket   { name, ownerIdentity Identity, arn }
//!   Object   { key, size int64 omitempty, eTag omitempty, contentType omitempty,
//!              userMetadata map[string]string omitempty, versionId omitempty, sequencer }
//!   Source   { host, port, userAgent }
//!   ```
//!   `Name` marshals as its string (`name.go`: `MarshalJSON` → `json.Marshal(name.String())`).
//! * `cmd/event-notification.go` (`ToEvent(escape: true)`): eventVersion `"2.0"`, eventSource
//!   `"minio:s3"`, awsRegion = `reqParams["region"]`, eventTime = now formatted
//!   `2006-01-02T15:04:05.000Z` (UTC), principalId = `reqParams["principalId"]`,
//!   requestParameters = reqParams, responseElements = `{x-amz-request-id: requestId, x-amz-id-2:
//!   nodeId, x-minio-origin-endpoint, x-minio-deployment-id}` plus `content-length` when the
//!   response header was set, schema `"1.0"`, configurationId `"Config"`, arn
//!   `"arn:aws:s3:::" + bucket`, key = `url.QueryEscape(name)`, sequencer =
//!   `fmt.Sprintf("%X", ModTime.UnixNano())`; eTag, size, contentType and userMetadata (the
//!   object's metadata without `x-minio-internal-*`: for a plain PUT only `content-type`) only when
//!   the event is not `ObjectRemoved:{Delete,DeleteMarkerCreated,NoOP}`; source.port never set.
//! * `cmd/handler-utils.go` (`extractReqParams`): `{region, principalId (access key, the parent
//!   user for STS), sourceIPAddress}` (+ `range` on ranged GETs); `extractRespElements`:
//!   `requestId` = `x-amz-request-id`, `nodeId` = `x-amz-id-2` (hex SHA-256 of the node name and
//!   deployment ID), `content-length` = the response's header at the time: unset for PutObject
//!   (`cmd/object-handlers.go` sends the event before writing headers), the XML body's length for
//!   CopyObject and CompleteMultipartUpload, `"0"` for PutObjectTagging/Retention/LegalHold.

/// One MinIO event notification, as MinIO's webhook and Kafka targets send it.
#[derive(Clone, Debug)]
pub struct MinioEvent<'a> {
    pub bucket: &'a str,
    /// The raw object key (MinIO escapes it with `url.QueryEscape` in `s3.object.key`).
    pub key: &'a str,
    /// Omitted from the body when 0 (`omitempty`) and on removals.
    pub size: u64,
    /// Without quotes; multipart uploads end in `-<parts>`. Omitted when empty.
    pub etag: &'a str,
    /// Omitted when empty; also the only `userMetadata` entry (`content-type`).
    pub content_type: &'a str,
    /// `None` on unversioned buckets (omitted).
    pub version_id: Option<&'a str>,
    /// With MinIO's `s3:` prefix, e.g. `"s3:ObjectCreated:Put"`.
    pub event_name: &'a str,
    /// The object's ModTime: the sequencer (`%X` of it) and, here, the eventTime too.
    pub mod_time_unix_nanos: i128,
    /// `userIdentity.principalId`, `requestParameters.principalId`, the bucket owner.
    pub access_key: &'a str,
    /// `requestParameters.sourceIPAddress` and `source.host`.
    pub source_ip: &'a str,
    /// `awsRegion` and `requestParameters.region`: the site region, `""` unless configured.
    pub region: &'a str,
    pub deployment_id: &'a str,
    /// `x-amz-request-id`.
    pub request_id: &'a str,
    /// `x-minio-origin-endpoint`.
    pub origin_endpoint: &'a str,
    pub user_agent: &'a str,
    /// `x-amz-id-2`: MinIO's node ID (64 hex digits).
    pub node_id: &'a str,
    /// `responseElements.content-length`: `None` for PutObject (see the module comment).
    pub response_content_length: Option<u64>,
}

impl<'a> MinioEvent<'a> {
    /// A plain PutObject on an unversioned bucket, with the values of MinIO's documented Kafka
    /// example (spec triggers.md §3.2) where it has them; the content type follows the key's
    /// extension as MinIO's default does.
    pub fn example(bucket: &'a str, key: &'a str) -> MinioEvent<'a> {
        MinioEvent {
            bucket,
            key,
            size: 6474,
            etag: "430f89010c77aa34fc8760696da62d08",
            content_type: content_type_of(key),
            version_id: None,
            event_name: "s3:ObjectCreated:Put",
            // 2019-09-10T17:41:54.712635077Z: the documented sequencer 15C32494527B46C5.
            mod_time_unix_nanos: 1_568_137_314_712_635_077,
            access_key: "minioadmin",
            source_ip: "192.168.56.192",
            region: "",
            deployment_id: "751a8ba6-acb2-42f6-a297-4cdf1cf1fa4f",
            request_id: "15C3249451E12784",
            origin_endpoint: "http://192.168.97.83:9000",
            user_agent: "MinIO (linux; amd64) minio-go/v7.0.95 mc/RELEASE.2025-08-13T08-35-41Z",
            node_id: "dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8",
            response_content_length: None,
        }
    }

    /// The webhook body, which is also the Kafka message value: exactly
    /// `json.Marshal(event.Log{EventName, Key, Records: []event.Event{…}})`.
    pub fn webhook_body(&self) -> String {
        let mut o = String::with_capacity(1024 + 4 * self.key.len());
        o.push_str("{\"EventName\":");
        go_string(&mut o, self.event_name);
        o.push_str(",\"Key\":");
        go_string(&mut o, &self.kafka_key());
        o.push_str(",\"Records\":[{\"eventVersion\":\"2.0\",\"eventSource\":\"minio:s3\",\"awsRegion\":");
        go_string(&mut o, self.region);
        o.push_str(",\"eventTime\":");
        go_string(&mut o, &amz_time(self.mod_time_unix_nanos));
        o.push_str(",\"eventName\":");
        go_string(&mut o, self.event_name);
        o.push_str(",\"userIdentity\":{\"principalId\":");
        go_string(&mut o, self.access_key);
        o.push_str("},\"requestParameters\":");
        go_map(
            &mut o,
            vec![
                ("principalId", self.access_key),
                ("region", self.region),
                ("sourceIPAddress", self.source_ip),
            ],
        );
        o.push_str(",\"responseElements\":");
        let content_length = self.response_content_length.map(|n| n.to_string());
        let mut resp = vec![
            ("x-amz-request-id", self.request_id),
            ("x-amz-id-2", self.node_id),
            ("x-minio-origin-endpoint", self.origin_endpoint),
            ("x-minio-deployment-id", self.deployment_id),
        ];
        if let Some(n) = content_length.as_deref().filter(|n| !n.is_empty()) {
            resp.push(("content-length", n));
        }
        go_map(&mut o, resp);
        o.push_str(
            ",\"s3\":{\"s3SchemaVersion\":\"1.0\",\"configurationId\":\"Config\",\"bucket\":{\"name\":",
        );
        go_string(&mut o, self.bucket);
        o.push_str(",\"ownerIdentity\":{\"principalId\":");
        go_string(&mut o, self.access_key);
        o.push_str("},\"arn\":");
        go_string(&mut o, &format!("arn:aws:s3:::{}", self.bucket));
        o.push_str("},\"object\":{\"key\":");
        go_string(&mut o, &query_escape(self.key));
        if !self.is_removal() {
            if self.size != 0 {
                o.push_str(",\"size\":");
                o.push_str(&self.size.to_string());
            }
            if !self.etag.is_empty() {
                o.push_str(",\"eTag\":");
                go_string(&mut o, self.etag);
            }
            if !self.content_type.is_empty() {
                o.push_str(",\"contentType\":");
                go_string(&mut o, self.content_type);
                o.push_str(",\"userMetadata\":");
                go_map(&mut o, vec![("content-type", self.content_type)]);
            }
        }
        if let Some(v) = self.version_id.filter(|v| !v.is_empty()) {
            o.push_str(",\"versionId\":");
            go_string(&mut o, v);
        }
        o.push_str(",\"sequencer\":");
        go_string(&mut o, &sequencer(self.mod_time_unix_nanos));
        o.push_str("}},\"source\":{\"host\":");
        go_string(&mut o, self.source_ip);
        o.push_str(",\"port\":\"\",\"userAgent\":");
        go_string(&mut o, self.user_agent);
        o.push_str("}}]}");
        o
    }

    /// The Kafka message key, which is also the envelope's `Key`: `"<bucket>/<raw key>"`.
    pub fn kafka_key(&self) -> String {
        format!("{}/{}", self.bucket, self.key)
    }

    /// `ToEvent` leaves out eTag, size, contentType and userMetadata only for these three.
    fn is_removal(&self) -> bool {
        matches!(
            self.event_name,
            "s3:ObjectRemoved:Delete" | "s3:ObjectRemoved:DeleteMarkerCreated" | "s3:ObjectRemoved:NoOP"
        )
    }
}

/// MinIO's default content type for a key without one: by extension (`mimedb.TypeByExtension`),
/// for the types the tests use.
fn content_type_of(key: &str) -> &'static str {
    let ext = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        _ => "application/octet-stream",
    }
}

/// Go's `url.QueryEscape`: all but `A-Za-z0-9-_.~` as upper-case `%XX`, space as `+`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
    out
}

/// `fmt.Sprintf("%X", t.UnixNano())`: upper-case hex, a `-` before negative values.
fn sequencer(nanos: i128) -> String {
    if nanos < 0 {
        format!("-{:X}", nanos.unsigned_abs())
    } else {
        format!("{nanos:X}")
    }
}

/// `t.UTC().Format("2006-01-02T15:04:05.000Z")`: milliseconds truncated, a literal `Z`.
fn amz_time(nanos: i128) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let millis = nanos.rem_euclid(1_000_000_000) / 1_000_000;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", sod / 3600, sod / 60 % 60, sod % 60)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i128) -> (i128, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let y = yoe + era * 400 + i128::from(m <= 2);
    (y, m, d)
}

/// A `map[string]string` as Go's `encoding/json` writes it: keys sorted byte-wise.
fn go_map(out: &mut String, mut entries: Vec<(&str, &str)>) {
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        go_string(out, k);
        out.push(':');
        go_string(out, v);
    }
    out.push('}');
}

/// A string as Go's `encoding/json` writes it (Go ≥ 1.22, HTML escaping on): `\"` `\\` `\b` `\f`
/// `\n` `\r` `\t`, other control characters and `<` `>` `&` as `\u00xx` (lower-case hex), U+2028
/// and U+2029 as `\u2028` `\u2029`, everything else (DEL and non-ASCII included) as is.
pub fn go_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&') => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_escape_matches_go() {
        assert_eq!(query_escape("photos/red flower.jpg"), "photos%2Fred+flower.jpg");
        assert_eq!(query_escape("照片/猫.png"), "%E7%85%A7%E7%89%87%2F%E7%8C%AB.png");
        assert_eq!(query_escape("a+b (1).jpg"), "a%2Bb+%281%29.jpg");
        assert_eq!(query_escape("100%.png"), "100%25.png");
        assert_eq!(query_escape("A-z_0.~*'!"), "A-z_0.~%2A%27%21");
    }

    #[test]
    fn go_string_escapes_like_encoding_json() {
        let mut s = String::new();
        go_string(&mut s, "a<b>&\"\\\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}é\u{2028}\u{2029}猫");
        assert_eq!(
            s,
            "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\u{7f}é\\u2028\\u2029猫\""
        );
    }

    #[test]
    fn times_and_sequencers_match_go() {
        assert_eq!(amz_time(1_568_137_314_712_635_077), "2019-09-10T17:41:54.712Z");
        assert_eq!(sequencer(1_568_137_314_712_635_077), "15C32494527B46C5");
        assert_eq!(amz_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(amz_time(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(sequencer(-255), "-FF");
        assert_eq!(amz_time(951_782_400_000_000_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(amz_time(1_709_251_199_999_999_999), "2024-02-29T23:59:59.999Z");
    }

    #[test]
    fn example_body_has_minio_shape() {
        let e = MinioEvent::example("images", "photos/red flower.jpg");
        assert_eq!(e.kafka_key(), "images/photos/red flower.jpg");
        assert_eq!(
            e.webhook_body(),
            concat!(
                r#"{"EventName":"s3:ObjectCreated:Put","Key":"images/photos/red flower.jpg","Records":[{"#,
                r#""eventVersion":"2.0","eventSource":"minio:s3","awsRegion":"","eventTime":"2019-09-10T17:41:54.712Z","#,
                r#""eventName":"s3:ObjectCreated:Put","userIdentity":{"principalId":"minioadmin"},"#,
                r#""requestParameters":{"principalId":"minioadmin","region":"","sourceIPAddress":"192.168.56.192"},"#,
                r#""responseElements":{"x-amz-id-2":"dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8","#,
                r#""x-amz-request-id":"15C3249451E12784","x-minio-deployment-id":"751a8ba6-acb2-42f6-a297-4cdf1cf1fa4f","#,
                r#""x-minio-origin-endpoint":"http://192.168.97.83:9000"},"#,
                r#""s3":{"s3SchemaVersion":"1.0","configurationId":"Config","bucket":{"name":"images","#,
                r#""ownerIdentity":{"principalId":"minioadmin"},"arn":"arn:aws:s3:::images"},"#,
                r#""object":{"key":"photos%2Fred+flower.jpg","size":6474,"eTag":"430f89010c77aa34fc8760696da62d08","#,
                r#""contentType":"image/jpeg","userMetadata":{"content-type":"image/jpeg"},"sequencer":"15C32494527B46C5"}},"#,
                r#""source":{"host":"192.168.56.192","port":"","userAgent":"MinIO (linux; amd64) minio-go/v7.0.95 mc/RELEASE.2025-08-13T08-35-41Z"}}]}"#,
            )
        );
    }

    #[test]
    fn removals_and_copies_follow_to_event() {
        let e = MinioEvent {
            event_name: "s3:ObjectRemoved:Delete",
            version_id: Some("0b1f6c0e-6b6a-4d5e-9d34-2f1d9d7a3c11"),
            ..MinioEvent::example("images", "a.png")
        };
        let body = e.webhook_body();
        assert!(body.contains(
            r#""object":{"key":"a.png","versionId":"0b1f6c0e-6b6a-4d5e-9d34-2f1d9d7a3c11","sequencer":"#
        ));
        let e = MinioEvent { response_content_length: Some(234), ..MinioEvent::example("images", "a.png") };
        assert!(e.webhook_body().contains(r#""responseElements":{"content-length":"234","x-amz-id-2":"#));
        let e = MinioEvent { size: 0, content_type: "", ..MinioEvent::example("images", "a.png") };
        assert!(e
            .webhook_body()
            .contains(r#""object":{"key":"a.png","eTag":"430f89010c77aa34fc8760696da62d08","sequencer":"#));
    }
}
