//! The canonical benchmark scenarios, shared by `cargo bench` and `gilsim bench`,
//! and defined like the SimPy peer (`shared/peers/simpy_gil.py`): CPU-bound
//! threads run Python for the whole run; each I/O thread loops "50 µs of
//! Python, then I/O ~ exp(1 ms)"; new GIL at 5 ms; 10 simulated seconds.

use crate::config::*;
use crate::dist::Dist;
use crate::ids::InterpId;
use crate::time::{SimDuration, SimTime};

/// The scenarios: A, B, C, D.
pub const CANONICAL: [&str; 4] = ["A", "B", "C", "D"];

/// A short description of a canonical scenario.
pub fn describe(name: &str) -> &'static str {
    match name {
        "A" => "2 cores, 2 CPU-bound + 1 I/O thread, new GIL 5 ms",
        "B" => "8 cores, 32 CPU-bound + 32 I/O threads, new GIL 5 ms",
        "C" => "B with a 100 µs switch interval",
        "D" => "B free-threaded (no GIL)",
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
