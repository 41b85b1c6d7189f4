//! Times `inspect` on each file named, 400 runs each: `cargo run --release -p stowaway-detect
//! --example timing -- FILE...` (a developer's check of an input the fuzzer found slow).
fn main() {
    for path in std::env::args().skip(1) {
        let d = std::fs::read(&path).expect("readable");
        let t = std::time::Instant::now();
        for _ in 0..400 {
            std::hint::black_box(stowaway_detect::inspect(&d));
        }
        println!("{path}: {} bytes, {:?} per inspect", d.len(), t.elapsed() / 400);
    }
}
