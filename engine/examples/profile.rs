//! Runs a canonical scenario (argv[1], default B) argv[2] times, for profilers:
//! `cargo build --release -p gilsim-engine --example profile && perf record -g target/release/examples/profile B 10`
//! (argv[3] `unfused`: with `SimConfig::fusion` off, to measure what it saves).
use gilsim_engine::*;
fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "B".into());
    let reps: u32 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let mut c = scenarios::canonical(&name, 10).unwrap();
    c.fusion = std::env::args().nth(3).as_deref() != Some("unfused");
    let mut ev = 0;
    for _ in 0..reps {
        ev += run(&c).unwrap().totals.events;
    }
    println!("{ev}");
}
