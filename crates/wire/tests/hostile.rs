//! Hostile input for the parsers and the signature verifier: mutated and random XML bodies and
//! authorizations never panic, DTDs and absurd nesting are refused, unknown elements ignored, and
//! signatures round-trip for random requests while any change to a signed part breaks them.
//! Deterministic (a fixed-seed generator) so a failure reproduces.
use stowaway_testkit::{Rng, SEED_REQUEST};
use stowaway_wire::cos_sign::{query_pairs, sign, AuthError, Authorization, SignedParts};
use stowaway_wire::{parse_queue_update, parse_submit};

const QUEUE_UPDATE: &str =
    "<Request><Name>queue-pic-process-1</Name><QueueID>p1</QueueID><State>Active</State>\
    <NotifyConfig><Url>http://example.com/cb</Url><Event>TaskFinish</Event><Type>Url</Type>\
    <State>On</State><ResultFormat>JSON</ResultFormat></NotifyConfig></Request>";

const FRAGMENTS: &[&str] = &[
    "<",
    ">",
    "</",
    "/>",
    "<![CDATA[",
    "]]>",
    "&amp;",
    "&",
    "&#0;",
    "&#x110000;",
    "<?xml version=\"1.0\"?>",
    "<Tag>",
    "</Tag>",
    "<Input>",
    "<Object>",
    "</Object>",
    "\u{0}",
    "\u{feff}",
    "é",
    "腾讯云",
    "\"",
    "'",
    "<Unknown a=\"1\">x</Unknown>",
    "<JobLevel>2</JobLevel>",
    "<!-- c -->",
    "\r\n",
];

fn mutate(rng: &mut Rng, seed: &str) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(5) {
            0 => bytes.truncate(at),
            1 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
            2 => {
                let f = rng.pick(FRAGMENTS).as_bytes().to_vec();
                bytes.splice(at..at, f);
            }
            3 if at < bytes.len() => {
                let end = (at + rng.below(40)).min(bytes.len());
                bytes.drain(at..end);
            }
            _ => {
                let end = (at + rng.below(30)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
        }
    }
    bytes
}

#[test]
fn mutated_bodies_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..20_000 {
        let body = mutate(&mut rng, SEED_REQUEST);
        match parse_submit(&body) {
            Ok(_) => accepted += 1,
            Err(e) => {
                assert!(e.status == 400, "{e}");
                assert!(!e.message.is_empty());
                refused += 1;
            }
        }
        let body = mutate(&mut rng, QUEUE_UPDATE);
        if let Err(e) = parse_queue_update(&body) {
            assert!(e.status == 400, "{e}");
        }
    }
    // The mutations are neither all harmless nor all fatal.
    assert!(accepted > 100 && refused > 100, "accepted {accepted}, refused {refused}");
}

#[test]
fn dtds_deep_nesting_and_unknown_elements() {
    let dtd = format!("<!DOCTYPE r [<!ENTITY x \"boom\">]>{}", SEED_REQUEST.replace("input/test.png", "&x;"));
    assert_eq!(parse_submit(dtd.as_bytes()).unwrap_err().code, "MalformedXML");
    let billion = "<?xml version=\"1.0\"?><!doctype lolz [<!entity lol \"lol\">]><Request/>";
    assert_eq!(parse_submit(billion.as_bytes()).unwrap_err().code, "MalformedXML");

    // 20,000 levels of unknown elements (a 64 KiB body holds about that many) are refused or
    // skipped without exhausting the stack.
    let deep = format!("<Request>{}{}</Request>", "<a>".repeat(20_000), "</a>".repeat(20_000));
    if let Err(e) = parse_submit(deep.as_bytes()) {
        assert_eq!(e.status, 400);
    }
    let deep_known = format!("{}{}", "<Request>".repeat(20_000), "</Request>".repeat(20_000));
    assert_eq!(parse_submit(deep_known.as_bytes()).unwrap_err().status, 400);

    let extra = SEED_REQUEST.replace(
        "<Tag>ImageInspect</Tag>",
        "<Future><Nested>1</Nested></Future><Tag>ImageInspect</Tag><Another/>",
    );
    assert_eq!(parse_submit(extra.as_bytes()).unwrap().object, "input/test.png");
}

const NAMES: &[&str] =
    &["ci-process", "imageInspect", "tag", "size", "nextToken", "a b", "ключ", "x%y", "k+v", ""];
const VALUES: &[&str] =
    &["", "ImageInspect", "10", "2023-05-01T00:00:00+0800", "a&b=c", "测 试", "%25", "~-._", " x "];

type Pairs = Vec<(String, String)>;

/// A method, a path, query parameters and headers.
fn random_request(rng: &mut Rng) -> (String, String, Pairs, Pairs) {
    let method = rng.pick(&["GET", "PUT", "POST", "DELETE", "get"]).to_string();
    let mut path = String::from("/");
    for _ in 0..rng.below(4) {
        path.push_str(rng.pick(&["jobs", "c1%2Fx", "%E6%B5%8B%20%E8%AF%95", "a+b.png", "100%25", "dir/"]));
    }
    let query = (0..rng.below(4))
        .map(|_| (rng.pick(NAMES).to_string(), rng.pick(VALUES).to_string()))
        .filter(|(k, _)| !k.is_empty())
        .collect();
    let headers = (0..rng.below(4))
        .map(|_| {
            (
                rng.pick(&["host", "Content-Type", "x-cos-acl", "content-md5"]).to_string(),
                rng.pick(VALUES).to_string(),
            )
        })
        .collect();
    (method, path, query, headers)
}

#[test]
fn signatures_round_trip_and_any_change_breaks_them() {
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    for _ in 0..3_000 {
        let (method, path, mut query, headers) = random_request(&mut rng);
        // One value per name: a client signs what it sends.
        query.sort_by_key(|(k, _)| k.to_ascii_lowercase());
        query.dedup_by(|a, b| a.0.eq_ignore_ascii_case(&b.0));
        let mut headers = headers;
        headers.sort();
        headers.dedup_by(|a, b| a.0.eq_ignore_ascii_case(&b.0));
        let parts = SignedParts { method: &method, path: &path, query: &query, headers: &headers };
        let auth = sign("AKIDrandom", "secret", 100, 200, &parts);
        let parsed = Authorization::from_header(&auth.to_header()).expect("our own header parses");
        assert_eq!(parsed.verify(&parts, "secret"), Ok(()), "{method} {path} {query:?} {headers:?}");
        assert_eq!(parsed.verify(&parts, "Secret"), Err(AuthError::Mismatch));
        let other_path = format!("{path}x");
        assert_eq!(
            parsed.verify(&SignedParts { path: &other_path, ..parts }, "secret"),
            Err(AuthError::Mismatch)
        );
        if let Some(first) = query.first() {
            let mut changed = query.clone();
            changed[0].1 = format!("{}!", first.1);
            assert_eq!(
                parsed.verify(&SignedParts { query: &changed, ..parts }, "secret"),
                Err(AuthError::Mismatch)
            );
        }
        let from_query = query_pairs(&auth.to_query());
        assert_eq!(Authorization::from_query(&from_query).unwrap().unwrap(), parsed);
    }
}

#[test]
fn random_authorizations_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_0003);
    let good =
        sign("AKIDtest", "k", 1, 2, &SignedParts { method: "GET", path: "/", query: &[], headers: &[] })
            .to_header();
    let headers = [("host".to_string(), "127.0.0.1:8080".to_string())];
    let parts = SignedParts { method: "GET", path: "/jobs", query: &[], headers: &headers };
    for _ in 0..20_000 {
        let bytes = mutate(&mut rng, &good);
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(auth) = Authorization::from_header(&text) {
            let _ = auth.check_time(i64::MAX, i64::MAX);
            let _ = auth.check_time(i64::MIN, 0);
            assert!(auth.verify(&parts, "k").is_err() || text == good);
        }
        let _ = Authorization::from_query(&query_pairs(&text));
    }
}
