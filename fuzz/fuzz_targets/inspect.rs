#![no_main]
//! Any bytes: `inspect` must return, without panicking, within a time bound, with findings inside
//! the input.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A bound of our own on time per input, size-aware and tighter than libFuzzer's timeout: the
    // detector is linear in its input (about 12 ns a byte at worst in a release build; sanitizer
    // builds on a busy machine run up to ~50x slower), so an input past this is superlinear.
    let started = std::time::Instant::now();
    let r = stowaway_detect::inspect(data);
    let bound = std::time::Duration::from_millis(500 + 20 * (data.len() / 1024) as u64);
    assert!(started.elapsed() < bound, "{} bytes took {:?}", data.len(), started.elapsed());
    assert_eq!(r.pic_size, data.len() as u64);
    assert!(r.image_end <= r.pic_size);
    for f in &r.findings {
        assert!(f.begin <= f.end && f.end < r.pic_size);
    }
});
