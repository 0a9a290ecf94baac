//! The calibration profile seen from scripts: `profile()` and `py_iters(n)`.
//!
//! With `--profile FILE`, the profile's measurements are the defaults of
//! `machine()` (wake latency, timer slack) and `python()` (thread and process
//! start, pickling, executor and queue-message costs); options given in a
//! script still win. Without it, the
//! engine's documented defaults apply and `profile()` describes the shipped
//! reference machine, so scripts can still size work in measured units.

use super::api::add;
use super::api::{Api, RhaiResult};
use crate::calibration::profile::Profile;
use gilsim_engine::SimDuration;
use rhai::{Dynamic, Map, FLOAT, INT};
use std::sync::Arc;

fn to_map(p: &Profile, active: bool) -> Map {
    let mut m = Map::new();
    let mut put = |k: &str, v: Dynamic| {
        m.insert(k.into(), v);
    };
    put("name", p.name.clone().into());
    put("active", active.into());
    put("cpu_count", Dynamic::from_int(INT::from(p.cpu_count)));
    put(
        "py_loop_ns_per_iter",
        Dynamic::from_float(p.py_loop_ns_per_iter),
    );
    put("sleep_overshoot", Dynamic::from(p.sleep_overshoot));
    put("loopback_rtt", Dynamic::from(p.loopback_rtt));
    put(
        "zlib_bytes_per_sec",
        Dynamic::from_float(p.zlib_bytes_per_sec),
    );
    put(
        "sha256_bytes_per_sec",
        Dynamic::from_float(p.sha256_bytes_per_sec),
    );
    put(
        "pickle_bytes_per_sec",
        Dynamic::from_float(p.pickle_bytes_per_sec),
    );
    put("thread_start", Dynamic::from(p.thread_start));
    put("fork_start", Dynamic::from(p.process_start[0]));
    put("spawn_start", Dynamic::from(p.process_start[1]));
    put("forkserver_start", Dynamic::from(p.process_start[2]));
    // Measurements older profiles lack are `()`.
    let optional = |d: Option<SimDuration>| d.map_or(Dynamic::UNIT, Dynamic::from);
    put("loopback_send", optional(p.loopback_send));
    let [submit, run, collect] = p.executor.map_or([None; 3], |e| e.map(Some));
    put("executor_submit", optional(submit));
    put("executor_run", optional(run));
    put("executor_collect", optional(collect));
    put("ipc_message", optional(p.ipc_message));
    m
}

fn py_iters(p: &Profile, n: FLOAT) -> RhaiResult<SimDuration> {
    if !(n.is_finite() && n >= 0.0) {
        return Err(format!("py_iters: expected a number of iterations >= 0, got {n}").into());
    }
    SimDuration::from_secs_f64(n * p.py_loop_ns_per_iter / 1e9)
        .ok_or_else(|| format!("py_iters: {n} iterations is too long").into())
}

/// Registers `profile()` and `py_iters(n)`.
pub fn register(api: &mut Api, active: Option<Arc<Profile>>) {
    let is_active = active.is_some();
    let p = active.unwrap_or_else(|| Arc::new(Profile::reference()));
    let (p1, p2, p3) = (p.clone(), p.clone(), p);
    add!(api, "profile() -> map", move || to_map(&p1, is_active));
    add!(api, "py_iters(n: int) -> Duration", move |n: INT| py_iters(
        &p2, n as FLOAT
    ));
    add!(api, "py_iters(n: float) -> Duration", move |n: FLOAT| {
        py_iters(&p3, n)
    });
}
