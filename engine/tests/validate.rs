//! Invalid configs are errors naming the field, the value and what is allowed.
mod common;
use common::*;

#[test]
fn invalid_configs_name_field_value_and_allowed() {
    type Edit = fn(&mut SimConfig);
    let cases: Vec<(&str, Edit, &str)> = vec![
        ("zero cores", |c| c.machine.cores = 0, "cores"),
        (
            "NaN core speed",
            |c| c.machine.core_speed = vec![f64::NAN, 1.0],
            "core_speed[0]",
        ),
        (
            "unknown interpreter",
            |c| c.threads[0].interp = InterpId(7),
            "interp",
        ),
        ("empty program", |c| c.threads[0].program.clear(), "program"),
        ("no threads", |c| c.threads.clear(), "threads"),
        (
            "tiny switch interval",
            |c| c.interpreters[0].gil = GilModel::new_with_interval(SimDuration::ns(10)),
            "switch_interval",
        ),
        (
            "NaN slowdown",
            |c| c.interpreters[0].gil = GilModel::None { slowdown: f64::NAN },
            "slowdown",
        ),
        (
            "empty repeat",
            |c| {
                c.threads[0].program = vec![Step::Repeat {
                    times: 3,
                    body: vec![],
                }]
            },
            "repeat",
        ),
        (
            "unknown lock",
            |c| c.threads[0].program = vec![Step::Acquire(LockId(0))],
            "lock",
        ),
        (
            "inverted uniform",
            |c| {
                c.threads[0].program = vec![Step::io(Dist::Uniform {
                    lo: ms(2),
                    hi: ms(1),
                })]
            },
            "latency",
        ),
        (
            "empty empirical",
            |c| c.threads[0].program = vec![Step::io(Dist::Empirical(vec![]))],
            "latency",
        ),
        (
            "zero-capacity device",
            |c| {
                c.devices.push(DeviceConfig {
                    name: "d".into(),
                    concurrency: Some(0),
                })
            },
            "concurrency",
        ),
        ("zero max_events", |c| c.limits.max_events = 0, "max_events"),
        (
            "negative pickle rate",
            |c| c.costs.pickle_bytes_per_sec = -1.0,
            "pickle_bytes_per_sec",
        ),
        (
            "joining the main process",
            |c| c.threads[0].program = vec![Step::JoinProcess(ProcessId(0))],
            "process",
        ),
    ];
    for (what, edit, field) in cases {
        let mut c = machine(2, GilModel::new_gil());
        cpu(&mut c, "t", ms(1));
        edit(&mut c);
        match run(&c) {
            Err(EngineError::Config(e)) => {
                assert!(
                    e.field.contains(field),
                    "{what}: field {} should name {field}",
                    e.field
                );
                assert!(!e.allowed.is_empty() && !e.value.is_empty(), "{what}: {e}");
            }
            other => panic!("{what}: expected a config error, got {other:?}"),
        }
    }
}

#[test]
fn negative_or_nan_durations_cannot_be_built() {
    for s in [-1.0, f64::NAN, f64::INFINITY, 1e30] {
        assert_eq!(SimDuration::from_secs_f64(s), None, "{s}");
    }
    assert_eq!(SimDuration::from_secs_f64(0.005), Some(ms(5)));
}
