//! The GIL's rules through its door alone: no threads, cores or clock. Each
//! case asks the door a sequence of questions and checks every answer.

use super::*;
use crate::config::GilModel;
use crate::rng::stream;
use Effect::*;

#[derive(Clone, Copy, Debug)]
enum Ask {
    Request(u32),
    Drop { t: u32, forced: bool, check: bool },
    AwaitSwitch(u32),
    TimedOut(u32),
}

fn t(i: u32) -> ThreadId {
    ThreadId(i)
}

fn gil(model: GilModel) -> Gil {
    Gil::new(
        &model,
        stream(1, "gil-door-test", 0),
        "main".into(),
        ProcessId(0),
    )
}

fn ask(g: &mut Gil, a: Ask) -> Vec<Effect> {
    let mut fx = Vec::new();
    match a {
        Ask::Request(i) => g.request(t(i), &mut fx),
        Ask::Drop {
            t: i,
            forced,
            check,
        } => g.drop(t(i), forced, check, &mut fx),
        Ask::AwaitSwitch(i) => g.handshake(t(i), &mut fx),
        Ask::TimedOut(i) => g.timed_out(t(i), &mut fx),
    }
    fx
}

const VOLUNTARY: fn(u32) -> Ask = |i| Ask::Drop {
    t: i,
    forced: false,
    check: false,
};

fn interval() -> SimDuration {
    SimDuration::ms(5)
}

/// Thread `i` takes the free GIL and goes on running.
fn first_take(i: u32) -> (Ask, Vec<Effect>) {
    (
        Ask::Request(i),
        vec![
            Handoff {
                from: None,
                to: t(i),
            },
            BackOnCore(t(i)),
        ],
    )
}

/// Old GIL: thread `i` finds it held by `holder` and makes its
/// `futex_wait` call (the holder's checks now matter).
fn old_waiter_tries(i: u32, holder: u32) -> (Ask, Vec<Effect>) {
    (
        Ask::Request(i),
        vec![FutexWaitCall(t(i)), ScheduleCheck(t(holder))],
    )
}

/// Old GIL: thread `i`'s `futex_wait` finds it still held: it sleeps, no timeout.
fn old_waiter_sleeps(i: u32, holder: u32) -> (Ask, Vec<Effect>) {
    (
        Ask::Request(i),
        vec![
            WaitOnCond {
                thread: t(i),
                timeout: None,
            },
            ScheduleCheck(t(holder)),
        ],
    )
}

fn wait_new(i: u32) -> Effect {
    WaitOnCond {
        thread: t(i),
        timeout: Some(interval()),
    }
}

struct Case {
    rule: &'static str,
    model: fn() -> GilModel,
    steps: Vec<(Ask, Vec<Effect>)>,
}

fn cases() -> Vec<Case> {
    use Ask::*;
    let new = || GilModel::new_with_interval(SimDuration::ms(5));
    vec![
        Case {
            rule: "a free GIL is taken at once; taking it again changes nothing",
            model: new,
            steps: vec![first_take(1), (Request(1), vec![BackOnCore(t(1))])],
        },
        Case {
            rule: "a thread that finds it held waits on the condition for one interval",
            model: new,
            steps: vec![first_take(1), (Request(2), vec![wait_new(2)])],
        },
        Case {
            rule: "an interval with no switch asks the holder to drop; a fresh interval follows",
            model: new,
            steps: vec![
                first_take(1),
                (Request(2), vec![wait_new(2)]),
                (TimedOut(2), vec![WakeByTimer(t(2))]),
                (Request(2), vec![ScheduleCheck(t(1)), wait_new(2)]),
            ],
        },
        Case {
            rule: "an interval in which the GIL switched asks nothing",
            model: new,
            steps: vec![
                first_take(1),
                (Request(3), vec![wait_new(3)]),
                (Request(2), vec![wait_new(2)]),
                (
                    VOLUNTARY(1),
                    vec![
                        Handshake(t(1)),
                        Wake(t(3)),
                        PaySignal {
                            thread: t(1),
                            even_if_free: false,
                        },
                    ],
                ),
                (AwaitSwitch(1), vec![]),
                (
                    Request(3),
                    vec![
                        Handoff {
                            from: Some(t(1)),
                            to: t(3),
                        },
                        BackOnCore(t(3)),
                    ],
                ),
                (TimedOut(2), vec![WakeByTimer(t(2))]),
                (Request(2), vec![wait_new(2)]),
            ],
        },
        Case {
            rule: "FORCE_SWITCHING: the forced dropper waits until another thread took the GIL, \
                   and the taker wakes it with a futex wake",
            model: new,
            steps: vec![
                first_take(1),
                (Request(2), vec![wait_new(2)]),
                (TimedOut(2), vec![WakeByTimer(t(2))]),
                (Request(2), vec![ScheduleCheck(t(1)), wait_new(2)]),
                (
                    Drop {
                        t: 1,
                        forced: true,
                        check: false,
                    },
                    vec![
                        Handshake(t(1)),
                        Wake(t(2)),
                        PaySignal {
                            thread: t(1),
                            even_if_free: false,
                        },
                    ],
                ),
                (AwaitSwitch(1), vec![WaitForSwitch(t(1))]),
                (
                    Request(2),
                    vec![
                        Handoff {
                            from: Some(t(1)),
                            to: t(2),
                        },
                        PaySignal {
                            thread: t(2),
                            even_if_free: true,
                        },
                        Wake(t(1)),
                        BackOnCore(t(2)),
                    ],
                ),
            ],
        },
        Case {
            rule: "barging: the releaser takes the GIL back before the woken waiter arrives, \
                   which then waits again (a failed wake-up)",
            model: new,
            steps: vec![
                first_take(1),
                (Request(2), vec![wait_new(2)]),
                (
                    VOLUNTARY(1),
                    vec![
                        Handshake(t(1)),
                        Wake(t(2)),
                        PaySignal {
                            thread: t(1),
                            even_if_free: false,
                        },
                    ],
                ),
                (AwaitSwitch(1), vec![]),
                (Request(1), vec![BackOnCore(t(1))]),
                (Request(2), vec![wait_new(2)]),
            ],
        },
        Case {
            rule: "a timed-out wait is not woken by a release: the next live waiter is",
            model: new,
            steps: vec![
                first_take(1),
                (Request(2), vec![wait_new(2)]),
                (Request(3), vec![wait_new(3)]),
                (TimedOut(2), vec![WakeByTimer(t(2))]),
                (
                    VOLUNTARY(1),
                    vec![
                        Handshake(t(1)),
                        Wake(t(3)),
                        PaySignal {
                            thread: t(1),
                            even_if_free: false,
                        },
                    ],
                ),
            ],
        },
        Case {
            rule: "old GIL: the wait has no timeout, and a waiter makes the holder's checks matter",
            model: GilModel::old_gil,
            steps: vec![
                first_take(1),
                old_waiter_tries(2, 1),
                old_waiter_sleeps(2, 1),
                (
                    Drop {
                        t: 1,
                        forced: false,
                        check: true,
                    },
                    vec![
                        Wake(t(2)),
                        PaySignal {
                            thread: t(1),
                            even_if_free: false,
                        },
                    ],
                ),
            ],
        },
        Case {
            rule: "old GIL: a periodic release nobody waits for keeps the GIL free for the gap",
            model: GilModel::old_gil,
            steps: vec![
                first_take(1),
                (
                    Drop {
                        t: 1,
                        forced: false,
                        check: true,
                    },
                    vec![ReleaseGap {
                        thread: t(1),
                        gap: SimDuration::ns(200),
                    }],
                ),
            ],
        },
        Case {
            rule:
                "old GIL: while the woken waiter is awake a release calls futex_wake for nobody; \
                   the waiter that finds the GIL taken makes its futex_wait call, and wins if a \
                   release comes meanwhile (EAGAIN)",
            model: GilModel::old_gil,
            steps: vec![
                first_take(1),
                old_waiter_tries(2, 1),
                old_waiter_sleeps(2, 1),
                (
                    Drop {
                        t: 1,
                        forced: false,
                        check: true,
                    },
                    vec![
                        Wake(t(2)),
                        PaySignal {
                            thread: t(1),
                            even_if_free: false,
                        },
                    ],
                ),
                (Request(1), vec![BackOnCore(t(1))]),
                (
                    Drop {
                        t: 1,
                        forced: false,
                        check: true,
                    },
                    vec![FutexWakeNobody(t(1))],
                ),
                (Request(1), vec![BackOnCore(t(1))]),
                (Request(2), vec![FutexWaitCall(t(2)), ScheduleCheck(t(1))]),
                (
                    Drop {
                        t: 1,
                        forced: false,
                        check: true,
                    },
                    vec![FutexWakeNobody(t(1))],
                ),
                (
                    Request(2),
                    vec![
                        Handoff {
                            from: Some(t(1)),
                            to: t(2),
                        },
                        BackOnCore(t(2)),
                    ],
                ),
            ],
        },
        Case {
            rule: "no GIL: every thread goes on at once, nothing to drop",
            model: || GilModel::None { slowdown: 1.0 },
            steps: vec![
                (Request(1), vec![BackOnCore(t(1))]),
                (Request(2), vec![BackOnCore(t(2))]),
                (VOLUNTARY(1), vec![]),
            ],
        },
    ]
}

#[test]
fn each_rule_answers_with_its_effects() {
    for case in cases() {
        let mut g = gil((case.model)());
        for (k, (a, want)) in case.steps.into_iter().enumerate() {
            let got = ask(&mut g, a);
            assert_eq!(got, want, "{}: step {k} ({a:?})", case.rule);
        }
    }
}

#[test]
fn a_failed_wakeup_is_counted_for_the_gil_and_the_thread() {
    let mut g = gil(GilModel::new_with_interval(SimDuration::ms(5)));
    for a in [
        Ask::Request(1),
        Ask::Request(2),
        VOLUNTARY(1),
        Ask::Request(1),
        Ask::Request(2),
    ] {
        ask(&mut g, a);
    }
    assert_eq!(g.counts(t(2)).failed_wakeups, 1);
    assert_eq!(g.report().failed_wakeups, 1);
    assert_eq!(g.counts(t(1)).acquisitions, 2);
    assert_eq!(g.report().switches, 1, "thread 1 took it back: no switch");
}

#[test]
fn the_holders_next_check_falls_on_the_check_period_only_when_asked_to_drop() {
    let period = GilModel::new_gil();
    let GilModel::New { check_period, .. } = period else {
        unreachable!()
    };
    let cp = check_period.0;
    let mut g = gil(period);
    ask(&mut g, Ask::Request(1));
    ask(&mut g, Ask::Request(2));
    assert_eq!(g.next_check(t(1), 10 * cp + 1), None, "no drop request yet");
    ask(&mut g, Ask::TimedOut(2));
    ask(&mut g, Ask::Request(2));
    assert_eq!(g.next_check(t(1), 10 * cp + 1), Some(11 * cp));
    assert_eq!(
        g.next_check(t(1), 0),
        Some(cp),
        "never at the burst's very start"
    );
    assert_eq!(g.at_check(t(1)), Some((true, false)));
}

#[test]
fn the_old_gils_ticker_counts_python_work_and_wraps_unobserved() {
    let model = GilModel::old_gil();
    let GilModel::Old {
        check_interval,
        tick,
        ..
    } = model
    else {
        unreachable!()
    };
    let cw = u64::from(check_interval) * tick.0;
    let mut g = gil(model);
    ask(&mut g, Ask::Request(1));
    assert_eq!(
        g.next_check(t(1), 0),
        None,
        "nobody waits: checks go unobserved"
    );
    g.python_ran(t(1), cw / 4);
    ask(&mut g, Ask::Request(2));
    assert_eq!(g.next_check(t(1), 0), Some(cw - cw / 4));
    assert_eq!(
        g.next_check(t(1), cw),
        Some(cw - cw / 4 + cw),
        "wrapped once"
    );
    assert_eq!(g.at_check(t(1)), Some((false, true)));
    assert_eq!(
        g.next_check(t(1), 0),
        Some(cw),
        "a fresh period after the check"
    );
}
