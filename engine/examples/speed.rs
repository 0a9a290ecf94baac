//! Quick wall-clock look at the canonical scenarios (use `cargo bench` for figures).
use gilsim_engine::*;
use std::time::Instant;
fn main() {
    for name in scenarios::CANONICAL {
        let c = scenarios::canonical(name, 10).unwrap();
        let t0 = Instant::now();
        let r = run(&c).unwrap();
        let wall = t0.elapsed().as_secs_f64();
        println!("{name}: {} events in {wall:.3} s = {:.2} M events/s, {:.1} sim-s/wall-s, switches {}, io ops {}",
            r.totals.events, r.totals.events as f64 / wall / 1e6, 10.0 / wall, r.totals.gil_switches,
            r.threads.iter().map(|t| t.ops).sum::<u64>());
    }
}
