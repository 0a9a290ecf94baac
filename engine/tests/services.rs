//! Open workloads (engine `source.rs`, `kernel/serve.rs`): arrival sources
//! send requests to a listener whose server threads `Serve` them. Wake-ups
//! and system calls cost nothing here, so queueing theory gives the numbers.
mod common;
use common::*;

/// A machine with instant wake-ups and free system calls.
fn ideal(cores: u32) -> SimConfig {
    let mut c = machine(cores, GilModel::new_gil());
    let os = &mut c.machine.os;
    os.wake_latency = SimDuration::ZERO;
    os.shallow_wake_latency = SimDuration::ZERO;
    os.wake_spread = WakeSpread::Uniform(0.0);
    os.shallow_wake_spread = WakeSpread::Uniform(0.0);
    os.syscall = SimDuration::ZERO;
    os.timer_slack = SimDuration::ZERO;
    c
}

/// `workers` server processes (own GILs) of `threads` threads each, all
/// serving `l` forever.
fn servers(c: &mut SimConfig, l: ListenerId, workers: u32, threads: u32) {
    for w in 0..workers {
        let interp = c.add_interpreter(ProcessId(0), GilModel::new_gil());
        for k in 0..threads {
            c.add_thread(
                &format!("worker{w}.{k}"),
                interp,
                vec![Step::Repeat {
                    times: u64::MAX,
                    body: vec![Step::Serve {
                        listener: l,
                        reply_cpu: SimDuration::ZERO,
                    }],
                }],
            );
        }
    }
}

fn one_source(
    c: &mut SimConfig,
    arrivals: Arrivals,
    until: SimDuration,
    handler: Step,
) -> SourceId {
    let l = c.add_listener("http", Dist::Fixed(SimDuration::ZERO));
    c.add_source("load", l, arrivals, until, vec![handler])
}

fn source(r: &Report) -> &SourceReport {
    &r.sources[0]
}

/// M/D/1: Poisson arrivals, a fixed service time S, one server. The mean
/// wait in the queue is ρS / (2(1 − ρ)) (Pollaczek–Khinchine).
#[test]
fn one_server_under_poisson_load_queues_as_m_d_1() {
    let service = us(200);
    for rho in [0.3, 0.6, 0.8] {
        let per_s = rho / service.as_secs_f64();
        let mut c = ideal(4);
        one_source(
            &mut c,
            Arrivals::Poisson { per_s },
            secs(40),
            Step::py(service),
        );
        servers(&mut c, ListenerId(0), 1, 1);
        let r = run(&c).unwrap();
        let s = source(&r);
        assert_eq!(s.completed, s.sent, "every request answered");
        let want = service.as_secs_f64() * (1.0 + rho / (2.0 * (1.0 - rho)));
        let got = s.latency.mean().as_secs_f64();
        assert!(
            (got / want - 1.0).abs() < 0.05,
            "ρ {rho}: mean latency {got:e} s, M/D/1 says {want:e} s"
        );
        assert!(!s.saturated, "ρ {rho} is stable");
    }
}

/// Little's law, L = λW, on the server's busy time: the mean number of
/// requests in service is the offered load times the service time.
#[test]
fn the_servers_busy_share_is_the_offered_load() {
    let service = us(300);
    let per_s = 1500.0;
    let mut c = ideal(2);
    one_source(
        &mut c,
        Arrivals::Poisson { per_s },
        secs(20),
        Step::py(service),
    );
    servers(&mut c, ListenerId(0), 1, 1);
    let r = run(&c).unwrap();
    let busy = r.thread("worker0.0").unwrap().times.python.as_secs_f64();
    let span = r.end.since(SimTime::ZERO).as_secs_f64();
    let want = per_s * service.as_secs_f64();
    assert!(
        ((busy / span) / want - 1.0).abs() < 0.03,
        "busy {} of the time, offered {want}",
        busy / span
    );
}

/// The queue over time is exact: with no network delay a request is at
/// the server from its sending to its reply, so the integral of the
/// requests at the server over the run is the sum of the latencies (Little's
/// law by construction), and the backlog's peak is the listener's.
#[test]
fn the_queue_over_time_adds_up_to_every_requests_time_at_the_server() {
    let service = us(200);
    let mut c = ideal(2);
    one_source(
        &mut c,
        Arrivals::Poisson { per_s: 4000.0 },
        secs(3),
        Step::py(service),
    );
    servers(&mut c, ListenerId(0), 1, 1);
    let r = run(&c).unwrap();
    let s = source(&r);
    assert_eq!(s.completed, s.sent, "every request answered");
    let area: u128 = s.in_server.iter().map(|p| p.area).sum();
    assert_eq!(area, s.latency.sum_nanos());
    let l = &r.listeners[0];
    let peak = l.backlog.iter().map(|p| p.max).max().unwrap();
    assert_eq!(peak, l.peak_backlog);
    let waiting: u128 = l.backlog.iter().map(|p| p.area).sum();
    let served = u128::from(s.completed) * u128::from(service.as_nanos());
    assert_eq!(
        area,
        waiting + served,
        "at the server = waiting + in service"
    );
    let span: u64 = s.in_server.iter().map(|p| p.span.as_nanos()).sum();
    assert_eq!(span, r.end.since(SimTime::ZERO).as_nanos());
    assert!(s.in_server.len() <= LEVEL_MAX_BUCKETS);
}

/// Past capacity the queue grows without bound, and its history shows it:
/// the mean number at the server rises from the first quarter of the run to
/// the last; below capacity it does not.
#[test]
fn an_overloaded_servers_queue_grows_over_time() {
    let service = us(500);
    for (rho, grows) in [(0.5, false), (1.5, true)] {
        let mut c = ideal(2);
        one_source(
            &mut c,
            Arrivals::Poisson {
                per_s: rho / service.as_secs_f64(),
            },
            secs(8),
            Step::py(service),
        );
        c.limits.until = Some(SimTime::ZERO + secs(8));
        servers(&mut c, ListenerId(0), 1, 1);
        let r = run(&c).unwrap();
        let p = &source(&r).in_server;
        let q = p.len() / 4;
        let mean =
            |xs: &[LevelPoint]| xs.iter().map(LevelPoint::mean).sum::<f64>() / xs.len() as f64;
        let (first, last) = (mean(&p[..q]), mean(&p[p.len() - q..]));
        assert_eq!(
            last > 3.0 * first,
            grows,
            "ρ {rho}: first quarter {first}, last {last}"
        );
        assert_eq!(source(&r).saturated, grows, "ρ {rho}");
    }
}

/// A prefork server: each request goes to one idle worker (wake-one
/// `accept`), so the workers share the load evenly, and Python handlers run
/// in parallel across processes but not across threads of one process.
#[test]
fn prefork_spreads_requests_and_beats_threads_for_python_handlers() {
    let service = us(500);
    // Four times what one worker can do.
    let per_s = 4.0 / service.as_secs_f64() * 0.9;
    let serve = |workers, threads| {
        let mut c = ideal(4);
        one_source(
            &mut c,
            Arrivals::Poisson { per_s },
            secs(5),
            Step::py(service),
        );
        servers(&mut c, ListenerId(0), workers, threads);
        run(&c).unwrap()
    };
    let prefork = serve(4, 1);
    let shares: Vec<f64> = prefork
        .threads
        .iter()
        .filter(|t| t.name.starts_with("worker"))
        .map(|t| t.ops as f64 / source(&prefork).completed as f64)
        .collect();
    assert_eq!(shares.len(), 4);
    for s in &shares {
        assert!((s - 0.25).abs() < 0.03, "worker shares {shares:?}");
    }
    assert!(!source(&prefork).saturated);
    let threaded = serve(1, 4);
    assert!(
        source(&threaded).saturated,
        "one GIL serves at most 1/S: 3.6/S is too much"
    );
    let p99 = |r: &Report| source(r).latency.percentile(99.0);
    assert!(
        p99(&threaded) > p99(&prefork) * 10,
        "threads {:?} vs prefork {:?}",
        p99(&threaded),
        p99(&prefork)
    );
}

#[test]
fn a_full_backlog_refuses_requests_and_every_request_is_accounted_for() {
    let service = ms(1);
    let mut c = ideal(2);
    one_source(
        &mut c,
        Arrivals::Periodic { per_s: 3000.0 },
        secs(1),
        Step::py(service),
    );
    c.listeners[0].backlog = Some(8);
    servers(&mut c, ListenerId(0), 1, 1);
    let r = run(&c).unwrap();
    let s = source(&r);
    assert!(
        s.dropped > s.sent / 2,
        "{} of {} refused",
        s.dropped,
        s.sent
    );
    assert_eq!(s.completed + s.dropped, s.sent);
    assert!(s.saturated);
    assert!(r.listeners[0].peak_backlog <= 8);
}

#[test]
fn replies_later_than_the_timeout_are_counted() {
    let mut c = ideal(2);
    one_source(
        &mut c,
        Arrivals::Replay(vec![SimDuration::ZERO; 4]),
        secs(1),
        Step::py(ms(10)),
    );
    c.sources[0].timeout = Some(ms(25));
    servers(&mut c, ListenerId(0), 1, 1);
    let r = run(&c).unwrap();
    let s = source(&r);
    // Served one after another: replies at 10, 20, 30 and 40 ms.
    assert_eq!((s.completed, s.timed_out), (4, 2));
    assert_eq!(s.latency.max(), ms(40));
}

#[test]
fn each_request_runs_the_steps_of_its_kind() {
    let mut c = ideal(2);
    let l = c.add_listener("http", Dist::Fixed(us(50)));
    let s = c.add_source(
        "mix",
        l,
        Arrivals::Periodic { per_s: 100.0 },
        secs(10),
        vec![],
    );
    c.sources[s.index()].mix = vec![
        RequestKind {
            weight: 1.0,
            steps: vec![Step::py(ms(1))],
        },
        RequestKind {
            weight: 1.0,
            steps: vec![Step::py(ms(3))],
        },
    ];
    servers(&mut c, l, 1, 1);
    let r = run(&c).unwrap();
    let src = source(&r);
    let python = r.thread("worker0.0").unwrap().times.python;
    // ~half of each kind: 2 ms of Python per request on average.
    let per_request = python.as_secs_f64() / src.completed as f64;
    assert!(
        (per_request / 2e-3 - 1.0).abs() < 0.1,
        "{per_request} s of Python per request"
    );
    // Latency is both network legs plus the handler.
    assert!(src.latency.min() >= ms(1) + us(100));
    assert!(src.latency.min() < ms(1) + us(150));
}

#[test]
fn sources_are_deterministic_and_their_requests_do_not_depend_on_the_server() {
    let build = |handler| {
        let mut c = ideal(2);
        one_source(
            &mut c,
            Arrivals::Poisson { per_s: 500.0 },
            secs(2),
            Step::py(handler),
        );
        servers(&mut c, ListenerId(0), 1, 1);
        c
    };
    let a = run(&build(us(100))).unwrap();
    let b = run(&build(us(100))).unwrap();
    assert_eq!(a.sources, b.sources);
    let slower = run(&build(us(900))).unwrap();
    assert_eq!(
        source(&slower).sent,
        source(&a).sent,
        "the same arrivals whatever the server does"
    );
}
