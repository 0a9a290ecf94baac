//! `gilsim bench`: the engine's speed on the canonical scenarios and the
//! service scenario S, quoted as
//! events per second, simulated seconds per wall second, and a fraction of the
//! bare event-queue rate measured in the same run at the same queue size (so
//! noise on a shared machine affects both alike).

use gilsim_engine::{event_queue_hold, run, scenarios};
use std::time::Instant;

/// Prints a line on stdout; a closed or full stdout is not an error.
fn out(line: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the benchmark and prints a Markdown table on stdout.
pub fn bench(only: &[String], seconds: u64, repeat: u64) -> anyhow::Result<()> {
    let names: Vec<&str> = if only.is_empty() {
        scenarios::ALL.to_vec()
    } else {
        only.iter().map(String::as_str).collect()
    };
    // Every name is checked before anything is printed.
    for name in &names {
        if scenarios::canonical(name, 1).is_none() {
            anyhow::bail!(
                "unknown scenario {name:?}; the scenarios are {:?}",
                scenarios::ALL
            );
        }
    }
    out(format!("| scenario | what | events per run | wall ms (median of {repeat}) | M events/s | simulated s per wall s | bare queue M holds/s | engine / bare | model ns per event | simulated s per wall s with a free queue |"));
    out("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|".to_string());
    for name in names {
        let cfg = scenarios::canonical(name, seconds).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown scenario {name:?}; the scenarios are {:?}",
                scenarios::ALL
            )
        })?;
        let first = run(&cfg)?;
        let events = first.totals.events;
        let size = first.totals.peak_pending_events.max(1) as usize;
        let (mut engine, mut bare) = (Vec::new(), Vec::new());
        for _ in 0..repeat {
            // Interleaved, so a slow moment of the machine hits both.
            let t = Instant::now();
            let r = run(&cfg)?;
            engine.push(t.elapsed().as_secs_f64());
            std::hint::black_box(r);
            let t = Instant::now();
            std::hint::black_box(event_queue_hold(size, events));
            bare.push(t.elapsed().as_secs_f64());
        }
        let (e, b) = (median(engine), median(bare));
        // What the model itself costs: the run's time minus its queue holds.
        // A queue that cost nothing would leave this much.
        let model = (e - b).max(f64::MIN_POSITIVE);
        out(format!(
            "| {name} | {} | {events} | {:.2} | {:.2} | {:.1} | {:.2} | {:.0}% | {:.0} | {:.1} |",
            scenarios::describe(name),
            e * 1e3,
            events as f64 / e / 1e6,
            seconds as f64 / e,
            events as f64 / b / 1e6,
            100.0 * b / e,
            model * 1e9 / events.max(1) as f64,
            seconds as f64 / model
        ));
    }
    Ok(())
}
