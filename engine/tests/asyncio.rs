//! asyncio event loops (engine `event_loop.rs`, `kernel/event_loop.rs`): one
//! thread runs coroutines cooperatively. Wake-ups, system calls and the
//! loop's own costs are free here unless a test says otherwise, so the
//! numbers come from the coroutines alone.
mod common;
use common::*;

/// A machine with instant wake-ups, free system calls and a free loop.
fn ideal(cores: u32, gil: GilModel) -> SimConfig {
    let mut c = machine(cores, gil);
    let os = &mut c.machine.os;
    os.wake_latency = SimDuration::ZERO;
    os.shallow_wake_latency = SimDuration::ZERO;
    os.wake_spread = WakeSpread::Uniform(0.0);
    os.shallow_wake_spread = WakeSpread::Uniform(0.0);
    os.syscall = SimDuration::ZERO;
    os.timer_slack = SimDuration::ZERO;
    c.costs.asyncio = LoopCosts {
        iteration: SimDuration::ZERO,
        handle: SimDuration::ZERO,
        select_resolution: SimDuration(1),
    };
    c.costs.executor_submit = SimDuration::ZERO;
    c.costs.executor_run = SimDuration::ZERO;
    c
}

fn coroutine(name: &str, steps: Vec<Step>) -> CoroutineConfig {
    CoroutineConfig {
        name: name.into(),
        steps,
    }
}

fn io(d: SimDuration) -> Step {
    Step::AwaitIo(Dist::Fixed(d))
}

/// When each coroutine of the first loop returned.
fn ends(r: &Report) -> Vec<SimDuration> {
    r.loops[0]
        .coroutine_ends
        .iter()
        .map(|e| e.expect("every coroutine returns").since(SimTime::ZERO))
        .collect()
}

/// A blocking call inside a coroutine (`time.sleep`, a synchronous
/// driver) holds the loop: every other ready task waits out its duration.
#[test]
fn a_blocking_call_in_a_coroutine_delays_every_ready_task_by_its_duration() {
    let block = ms(25);
    let run_with = |first: Step| {
        let mut c = ideal(4, GilModel::new_gil());
        let mut tasks = vec![coroutine(
            "culprit",
            vec![Step::AwaitSleep(SimDuration::ZERO), first],
        )];
        for k in 0..6 {
            tasks.push(coroutine(
                &format!("t{k}"),
                vec![Step::AwaitSleep(SimDuration::ZERO), Step::py(us(50))],
            ));
        }
        c.add_event_loop("loop", InterpId(0), tasks, 1);
        ends(&run(&c).unwrap())
    };
    let blocking = run_with(Step::Sleep(block));
    let awaiting = run_with(Step::AwaitSleep(block));
    for k in 1..blocking.len() {
        let delay = blocking[k] - awaiting[k];
        assert_eq!(
            delay, block,
            "task {k} is delayed by the whole blocking call"
        );
    }
    assert!(
        awaiting[1] < us(500),
        "without it the others finish at once"
    );
}

/// Sleeps and socket waits of many tasks overlap: the loop finishes after
/// the longest one, not their sum.
#[test]
fn awaited_sleeps_and_io_of_many_tasks_overlap() {
    for wait in [Step::AwaitSleep(ms(100)), io(ms(100))] {
        let mut c = ideal(2, GilModel::new_gil());
        let tasks = (0..50)
            .map(|k| coroutine(&format!("t{k}"), vec![Step::py(us(20)), wait.clone()]))
            .collect();
        c.add_event_loop("loop", InterpId(0), tasks, 1);
        let r = run(&c).unwrap();
        let last = *ends(&r).iter().max().unwrap();
        assert!(
            last >= ms(100) && last < ms(102),
            "{wait:?}: the loop ends at {last}, not after 50 waits in a row"
        );
    }
}

/// Python work between awaits runs on the loop's one thread: it serialises
/// even with free cores and no GIL (whose interpreter runs Python slower).
#[test]
fn python_work_between_awaits_serialises_on_the_loop_thread() {
    for gil in [GilModel::new_gil(), GilModel::no_gil()] {
        let mut c = ideal(4, gil.clone());
        let tasks = (0..4)
            .map(|k| {
                coroutine(
                    &format!("t{k}"),
                    vec![Step::py(ms(10)), io(ms(5)), Step::py(ms(10))],
                )
            })
            .collect();
        c.add_event_loop("loop", InterpId(0), tasks, 1);
        let r = run(&c).unwrap();
        let last = *ends(&r).iter().max().unwrap();
        assert!(
            last >= ms(80) && last < ms(80).mul_f64(1.1),
            "{}: 80 ms of Python in one thread end at {last}",
            gil.name()
        );
    }
}

/// `to_thread` work runs on an executor worker: it overlaps with the
/// loop's own Python only while it releases the GIL. The worker needs the
/// GIL to start the job while the loop runs Python, so it first waits one
/// switch interval (5 ms) for its drop request to be honoured.
#[test]
fn executor_work_overlaps_the_loop_only_while_it_releases_the_gil() {
    let job = |releases_gil| {
        let mut c = ideal(2, GilModel::new_gil());
        let tasks = vec![
            coroutine(
                "offload",
                vec![Step::ToThread(vec![Step::c(ms(20), releases_gil)])],
            ),
            coroutine("python", vec![Step::py(ms(20))]),
        ];
        c.add_event_loop("loop", InterpId(0), tasks, 2);
        run(&c).unwrap().makespan
    };
    let (free, held) = (job(true), job(false));
    assert!(free < ms(26), "zlib-like work overlaps: {free}");
    assert!(held >= ms(40), "GIL-holding work serialises: {held}");
}

/// The selector's wake-up is the OS's: with the default OS, a task woken by
/// I/O pays the wake latency, and a sleep wakes late by the rounding of
/// `select`'s timeout to milliseconds plus the timer slack.
#[test]
fn select_wakes_by_the_wake_path_and_rounds_its_timeout_up() {
    let mut c = machine(2, GilModel::new_gil());
    c.add_event_loop(
        "loop",
        InterpId(0),
        vec![coroutine("s", vec![Step::AwaitSleep(us(10_300))])],
        1,
    );
    let end = ends(&run(&c).unwrap())[0];
    assert!(end >= ms(11), "10.3 ms rounds up to 11 ms: {end}");
    assert!(
        end < ms(11) + us(200),
        "then the slack and a wake-up: {end}"
    );
}

fn served(per_s: f64, seed: u64) -> SimConfig {
    let mut c = ideal(4, GilModel::new_gil());
    c.limits.seed = seed;
    let l = c.add_listener("http", Dist::Fixed(SimDuration::ZERO));
    c.add_source(
        "load",
        l,
        Arrivals::Poisson { per_s },
        secs(20),
        vec![Step::py(us(300)), io(ms(5)), Step::py(us(200))],
    );
    let lp = c.add_event_loop("server", InterpId(0), vec![], 1);
    c.event_loops[lp.index()].serves = Some(l);
    c
}

/// An asyncio server: each request is a task; Little's law holds between
/// the tasks in the loop (integrated over time), the arrival rate and the
/// clients' latency, and the loop's CPU is the offered load times the
/// Python per request.
#[test]
fn an_asyncio_server_obeys_littles_law() {
    let per_s = 1000.0;
    let r = run(&served(per_s, 1)).unwrap();
    let s = &r.sources[0];
    assert_eq!(s.completed, s.sent, "every request answered");
    let span = r.end.since(SimTime::ZERO).as_secs_f64();
    let lambda = s.completed as f64 / span;
    let w = s.latency.mean().as_secs_f64();
    let l_mean = r.loops[0].task_seconds / span;
    assert!(
        (l_mean / (lambda * w) - 1.0).abs() < 0.02,
        "L {l_mean}, λW {}",
        lambda * w
    );
    // 0.5 ms of Python per request at 1000/s keeps the loop half busy, and
    // requests overlap their 5 ms waits: W stays near 5.5 ms.
    let busy = r.thread("server").unwrap().times.python.as_secs_f64() / span;
    assert!((busy / 0.5 - 1.0).abs() < 0.03, "busy {busy}");
    assert!(w > 0.0055 && w < 0.0075, "W {w}");
}

/// Same config and seed, same report; the loop's tasks and the executor's
/// workers are deterministic too.
#[test]
fn event_loops_are_deterministic() {
    let build = |seed| {
        let mut c = served(800.0, seed);
        c.machine = MachineConfig::with_cores(2);
        c.add_event_loop(
            "batch",
            InterpId(0),
            (0..8)
                .map(|k| {
                    coroutine(
                        &format!("b{k}"),
                        vec![Step::Repeat {
                            times: 20,
                            body: vec![
                                Step::py(us(100)),
                                Step::AwaitIo(Dist::Exp { mean: ms(1) }),
                                Step::ToThread(vec![Step::c(us(300), true), Step::py(us(50))]),
                            ],
                        }],
                    )
                })
                .collect(),
            3,
        );
        c
    };
    let (a, b) = (
        run_traced(&build(7)).unwrap(),
        run_traced(&build(7)).unwrap(),
    );
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
    assert!(a.0.loops[1].coroutine_ends.iter().all(Option::is_some));
    assert_ne!(a.0, run(&build(8)).unwrap(), "another seed, another run");
}

/// Awaits stand only inside coroutines; `to_thread` needs a worker.
#[test]
fn misplaced_awaits_are_config_errors() {
    let mut c = ideal(1, GilModel::new_gil());
    c.add_thread("plain", InterpId(0), vec![Step::AwaitSleep(ms(1))]);
    let e = run(&c).unwrap_err().to_string();
    assert!(e.contains("await_sleep") && e.contains("coroutine"), "{e}");

    let mut c = ideal(1, GilModel::new_gil());
    c.add_event_loop(
        "loop",
        InterpId(0),
        vec![coroutine("x", vec![Step::ToThread(vec![Step::py(ms(1))])])],
        0,
    );
    let e = run(&c).unwrap_err().to_string();
    assert!(e.contains("executor worker"), "{e}");
}
