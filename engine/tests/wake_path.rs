//! Who gets the GIL next: the wake path rule by rule (engine `gil.rs`, `kernel/io.rs`,
//! `kernel/cpu.rs`; `research/wake-path.md` §1–§4). Each test controls the timings
//! (no wake-up jitter) so the mechanism, not luck, decides the outcome.
mod common;
use common::*;

/// A machine whose wake-ups all take exactly `wake` and whose blocking calls
/// that return at once take `syscall` of CPU, with the given GIL.
fn controlled(cores: u32, gil: GilModel, wake: SimDuration, syscall: SimDuration) -> SimConfig {
    let mut c = machine(cores, gil);
    let os = &mut c.machine.os;
    os.wake_spread = WakeSpread::Uniform(0.0);
    os.shallow_wake_spread = WakeSpread::Uniform(0.0);
    os.wake_latency = wake;
    os.shallow_wake_latency = wake;
    os.syscall = syscall;
    c
}

fn fifo(interval: SimDuration) -> GilModel {
    GilModel::New {
        switch_interval: interval,
        check_period: us(1),
        waiter_choice: WaiterChoice::Fifo,
    }
}

/// The holders of the main GIL, in order, by name.
fn holders(c: &SimConfig, trace: &VecTrace) -> Vec<String> {
    trace
        .handoffs
        .iter()
        .map(|h| c.threads[h.to.index()].name.clone())
        .collect()
}

/// Rule: `pthread_cond_signal` wakes the waiter whose current wait began
/// earliest (glibc group G1, then the kernel's FIFO futex queue), whoever
/// released. `a` and then `b` wait for the GIL from the start (`b` to begin
/// its sleep) while `h` holds it; `h` blocks on I/O and `a` is signalled;
/// `h` waits again on its I/O return, after `b`, so `a`'s release goes to `b`;
/// `b` sleeps and `h` gets it; `b` last.
#[test]
fn a_signal_wakes_the_waiter_whose_wait_began_earliest() {
    let mut c = controlled(4, fifo(secs(1)), us(5), us(2));
    c.add_thread(
        "h",
        InterpId(0),
        vec![
            Step::py(ms(1)),
            Step::io(Dist::Fixed(us(100))),
            Step::py(ms(1)),
        ],
    );
    c.add_thread("a", InterpId(0), vec![Step::py(ms(1))]);
    c.add_thread(
        "b",
        InterpId(0),
        vec![Step::Sleep(us(100)), Step::py(ms(1))],
    );
    let (_, trace) = run_traced(&c).unwrap();
    assert_eq!(holders(&c, &trace), ["h", "a", "b", "h", "b"]);
    // The coin flip, kept as an option, is not bound by that order.
    let mut coin = c.clone();
    coin.interpreters[0].gil = GilModel::New {
        switch_interval: secs(1),
        check_period: us(1),
        waiter_choice: WaiterChoice::Random,
    };
    let orders: std::collections::BTreeSet<Vec<String>> = (0..16)
        .map(|seed| {
            coin.limits.seed = seed;
            holders(&coin, &run_traced(&coin).unwrap().1)
        })
        .collect();
    assert!(orders.len() > 1, "random choice varies: {orders:?}");
}

/// Rule: a waiter whose timed wait expires sets the drop request and waits
/// again as the newest waiter (`__condvar_cancel_waiting`, a new `__wseq`
/// position), so the signal of the drop it asked for goes to an older waiter.
/// `a` waits from the start, `b` from 1 ms; `a`'s 5 ms timeout asks `h` to
/// drop, and `b` gets the GIL.
#[test]
fn a_timed_out_waiter_waits_again_as_the_newest() {
    let mut c = controlled(4, fifo(ms(5)), us(5), us(2));
    let b = ThreadId(2);
    c.add_thread(
        "h",
        InterpId(0),
        vec![Step::py(ms(1)), Step::StartThread(b), Step::py(ms(50))],
    );
    c.add_thread("a", InterpId(0), vec![Step::py(ms(1))]);
    c.add_thread("b", InterpId(0), vec![Step::py(ms(1))]);
    c.threads[b.index()].autostart = false;
    let (r, trace) = run_traced(&c).unwrap();
    let order = holders(&c, &trace);
    assert_eq!(order[..2], ["h", "b"], "{order:?}");
    assert_eq!(r.thread("a").unwrap().drop_requests, 1);
    assert_eq!(r.thread("b").unwrap().drop_requests, 0);
    assert_eq!(r.thread("h").unwrap().forced_drops, 1);
}

/// Rule: a blocking call that returns at once still releases the GIL around
/// its system call (`sock_call_ex`), and the waiter that release wakes races
/// the caller's re-take. The wake-up starts with the releaser's futex wake
/// (`signal_cost`), which the releaser pays before its call, so the waiter
/// wins iff its wake-up is shorter than the signal and the call together.
/// Each way, for an `io` that returns at once and for a `recv` whose reply is
/// already there; the last case is won by a waiter slower than the call alone.
#[test]
fn the_syscall_and_the_woken_waiter_race_for_the_gil() {
    let interval = ms(5);
    const REPS: u64 = 20;
    // (wake-up, futex wake, system call, does the waiter win?)
    let cases = [
        (us(20), us(1), us(2), false),
        (us(2), us(1), us(20), true),
        (us(8), us(1), us(5), false),
        (us(3), us(1), us(10), true),
        (us(7), us(3), us(5), true),
    ];
    for (wake, signal, syscall, waiter_wins) in cases {
        for call in ["io", "recv"] {
            let mut c = controlled(2, fifo(interval), wake, syscall);
            c.machine.os.ctx_switch = SimDuration::ZERO;
            c.machine.os.signal_cost = signal;
            cpu(&mut c, "cpu", secs(1));
            let body = match call {
                "io" => vec![Step::py(us(50)), Step::io(Dist::Fixed(SimDuration::ZERO))],
                _ => vec![
                    Step::Send {
                        cpu: us(1),
                        latency: Dist::Fixed(us(10)),
                    },
                    Step::py(us(50)),
                    Step::Recv,
                ],
            };
            c.add_thread(
                "client",
                InterpId(0),
                vec![Step::Sleep(ms(1)), Step::Repeat { times: 20, body }],
            );
            c.limits.until = Some(SimTime::ZERO + secs(1));
            let r = run(&c).unwrap();
            let client = r.thread("client").unwrap();
            let kind = if call == "io" {
                OpKind::Io
            } else {
                OpKind::RoundTrip
            };
            let op_p50 = client.op_latency.of(kind).percentile(50.0);
            let failed = r.thread("cpu").unwrap().failed_wakeups;
            let what =
                format!("{call}: wake {wake}, signal {signal}, syscall {syscall}: p50 {op_p50}, failed {failed}");
            if waiter_wins {
                // The CPU thread took the GIL during the call: the client waits
                // about one interval for it after the call returns.
                assert!(op_p50 >= interval, "{what}");
                assert_eq!(failed, 0, "{what}");
            } else {
                // The client re-took the GIL first; the woken waiter found it
                // taken at every call but, at most, the first (after the sleep).
                assert!(op_p50 < us(100), "{what}");
                assert!(failed >= REPS - 1, "{what}");
            }
        }
    }
}

/// Rule: a woken thread runs on an idle core if there is one, its previous
/// core first (`select_idle_sibling`), after the wake-up latency of that
/// core; a core idle for less than `shallow_idle` is still in a shallow
/// C-state and wakes faster.
#[test]
fn a_woken_thread_runs_on_an_idle_core_after_its_wake_up() {
    for (idle_for, expect_shallow) in [(us(20), true), (ms(1), false)] {
        let mut c = machine(2, fifo(ms(5)));
        let os = &mut c.machine.os;
        os.wake_spread = WakeSpread::Uniform(0.0);
        os.shallow_wake_spread = WakeSpread::Uniform(0.0);
        os.shallow_wake_latency = us(3);
        os.wake_latency = us(40);
        os.timer_slack = SimDuration::ZERO;
        os.ctx_switch = SimDuration::ZERO;
        c.add_thread(
            "sleeper",
            InterpId(0),
            vec![Step::Sleep(idle_for), Step::py(us(10))],
        );
        let (r, trace) = run_traced(&c).unwrap();
        let wake = if expect_shallow { us(3) } else { us(40) };
        // Started (woken onto an idle core at 0), slept, woke, ran 10 µs.
        let t = r.thread("sleeper").unwrap();
        let start = t.started.unwrap();
        let first_run = trace
            .intervals
            .iter()
            .find(|iv| iv.state == ThreadState::Python)
            .unwrap()
            .start;
        assert_eq!(
            first_run - start,
            c.machine.os.wake_latency.min(us(40)) + idle_for + wake
        );
        assert_eq!(t.times.runnable, c.machine.os.wake_latency + wake);
    }
}

/// Every op records its own duration, per kind: a round trip from its send
/// to holding the GIL after its recv, a sleep, an I/O call.
#[test]
fn every_op_records_its_duration_by_kind() {
    let mut c = controlled(2, fifo(ms(5)), us(5), us(2));
    c.machine.os.timer_slack = SimDuration::ZERO;
    c.add_thread(
        "t",
        InterpId(0),
        vec![Step::Repeat {
            times: 10,
            body: vec![
                Step::Send {
                    cpu: us(3),
                    latency: Dist::Fixed(us(100)),
                },
                Step::Recv,
                Step::Sleep(us(200)),
                Step::io(Dist::Fixed(us(300))),
            ],
        }],
    );
    let r = run(&c).unwrap();
    let t = r.thread("t").unwrap();
    let ops = &t.op_latency;
    for (kind, at_least) in [
        (OpKind::RoundTrip, us(100)),
        (OpKind::Sleep, us(200)),
        (OpKind::Io, us(300)),
    ] {
        let h = ops.of(kind);
        assert_eq!(h.count(), 10, "{kind:?}");
        // Alone on the machine: the call, plus the wake-up of its core.
        assert!(
            h.min() >= at_least && h.max() <= at_least + us(50),
            "{kind:?}: {h:?}"
        );
    }
    assert_eq!(ops.of(OpKind::QueueGet).count(), 0);
    assert_eq!(ops.all().count(), 30);
}

/// Rule: while a core leaves idle for a timer that fired on it, Linux still
/// sees it idle (`idle_cpu()`), so a thread whose timer fires meanwhile is
/// placed there, behind the first, instead of preempting the busy core
/// (`select_idle_sibling`). `h` runs on one core; `first`'s timer wakes the
/// other (30 µs), `second`'s fires 5 µs later: `second` runs after `first`,
/// on that core, and `h` keeps its core. When the first core wakes at once
/// (no wake-up latency, nothing pending), `second` preempts `h` instead.
#[test]
fn a_thread_woken_while_a_core_wakes_for_a_timer_queues_there() {
    for pending in [true, false] {
        let wake = if pending { us(30) } else { SimDuration::ZERO };
        let syscall = OsConfig::default().syscall;
        let mut c = controlled(2, GilModel::None { slowdown: 1.0 }, wake, syscall);
        let os = &mut c.machine.os;
        os.timer_slack = SimDuration::ZERO;
        os.ctx_switch = SimDuration::ZERO;
        cpu(&mut c, "h", ms(10));
        c.add_thread(
            "first",
            InterpId(0),
            vec![Step::Sleep(ms(3)), Step::py(us(20))],
        );
        c.add_thread(
            "second",
            InterpId(0),
            vec![Step::Sleep(ms(3) + us(5)), Step::py(us(20))],
        );
        let (_, trace) = run_traced(&c).unwrap();
        let name = |iv: &Interval| c.threads[iv.thread.index()].name.clone();
        let runs = |who: &str| -> Vec<Interval> {
            trace
                .intervals
                .iter()
                .filter(|iv| iv.state == ThreadState::Python && name(iv) == who)
                .cloned()
                .collect()
        };
        let h_runs = runs("h");
        let second = runs("second")[0].start;
        if pending {
            let first = runs("first")[0];
            assert_eq!(h_runs.len(), 1, "h is never preempted: {h_runs:?}");
            assert_eq!(second, first.end, "second runs when first is done");
        } else {
            assert!(h_runs.len() > 1, "second preempts h: {h_runs:?}");
            assert_eq!(second - SimTime::ZERO, ms(3) + us(5), "at once");
        }
    }
}

/// Rule: each wake-up's latency spreads around the core's latency as the
/// machine's `wake_spread` says (`shallow_wake_spread` for a core that idled
/// briefly); a log-normal spread of shape σ puts p10 and
/// p90 at `exp(∓1.2816 σ)` times the median (what calibration measures of a
/// vCPU that idled), a uniform one of `j` at `1 ∓ 0.8 j`. A thread sleeping
/// 1 ms at a time on an otherwise idle machine sees exactly that spread.
#[test]
fn wake_ups_spread_as_the_machine_says() {
    let z90 = 1.2815515655446004_f64;
    for (spread, ratio) in [
        (WakeSpread::LogNormal(0.5), (2.0 * z90 * 0.5).exp()),
        (WakeSpread::Uniform(0.5), 1.4 / 0.6),
        (WakeSpread::Uniform(0.0), 1.0),
    ] {
        let mut c = machine(1, fifo(ms(5)));
        let os = &mut c.machine.os;
        os.wake_spread = spread;
        os.shallow_wake_spread = WakeSpread::Uniform(0.0);
        os.wake_latency = us(30);
        os.timer_slack = SimDuration::ZERO;
        os.ctx_switch = SimDuration::ZERO;
        c.add_thread(
            "sleeper",
            InterpId(0),
            vec![Step::Repeat {
                times: 4000,
                body: vec![Step::Sleep(ms(1))],
            }],
        );
        let (_, trace) = run_traced(&c).unwrap();
        // Each wake-up is the time the sleeper was runnable, waiting for its core.
        let mut wakes: Vec<f64> = trace
            .intervals
            .iter()
            .filter(|iv| iv.state == ThreadState::Runnable)
            .map(|iv| (iv.end - iv.start).as_secs_f64())
            .collect();
        assert!(wakes.len() >= 4000, "{}", wakes.len());
        wakes.sort_by(f64::total_cmp);
        let late = |q: f64| wakes[((wakes.len() - 1) as f64 * q / 100.0).round() as usize];
        let measured = late(90.0) / late(10.0);
        assert!(
            (measured / ratio - 1.0).abs() < 0.1,
            "{spread:?}: p90/p10 of the wake-up {measured:.3}, expected {ratio:.3}"
        );
        assert!(
            (late(50.0) / 30e-6 - 1.0).abs() < 0.05,
            "{spread:?}: the median wake-up is the core's latency: {}",
            late(50.0)
        );
    }
}
