#![no_main]
//! Any bytes: `inspect` must return, without panicking, with findings inside the input.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let r = stowaway_detect::inspect(data);
    assert_eq!(r.pic_size, data.len() as u64);
    assert!(r.image_end <= r.pic_size);
    for f in &r.findings {
        assert!(f.begin <= f.end && f.end < r.pic_size);
    }
});
