//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

pub use gilsim_engine::*;

pub fn us(n: u64) -> SimDuration {
    SimDuration::us(n)
}
pub fn ms(n: u64) -> SimDuration {
    SimDuration::ms(n)
}
pub fn secs(n: u64) -> SimDuration {
    SimDuration::secs(n)
}

/// One main interpreter with `gil` on `cores` default cores.
pub fn machine(cores: u32, gil: GilModel) -> SimConfig {
    SimConfig::new(MachineConfig::with_cores(cores), gil)
}

/// A CPU-bound thread: `d` of Python.
pub fn cpu(c: &mut SimConfig, name: &str, d: SimDuration) -> ThreadId {
    c.add_thread(name, InterpId(0), vec![Step::py(d)])
}

/// An I/O-bound thread looping for `dur`: `work` of Python, then I/O ~ `lat`.
pub fn io_loop(
    c: &mut SimConfig,
    name: &str,
    dur: SimDuration,
    work: SimDuration,
    lat: Dist,
) -> ThreadId {
    c.add_thread(
        name,
        InterpId(0),
        vec![Step::LoopFor {
            dur,
            body: vec![Step::py(work), Step::io(lat)],
        }],
    )
}

pub fn ratio(a: SimDuration, b: SimDuration) -> f64 {
    a.as_nanos() as f64 / b.as_nanos() as f64
}

/// Intervals of a trace in which threads are on a core.
pub fn on_core(s: ThreadState) -> bool {
    matches!(
        s,
        ThreadState::Python | ThreadState::NativeHoldingGil | ThreadState::NativeReleasedGil
    )
}

pub fn holds_gil(s: ThreadState) -> bool {
    matches!(s, ThreadState::Python | ThreadState::NativeHoldingGil)
}

/// The largest number of intervals (selected by `pick`) that overlap at one instant.
pub fn max_overlap(trace: &VecTrace, pick: impl Fn(&Interval) -> bool) -> usize {
    let mut edges: Vec<(u64, i32)> = Vec::new();
    for iv in trace.intervals.iter().filter(|iv| pick(iv)) {
        edges.push((iv.start.as_nanos(), 1));
        edges.push((iv.end.as_nanos(), -1));
    }
    // Ends sort before starts at the same instant: [a, b) intervals.
    edges.sort();
    let (mut cur, mut max) = (0i32, 0i32);
    for (_, d) in edges {
        cur += d;
        max = max.max(cur);
    }
    max as usize
}
