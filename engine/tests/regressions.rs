//! Regression tests for bugs found by fuzzing (`fuzz/README.md`): each names
//! what it guards.
mod common;
use common::*;

/// Found by the `engine` fuzz target: the whole context switch was added to
/// the core's busy time when it began, so a switch still in progress at the
/// end of the run (here one of 1 s, the run stopping at 10 ms) made the core
/// busier than the run was long, with a utilisation above 1.
#[test]
fn core_busy_time_never_exceeds_the_run_when_a_context_switch_is_cut_short() {
    let mut c = machine(1, GilModel::no_gil());
    c.machine.os.ctx_switch = secs(1);
    cpu(&mut c, "a", ms(50));
    cpu(&mut c, "b", ms(50));
    c.limits.until = Some(SimTime(ms(10).as_nanos()));
    let r = run(&c).unwrap();
    assert_eq!(r.stop, StopReason::Until);
    assert_eq!(r.cores[0].context_switches, 1, "one switch, from a to b");
    let end = r.end.since(SimTime::ZERO);
    assert!(
        r.cores[0].busy <= end,
        "busy {} in a run of {end}",
        r.cores[0].busy
    );
    // Busy from a's start (after the first wake-up) to the end: running a,
    // then switching to b.
    assert!(r.cores[0].busy >= end - us(10), "busy {}", r.cores[0].busy);
    assert!(r.cores[0].utilisation <= 1.0);
}

/// The same switch, completed: it counts in full.
#[test]
fn a_completed_context_switch_counts_as_busy_time() {
    let mut c = machine(1, GilModel::no_gil());
    c.machine.os.ctx_switch = ms(1);
    cpu(&mut c, "a", ms(5));
    cpu(&mut c, "b", ms(5));
    let r = run(&c).unwrap();
    assert_eq!(r.stop, StopReason::Completed);
    let switches = r.cores[0].context_switches;
    assert!(switches >= 1);
    let work = r
        .threads
        .iter()
        .fold(SimDuration::ZERO, |s, t| s + t.times.cpu());
    assert_eq!(r.cores[0].busy, work + ms(1) * switches);
}

/// Review: cancelled events still pending when the last thread finished (a
/// timer, a paused burst's end) moved the run's end past it, and a run that
/// finished before `until` was reported as stopped by it.
#[test]
fn the_run_ends_when_its_last_thread_does() {
    let mut c = machine(1, GilModel::new_gil());
    cpu(&mut c, "a", ms(1));
    cpu(&mut c, "b", ms(1));
    let r = run(&c).unwrap();
    let last = r.threads.iter().filter_map(|t| t.finished).max().unwrap();
    assert_eq!(r.stop, StopReason::Completed);
    assert_eq!(r.end, last, "the end is the last thread's finish");
    c.limits.until = Some(last + ms(1));
    let r = run(&c).unwrap();
    assert_eq!(r.stop, StopReason::Completed, "it finished before `until`");
    assert_eq!(r.end, last);
}
