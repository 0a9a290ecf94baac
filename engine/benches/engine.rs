//! Engine benchmarks: the canonical scenarios (events per second and simulated
//! seconds per wall second) and, in the same run, the bare event-queue rate at
//! the same queue size, so the engine's rate can be quoted as a fraction of it.
//!
//! `cargo bench -p gilsim-engine` (criterion without plotting).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use gilsim_engine::{event_queue_hold, run, scenarios};
use std::hint::black_box;

const SIM_SECS: u64 = 10;

fn canonical(c: &mut Criterion) {
    let mut g = c.benchmark_group("canonical");
    g.sample_size(10);
    for name in scenarios::CANONICAL {
        let cfg = scenarios::canonical(name, SIM_SECS).expect("known scenario");
        let report = run(&cfg).expect("scenario runs");
        let events = report.totals.events;
        let size = report.totals.peak_pending_events as usize;
        eprintln!(
            "scenario {name} ({}): {events} events per run of {SIM_SECS} simulated s, peak queue {size}",
            scenarios::describe(name)
        );
        // Simulated seconds per wall second, from a median of 10 timed runs
        // (criterion's own figure below is events per second).
        let mut walls: Vec<f64> = (0..10)
            .map(|_| {
                let t = std::time::Instant::now();
                black_box(run(black_box(&cfg)).unwrap());
                t.elapsed().as_secs_f64()
            })
            .collect();
        walls.sort_by(f64::total_cmp);
        eprintln!(
            "scenario {name}: {:.1} simulated s per wall s",
            SIM_SECS as f64 / walls[5]
        );
        g.throughput(Throughput::Elements(events));
        g.bench_function(format!("{name}/engine"), |b| {
            b.iter(|| black_box(run(black_box(&cfg)).unwrap()))
        });
        g.bench_function(format!("{name}/bare_queue"), |b| {
            b.iter_batched(
                || (),
                |_| black_box(event_queue_hold(size, events)),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, canonical);
criterion_main!(benches);
