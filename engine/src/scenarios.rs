//! The canonical benchmark scenarios, shared by `cargo bench` and `gilsim bench`,
//! and defined like the SimPy peer (`shared/peers/simpy_gil.py`): CPU-bound
//! threads run Python for the whole run; each I/O thread loops "50 µs of
//! Python, then I/O ~ exp(1 ms)"; new GIL at 5 ms; 10 simulated seconds.
//!
//! Scenario S is a service (issue 16 pt 6, no SimPy peer): 64 server threads
//! of one process serve Poisson arrivals at 1000 requests per second, each
//! request 0.3 ms of Python, a database call ~ exp(10 ms), 0.2 ms of Python.

use crate::config::*;
use crate::dist::Dist;
use crate::ids::InterpId;
use crate::time::{SimDuration, SimTime};

/// The scenarios: A, B, C, D.
pub const CANONICAL: [&str; 4] = ["A", "B", "C", "D"];

/// Every scenario `gilsim bench` runs: the canonical ones and the service.
pub const ALL: [&str; 5] = ["A", "B", "C", "D", "S"];

/// A short description of a canonical scenario.
pub fn describe(name: &str) -> &'static str {
    match name {
        "A" => "2 cores, 2 CPU-bound + 1 I/O thread, new GIL 5 ms",
        "B" => "8 cores, 32 CPU-bound + 32 I/O threads, new GIL 5 ms",
        "C" => "B with a 100 µs switch interval",
        "D" => "B free-threaded (no GIL)",
        "S" => "8 cores, 64 server threads, Poisson 1000 requests/s, new GIL 5 ms",
        _ => "unknown",
    }
}

/// Builds canonical scenario `name` over `sim_secs` simulated seconds.
pub fn canonical(name: &str, sim_secs: u64) -> Option<SimConfig> {
    let (cores, cpu, io, gil) = match name {
        "A" => (2, 2, 1, GilModel::new_gil()),
        "B" => (8, 32, 32, GilModel::new_gil()),
        "C" => (8, 32, 32, GilModel::new_with_interval(SimDuration::us(100))),
        "D" => (8, 32, 32, GilModel::no_gil()),
        "S" => return Some(service(8, 64, 1000.0, sim_secs)),
        _ => return None,
    };
    Some(cpu_and_io(cores, cpu, io, gil, sim_secs))
}

/// `cpu` CPU-bound and `io` I/O-bound threads on `cores` cores.
pub fn cpu_and_io(cores: u32, cpu: u32, io: u32, gil: GilModel, sim_secs: u64) -> SimConfig {
    let dur = SimDuration::secs(sim_secs);
    let mut c = SimConfig::new(MachineConfig::with_cores(cores), gil);
    for i in 0..cpu {
        c.add_thread(&format!("cpu{i}"), InterpId(0), vec![Step::py(dur)]);
    }
    for i in 0..io {
        c.add_thread(
            &format!("io{i}"),
            InterpId(0),
            vec![Step::LoopFor {
                dur,
                body: vec![
                    Step::py(SimDuration::us(50)),
                    Step::io(Dist::Exp {
                        mean: SimDuration::ms(1),
                    }),
                ],
            }],
        );
    }
    c.limits.until = Some(SimTime::ZERO + dur);
    c.limits.seed = 1;
    c.limits.max_events = u64::MAX;
    c
}

/// `threads` server threads of one process on `cores` cores serving Poisson
/// arrivals at `per_s`: 0.3 ms of Python, a database call ~ exp(10 ms),
/// 0.2 ms of Python; 50 µs of network each way.
pub fn service(cores: u32, threads: u32, per_s: f64, sim_secs: u64) -> SimConfig {
    let dur = SimDuration::secs(sim_secs);
    let mut c = SimConfig::new(MachineConfig::with_cores(cores), GilModel::new_gil());
    let l = c.add_listener("http", Dist::Fixed(SimDuration::us(50)));
    let request = vec![
        Step::py(SimDuration::us(300)),
        Step::io(Dist::Exp {
            mean: SimDuration::ms(10),
        }),
        Step::py(SimDuration::us(200)),
    ];
    c.add_source("users", l, Arrivals::Poisson { per_s }, dur, request);
    for i in 0..threads {
        c.add_thread(
            &format!("server{i}"),
            InterpId(0),
            vec![Step::Repeat {
                times: u64::MAX,
                body: vec![Step::Serve {
                    listener: l,
                    reply_cpu: SimDuration::ZERO,
                }],
            }],
        );
    }
    c.limits.until = Some(SimTime::ZERO + dur);
    c.limits.seed = 1;
    c.limits.max_events = u64::MAX;
    c
}
