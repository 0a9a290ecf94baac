//! Who ran on which core (`TraceSink::on_core`): a core runs one thread at a
//! time, there are never more threads on cores than cores, and the core
//! intervals of a thread are exactly the intervals in which its trace says it
//! was on a core (running Python or C). Over random workloads (proptest) and
//! a run stopped by `until` with threads still on their cores.
mod common;
use common::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Merges touching or overlapping `[start, end)` intervals (sorted first).
fn merged(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    v.sort();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn ns(t: SimTime) -> u64 {
    t.as_nanos()
}

/// Every property of the core intervals of one traced run; `Err` names the first broken one.
fn check_cores(cores: usize, trace: &VecTrace) -> Result<(), String> {
    let mut by_core: BTreeMap<u32, Vec<(u64, u64)>> = BTreeMap::new();
    let mut by_thread: BTreeMap<u32, Vec<(u64, u64)>> = BTreeMap::new();
    for ci in &trace.cores {
        if ci.start >= ci.end {
            return Err(format!("an empty core interval: {ci:?}"));
        }
        if ci.core.index() >= cores {
            return Err(format!("core {} of {cores}: {ci:?}", ci.core.index()));
        }
        let span = (ns(ci.start), ns(ci.end));
        by_core.entry(ci.core.0).or_default().push(span);
        by_thread.entry(ci.thread.0).or_default().push(span);
    }
    for (core, mut v) in by_core {
        v.sort();
        if let Some(w) = v.windows(2).find(|w| w[0].1 > w[1].0) {
            return Err(format!("core {core}: {:?} overlaps {:?}", w[0], w[1]));
        }
    }
    let all: Vec<(u64, u64)> = trace
        .cores
        .iter()
        .map(|c| (ns(c.start), ns(c.end)))
        .collect();
    let busy = max_overlap_of(&all);
    if busy > cores {
        return Err(format!("{busy} threads on {cores} cores at once"));
    }
    let mut running: BTreeMap<u32, Vec<(u64, u64)>> = BTreeMap::new();
    for iv in trace.intervals.iter().filter(|iv| on_core(iv.state)) {
        running
            .entry(iv.thread.0)
            .or_default()
            .push((ns(iv.start), ns(iv.end)));
    }
    let threads: std::collections::BTreeSet<u32> =
        running.keys().chain(by_thread.keys()).copied().collect();
    for t in threads {
        let on_cores = merged(by_thread.remove(&t).unwrap_or_default());
        let ran = merged(running.remove(&t).unwrap_or_default());
        if on_cores != ran {
            return Err(format!(
                "thread {t}: on cores {on_cores:?}, but running {ran:?}"
            ));
        }
    }
    Ok(())
}

/// The most intervals that hold one instant (`[a, b)`: an end before a start).
fn max_overlap_of(v: &[(u64, u64)]) -> usize {
    let mut edges: Vec<(u64, i32)> = v.iter().flat_map(|&(s, e)| [(s, 1), (e, -1)]).collect();
    edges.sort();
    let (mut cur, mut max) = (0i32, 0i32);
    for (_, d) in edges {
        cur += d;
        max = max.max(cur);
    }
    max as usize
}

#[test]
fn a_run_cut_by_until_reports_the_threads_still_on_cores() {
    let mut c = machine(2, GilModel::new_with_interval(ms(1)));
    c.limits.until = Some(SimTime::ZERO + ms(50));
    cpu(&mut c, "cpu1", secs(1));
    cpu(&mut c, "cpu2", secs(1));
    cpu(&mut c, "cpu3", secs(1));
    io_loop(&mut c, "io", secs(1), us(50), Dist::Fixed(us(300)));
    let (r, trace) = run_traced(&c).unwrap();
    assert_eq!(r.stop, StopReason::Until);
    check_cores(2, &trace).unwrap();
    assert!(
        trace.cores.iter().any(|ci| ci.end == r.end),
        "threads on cores at the end are reported up to the end"
    );
    // Each core was busy exactly as long as the report says, less the
    // context switches (busy from the start of a switch, on a core only
    // after it): never more.
    for (i, core) in r.cores.iter().enumerate() {
        let ran: u64 = trace
            .cores
            .iter()
            .filter(|ci| ci.core.index() == i)
            .map(|ci| ns(ci.end) - ns(ci.start))
            .sum();
        assert!(ran > 0, "core {i} ran nobody");
        assert!(ran <= core.busy.as_nanos(), "core {i}: {ran} > busy");
    }
}

#[test]
fn the_checks_catch_overlaps_and_gaps() {
    // The checks themselves can fail: a doubled interval overlaps, a dropped one leaves a gap.
    let mut c = machine(1, GilModel::new_gil());
    cpu(&mut c, "a", ms(20));
    cpu(&mut c, "b", ms(20));
    let (_, trace) = run_traced(&c).unwrap();
    check_cores(1, &trace).unwrap();
    let mut doubled = trace.clone();
    let mut moved = doubled.cores[0];
    moved.thread = doubled.cores[1].thread;
    doubled.cores.push(moved);
    assert!(check_cores(1, &doubled).unwrap_err().contains("overlaps"));
    let mut gap = trace.clone();
    gap.cores.remove(0);
    assert!(check_cores(1, &gap).unwrap_err().contains("running"));
    let mut wrong_core = trace;
    wrong_core.cores[0].core = CoreId(1);
    assert!(check_cores(1, &wrong_core).unwrap_err().contains("of 1"));
}

fn workload() -> impl Strategy<Value = SimConfig> {
    let step = prop_oneof![
        (1u64..3_000).prop_map(|u| Step::py(us(u))),
        (1u64..2_000, any::<bool>()).prop_map(|(u, r)| Step::c(us(u), r)),
        (1u64..2_000).prop_map(|u| Step::io(Dist::Exp { mean: us(u) })),
        (1u64..500).prop_map(|u| Step::Sleep(us(u))),
    ];
    let program = prop::collection::vec(step, 1..5)
        .prop_flat_map(|body| (Just(body), 1u64..5))
        .prop_map(|(body, times)| vec![Step::Repeat { times, body }]);
    let gil = prop_oneof![
        (100u64..5_000).prop_map(|u| GilModel::new_with_interval(us(u))),
        Just(GilModel::old_gil()),
        Just(GilModel::no_gil()),
    ];
    (
        1u32..5,
        gil,
        any::<bool>(),
        prop::collection::vec(program, 1..7),
        any::<u64>(),
    )
        .prop_map(|(cores, gil, rr, programs, seed)| {
            let mut m = MachineConfig::with_cores(cores);
            if rr {
                m.os.policy = Policy::round_robin(ms(2));
            }
            let mut c = SimConfig::new(m, gil);
            c.limits.seed = seed;
            for (i, p) in programs.into_iter().enumerate() {
                c.add_thread(&format!("t{i}"), InterpId(0), p);
            }
            c
        })
}

proptest! {
    #[test]
    fn core_intervals_are_the_running_intervals(c in workload()) {
        let (r, trace) = run_traced(&c).unwrap();
        let ok = check_cores(c.machine.cores as usize, &trace);
        prop_assert!(ok.is_ok(), "{:?}", ok);
        // Observation only: the same report as an untraced run.
        prop_assert_eq!(run(&c).unwrap(), r);
    }
}
