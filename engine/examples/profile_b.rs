//! Runs canonical scenario B (or the one named in argv[1]) for profiling.
use gilsim_engine::*;
fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "B".into());
    let reps: u32 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let c = scenarios::canonical(&name, 10).unwrap();
    let mut ev = 0;
    for _ in 0..reps {
        ev += run(&c).unwrap().totals.events;
    }
    println!("{ev}");
}
