//! The GIL models, mechanism by mechanism (engine `gil.rs`; research notes §1–3).
mod common;
use common::*;

/// Two CPU-bound threads hand the GIL over about once per switch interval:
/// every waiter times out after one interval and sets a drop request.
#[test]
fn cpu_bound_threads_hand_over_once_per_switch_interval() {
    for (cores, interval_ms) in [(2, 5), (2, 1), (4, 5), (2, 20)] {
        let mut c = machine(cores, GilModel::new_with_interval(ms(interval_ms)));
        cpu(&mut c, "a", secs(1));
        cpu(&mut c, "b", secs(1));
        let r = run(&c).unwrap();
        let per_interval = r.makespan.as_nanos() as f64 / ms(interval_ms).as_nanos() as f64;
        let switches = r.totals.gil_switches as f64;
        // Each hand-off costs one interval plus wake-up latency and timer slack:
        // within 10% below and 2% above one switch per interval.
        assert!(
            switches <= per_interval * 1.02 && switches >= per_interval * 0.9,
            "{cores} cores, {interval_ms} ms: {switches} switches for {per_interval} intervals"
        );
        // Both threads get their share: neither finishes before 90% of the run.
        for t in &r.threads {
            assert!(ratio(t.finished.unwrap().since(SimTime::ZERO), r.makespan) > 0.9);
        }
        // Every switch but the first came from a drop request.
        assert!(r.totals.drop_requests + 1 >= r.totals.gil_switches - 1);
    }
}

/// The convoy effect: an I/O-bound thread next to a CPU-bound one waits about one
/// switch interval at each I/O return; a smaller interval shortens the wait.
#[test]
fn convoy_wait_is_about_one_switch_interval_and_shrinks_with_it() {
    let mut last_p50 = SimDuration::MAX;
    for interval in [ms(20), ms(5), ms(1), us(200)] {
        let mut c = machine(2, GilModel::new_with_interval(interval));
        c.limits.until = Some(SimTime::ZERO + secs(2));
        cpu(&mut c, "cpu", secs(10));
        io_loop(&mut c, "io", secs(10), us(20), Dist::Exp { mean: us(50) });
        let r = run(&c).unwrap();
        let io = r.thread("io").unwrap();
        let p50 = io.gil_wait_after_io.percentile(50.0);
        // The wait is the interval plus the timer's lateness and the wake-ups
        // that follow it (waiter, then the forced dropper's handshake): at most 10%
        // over interval + slack + two wake latencies.
        let os = &c.machine.os;
        let overhead = os.timer_slack + os.wake_latency * 2;
        assert!(
            p50 >= interval && ratio(p50, interval + overhead) < 1.1,
            "interval {interval}: median I/O return -> running {p50}"
        );
        assert!(p50 < last_p50, "a smaller interval must shorten the wait");
        last_p50 = p50;
        // The I/O thread sets the drop requests; the CPU thread is the one forced to drop.
        assert!(io.drop_requests > 0 && r.thread("cpu").unwrap().forced_drops > 0);
    }
}

/// A drop request is not honoured inside a C call that holds the GIL: the waiter
/// waits for the whole call, whatever the switch interval.
#[test]
fn drop_request_waits_for_a_gil_holding_c_call() {
    let call = ms(50);
    let mut c = machine(2, GilModel::new_gil());
    c.add_thread(
        "c",
        InterpId(0),
        vec![Step::c(call, false), Step::py(ms(1))],
    );
    c.add_thread("waiter", InterpId(0), vec![Step::py(ms(1))]);
    let (r, trace) = run_traced(&c).unwrap();
    let w = r.thread("waiter").unwrap();
    // It set a drop request after 5 ms, but the GIL came only when the call returned.
    assert!(w.drop_requests >= 1);
    assert!(
        w.times.waiting_gil >= call - ms(1),
        "waited {}",
        w.times.waiting_gil
    );
    let first_handoff = trace.handoffs.iter().find(|h| h.to == ThreadId(1)).unwrap();
    assert!(first_handoff.time.since(SimTime::ZERO) >= call);
    // Whereas the same work in Python is interrupted after about one interval.
    let mut c = machine(2, GilModel::new_gil());
    c.add_thread("py", InterpId(0), vec![Step::py(call), Step::py(ms(1))]);
    c.add_thread("waiter", InterpId(0), vec![Step::py(ms(1))]);
    let r = run(&c).unwrap();
    assert!(
        r.thread("waiter")
            .unwrap()
            .finished
            .unwrap()
            .since(SimTime::ZERO)
            < ms(8)
    );
}

/// Forced switching: after a forced drop the dropper waits until the other
/// thread took the GIL, so it cannot re-take it at once (the hand-off happens).
/// Without a pending request, a voluntary release lets the releaser barge back.
#[test]
fn forced_drop_hands_the_gil_to_the_requester() {
    let mut c = machine(2, GilModel::new_gil());
    cpu(&mut c, "a", ms(100));
    cpu(&mut c, "b", ms(100));
    let (r, trace) = run_traced(&c).unwrap();
    // Every forced drop is followed by a hand-off to the other thread.
    // Hand-offs: the first acquisition, one per forced drop, and at most one at the end.
    let g = &r.gils[0];
    assert!(
        g.switches > g.forced_drops && g.switches <= g.forced_drops + 2,
        "{g:?}"
    );
    for pair in trace.handoffs.windows(2) {
        assert_ne!(pair[0].to, pair[1].to, "the GIL alternates");
    }
}

/// Old GIL: on two cores the woken waiter usually finds the GIL re-taken
/// (failed wake-ups, the "GIL battle"); on one core almost never.
#[test]
fn old_gil_battles_on_multicore_only() {
    let mut failed_per_check = Vec::new();
    for cores in [1, 2, 4] {
        let mut c = machine(cores, GilModel::old_gil());
        cpu(&mut c, "a", ms(200));
        cpu(&mut c, "b", ms(200));
        let r = run(&c).unwrap();
        let g = &r.gils[0];
        failed_per_check.push(g.failed_wakeups as f64 / g.checks.max(1) as f64);
        if cores == 1 {
            assert!(
                g.failed_wakeups * 100 <= g.checks,
                "1 core: {} failed of {} checks",
                g.failed_wakeups,
                g.checks
            );
        } else {
            // Beazley's badness ratio: most checks signal a waiter that then fails.
            assert!(
                g.failed_wakeups * 2 > g.checks,
                "{cores} cores: {} failed of {} checks",
                g.failed_wakeups,
                g.checks
            );
            // The battle costs time: slower than running the two one after the other.
            assert!(
                ratio(r.makespan, ms(400)) > 1.1,
                "{cores} cores: {}",
                r.makespan
            );
        }
    }
    assert!(
        failed_per_check[0] < 0.01 && failed_per_check[1] > 0.5,
        "{failed_per_check:?}"
    );
}

/// No GIL (free-threaded): N CPU-bound threads on N cores take about 1/N of the
/// sequential time, times the single-thread slowdown.
#[test]
fn free_threaded_cpu_threads_scale_with_cores() {
    for n in [2u32, 4, 8] {
        let mut c = machine(n, GilModel::None { slowdown: 1.1 });
        for i in 0..n {
            cpu(&mut c, &format!("t{i}"), ms(100));
        }
        let r = run(&c).unwrap();
        let sequential = ms(100 * u64::from(n));
        let expected = 1.1 / f64::from(n);
        let got = ratio(r.makespan, sequential);
        assert!(
            (got - expected).abs() / expected < 0.01,
            "{n} threads: {got} vs {expected}"
        );
    }
}

/// Per-interpreter GILs (PEP 684): threads of different interpreters run in parallel.
#[test]
fn per_interpreter_gils_run_in_parallel() {
    let mut c = machine(2, GilModel::new_gil());
    let second = c.add_interpreter(ProcessId(0), GilModel::new_gil());
    c.add_thread("a", InterpId(0), vec![Step::py(ms(100))]);
    c.add_thread("b", second, vec![Step::py(ms(100))]);
    let r = run(&c).unwrap();
    assert!(ratio(r.makespan, ms(100)) < 1.01, "{}", r.makespan);
    assert_eq!(
        r.totals.gil_switches, 2,
        "each GIL taken once, by its own thread"
    );
}

/// Which waiter wins is the OS's choice: FIFO serves the longest waiter,
/// random spreads the wins, and both keep every thread progressing.
#[test]
fn waiter_choice_fifo_and_random_both_serve_everyone() {
    for choice in [WaiterChoice::Fifo, WaiterChoice::Random] {
        let gil = GilModel::New {
            switch_interval: ms(1),
            check_period: us(1),
            waiter_choice: choice,
        };
        let mut c = machine(4, gil);
        for i in 0..4 {
            cpu(&mut c, &format!("t{i}"), ms(50));
        }
        let r = run(&c).unwrap();
        for t in &r.threads {
            assert!(
                t.gil_acquisitions >= 5,
                "{choice:?}: {} got the GIL {} times",
                t.name,
                t.gil_acquisitions
            );
        }
    }
}

/// The switch interval costs CPU-bound throughput when it gets small: more
/// hand-offs, each paying wake-up and switch costs.
#[test]
fn smaller_interval_means_more_switching_overhead() {
    let mut makespans = Vec::new();
    for interval in [ms(5), us(100), us(10)] {
        let mut c = machine(2, GilModel::new_with_interval(interval));
        cpu(&mut c, "a", ms(100));
        cpu(&mut c, "b", ms(100));
        makespans.push(run(&c).unwrap().makespan);
    }
    assert!(
        makespans[0] < makespans[1] && makespans[1] < makespans[2],
        "{makespans:?}"
    );
    assert!(ratio(makespans[0], ms(200)) < 1.01);
}
