//! Locks, queues, joins and deadlocks (engine `sync.rs`).
mod common;
use common::*;

/// A lock serialises its critical sections even with GIL-releasing work inside.
#[test]
fn lock_serialises_critical_sections() {
    let mut c = machine(4, GilModel::no_gil());
    c.locks.push("db".into());
    for i in 0..4 {
        c.add_thread(
            &format!("t{i}"),
            InterpId(0),
            vec![Step::Repeat {
                times: 5,
                body: vec![
                    Step::Acquire(LockId(0)),
                    Step::io(Dist::Fixed(ms(1))),
                    Step::Release(LockId(0)),
                ],
            }],
        );
    }
    let r = run(&c).unwrap();
    assert!(r.makespan >= ms(20), "{}", r.makespan);
}

/// A producer and a consumer thread through a queue; join waits for the end.
#[test]
fn producer_consumer_and_join() {
    let mut c = machine(2, GilModel::new_gil());
    c.queues.push(QueueConfig {
        name: "q".into(),
        ipc: false,
    });
    let consumer = c.add_thread(
        "consumer",
        InterpId(0),
        vec![Step::Repeat {
            times: 20,
            body: vec![Step::Get(QueueId(0)), Step::py(us(100))],
        }],
    );
    c.threads[consumer.index()].autostart = false;
    c.add_thread(
        "producer",
        InterpId(0),
        vec![
            Step::StartThread(consumer),
            Step::Repeat {
                times: 20,
                body: vec![
                    Step::io(Dist::Fixed(us(500))),
                    Step::Put {
                        queue: QueueId(0),
                        bytes: 100,
                    },
                ],
            },
            Step::Join(consumer),
            Step::py(us(10)),
        ],
    );
    let r = run(&c).unwrap();
    let cons = r.thread("consumer").unwrap();
    let prod = r.thread("producer").unwrap();
    assert_eq!(cons.py_work, ms(2));
    assert!(prod.finished.unwrap() > cons.finished.unwrap());
    assert!(cons.times.blocked > ms(5), "the consumer waited for items");
}

/// Every thread blocked with nothing pending is a deadlock naming who waits for what.
#[test]
fn deadlock_is_reported_with_time_and_waits() {
    let mut c = machine(2, GilModel::new_gil());
    c.locks.extend(["a".to_string(), "b".to_string()]);
    c.add_thread(
        "t1",
        InterpId(0),
        vec![
            Step::Acquire(LockId(0)),
            Step::io(Dist::Fixed(ms(1))),
            Step::Acquire(LockId(1)),
        ],
    );
    c.add_thread(
        "t2",
        InterpId(0),
        vec![
            Step::Acquire(LockId(1)),
            Step::io(Dist::Fixed(ms(1))),
            Step::Acquire(LockId(0)),
        ],
    );
    match run(&c) {
        Err(EngineError::Deadlock { time, blocked }) => {
            assert!(time.since(SimTime::ZERO) >= ms(1));
            assert_eq!(blocked.len(), 2);
            let msg = EngineError::Deadlock { time, blocked }.to_string();
            assert!(
                msg.contains("\"t1\" waits for lock \"b\"")
                    && msg.contains("\"t2\" waits for lock \"a\""),
                "{msg}"
            );
        }
        other => panic!("expected a deadlock, got {other:?}"),
    }
}

/// One thread doing 1 µs of Python and 1 µs of I/O forever.
fn endless() -> SimConfig {
    let mut c = machine(1, GilModel::new_gil());
    io_loop(
        &mut c,
        "forever",
        SimDuration::MAX,
        us(1),
        Dist::Fixed(us(1)),
    );
    c
}

/// A workload that never ends stops at `until` or with a clear `max_events` error.
#[test]
fn until_and_max_events_bound_a_run() {
    let mut c = endless();
    c.limits.until = Some(SimTime::ZERO + ms(10));
    let r = run(&c).unwrap();
    assert_eq!(r.stop, StopReason::Until);
    assert_eq!(r.end, SimTime::ZERO + ms(10));
    c.limits.until = None;
    c.limits.max_events = 10_000;
    let e = run(&c).unwrap_err();
    assert!(
        matches!(e, EngineError::EventLimit { limit: 10_000, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("max_events"));
}

/// A caller can stop a run that would never end: `run_cancellable` asks its
/// callback every `CANCEL_CHECK_EVERY` events and stops at the first "yes".
#[test]
fn a_cancelled_run_stops_at_the_next_check() {
    let mut c = endless();
    let asked = std::cell::Cell::new(0u32);
    let e = run_cancellable(&c, &mut NoTrace, &|| {
        asked.set(asked.get() + 1);
        asked.get() == 3
    })
    .unwrap_err();
    assert!(matches!(e, EngineError::Cancelled { .. }), "{e}");
    assert_eq!(asked.get(), 3, "asked until the answer was yes");
    // Also in a chain of calls that take no time, all inside one event.
    let mut c0 = machine(1, GilModel::new_gil());
    c0.machine.os.syscall = SimDuration::ZERO;
    c0.add_thread(
        "instant",
        InterpId(0),
        vec![Step::Repeat {
            times: u64::MAX,
            body: vec![Step::io(Dist::Fixed(SimDuration::ZERO))],
        }],
    );
    let asked = std::cell::Cell::new(0u32);
    let e = run_cancellable(&c0, &mut NoTrace, &|| {
        asked.set(asked.get() + 1);
        true
    })
    .unwrap_err();
    // Stopped at the first check, in the chain that began when the thread first ran.
    assert!(
        matches!(e, EngineError::Cancelled { time } if time < SimTime::ZERO + us(100)),
        "{e}"
    );
    assert_eq!(asked.get(), 1);
    // The same run with nobody cancelling it reaches the event limit instead.
    c.limits.max_events = 10 * CANCEL_CHECK_EVERY;
    let e = run_cancellable(&c, &mut NoTrace, &|| false).unwrap_err();
    assert!(matches!(e, EngineError::EventLimit { .. }), "{e}");
}
