//! Virtual time ends at 2⁶⁴ ns (about 584 years): a run that would pass it
//! fails with an error naming the thread and the step, instead of reporting
//! a saturated makespan as if it had completed.

mod common;
use common::*;

fn years(n: u64) -> SimDuration {
    secs(365 * 86_400) * n
}

struct Case {
    what: &'static str,
    steps: fn() -> Vec<Step>,
    ipc_queue: bool,
    /// Substrings of the error.
    says: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        what: "two 400-year py steps",
        steps: || vec![Step::py(years(400)), Step::py(years(400))],
        ipc_queue: false,
        says: &["thread \"t\", step program[1]: py(", "584 years"],
    },
    Case {
        what: "put of i64::MAX bytes into an IPC queue (its pickling time)",
        steps: || {
            vec![Step::Put {
                queue: QueueId(0),
                bytes: i64::MAX as u64,
            }]
        },
        ipc_queue: true,
        says: &["thread \"t\", step program[0]: put of an item of 9223372036854775807 bytes"],
    },
    Case {
        what: "loop_for of 100-year sleeps",
        steps: || {
            vec![Step::LoopFor {
                dur: years(1000),
                body: vec![Step::Sleep(years(100))],
            }]
        },
        ipc_queue: false,
        says: &["thread \"t\", step program[0].body[0]: sleep("],
    },
];

#[test]
fn time_past_584_years_is_an_error_naming_the_step() {
    for case in CASES {
        let mut c = machine(2, GilModel::new_gil());
        c.queues.push(QueueConfig {
            name: "q".into(),
            ipc: case.ipc_queue,
        });
        c.add_thread("t", InterpId(0), (case.steps)());
        match run(&c) {
            Ok(r) => panic!(
                "{}: expected an overflow error, the run ended at {}",
                case.what, r.end
            ),
            Err(e) => {
                assert!(
                    matches!(e, EngineError::TimeOverflow { .. }),
                    "{}: {e}",
                    case.what
                );
                let msg = e.to_string();
                for s in case.says {
                    assert!(msg.contains(s), "{}: {msg}", case.what);
                }
            }
        }
    }
}

/// Issue 14 audit: a latency drawn from a distribution past 2^64 ns became
/// 0 ns, so an `io(exp(500 years))` finished in microseconds about a third of
/// the time, "completed". Each seed now either overflows, naming the step, or
/// runs for the long time it drew.
#[test]
fn a_latency_drawn_past_584_years_is_an_overflow_not_zero() {
    let mut overflows = 0;
    for seed in 0..32 {
        let mut c = machine(2, GilModel::new_gil());
        c.add_thread(
            "t",
            InterpId(0),
            vec![Step::io(Dist::Exp { mean: years(500) })],
        );
        c.limits.seed = seed;
        match run(&c) {
            Ok(r) => assert!(r.makespan > years(1), "seed {seed}: {}", r.makespan),
            Err(e) => {
                assert!(
                    e.to_string()
                        .contains("thread \"t\", step program[0]: io(mean "),
                    "seed {seed}: {e}"
                );
                overflows += 1;
            }
        }
    }
    assert!(overflows > 0, "no seed drew past 584 years");
}

/// Long but representable times still run, and a stop time before the end
/// of virtual time makes an overflowing step harmless.
#[test]
fn long_runs_that_fit_are_not_refused() {
    let mut c = machine(2, GilModel::new_gil());
    c.add_thread("t", InterpId(0), vec![Step::py(years(500))]);
    let r = run(&c).expect("500 years fit");
    assert!(
        r.makespan >= years(500) && r.makespan < years(501),
        "{}",
        r.makespan
    );

    let mut c = machine(2, GilModel::new_gil());
    c.add_thread(
        "t",
        InterpId(0),
        vec![Step::py(years(400)), Step::py(years(400))],
    );
    c.limits.until = Some(SimTime::ZERO + years(1));
    let r = run(&c).expect("stopped after a year");
    assert_eq!(r.end, SimTime::ZERO + years(1));
}
