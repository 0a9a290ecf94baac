//! Servers inside the model (engine `listener.rs`, `kernel/io.rs`): a client's
//! `Call` reaches a listener whose server threads `Accept`, do their own work
//! under their own GIL, and `Respond`. Timings are controlled (no wake-up
//! spread) so the mechanism decides the numbers.
mod common;
use common::*;

/// A machine with exact wake-ups and free system calls.
fn controlled(cores: u32) -> SimConfig {
    let mut c = machine(cores, GilModel::new_gil());
    let os = &mut c.machine.os;
    os.wake_spread = WakeSpread::Uniform(0.0);
    os.shallow_wake_spread = WakeSpread::Uniform(0.0);
    os.syscall = SimDuration::ZERO;
    c
}

/// A single-threaded server in its own interpreter (its own GIL), doing
/// `work` of Python per request, forever.
fn server(c: &mut SimConfig, l: ListenerId, work: SimDuration) {
    let interp = c.add_interpreter(ProcessId(0), GilModel::new_gil());
    c.add_thread(
        "server",
        interp,
        vec![Step::Repeat {
            times: u64::MAX,
            body: vec![
                Step::Accept(l),
                Step::py(work),
                Step::Respond {
                    cpu: SimDuration::ZERO,
                },
            ],
        }],
    );
}

/// `n` clients in their own interpreters, each making `calls` round trips.
fn clients(c: &mut SimConfig, n: u32, calls: u64, step: impl Fn() -> Vec<Step>) {
    for i in 0..n {
        let interp = c.add_interpreter(ProcessId(0), GilModel::new_gil());
        c.add_thread(
            &format!("client{i}"),
            interp,
            vec![Step::Repeat {
                times: calls,
                body: step(),
            }],
        );
    }
}

fn call(l: ListenerId) -> Vec<Step> {
    vec![
        Step::Call {
            listener: l,
            cpu: SimDuration::ZERO,
        },
        Step::Recv,
    ]
}

/// Round trips per second of all clients together.
fn throughput(r: &Report) -> f64 {
    let ops: u64 = r
        .threads
        .iter()
        .filter(|t| t.name.starts_with("client"))
        .map(|t| t.op_latency.of(OpKind::RoundTrip).count())
        .sum();
    ops as f64 / r.makespan.as_secs_f64()
}

#[test]
fn a_round_trip_costs_both_network_legs_and_the_servers_work() {
    let (net, work) = (us(10), us(100));
    let mut c = controlled(4);
    let l = c.add_listener("echo", Dist::Fixed(net));
    server(&mut c, l, work);
    clients(&mut c, 1, 1, || call(l));
    let r = run(&c).expect("the run completes with the server waiting for requests");
    assert_eq!(r.stop, StopReason::Completed);
    let rt = r
        .thread("client0")
        .unwrap()
        .op_latency
        .of(OpKind::RoundTrip);
    let floor = net + work + net;
    let got = rt.max();
    // Above the floor only by the server's and client's wake-ups and context switches.
    let slack = c.machine.os.wake_latency * 2 + c.machine.os.ctx_switch * 2;
    assert!(
        got >= floor && got <= floor + slack,
        "round trip {got:?}, floor {floor:?} + at most {slack:?}"
    );
    assert_eq!(r.listeners[0].accepted, 1);
}

/// One single-threaded server serialises every connection: however many
/// clients, it answers at most one request per `work`. A delay-only peer
/// with the same round trip has no such ceiling.
#[test]
fn a_single_threaded_server_caps_throughput_where_a_delay_peer_does_not() {
    let (net, work) = (us(10), us(100));
    let ceiling = 1.0 / work.as_secs_f64();
    let served = |n: u32| {
        let mut c = controlled(16);
        let l = c.add_listener("echo", Dist::Fixed(net));
        server(&mut c, l, work);
        clients(&mut c, n, 200, || call(l));
        throughput(&run(&c).unwrap())
    };
    let delay_peer = |n: u32| {
        let mut c = controlled(16);
        clients(&mut c, n, 200, || {
            vec![
                Step::Send {
                    cpu: SimDuration::ZERO,
                    latency: Dist::Fixed(net + work + net),
                },
                Step::Recv,
            ]
        });
        throughput(&run(&c).unwrap())
    };
    let (one, eight) = (served(1), served(8));
    assert!(
        eight <= ceiling * 1.001,
        "{eight:.0}/s exceeds one request per {work:?}"
    );
    assert!(
        eight >= ceiling * 0.95,
        "8 clients keep the server busy: {eight:.0}/s"
    );
    // One client alone is served once per round trip, eight at most once
    // per `work`: the gain is bounded by one round trip over the service time.
    let speedup = eight / one;
    let bound = ceiling / one;
    assert!(
        speedup <= bound * 1.001 && speedup < 2.0,
        "8 clients give {speedup:.2}x one client; the round trip over the service time is {bound:.2}"
    );
    let delay_speedup = delay_peer(8) / delay_peer(1);
    assert!(
        delay_speedup > 7.5,
        "a delay-only peer scales: {delay_speedup:.2}x"
    );
}

/// A threaded server whose handler releases the GIL serves in parallel; one
/// whose handler is Python is held to one request at a time by its GIL.
#[test]
fn a_threaded_servers_gil_decides_whether_its_threads_help() {
    let (net, work) = (us(10), us(100));
    let served = |handler: Step| {
        let mut c = controlled(16);
        let l = c.add_listener("echo", Dist::Fixed(net));
        let interp = c.add_interpreter(ProcessId(0), GilModel::new_gil());
        for i in 0..4 {
            c.add_thread(
                &format!("server{i}"),
                interp,
                vec![Step::Repeat {
                    times: u64::MAX,
                    body: vec![
                        Step::Accept(l),
                        handler.clone(),
                        Step::Respond {
                            cpu: SimDuration::ZERO,
                        },
                    ],
                }],
            );
        }
        clients(&mut c, 8, 100, || call(l));
        let r = run(&c).unwrap();
        assert_eq!(r.listeners[0].accepted, 800);
        throughput(&r)
    };
    let python = served(Step::py(work));
    let native = served(Step::c(work, true));
    let ceiling = 1.0 / work.as_secs_f64();
    assert!(
        python <= ceiling * 1.001,
        "Python handlers share one GIL: {python:.0}/s"
    );
    assert!(
        native > 2.5 * ceiling,
        "GIL-releasing handlers run in parallel: {native:.0}/s"
    );
}

#[test]
fn a_client_whose_listener_has_no_server_is_reported_waiting_for_a_reply() {
    let mut c = controlled(2);
    let l = c.add_listener("nobody", Dist::Fixed(us(10)));
    clients(&mut c, 1, 1, || call(l));
    match run(&c) {
        Err(EngineError::Deadlock { blocked, .. }) => {
            assert_eq!(blocked.len(), 1);
            assert!(blocked[0].waits_for.contains("reply"), "{:?}", blocked[0]);
        }
        other => panic!("expected a deadlock report, got {other:?}"),
    }
}

#[test]
fn a_call_to_an_undefined_listener_is_a_config_error() {
    let mut c = controlled(2);
    clients(&mut c, 1, 1, || call(ListenerId(3)));
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("listener"), "{e}");
}
