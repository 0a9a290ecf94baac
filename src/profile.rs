//! Calibration profiles: the model's inputs measured on a real machine by
//! `calibration/measure_profile.py` (schema `gilsim-profile/1`).
//!
//! A profile turns measured single-thread numbers into model parameters:
//! - Python speed: `py_loop_ns_per_iter` converts "N iterations of a
//!   countdown loop" into `py(d)`;
//! - the timer slack: `time.sleep(1 ms)` overshoot minus the wake-up latency
//!   (the model adds both to every timed wait);
//! - thread start, process start by method, pickling throughput, zlib and
//!   sha256 throughput, loopback round trip;
//! - the wake path (`research/wake-path.md` §3.2, §4.3): the wake-up of a
//!   thread blocked on a futex, onto a CPU that idled only briefly (a pipe
//!   ping-pong hop between two processes, minus its two system calls) and
//!   onto one that idled for 1 ms; the futex wake a signal costs the
//!   signaller; the system call of a `recv` whose data is waiting. These
//!   decide the race between a woken GIL waiter and a thread that re-takes
//!   the GIL after a short call, so they come from the host, not constants.
//!
//! The shipped default is the reference machine's profile
//! (`calibration/profiles/reference.json`, compiled in).

use gilsim_engine::{Costs, OsConfig, SimConfig, SimDuration, StartCost, TIMER_SLACK_MIN_FRACTION};
use serde_json::Value;
use thiserror::Error;

/// The profile of the reference machine, compiled in.
pub const REFERENCE_JSON: &str = include_str!("../calibration/profiles/reference.json");

/// Linux's default timer slack (`prctl(PR_SET_TIMERSLACK)`, `timer_slack_ns`).
pub const LINUX_TIMER_SLACK: SimDuration = SimDuration::us(50);

/// A profile that cannot be used.
#[derive(Debug, Error, PartialEq)]
pub enum ProfileError {
    /// Not JSON.
    #[error("the profile is not valid JSON: {0}")]
    Json(String),
    /// Another schema.
    #[error("the profile's schema is {found:?}; gilsim reads \"gilsim-profile/1\" (made by calibration/measure_profile.py)")]
    Schema {
        /// What the file says.
        found: String,
    },
    /// A measurement is missing or not a positive number.
    #[error("the profile's measurement {key} is {value}: expected a positive number (its median)")]
    Value {
        /// The JSON path.
        key: String,
        /// What was there.
        value: String,
    },
}

/// The measured inputs of the model.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// Name of the profile (the machine).
    pub name: String,
    /// Cores of the measured machine.
    pub cpu_count: u32,
    /// One iteration of `while n > 0: n -= 1`, in nanoseconds.
    pub py_loop_ns_per_iter: f64,
    /// Median overshoot of `time.sleep(1 ms)`.
    pub sleep_overshoot: SimDuration,
    /// Loopback TCP round trip of a 1-byte echo, peer in another process.
    pub loopback_rtt: SimDuration,
    /// Relative spread of the round trip ((p90 − p10) / 2.56 / median).
    pub loopback_rtt_cv: f64,
    /// The `sendall` call of that round trip, GIL released (`None` in older profiles).
    pub loopback_send: Option<SimDuration>,
    /// zlib level-6 compression throughput.
    pub zlib_bytes_per_sec: f64,
    /// sha256 throughput on large buffers.
    pub sha256_bytes_per_sec: f64,
    /// `pickle.dumps` + `loads` throughput of typical Python objects.
    pub pickle_bytes_per_sec: f64,
    /// Start and join of a trivial thread.
    pub thread_start: SimDuration,
    /// Start and join of a trivial process: fork, spawn, forkserver (server running).
    pub process_start: [SimDuration; 3],
    /// A thread pool's Python bookkeeping per task: submit, run, collect
    /// (`None` in profiles made before it was measured: the engine's defaults stay).
    pub executor: Option<[SimDuration; 3]>,
    /// Python time at each end of one `multiprocessing` queue message: half a
    /// measured put + get (`None` in older profiles).
    pub ipc_message: Option<SimDuration>,
    /// The wake path (`None` in profiles made before it was measured).
    pub wake: Option<WakePath>,
}

/// Measured inputs of the wake path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WakePath {
    /// Futex wake to running, on a CPU that idled for one round trip: a pipe
    /// hop between processes minus its `write` + `read` system calls.
    pub shallow: SimDuration,
    /// A `recv` of 16 bytes that are already there: the call's system time.
    pub recv_ready: SimDuration,
    /// A 16-byte `send` on a loopback TCP socket.
    pub send: SimDuration,
    /// The signaller's extra cost when a condition signal wakes a blocked
    /// waiter (`None`: not measured, or not above the no-waiter case).
    pub signal: Option<SimDuration>,
}

/// The wake-path measurements, if the profile has them (all of the required
/// ones, or none).
fn wake_path(v: &Value) -> Result<Option<WakePath>, ProfileError> {
    let m = |k: &[&str]| {
        let mut p = vec!["measurements"];
        p.extend_from_slice(k);
        optional_median(v, &p)
    };
    let (Some(hop), Some(syscalls), Some(recv_ready), Some(send)) = (
        m(&["wake_latency_us"])?,
        m(&["pipe_write_read_us"])?,
        m(&["recv_ready_syscall_us"])?,
        m(&["send_syscall_us"])?,
    ) else {
        return Ok(None);
    };
    let signal = match (
        m(&["cond_signal_us", "waiter_blocked"])?,
        m(&["cond_signal_us", "no_waiter"])?,
    ) {
        (Some(with), Some(without)) if with > without => Some(dur(with - without, 1e3)),
        _ => None,
    };
    Ok(Some(WakePath {
        shallow: dur((hop - syscalls).max(0.0), 1e3),
        recv_ready: dur(recv_ready, 1e3),
        send: dur(send, 1e3),
        signal,
    }))
}

/// The value at `path` (`Null` where it is missing).
fn at<'v>(v: &'v Value, path: &[&str]) -> &'v Value {
    path.iter().fold(v, |cur, p| &cur[*p])
}

fn median(v: &Value, path: &[&str]) -> Result<f64, ProfileError> {
    let m = &at(v, path)["median"];
    match m.as_f64() {
        Some(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(ProfileError::Value {
            key: format!("measurements.{}.median", path[1..].join(".")),
            value: m.to_string(),
        }),
    }
}

fn quantile(v: &Value, path: &[&str], q: &str) -> Option<f64> {
    at(v, path)[q].as_f64()
}

/// The median at `path`, or `None` if the profile has no such measurement
/// (profiles made before it was measured).
fn optional_median(v: &Value, path: &[&str]) -> Result<Option<f64>, ProfileError> {
    if at(v, path).is_null() {
        return Ok(None);
    }
    median(v, path).map(Some)
}

/// A measurement of Python work in µs (the executor's bookkeeping, a queue
/// message's wrappers), rescaled to the speed of the profile's loop
/// measurement: the machine's speed drifts between measurements, and each
/// records the speed probe (`probe_ns_per_iter`) taken around it. `None` if
/// the profile has no such measurement.
fn cpu_us(v: &Value, path: &[&str], py_loop_ns: f64) -> Result<Option<f64>, ProfileError> {
    let scale = match at(v, path)["probe_ns_per_iter"].as_f64() {
        Some(probe) if probe.is_finite() && probe > 0.0 => py_loop_ns / probe,
        _ => 1.0,
    };
    Ok(optional_median(v, path)?.map(|us| us * scale))
}

fn dur(x: f64, unit_ns: f64) -> SimDuration {
    SimDuration::from_secs_f64(x * unit_ns / 1e9).unwrap_or(SimDuration::ZERO)
}

impl Profile {
    /// Parses a profile made by `calibration/measure_profile.py`.
    pub fn from_json(text: &str) -> Result<Profile, ProfileError> {
        let v: Value = serde_json::from_str(text).map_err(|e| ProfileError::Json(e.to_string()))?;
        let schema = v["schema"].as_str().unwrap_or("(none)");
        if schema != "gilsim-profile/1" {
            return Err(ProfileError::Schema {
                found: schema.to_string(),
            });
        }
        let m = |k: &[&str]| {
            let mut p = vec!["measurements"];
            p.extend_from_slice(k);
            median(&v, &p)
        };
        let rtt = m(&["loopback_rtt_us"])?;
        let rtt_path = ["measurements", "loopback_rtt_us"];
        let spread = match (
            quantile(&v, &rtt_path, "p10"),
            quantile(&v, &rtt_path, "p90"),
        ) {
            (Some(lo), Some(hi)) if hi >= lo => (hi - lo) / 2.56 / rtt,
            _ => 0.0,
        };
        let py_loop_ns_per_iter = m(&["py_loop_ns_per_iter"])?;
        let executor_part = |part: &str| {
            cpu_us(
                &v,
                &["measurements", "executor_task_us", part],
                py_loop_ns_per_iter,
            )
        };
        let executor = match (
            executor_part("submit")?,
            executor_part("run")?,
            executor_part("collect")?,
        ) {
            (Some(s), Some(r), Some(c)) => Some([dur(s, 1e3), dur(r, 1e3), dur(c, 1e3)]),
            _ => None,
        };
        let ipc_message = cpu_us(&v, &["measurements", "ipc_message_us"], py_loop_ns_per_iter)?
            .map(|put_get| dur(put_get / 2.0, 1e3));
        // A system call's wall time, like the round trip it is part of: not
        // rescaled (only Python work is).
        let loopback_send =
            optional_median(&v, &["measurements", "loopback_send_us"])?.map(|us| dur(us, 1e3));
        let wake = wake_path(&v)?;
        Ok(Profile {
            name: v["name"].as_str().unwrap_or("unnamed").to_string(),
            cpu_count: v["cpu_count"].as_u64().unwrap_or(2).clamp(1, 4096) as u32,
            py_loop_ns_per_iter,
            sleep_overshoot: dur(m(&["sleep_overshoot_us", "1ms"])?, 1e3),
            loopback_rtt: dur(rtt, 1e3),
            loopback_rtt_cv: spread,
            loopback_send,
            zlib_bytes_per_sec: m(&["zlib_bytes_per_sec"])?,
            sha256_bytes_per_sec: m(&["sha256_bytes_per_sec"])?,
            pickle_bytes_per_sec: m(&["pickle_bytes_per_sec", "objects"])?,
            thread_start: dur(m(&["thread_start_us"])?, 1e3),
            process_start: [
                dur(m(&["process_start_ms", "fork"])?, 1e6),
                dur(m(&["process_start_ms", "spawn"])?, 1e6),
                dur(m(&["process_start_ms", "forkserver"])?, 1e6),
            ],
            executor,
            ipc_message,
            wake,
        })
    }

    /// The reference machine's profile.
    pub fn reference() -> Profile {
        Profile::from_json(REFERENCE_JSON).expect("the shipped reference profile is valid")
    }

    /// Reads a profile file.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Profile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read profile {}: {e}", path.display()))?;
        Profile::from_json(&text).map_err(|e| anyhow::anyhow!("profile {}: {e}", path.display()))
    }

    /// CPU time of `n` iterations of the countdown loop.
    pub fn py_iters(&self, n: u64) -> SimDuration {
        dur(n as f64 * self.py_loop_ns_per_iter, 1.0)
    }

    /// Time to compress `bytes` with zlib.
    pub fn zlib_time(&self, bytes: u64) -> SimDuration {
        dur(bytes as f64 / self.zlib_bytes_per_sec, 1e9)
    }

    /// Time to hash `bytes` with sha256.
    pub fn sha256_time(&self, bytes: u64) -> SimDuration {
        dur(bytes as f64 / self.sha256_bytes_per_sec, 1e9)
    }

    /// Applies the profile's costs to a config: wake-up latency, timer slack,
    /// thread and process start, pickling.
    ///
    /// A sleep's overshoot is the timer slack plus the wake-up of an idle
    /// core: with Linux's default slack of 50 µs (90% of it on average in the
    /// model), the rest is the wake latency.
    /// A measured process start (start + join of a trivial process) is split
    /// between parent and child: fork half and half; spawn and forkserver
    /// 1 ms in the parent, the rest in the child's start-up.
    pub fn apply(&self, cfg: &mut SimConfig) {
        self.apply_os(&mut cfg.machine.os);
        self.apply_costs(&mut cfg.costs);
    }

    /// The OS part of [`apply`](Self::apply): wake latency and timer slack.
    pub fn apply_os(&self, os: &mut OsConfig) {
        // Linux's default timer slack is 50 µs (`timer_slack_ns`), of which a
        // timed wait overshoots 90% on average in the model; the rest of the
        // measured overshoot is the wake-up of an idle core.
        os.timer_slack = LINUX_TIMER_SLACK;
        let mean_lateness = os
            .timer_slack
            .mul_f64((1.0 + TIMER_SLACK_MIN_FRACTION) / 2.0);
        os.wake_latency = self.sleep_overshoot.saturating_sub(mean_lateness);
        if let Some(w) = self.wake {
            os.shallow_wake_latency = w.shallow;
            os.syscall = w.recv_ready;
            if let Some(s) = w.signal {
                os.signal_cost = s;
            }
        }
    }

    /// The costs part of [`apply`](Self::apply): thread and process start,
    /// pickling, executor bookkeeping and queue messages.
    pub fn apply_costs(&self, c: &mut Costs) {
        c.thread_start = self.thread_start;
        let [fork, spawn, forkserver] = self.process_start;
        c.fork = StartCost {
            parent: SimDuration(fork.0 / 2),
            child: fork.saturating_sub(SimDuration(fork.0 / 2)),
        };
        let parent = SimDuration::ms(1);
        c.spawn = StartCost {
            parent: parent.min(spawn),
            child: spawn.saturating_sub(parent),
        };
        c.forkserver = StartCost {
            parent: parent.min(forkserver),
            child: forkserver.saturating_sub(parent),
        };
        c.pickle_bytes_per_sec = self.pickle_bytes_per_sec;
        if let Some([submit, run, collect]) = self.executor {
            c.executor_submit = submit;
            c.executor_run = run;
            c.executor_collect = collect;
        }
        if let Some(m) = self.ipc_message {
            c.ipc_message = m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilsim_engine::{GilModel, MachineConfig};

    #[test]
    fn the_reference_profile_parses_and_applies() {
        let p = Profile::reference();
        assert!(p.py_loop_ns_per_iter > 1.0 && p.py_loop_ns_per_iter < 1000.0);
        assert!(
            p.process_start[1] > p.process_start[0],
            "spawn is slower than fork"
        );
        let mut c = SimConfig::new(MachineConfig::with_cores(2), GilModel::new_gil());
        p.apply(&mut c);
        let lateness = c
            .machine
            .os
            .timer_slack
            .mul_f64((1.0 + TIMER_SLACK_MIN_FRACTION) / 2.0);
        assert_eq!(lateness + c.machine.os.wake_latency, p.sleep_overshoot);
        assert_eq!(c.costs.fork.parent + c.costs.fork.child, p.process_start[0]);
        assert_eq!(
            c.costs.spawn.parent + c.costs.spawn.child,
            p.process_start[1]
        );
        assert_eq!(
            p.py_iters(1_000_000),
            SimDuration::from_secs_f64(p.py_loop_ns_per_iter / 1e3).unwrap()
        );
    }

    #[test]
    fn bad_profiles_name_what_is_wrong() {
        let cases: &[(&str, &str)] = &[
            ("not json", "not valid JSON"),
            (r#"{"schema": "other"}"#, "\"other\""),
            (
                r#"{"schema": "gilsim-profile/1", "measurements": {}}"#,
                "loopback_rtt_us",
            ),
        ];
        for (text, needle) in cases {
            let e = Profile::from_json(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
        let mut v: Value = serde_json::from_str(REFERENCE_JSON).unwrap();
        v["measurements"]["zlib_bytes_per_sec"]["median"] = Value::from(-1.0);
        let e = Profile::from_json(&v.to_string()).unwrap_err().to_string();
        assert!(e.contains("zlib_bytes_per_sec.median is -1"), "{e}");
    }

    /// Executor and queue-message costs are Python work: each is rescaled from
    /// the speed the machine had while it was measured (its speed probe) to the
    /// speed of the profile's loop measurement. Profiles without them keep the
    /// engine's defaults.
    #[test]
    fn executor_costs_are_rescaled_by_their_speed_probe() {
        let mut v: Value = serde_json::from_str(REFERENCE_JSON).unwrap();
        let py = v["measurements"]["py_loop_ns_per_iter"]["median"]
            .as_f64()
            .unwrap();
        let stat = |us: f64| serde_json::json!({ "median": us, "probe_ns_per_iter": 2.0 * py });
        v["measurements"]["executor_task_us"] =
            serde_json::json!({ "submit": stat(10.0), "run": stat(4.0), "collect": stat(1.0) });
        v["measurements"]["ipc_message_us"] = stat(20.0);
        let p = Profile::from_json(&v.to_string()).unwrap();
        // Measured at half the loop's speed: half the time at the loop's speed.
        assert_eq!(
            p.executor,
            Some([SimDuration::us(5), SimDuration::us(2), SimDuration::ns(500)])
        );
        assert_eq!(p.ipc_message, Some(SimDuration::us(5)), "half of put + get");
        let mut c = SimConfig::new(MachineConfig::with_cores(2), GilModel::new_gil());
        p.apply(&mut c);
        assert_eq!(c.costs.executor_submit, SimDuration::us(5));
        assert_eq!(c.costs.ipc_message, SimDuration::us(5));

        v["measurements"]
            .as_object_mut()
            .unwrap()
            .retain(|k, _| k != "executor_task_us" && k != "ipc_message_us");
        let p = Profile::from_json(&v.to_string()).unwrap();
        assert_eq!((p.executor, p.ipc_message), (None, None));
        let mut c = SimConfig::new(MachineConfig::with_cores(2), GilModel::new_gil());
        p.apply(&mut c);
        let d = gilsim_engine::Costs::default();
        assert_eq!(
            (c.costs.executor_submit, c.costs.executor_run),
            (d.executor_submit, d.executor_run)
        );
        assert_eq!(
            (c.costs.executor_collect, c.costs.ipc_message),
            (d.executor_collect, d.ipc_message)
        );
    }
}
