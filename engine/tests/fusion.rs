//! Exact fusion of GIL waiters' no-op timer expiries (`kernel/gil.rs`)
//! changes no result: every run gives the same report (or error) and the
//! same trace, record for record, with `SimConfig::fusion` on and off —
//! over the canonical benchmark scenarios, hand-picked edge cases (a stop or
//! an event budget falling inside a fused window, both run-queue policies,
//! random waiter choice, wake-up spreads, several interpreters) and random
//! workloads built like `properties.rs`'s but crowded with GIL waiters.
//! The fuzzed corpus is checked the same way by the engine fuzz target.
mod common;
use common::*;
use proptest::prelude::*;

/// The outcome of a run as compared: report or error, and the whole trace.
fn outcome(c: &SimConfig, fusion: bool) -> (Result<Report, EngineError>, VecTrace) {
    let mut c = c.clone();
    c.fusion = fusion;
    let mut trace = VecTrace::default();
    let r = run_with_sink(&c, &mut trace);
    (r, trace)
}

/// Asserts fusion on and off agree; returns the fused run's event count
/// (so a case can also show it reached fusable expiries).
fn assert_same(name: &str, c: &SimConfig) -> u64 {
    let (on, trace_on) = outcome(c, true);
    let (off, trace_off) = outcome(c, false);
    assert_eq!(on, off, "{name}: report differs with fusion on and off");
    assert!(
        trace_on == trace_off,
        "{name}: trace differs with fusion on and off ({} and {} intervals)",
        trace_on.intervals.len(),
        trace_off.intervals.len()
    );
    on.map(|r| r.totals.events).unwrap_or(0)
}

/// Scenario B's shape, smaller: `cpu` CPU-bound and `io` I/O threads.
fn crowd(cores: u32, cpu: u32, io: u32, gil: GilModel, secs: u64) -> SimConfig {
    scenarios::cpu_and_io(cores, cpu, io, gil, secs)
}

#[test]
fn canonical_scenarios_are_identical() {
    for name in scenarios::CANONICAL {
        let c = scenarios::canonical(name, 1).unwrap();
        assert!(assert_same(name, &c) > 0, "{name} ran no events");
    }
}

#[test]
fn edge_cases_are_identical() {
    let base = || crowd(4, 8, 4, GilModel::new_with_interval(us(500)), 1);
    let mut cases: Vec<(&str, SimConfig)> = Vec::new();
    // A stop time or an event budget at every few microseconds of a busy
    // stretch: some falls inside a fused window (between an expiry and its
    // arrival), where the unfused run stops or fails first.
    for k in 0..40u64 {
        let mut c = base();
        c.limits.until = Some(SimTime::ZERO + us(20_000 + 7 * k));
        cases.push(("until inside a window", c));
        let mut c = base();
        c.limits.max_events = 500 + 3 * k;
        cases.push(("event budget inside a window", c));
    }
    let mut c = base();
    c.machine.os.policy = Policy::round_robin(ms(2));
    cases.push(("round robin", c));
    let mut c = base();
    c.interpreters[0].gil = GilModel::New {
        switch_interval: us(300),
        check_period: us(1),
        waiter_choice: WaiterChoice::Random,
    };
    cases.push(("random waiter", c));
    for spread in [
        WakeSpread::Uniform(0.0),
        WakeSpread::Uniform(0.5),
        WakeSpread::LogNormal(1.5),
    ] {
        let mut c = base();
        c.machine.os.wake_spread = spread;
        c.machine.os.shallow_wake_spread = spread;
        cases.push(("wake spread", c));
    }
    let mut c = base();
    c.machine.os.wake_latency = SimDuration::ZERO;
    c.machine.os.shallow_wake_latency = SimDuration::ZERO;
    c.machine.os.ctx_switch = SimDuration::ZERO;
    c.machine.os.timer_slack = SimDuration::ZERO;
    cases.push(("instant wake-ups", c));
    let mut c = base();
    c.machine.os.signal_cost = SimDuration::ZERO;
    c.machine.os.block_cpu = us(3);
    cases.push(("free signal, paid blocking", c));
    let mut c = crowd(16, 6, 2, GilModel::new_with_interval(us(200)), 1);
    c.machine.core_speed = vec![1.0, 0.5, 2.0, 1.5];
    cases.push(("idle cores of different speeds", c));
    cases.push(("old GIL", crowd(4, 6, 2, GilModel::old_gil(), 1)));
    let mut c = crowd(4, 4, 2, GilModel::new_with_interval(us(400)), 1);
    let second = c.add_interpreter(ProcessId(0), GilModel::new_with_interval(us(700)));
    for i in 0..4 {
        c.add_thread(&format!("p2cpu{i}"), second, vec![Step::py(ms(900))]);
    }
    cases.push(("two interpreters", c));
    for (name, c) in &cases {
        assert_same(name, c);
    }
}

fn leaf_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1u64..3_000).prop_map(|u| Step::py(us(u))),
        (1u64..2_000, any::<bool>()).prop_map(|(u, r)| Step::c(us(u), r)),
        (1u64..2_000).prop_map(|u| Step::io(Dist::Exp { mean: us(u) })),
        (1u64..500).prop_map(|u| Step::Sleep(us(u))),
        (1u64..500).prop_map(|u| Step::Repeat {
            times: 1,
            body: vec![
                Step::Acquire(LockId(0)),
                Step::py(us(u)),
                Step::io(Dist::Fixed(us(u))),
                Step::Release(LockId(0))
            ],
        }),
    ]
}

fn program() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(leaf_step(), 1..6).prop_flat_map(|body| {
        (Just(body), 1u64..40).prop_map(|(body, times)| vec![Step::Repeat { times, body }])
    })
}

fn gil() -> impl Strategy<Value = GilModel> {
    prop_oneof![
        (20u64..2_000, any::<bool>()).prop_map(|(u, random)| GilModel::New {
            switch_interval: us(u),
            check_period: us(1),
            waiter_choice: if random {
                WaiterChoice::Random
            } else {
                WaiterChoice::Fifo
            },
        }),
        Just(GilModel::old_gil()),
        Just(GilModel::no_gil()),
    ]
}

/// Random workloads: more threads than cores under short switch intervals,
/// so GIL waiters time out often, with or without a stop time and budget.
fn config() -> impl Strategy<Value = SimConfig> {
    (
        (1u32..9, gil(), any::<bool>(), 0u64..30, 0u64..4),
        prop::collection::vec(program(), 2..12),
        any::<u64>(),
        prop::option::of(1u64..200_000),
        prop::option::of(100u64..20_000),
    )
        .prop_map(
            |((cores, gil, rr, wake_us, spread), programs, seed, until, budget)| {
                let mut m = MachineConfig::with_cores(cores);
                if rr {
                    m.os.policy = Policy::round_robin(ms(2));
                }
                m.os.wake_latency = us(wake_us);
                m.os.wake_spread = match spread {
                    0 => WakeSpread::Uniform(0.0),
                    1 => WakeSpread::Uniform(0.3),
                    _ => WakeSpread::LogNormal(0.2 * spread as f64),
                };
                let mut c = SimConfig::new(m, gil);
                c.locks.push("l".into());
                c.limits.seed = seed;
                c.limits.until = until.map(|u| SimTime::ZERO + us(u));
                if let Some(b) = budget {
                    c.limits.max_events = b;
                }
                for (i, p) in programs.into_iter().enumerate() {
                    c.add_thread(&format!("t{i}"), InterpId(0), p);
                }
                c
            },
        )
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N for a longer search.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn random_workloads_are_identical(c in config()) {
        let (on, trace_on) = outcome(&c, true);
        let (off, trace_off) = outcome(&c, false);
        prop_assert_eq!(on, off);
        prop_assert!(trace_on == trace_off, "trace differs");
    }
}
