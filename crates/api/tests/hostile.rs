//! Hostile clients through the router the server runs: random bodies, paths, queries and
//! authorizations never get a 5xx and always get Tencent's `<Error>` (deterministic generator,
//! so a failure reproduces). Oversized bodies get 413.
mod common;

use axum::http::StatusCode;
use sqlx::PgPool;
use stowaway_api::{router, AccessKey, ApiConfig, AppState, KeyRing};
use stowaway_store::Store;
use stowaway_testkit::{fresh_bucket, png_with_ts, Rng, S3Server, SEED_REQUEST};

use common::{authorization, send};

fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for _ in 0..=rng.below(3) {
        let at = rng.below(chars.len() + 1);
        match rng.below(4) {
            0 => chars.truncate(at),
            1 => chars.insert(at, ['<', '>', '&', '/', '\u{0}', '测', ';', '=', '%'][rng.below(9)]),
            2 if at < chars.len() => {
                chars.remove(at);
            }
            _ => {
                let end = (at + rng.below(20)).min(chars.len());
                let copy: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, copy);
            }
        }
    }
    chars.into_iter().collect()
}

const PATHS: &[&str] = &[
    "/jobs",
    "/jobs/cx,cy",
    "/jobs/cx?cancel",
    "/picqueue",
    "/picqueue/p1",
    "/picbucket",
    "/jobs/cx/callbacks",
    "/jobs/cx/callbacks/msg/resend",
    "/x.png?ci-process=ImageInspect",
    "/jobs?size=-1&nextToken=%ZZ&states=Nope&startCreationTime=x",
];

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn random_requests_never_get_a_server_error(pool: PgPool) {
    let config = ApiConfig {
        keys: Some(KeyRing::new(vec![AccessKey::root("AKIDtest", "k")]).unwrap()),
        body_limit: 4096,
        ..ApiConfig::default()
    };
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    objects.put(&bucket, "x.png", png_with_ts(5)).await.unwrap();
    let host = format!("{bucket}.ci.ap-chongqing.myqcloud.com");
    let app = router(AppState::new(Store::from_pool(pool), config).with_objects(objects));
    let mut rng = Rng(0x5eed_4444_0000_0001);
    let queue = "<Request><Name>q</Name><State>Active</State><NotifyConfig><State>Off</State></NotifyConfig></Request>";
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..400 {
        let seed = PATHS[rng.below(PATHS.len())];
        let path = mutate(&mut rng, seed);
        let Ok(uri) = path.parse::<axum::http::Uri>() else { continue };
        let uri = uri.to_string();
        let method = ["GET", "POST", "PUT", "DELETE", "PATCH"][rng.below(5)];
        let body = mutate(&mut rng, if i % 2 == 0 { SEED_REQUEST } else { queue });
        let good = authorization("AKIDtest", "k", method, &uri, &[("host", host.as_str())]);
        let auth = if i % 3 == 0 { good } else { mutate(&mut rng, &good) };
        if axum::http::HeaderValue::from_str(&auth).map_or(true, |v| v.to_str().is_err()) {
            continue;
        }
        let headers = [("host", host.as_str()), ("authorization", auth.as_str())];
        let r = send(&app, method, &uri, &headers, &body).await;
        assert!(r.status.as_u16() < 500, "{method} {uri} -> {}: {}", r.status, r.body);
        if !r.status.is_success() {
            r.error_code();
        }
        *statuses.entry(r.status.as_u16()).or_insert(0) += 1;
    }
    // Both signed requests got through to the handlers and mangled ones were refused.
    assert!(statuses.keys().any(|s| *s == 403) && statuses.keys().any(|s| *s != 403), "{statuses:?}");

    let big = format!("{SEED_REQUEST}{}", " ".repeat(5000));
    let auth = authorization("AKIDtest", "k", "POST", "/jobs", &[("host", host.as_str())]);
    let r = send(&app, "POST", "/jobs", &[("host", host.as_str()), ("authorization", &auth)], &big).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::PAYLOAD_TOO_LARGE, "EntityTooLarge"));
}
