//! Blocking calls: latency distributions, devices, sleeps (engine `kernel/io.rs`, `dist.rs`).
mod common;
use common::*;

/// Each distribution's sampled mean matches its parameter.
#[test]
fn distributions_have_their_means() {
    let cases = [
        Dist::Fixed(us(100)),
        Dist::Uniform {
            lo: us(50),
            hi: us(150),
        },
        Dist::Exp { mean: us(100) },
        Dist::LogNormal {
            mean: us(100),
            cv: 0.5,
        },
        Dist::Normal {
            mean: us(100),
            sd: us(10),
        },
        Dist::Empirical(vec![us(50), us(100), us(150)]),
    ];
    for d in cases {
        let mut rng = stream(1, "test", 0);
        let n = 20_000;
        let sum: u64 = (0..n).map(|_| d.sample(&mut rng).as_nanos()).sum();
        let mean = sum as f64 / n as f64;
        assert!((mean - 100_000.0).abs() / 100_000.0 < 0.03, "{d:?}: {mean}");
    }
}

/// A device with queue depth 1 serialises requests; an unlimited one overlaps them.
#[test]
fn device_concurrency_limits_overlap() {
    let mut makespans = Vec::new();
    for concurrency in [Some(1), None] {
        let mut c = machine(4, GilModel::new_gil());
        c.devices.push(DeviceConfig {
            name: "disk".into(),
            concurrency,
        });
        for i in 0..4 {
            c.add_thread(
                &format!("r{i}"),
                InterpId(0),
                vec![Step::Repeat {
                    times: 10,
                    body: vec![Step::Io {
                        device: Some(DeviceId(0)),
                        latency: Dist::Fixed(ms(1)),
                    }],
                }],
            );
        }
        makespans.push(run(&c).unwrap().makespan);
    }
    // 40 requests of 1 ms: 40 ms in series, about 10 ms in parallel.
    assert!(
        ratio(makespans[0], ms(40)) >= 1.0 && ratio(makespans[0], ms(40)) < 1.05,
        "{}",
        makespans[0]
    );
    assert!(
        ratio(makespans[1], ms(10)) >= 1.0 && ratio(makespans[1], ms(10)) < 1.1,
        "{}",
        makespans[1]
    );
}

/// Threads overlap their I/O waits ("threads are good at waiting").
#[test]
fn io_bound_threads_overlap_waits() {
    let mut c = machine(2, GilModel::new_gil());
    for i in 0..8 {
        c.add_thread(
            &format!("t{i}"),
            InterpId(0),
            vec![Step::Repeat {
                times: 20,
                body: vec![Step::py(us(10)), Step::io(Dist::Fixed(ms(5)))],
            }],
        );
    }
    let r = run(&c).unwrap();
    // Sequentially 8 × 20 × 5 ms = 800 ms; overlapped about 100 ms.
    assert!(r.makespan < ms(110), "{}", r.makespan);
}

/// `time.sleep` is a timed wait: it oversleeps by most of the timer slack
/// (50 µs by default) plus the wake-up of the idle core, so `time.sleep(50 µs)`
/// takes about 100 µs.
#[test]
fn sleep_overshoots_by_timer_slack() {
    let mut c = machine(1, GilModel::new_gil());
    c.add_thread(
        "s",
        InterpId(0),
        vec![Step::Repeat {
            times: 200,
            body: vec![Step::Sleep(us(50))],
        }],
    );
    let r = run(&c).unwrap();
    let per = r.makespan.as_nanos() as f64 / 200.0;
    let os = &c.machine.os;
    let lateness = os.timer_slack.as_nanos() as f64 * (1.0 + TIMER_SLACK_MIN_FRACTION) / 2.0;
    // The core went idle only ~95 µs before: still in a shallow C-state.
    assert!(SimDuration::from_secs_f64((50e3 + lateness) / 1e9).unwrap() < os.shallow_idle);
    let expected = 50e3 + lateness + os.shallow_wake_latency.as_nanos() as f64;
    assert!(
        (per - expected).abs() / expected < 0.03,
        "each sleep(50 µs) took {per} ns, expected {expected}"
    );
    assert!((90e3..110e3).contains(&per));
}

/// Common random numbers: two variants under one seed see the same I/O
/// latencies, however the rest of the model differs.
#[test]
fn variants_see_the_same_io_latencies() {
    let blocked = |gil: GilModel, cores: u32, seed: u64| {
        let mut c = machine(cores, gil);
        c.limits.seed = seed;
        cpu(&mut c, "cpu", ms(50));
        c.add_thread(
            "io",
            InterpId(0),
            vec![Step::Repeat {
                times: 50,
                body: vec![Step::py(us(30)), Step::io(Dist::Exp { mean: us(300) })],
            }],
        );
        run(&c).unwrap().thread("io").unwrap().times.blocked
    };
    let base = blocked(GilModel::new_gil(), 2, 42);
    assert_eq!(base, blocked(GilModel::no_gil(), 2, 42));
    assert_eq!(base, blocked(GilModel::old_gil(), 1, 42));
    assert_eq!(base, blocked(GilModel::new_with_interval(us(100)), 4, 42));
    // And a different seed draws different latencies.
    assert_ne!(base, blocked(GilModel::new_gil(), 2, 43));
}

/// A request's reply arrives `latency` after its `send`, whether or not the
/// thread waits for it: a `recv` made after the reply came returns at once
/// (no blocked time) after its system call, one made early blocks only for
/// the rest; both calls run their system calls with the GIL released; `recv`
/// counts the ops.
#[test]
fn a_reply_arrives_after_its_send_whether_or_not_anyone_waits() {
    let (lat, cpu, n) = (us(40), us(12), 50);
    let client = |between: SimDuration| {
        let mut c = machine(2, GilModel::new_gil());
        c.add_thread(
            "client",
            InterpId(0),
            vec![Step::Repeat {
                times: n,
                body: vec![
                    Step::Send {
                        cpu,
                        latency: Dist::Fixed(lat),
                    },
                    Step::py(between),
                    Step::Recv,
                ],
            }],
        );
        let r = run(&c).unwrap();
        let t = r.thread("client").unwrap().clone();
        (t, r.makespan)
    };
    // Work longer than the latency in between: every reply is already there.
    let (t, _) = client(us(100));
    assert_eq!(t.ops, n, "one op per recv");
    assert_eq!(t.times.blocked, SimDuration::ZERO, "no recv blocked");
    let syscall = MachineConfig::with_cores(2).os.syscall;
    assert_eq!(
        t.times.native_released_gil,
        (cpu + syscall) * n,
        "the sends' and the recvs' system calls"
    );
    // Less work in between: each recv blocks for the rest of the latency.
    let (t, _) = client(us(10));
    assert_eq!(t.ops, n);
    assert_eq!(t.times.blocked, (lat - us(10)) * n);
    // Both calls' returns are measured until the thread runs Python again.
    assert_eq!(t.gil_wait_after_io.count(), 2 * n);
}

/// A `recv` with no request pending never returns: the run ends in a
/// deadlock error that says so.
#[test]
fn a_recv_without_a_request_is_a_named_deadlock() {
    let mut c = machine(1, GilModel::new_gil());
    c.add_thread("lonely", InterpId(0), vec![Step::Recv]);
    let e = run(&c).unwrap_err().to_string();
    assert!(
        e.contains("\"lonely\" waits for a reply, but it sent no request"),
        "{e}"
    );
}

/// Sends without receives would pile up replies without end: the run stops
/// with an error naming the thread once `MAX_PENDING_REPLIES` are pending.
#[test]
fn sends_without_receives_are_bounded() {
    let mut c = machine(1, GilModel::new_gil());
    c.add_thread(
        "talker",
        InterpId(0),
        vec![Step::Repeat {
            times: u64::MAX,
            body: vec![Step::Send {
                cpu: us(1),
                latency: Dist::Fixed(us(10)),
            }],
        }],
    );
    let e = run(&c).unwrap_err();
    assert!(
        matches!(&e, EngineError::UnansweredRequests { thread, limit, .. }
            if thread == "talker" && *limit == MAX_PENDING_REPLIES),
        "{e}"
    );
}

/// `block_cpu`: each return from a blocking call costs that much CPU on the
/// thread's core (the sleep and the switch back in); a call that does not
/// block (its data already there) does not pay it.
#[test]
fn blocking_and_waking_cost_cpu_only_when_the_thread_blocks() {
    let cost = us(7);
    let run_with = |block_cpu: SimDuration, latency: SimDuration| {
        let mut c = machine(2, GilModel::new_gil());
        c.machine.os.block_cpu = block_cpu;
        c.machine.os.syscall = SimDuration::ZERO;
        c.add_thread(
            "io",
            InterpId(0),
            vec![Step::Repeat {
                times: 100,
                body: vec![Step::io(Dist::Fixed(latency))],
            }],
        );
        run(&c).unwrap()
    };
    let on_core = |r: &Report| {
        let t = &r.thread("io").unwrap().times;
        t.python + t.native_holding_gil + t.native_released_gil
    };
    let (with, without) = (
        run_with(cost, us(100)),
        run_with(SimDuration::ZERO, us(100)),
    );
    assert_eq!(
        on_core(&with) - on_core(&without),
        SimDuration(100 * cost.0)
    );
    assert_eq!(with.makespan - without.makespan, SimDuration(100 * cost.0));
    // A zero-latency call returns at once: no sleep, nothing to pay.
    let (with, without) = (
        run_with(cost, SimDuration::ZERO),
        run_with(SimDuration::ZERO, SimDuration::ZERO),
    );
    assert_eq!(with.makespan, without.makespan);
}
