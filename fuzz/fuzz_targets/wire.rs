#![no_main]
//! Any bytes as a request body and as an Authorization: the parsers and the signature verifier
//! must answer (a value or a 400/403 error), never panic.
use libfuzzer_sys::fuzz_target;
use stowaway_wire::cos_sign::{query_pairs, Authorization, SignedParts};

fuzz_target!(|data: &[u8]| {
    if let Err(e) = stowaway_wire::parse_submit(data) {
        assert_eq!(e.status, 400);
    }
    if let Err(e) = stowaway_wire::parse_queue_update(data) {
        assert_eq!(e.status, 400);
    }
    let text = String::from_utf8_lossy(data);
    let headers = [("host".to_string(), "127.0.0.1:8080".to_string())];
    let query = query_pairs(&text);
    let parts = SignedParts { method: "GET", path: &text, query: &query, headers: &headers };
    for auth in [Authorization::from_header(&text), Authorization::from_query(&query).unwrap_or(Err(
        stowaway_wire::cos_sign::AuthError::Missing,
    ))] {
        if let Ok(auth) = auth {
            let _ = auth.check_time(0, 900);
            let _ = auth.verify(&parts, "key");
        }
    }
});
