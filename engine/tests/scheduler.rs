//! Cores and the OS scheduler (engine `kernel/cpu.rs`).
mod common;
use common::*;

/// More runnable threads than cores: the OS time-slices them, each gets an
/// equal share, and each spends time runnable without a core.
#[test]
fn more_threads_than_cores_are_time_sliced() {
    for policy in [Policy::fair(), Policy::round_robin(ms(3))] {
        let mut m = MachineConfig::with_cores(2);
        m.os.policy = policy.clone();
        let mut c = SimConfig::new(m, GilModel::None { slowdown: 1.0 });
        for i in 0..3 {
            cpu(&mut c, &format!("t{i}"), ms(300));
        }
        let r = run(&c).unwrap();
        // 900 ms of work on 2 cores: 450 ms plus context switches (< 1%).
        let got = ratio(r.makespan, ms(450));
        assert!((1.0..1.01).contains(&got), "{policy:?}: {got}");
        for t in &r.threads {
            assert!(
                t.times.runnable > ms(100),
                "{policy:?}: {} runnable {}",
                t.name,
                t.times.runnable
            );
            assert!(ratio(t.finished.unwrap().since(SimTime::ZERO), r.makespan) > 0.9);
        }
        assert!(
            r.totals.context_switches >= 50,
            "{policy:?}: slices of a few ms: {}",
            r.totals.context_switches
        );
    }
}

/// A thread that holds the GIL can be preempted by the OS and keeps the GIL
/// while it waits for a core: its GIL-waiting sibling cannot run meanwhile.
#[test]
fn preempted_gil_holder_keeps_the_gil() {
    let mut c = machine(1, GilModel::new_gil());
    // Another process's CPU hog competes for the only core.
    let (_, other) = c.add_process("hog", StartMethod::Fork, GilModel::new_gil());
    let hog = c.add_thread("hog", other, vec![Step::py(ms(200))]);
    c.threads[hog.index()].autostart = true;
    c.add_thread(
        "starter",
        InterpId(0),
        vec![Step::StartProcess(ProcessId(1)), Step::py(ms(100))],
    );
    c.add_thread("sibling", InterpId(0), vec![Step::py(ms(100))]);
    let (r, trace) = run_traced(&c).unwrap();
    // Find an interval where the main GIL's holder was runnable (preempted)
    // while its sibling waited for the GIL.
    let holder_at = |t: SimTime| -> Option<ThreadId> {
        trace
            .handoffs
            .iter()
            .rfind(|h| h.interp == InterpId(0) && h.time <= t)
            .map(|h| h.to)
    };
    let preempted_holding = trace.intervals.iter().filter(|iv| {
        iv.state == ThreadState::Runnable
            && iv.thread != hog
            && holder_at(iv.start) == Some(iv.thread)
            && trace.intervals.iter().any(|w| {
                w.thread != iv.thread
                    && w.state == ThreadState::WaitingGil
                    && w.start < iv.end
                    && iv.start < w.end
            })
    });
    let total: u64 = preempted_holding
        .map(|iv| (iv.end - iv.start).as_nanos())
        .sum();
    assert!(
        total > ms(10).as_nanos(),
        "holder preempted with the GIL for {total} ns"
    );
    assert!(r.thread("hog").unwrap().times.python >= ms(200));
}

/// Wake-up preemption (fair): a thread waking from I/O preempts a CPU hog on a
/// single core at once; round robin makes it wait for the quantum.
#[test]
fn fair_wakeup_preemption_beats_round_robin_for_a_waking_thread() {
    let mut waits = Vec::new();
    for policy in [Policy::fair(), Policy::round_robin(ms(3))] {
        let mut m = MachineConfig::with_cores(1);
        m.os.policy = policy;
        let mut c = SimConfig::new(m, GilModel::None { slowdown: 1.0 });
        let hog = c.add_interpreter(ProcessId(0), GilModel::None { slowdown: 1.0 });
        c.add_thread("hog", hog, vec![Step::py(ms(500))]);
        io_loop(&mut c, "io", ms(400), us(10), Dist::Fixed(ms(2)));
        let r = run(&c).unwrap();
        waits.push(r.thread("io").unwrap().gil_wait_after_io.percentile(50.0));
    }
    assert!(waits[0] < us(20), "fair: {}", waits[0]);
    assert!(waits[1] > ms(1), "rr: {}", waits[1]);
}

/// Core speed factors scale CPU time.
#[test]
fn faster_core_finishes_sooner() {
    let mut m = MachineConfig::with_cores(1);
    m.core_speed = vec![2.0];
    let mut c = SimConfig::new(m, GilModel::new_gil());
    cpu(&mut c, "a", ms(100));
    let r = run(&c).unwrap();
    assert!(ratio(r.makespan, ms(50)) < 1.001, "{}", r.makespan);
    assert_eq!(r.threads[0].py_work, ms(100));
}
