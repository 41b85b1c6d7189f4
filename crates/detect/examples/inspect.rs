//! Prints the detector's report for each file named: `cargo run -p stowaway-detect --example inspect -- FILE...`
fn main() {
    for path in std::env::args().skip(1) {
        match std::fs::read(&path) {
            Ok(d) => println!("{path}: {:#?}", stowaway_detect::inspect(&d)),
            Err(e) => eprintln!("{path}: {e}"),
        }
    }
}
