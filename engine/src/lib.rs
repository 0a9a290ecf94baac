//! # gilsim-engine
//!
//! The simulation kernel of gilsim: a reproducible discrete-event model of CPU
//! cores, an OS scheduler, CPython's GIL (new, old, none, per interpreter),
//! processes, I/O devices and the workloads of Python threads.
//!
//! A [`SimConfig`] goes in, a [`Report`] (and, on request, a trace) comes out.
//! The engine does no I/O, prints nothing and knows nothing of scripting.
//! Virtual time is integer nanoseconds ([`SimTime`], [`SimDuration`]); the
//! same config and seed give the same report on every machine.
//!
//! ```
//! use gilsim_engine::*;
//! let mut cfg = SimConfig::new(MachineConfig::with_cores(2), GilModel::new_gil());
//! cfg.add_thread("a", InterpId(0), vec![Step::py(SimDuration::ms(20))]);
//! cfg.add_thread("b", InterpId(0), vec![Step::py(SimDuration::ms(20))]);
//! let report = run(&cfg).unwrap();
//! // Two CPU-bound threads under the GIL take as long as running them one after the other.
//! assert!(report.makespan >= SimDuration::ms(40));
//! ```

#![warn(missing_docs)]

mod config;
mod device;
mod dist;
mod error;
mod event_loop;
mod event_queue;
mod gil;
mod histogram;
mod ids;
mod kernel;
mod level;
mod listener;
mod pool;
mod report;
mod rng;
pub mod scenarios;
mod sched;
mod source;
mod sync;
mod time;
mod trace;
mod validate;

pub use config::*;
pub use dist::Dist;
pub use error::{BlockedThread, ConfigError, EngineError};
pub use event_loop::{CoroutineConfig, EventLoopConfig, LoopCosts};
pub use event_queue::EventQueue;
pub use histogram::Histogram;
pub use ids::*;
pub use kernel::MAX_PENDING_REPLIES;
pub use kernel::{event_queue_hold, run_cancellable, run_with_sink, CANCEL_CHECK_EVERY};
pub use level::{LevelPoint, FIRST_WIDTH as LEVEL_FIRST_WIDTH, MAX_BUCKETS as LEVEL_MAX_BUCKETS};
pub use report::*;
pub use rng::{stream, stream_seed, StreamRng};
pub use time::{SimDuration, SimTime};
pub use trace::{
    CoreInterval, Handoff, Interval, NoTrace, Tee, ThreadState, TraceSink, VecTrace, WindowTrace,
};
pub use validate::{MAX_CORES, MAX_NESTING, MAX_POOL_COUNT, MAX_RATE};

/// Runs `cfg` without a trace.
pub fn run(cfg: &SimConfig) -> Result<Report, EngineError> {
    run_with_sink(cfg, &mut NoTrace)
}

/// Runs `cfg` and keeps its whole trace in memory.
pub fn run_traced(cfg: &SimConfig) -> Result<(Report, VecTrace), EngineError> {
    let mut trace = VecTrace::default();
    let report = run_with_sink(cfg, &mut trace)?;
    Ok((report, trace))
}
