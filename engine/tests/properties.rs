//! Invariants over random workloads and configs (proptest).
mod common;
use common::*;
use proptest::prelude::*;

fn leaf_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1u64..3_000).prop_map(|u| Step::py(us(u))),
        (1u64..2_000, any::<bool>()).prop_map(|(u, r)| Step::c(us(u), r)),
        (1u64..2_000).prop_map(|u| Step::io(Dist::Exp { mean: us(u) })),
        (1u64..2_000).prop_map(|u| Step::io(Dist::Fixed(us(u)))),
        (1u64..500).prop_map(|u| Step::Sleep(us(u))),
        // A critical section: always released, so one lock cannot deadlock.
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
        (Just(body), 1u64..6).prop_map(|(body, times)| vec![Step::Repeat { times, body }])
    })
}

fn gil() -> impl Strategy<Value = GilModel> {
    prop_oneof![
        (100u64..10_000).prop_map(|u| GilModel::new_with_interval(us(u))),
        (100u64..2_000, any::<bool>()).prop_map(|(u, random)| GilModel::New {
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

fn config() -> impl Strategy<Value = SimConfig> {
    (
        1u32..5,
        gil(),
        any::<bool>(),
        prop::collection::vec(program(), 1..6),
        any::<u64>(),
    )
        .prop_map(|(cores, gil, rr, programs, seed)| {
            let mut m = MachineConfig::with_cores(cores);
            if rr {
                m.os.policy = Policy::round_robin(ms(2));
            }
            let mut c = SimConfig::new(m, gil);
            c.locks.push("l".into());
            c.limits.seed = seed;
            for (i, p) in programs.into_iter().enumerate() {
                c.add_thread(&format!("t{i}"), InterpId(0), p);
            }
            c
        })
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N for a longer search.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn invariants_hold(c in config()) {
        let (r, trace) = run_traced(&c).unwrap();
        // Finite workloads complete: every GIL waiter is eventually served.
        prop_assert_eq!(r.stop, StopReason::Completed);
        for t in &r.threads {
            prop_assert!(t.finished.is_some(), "{} never finished", t.name);
            // State times add up to the lifetime.
            let life = t.finished.unwrap() - t.started.unwrap();
            prop_assert_eq!(t.times.total(), life, "{}", t.name);
        }
        // Never more threads on cores than cores.
        prop_assert!(max_overlap(&trace, |iv| on_core(iv.state)) <= c.machine.cores as usize);
        // At most one holder of the GIL at every instant.
        if c.interpreters[0].gil.name() != "none" {
            prop_assert!(max_overlap(&trace, |iv| holds_gil(iv.state)) <= 1);
        }
        // Trace intervals of one thread never overlap and tile its lifetime.
        for (i, t) in r.threads.iter().enumerate() {
            let mut ivs: Vec<&Interval> = trace.intervals.iter().filter(|iv| iv.thread.index() == i).collect();
            ivs.sort_by_key(|iv| iv.start);
            for w in ivs.windows(2) {
                prop_assert!(w[0].end <= w[1].start);
            }
            let sum: u64 = ivs.iter().map(|iv| (iv.end - iv.start).as_nanos()).sum();
            prop_assert_eq!(sum, t.times.total().as_nanos());
        }
        // Identical report for an identical config and seed.
        prop_assert_eq!(run(&c).unwrap(), r);
    }
}
