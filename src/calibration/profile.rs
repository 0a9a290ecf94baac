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
//!   ping-pong hop between two processes, minus its two system calls); how
//!   wake-ups spread (the p10 and p90 of the hop onto a CPU that idled 5 ms,
//!   about a GIL waiter's wait, as a log-normal shape); the futex wake a
//!   signal costs the signaller; the system call of a `recv` whose data is
//!   waiting. These decide the race between a woken GIL waiter and a thread
//!   that re-takes the GIL after a short call, and whether waiters with equal
//!   timeouts stay in step, so they come from the host, not constants.
//!
//! The shipped default is the reference machine's profile
//! (`calibration/profiles/reference.json`, compiled in).

use gilsim_engine::{
    Costs, GilModel, OsConfig, SimConfig, SimDuration, StartCost, WakeSpread,
    TIMER_SLACK_MIN_FRACTION,
};
use serde_json::Value;
use thiserror::Error;

/// The profile of the reference machine, compiled in.
pub const REFERENCE_JSON: &str = include_str!("../../calibration/profiles/reference.json");

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
    /// A value the model cannot use as it is: it would be clamped or
    /// rounded to zero, so it is refused instead.
    #[error("the profile's {key} is {value}: expected {allowed}")]
    Range {
        /// The JSON path.
        key: String,
        /// What was there.
        value: String,
        /// What is allowed.
        allowed: String,
    },
}

/// Largest profile file read (the shipped one is about 10 KiB).
pub const MAX_PROFILE_BYTES: u64 = 1 << 20;

/// Largest `cpu_count`, as for `machine(#{ cores })`.
const MAX_CPU_COUNT: u64 = 4096;

/// Allowed throughputs (bytes per second) and loop speeds (ns per iteration).
const RATES: (f64, f64) = (1.0, 1e15);
const LOOP_NS: (f64, f64) = (1e-3, 1e6);
/// Largest cost a profile may give (start-up, round trip, bookkeeping): an hour.
const MAX_COST_S: f64 = 3600.0;

/// `x` if it lies in `range`, else the error naming `key`.
fn within(key: &str, x: f64, range: (f64, f64), unit: &str) -> Result<f64, ProfileError> {
    if x >= range.0 && x <= range.1 {
        Ok(x)
    } else {
        Err(ProfileError::Range {
            key: key.to_string(),
            value: format!("{x:?}"),
            allowed: format!("a number from {:e} to {:e} {unit}", range.0, range.1),
        })
    }
}

/// A measured cost of `x` units of `unit_ns` as a duration: at least 1 ns
/// (a smaller one would round to 0) and at most [`MAX_COST_S`].
fn cost(key: &str, x: f64, unit_ns: f64) -> Result<SimDuration, ProfileError> {
    let ns = x * unit_ns;
    if (0.5..=MAX_COST_S * 1e9).contains(&ns) {
        if let Some(d) = SimDuration::from_secs_f64(ns / 1e9) {
            return Ok(d);
        }
    }
    let unit = if unit_ns == 1e3 {
        "µs"
    } else if unit_ns == 1e6 {
        "ms"
    } else {
        "ns"
    };
    Err(ProfileError::Range {
        key: key.to_string(),
        value: format!("{x:?}"),
        allowed: format!(
            "a duration from 1 ns to {MAX_COST_S} s, in {unit} (a smaller one would round to 0 ns)"
        ),
    })
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
    /// The asyncio loop's cost per iteration and per callback, rescaled
    /// (`asyncio_loop_us`); `None`: the engine's defaults.
    pub asyncio: Option<[SimDuration; 2]>,
    /// The wake path (`None` in profiles made before it was measured).
    pub wake: Option<WakePath>,
    /// A single-threaded `selectors` echo server with one client (`None` in
    /// profiles made before it was measured).
    pub echo_server: Option<EchoServerCost>,
    /// CPython 2's ticks per countdown iteration (`None` but on 2.x): read
    /// from its `_Py_Ticker` by `calibration/versions_child.py`.
    pub py_ticks_per_iter: Option<f64>,
    /// Pool start-up: constructors, fork against resident memory, an
    /// executor's first task (each `None` in profiles made before it was
    /// measured: the engine's defaults, 0, stay).
    pub pool_startup: PoolStartup,
}

/// Measured inputs of pool start-up (`calibration/measure_profile.py`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PoolStartup {
    /// Constructing a `ThreadPoolExecutor`, a `ProcessPoolExecutor` and a
    /// `multiprocessing.Pool` beyond its workers, rescaled to the loop's speed.
    pub construct: Option<[SimDuration; 3]>,
    /// The parent's extra `fork()` time per GiB resident: the least-squares
    /// slope of the fork call over the parent's resident memory.
    pub fork_per_gib: Option<SimDuration>,
    /// A cold `ProcessPoolExecutor(4)`'s construction and first task: a
    /// check of the model, not an input.
    pub first_task: Option<SimDuration>,
}

/// Measured inputs of an in-model server: `calibration/selectors_echo_server.py`
/// serving one client of 16-byte round trips.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EchoServerCost {
    /// The client's round trip.
    pub rtt: SimDuration,
    /// The server process's CPU time per request (its `epoll_wait` wake-up,
    /// `recv`, `send` and Python).
    pub cpu: SimDuration,
    /// Its CPU time per request when busy: requests waiting on 16
    /// connections, served back to back without blocking (`None`: not
    /// measured).
    pub busy_cpu: Option<SimDuration>,
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
    /// Log-normal shapes σ of the wake part of a hop, `ln(p90 / p10) / (2 ×
    /// 1.2816)` with the hop's two system calls taken off p10 and p90: onto a
    /// CPU that idled briefly, and onto one that idled 5 ms (about a GIL
    /// waiter's wait); `None`: not measured.
    pub shallow_spread: Option<f64>,
    /// See `shallow_spread`.
    pub spread: Option<f64>,
    /// CPU of blocking and being woken, beyond the system calls: a pipe
    /// ping-pong hop's CPU (both processes) less its `write` + `read`
    /// (`None`: not measured).
    pub block_cpu: Option<SimDuration>,
}

/// z of the 90th percentile of the standard normal distribution.
const Z90: f64 = 1.281_551_565_544_600_4;

/// The wake-path measurements, if the profile has them (all of the required
/// ones, or none).
fn wake_path(v: &Value) -> Result<Option<WakePath>, ProfileError> {
    let m = |k: &[&str]| optional_median(v, &measurement(k));
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
        (Some(with), Some(without)) if with > without => {
            Some(cost("measurements.cond_signal_us", with - without, 1e3)?)
        }
        _ => None,
    };
    let key = |k: &str| key(&[k]);
    let hop_spread = |k: &[&str], name: &str| wake_spread(at(v, &measurement(k)), syscalls, name);
    let shallow_spread = hop_spread(&["wake_latency_us"], "wake_latency_us")?;
    let spread = hop_spread(
        &["wake_latency_after_idle_us", "5ms"],
        "wake_latency_after_idle_us.5ms",
    )?;
    // The hop less its two system calls may round to nothing on a fast host.
    let shallow = if hop - syscalls > 0.0 {
        cost(&key("wake_latency_us"), hop - syscalls, 1e3)?
    } else {
        SimDuration::ZERO
    };
    let block_cpu = match m(&["pipe_hop_cpu_us"])? {
        Some(hop_cpu) => Some(cost(
            &key("pipe_hop_cpu_us"),
            (hop_cpu - syscalls).max(0.0),
            1e3,
        )?),
        None => None,
    };
    Ok(Some(WakePath {
        block_cpu,
        shallow,
        recv_ready: cost(&key("recv_ready_syscall_us"), recv_ready, 1e3)?,
        send: cost(&key("send_syscall_us"), send, 1e3)?,
        signal,
        shallow_spread,
        spread,
    }))
}

/// The log-normal shape of the wake part of a measured hop (`m`, with its
/// p10 and p90) whose system calls take `syscalls` µs, if both are there.
fn wake_spread(m: &Value, syscalls: f64, name: &str) -> Result<Option<f64>, ProfileError> {
    let Some((p10, p90)) = quantiles(m, &format!("measurements.{name}"))? else {
        return Ok(None);
    };
    let (lo, hi) = (p10 - syscalls, p90 - syscalls);
    let sigma = (hi / lo).ln() / (2.0 * Z90);
    if lo > 0.0 && sigma.is_finite() && (0.0..=3.0).contains(&sigma) {
        Ok(Some(sigma))
    } else {
        Err(ProfileError::Range {
            key: format!("measurements.{name}"),
            value: format!("p10 {p10}, p90 {p90}"),
            allowed: format!(
                "{syscalls} µs (pipe_write_read_us) < p10 ≤ p90, within a log-normal shape of 0 to 3"
            ),
        })
    }
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
/// A speed probe that is there must be a loop speed like
/// `py_loop_ns_per_iter`'s ([`LOOP_NS`]); a missing one means a scale of 1.
fn cpu_us(v: &Value, path: &[&str], py_loop_ns: f64) -> Result<Option<f64>, ProfileError> {
    let probe = &at(v, path)["probe_ns_per_iter"];
    let scale = if probe.is_null() {
        1.0
    } else {
        let key = format!("{}.probe_ns_per_iter", path.join("."));
        match probe.as_f64() {
            Some(x) => py_loop_ns / within(&key, x, LOOP_NS, "ns")?,
            None => {
                return Err(ProfileError::Range {
                    key,
                    value: probe.to_string(),
                    allowed: format!("a number from {:e} to {:e} ns", LOOP_NS.0, LOOP_NS.1),
                })
            }
        }
    };
    Ok(optional_median(v, path)?.map(|us| us * scale))
}

/// Largest p10 or p90 of a measured duration, in µs: [`MAX_COST_S`].
const MAX_QUANTILE_US: f64 = MAX_COST_S * 1e6;

/// The p10 and p90 (µs) of the measurement `m` at `key`, if it has them:
/// both numbers, finite, from 0 to [`MAX_QUANTILE_US`], p10 ≤ p90; one
/// without the other, or any other value, is an error naming them.
fn quantiles(m: &Value, key: &str) -> Result<Option<(f64, f64)>, ProfileError> {
    let (p10, p90) = (&m["p10"], &m["p90"]);
    if p10.is_null() && p90.is_null() {
        return Ok(None);
    }
    let ok = |x: Option<f64>| x.filter(|x| x.is_finite() && (0.0..=MAX_QUANTILE_US).contains(x));
    match (ok(p10.as_f64()), ok(p90.as_f64())) {
        (Some(lo), Some(hi)) if lo <= hi => Ok(Some((lo, hi))),
        _ => Err(ProfileError::Range {
            key: key.to_string(),
            value: format!("p10 {p10}, p90 {p90}"),
            allowed: format!(
                "p10 and p90 both given, numbers from 0 to {MAX_QUANTILE_US:e} µs, p10 ≤ p90"
            ),
        }),
    }
}

fn dur(x: f64, unit_ns: f64) -> SimDuration {
    SimDuration::from_secs_f64(x * unit_ns / 1e9).unwrap_or(SimDuration::ZERO)
}

/// A profile's JSON, checked to be of the schema gilsim reads.
fn parse(text: &str) -> Result<Value, ProfileError> {
    let v: Value = serde_json::from_str(text).map_err(|e| ProfileError::Json(e.to_string()))?;
    let schema = v["schema"].as_str().unwrap_or("(none)");
    if schema != "gilsim-profile/1" {
        return Err(ProfileError::Schema {
            found: schema.to_string(),
        });
    }
    Ok(v)
}

/// `measurements.<k>.median`, the key errors name.
fn key(k: &[&str]) -> String {
    format!("measurements.{}.median", k.join("."))
}

/// `measurements` + `k`, the path of a measurement.
fn measurement<'k>(k: &[&'k str]) -> Vec<&'k str> {
    let mut p = vec!["measurements"];
    p.extend_from_slice(k);
    p
}

/// The median of the measurement `k` (required).
fn required(v: &Value, k: &[&str]) -> Result<f64, ProfileError> {
    median(v, &measurement(k))
}

/// The loopback round trip and its relative spread ((p90 − p10) / 2.56 / median).
fn loopback_rtt(v: &Value) -> Result<(f64, f64), ProfileError> {
    let rtt = required(v, &["loopback_rtt_us"])?;
    let m = at(v, &measurement(&["loopback_rtt_us"]));
    let spread = match quantiles(m, "measurements.loopback_rtt_us")? {
        Some((lo, hi)) => (hi - lo) / 2.56 / rtt,
        None => 0.0,
    };
    Ok((rtt, spread))
}

/// A thread pool's bookkeeping per task (submit, run, collect), rescaled to
/// the loop's speed; `None` unless all three were measured.
fn executor(v: &Value, py_loop_ns: f64) -> Result<Option<[SimDuration; 3]>, ProfileError> {
    let part = |part: &str| {
        cpu_us(v, &measurement(&["executor_task_us", part]), py_loop_ns)?
            .map(|us| cost(&key(&["executor_task_us", part]), us, 1e3))
            .transpose()
    };
    Ok(match (part("submit")?, part("run")?, part("collect")?) {
        (Some(s), Some(r), Some(c)) => Some([s, r, c]),
        _ => None,
    })
}

/// Tasks switching in the `switch` part of `asyncio_loop_us`
/// (`measure_asyncio_loop` in `calibration/measure_profile.py`).
const ASYNCIO_TASKS: f64 = 100.0;

/// The asyncio loop's cost per iteration and per callback, rescaled: with
/// N tasks each iteration runs N callbacks, so a switch costs
/// `handle + iteration / N`, and one task alone `handle + iteration`.
fn asyncio_loop(v: &Value, py_loop_ns: f64) -> Result<Option<[SimDuration; 2]>, ProfileError> {
    let part = |p: &str| cpu_us(v, &measurement(&["asyncio_loop_us", p]), py_loop_ns);
    let (Some(switch), Some(alone)) = (part("switch")?, part("alone")?) else {
        return Ok(None);
    };
    let n = ASYNCIO_TASKS;
    let handle = (n * switch - alone) / (n - 1.0);
    let iteration = alone - handle;
    if !(handle > 0.0 && iteration > 0.0) {
        return Err(ProfileError::Range {
            key: "measurements.asyncio_loop_us".into(),
            value: format!("switch {switch} µs, alone {alone} µs"),
            allowed: format!(
                "one task alone slower per iteration than a switch among {n} tasks, and less than {n} switches"
            ),
        });
    }
    Ok(Some([
        cost(&key(&["asyncio_loop_us", "alone"]), iteration, 1e3)?,
        cost(&key(&["asyncio_loop_us", "switch"]), handle, 1e3)?,
    ]))
}

/// One end of a queue message: half a measured put + get, rescaled.
fn ipc_message(v: &Value, py_loop_ns: f64) -> Result<Option<SimDuration>, ProfileError> {
    cpu_us(v, &measurement(&["ipc_message_us"]), py_loop_ns)?
        .map(|put_get| cost(&key(&["ipc_message_us"]), put_get / 2.0, 1e3))
        .transpose()
}

/// The `sendall` of the round trip: a system call's wall time, like the
/// round trip it is part of, so not rescaled (only Python work is).
fn loopback_send(v: &Value) -> Result<Option<SimDuration>, ProfileError> {
    optional_median(v, &measurement(&["loopback_send_us"]))?
        .map(|us| cost(&key(&["loopback_send_us"]), us, 1e3))
        .transpose()
}

/// The echo server's round trip and CPU per request, if the profile has both.
fn echo_server(v: &Value) -> Result<Option<EchoServerCost>, ProfileError> {
    let m = |k: &str| optional_median(v, &measurement(&[k]));
    let (Some(rtt), Some(cpu)) = (m("echo_server_rtt_us")?, m("echo_server_cpu_us")?) else {
        return Ok(None);
    };
    let busy_cpu = m("echo_server_busy_cpu_us")?
        .map(|us| cost(&key(&["echo_server_busy_cpu_us"]), us, 1e3))
        .transpose()?;
    Ok(Some(EchoServerCost {
        rtt: cost(&key(&["echo_server_rtt_us"]), rtt, 1e3)?,
        cpu: cost(&key(&["echo_server_cpu_us"]), cpu, 1e3)?,
        busy_cpu,
    }))
}

/// The measured machine's cores, a whole number from 1 to [`MAX_CPU_COUNT`].
fn cpu_count(v: &Value) -> Result<u32, ProfileError> {
    match &v["cpu_count"] {
        Value::Number(n) if n.as_u64().is_some_and(|c| (1..=MAX_CPU_COUNT).contains(&c)) => {
            Ok(n.as_u64().unwrap_or(1) as u32)
        }
        other => Err(ProfileError::Range {
            key: "cpu_count".into(),
            value: other.to_string(),
            allowed: format!("a whole number from 1 to {MAX_CPU_COUNT}"),
        }),
    }
}

/// Ticks a countdown iteration takes on CPython 2 (a loop iteration is a
/// few bytecodes, each at most one tick), if measured.
fn ticks_per_iter(v: &Value) -> Result<Option<f64>, ProfileError> {
    let path = ["py_ticks_per_iter"];
    optional_median(v, &measurement(&path))?
        .map(|x| within(&key(&path), x, TICKS_PER_ITER, "ticks"))
        .transpose()
}

/// Pool constructors (thread executor, process executor, `Pool` beyond its
/// workers), rescaled like the executor's bookkeeping; `None` unless all
/// three were measured.
fn pool_construct(v: &Value, py_loop_ns: f64) -> Result<Option<[SimDuration; 3]>, ProfileError> {
    let part = |part: &str| {
        cpu_us(
            v,
            &measurement(&["executor_construct_us", part]),
            py_loop_ns,
        )?
        .map(|us| cost(&key(&["executor_construct_us", part]), us, 1e3))
        .transpose()
    };
    Ok(match (part("thread")?, part("process")?, part("pool")?) {
        (Some(t), Some(p), Some(mp)) => Some([t, p, mp]),
        _ => None,
    })
}

/// Largest resident size a `fork_rss_ms` point may name: 1 TiB.
const MAX_RSS_MIB: f64 = 1048576.0;

/// The fork call's growth per GiB of the parent's resident memory: the
/// least-squares slope over the `fork_rss_ms` points (`<N>MiB` each), which
/// must name at least two sizes and rise (a slope of 0 or less is refused).
fn fork_per_gib(v: &Value) -> Result<Option<SimDuration>, ProfileError> {
    let path = measurement(&["fork_rss_ms"]);
    let Some(points) = at(v, &path).as_object() else {
        return Ok(None);
    };
    let mut xy = Vec::with_capacity(points.len());
    for name in points.keys() {
        let mib = name
            .strip_suffix("MiB")
            .and_then(|n| n.parse::<f64>().ok())
            .filter(|n| (0.0..=MAX_RSS_MIB).contains(n))
            .ok_or_else(|| ProfileError::Range {
                key: format!("measurements.fork_rss_ms.{name}"),
                value: name.clone(),
                allowed: format!("a size like \"256MiB\", from 0 to {MAX_RSS_MIB} MiB"),
            })?;
        xy.push((mib, median(v, &measurement(&["fork_rss_ms", name]))?));
    }
    let n = xy.len() as f64;
    let mean_x = xy.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = xy.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = xy.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = xy.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    if xy.len() < 2 || sxx <= 0.0 {
        return Err(ProfileError::Range {
            key: "measurements.fork_rss_ms".into(),
            value: format!("{} sizes", xy.len()),
            allowed: "at least two different sizes".into(),
        });
    }
    let ms_per_gib = sxy / sxx * 1024.0;
    cost("measurements.fork_rss_ms (slope per GiB)", ms_per_gib, 1e6).map(Some)
}

/// A cold `ProcessPoolExecutor`'s first task, wall time in ms (not rescaled).
fn first_task(v: &Value) -> Result<Option<SimDuration>, ProfileError> {
    optional_median(v, &measurement(&["executor_first_task_ms"]))?
        .map(|ms| cost(&key(&["executor_first_task_ms"]), ms, 1e6))
        .transpose()
}

/// The range of [`ticks_per_iter`]: at least one opcode per iteration.
const TICKS_PER_ITER: (f64, f64) = (0.5, 100.0);

impl Profile {
    /// Parses a profile made by `calibration/measure_profile.py`: each
    /// field is read by one step above, in this order, and the first value
    /// that is missing or out of range is the error.
    pub fn from_json(text: &str) -> Result<Profile, ProfileError> {
        let v = parse(text)?;
        let (rtt, loopback_rtt_cv) = loopback_rtt(&v)?;
        let py_loop_ns_per_iter = within(
            &key(&["py_loop_ns_per_iter"]),
            required(&v, &["py_loop_ns_per_iter"])?,
            LOOP_NS,
            "ns",
        )?;
        let executor = executor(&v, py_loop_ns_per_iter)?;
        let ipc_message = ipc_message(&v, py_loop_ns_per_iter)?;
        let asyncio = asyncio_loop(&v, py_loop_ns_per_iter)?;
        let loopback_send = loopback_send(&v)?;
        let wake = wake_path(&v)?;
        let echo_server = echo_server(&v)?;
        let cpu_count = cpu_count(&v)?;
        let py_ticks_per_iter = ticks_per_iter(&v)?;
        let pool_startup = PoolStartup {
            construct: pool_construct(&v, py_loop_ns_per_iter)?,
            fork_per_gib: fork_per_gib(&v)?,
            first_task: first_task(&v)?,
        };
        let rate = |k: &[&str]| within(&key(k), required(&v, k)?, RATES, "bytes per second");
        let us = |k: &[&str]| cost(&key(k), required(&v, k)?, 1e3);
        let ms = |k: &[&str]| cost(&key(k), required(&v, k)?, 1e6);
        Ok(Profile {
            name: v["name"].as_str().unwrap_or("unnamed").to_string(),
            cpu_count,
            py_loop_ns_per_iter,
            sleep_overshoot: us(&["sleep_overshoot_us", "1ms"])?,
            loopback_rtt: cost(&key(&["loopback_rtt_us"]), rtt, 1e3)?,
            loopback_rtt_cv,
            loopback_send,
            zlib_bytes_per_sec: rate(&["zlib_bytes_per_sec"])?,
            sha256_bytes_per_sec: rate(&["sha256_bytes_per_sec"])?,
            pickle_bytes_per_sec: rate(&["pickle_bytes_per_sec", "objects"])?,
            thread_start: us(&["thread_start_us"])?,
            process_start: [
                ms(&["process_start_ms", "fork"])?,
                ms(&["process_start_ms", "spawn"])?,
                ms(&["process_start_ms", "forkserver"])?,
            ],
            executor,
            ipc_message,
            asyncio,
            wake,
            echo_server,
            py_ticks_per_iter,
            pool_startup,
        })
    }

    /// The reference machine's profile.
    pub fn reference() -> Profile {
        Profile::from_json(REFERENCE_JSON).expect("the shipped reference profile is valid")
    }

    /// This profile with the wake path's shallow wake-up set to `shallow`
    /// and its other inputs as a profile without them gets (the OS defaults,
    /// the round trip's send): for bracketing what an unmeasured wake path
    /// could decide.
    pub fn with_shallow_wake(&self, shallow: SimDuration) -> Profile {
        let os = OsConfig::default();
        Profile {
            wake: Some(WakePath {
                shallow,
                recv_ready: os.syscall,
                send: self.loopback_send.unwrap_or(SimDuration::ZERO),
                signal: None,
                shallow_spread: None,
                spread: None,
                block_cpu: None,
            }),
            ..self.clone()
        }
    }

    /// Reads a profile file.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Profile> {
        let cannot = |why: String| anyhow::anyhow!("cannot read profile {}: {why}", path.display());
        let meta = std::fs::metadata(path).map_err(|e| cannot(e.to_string()))?;
        if !meta.is_file() {
            return Err(cannot("it is not a file".into()));
        }
        if meta.len() > MAX_PROFILE_BYTES {
            return Err(cannot(format!(
                "it is {} bytes, more than the limit of {MAX_PROFILE_BYTES} (a profile made by calibration/measure_profile.py is about 10 KiB)",
                meta.len()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| cannot(e.to_string()))?;
        Profile::from_json(&text).map_err(|e| anyhow::anyhow!("profile {}: {e}", path.display()))
    }

    /// The old GIL releasing every `check_interval` ticks, a tick being the
    /// measured loop iteration's share (`None` without `py_ticks_per_iter`,
    /// which only a CPython 2 profile has). Its other parameters keep the
    /// engine's defaults.
    pub fn old_gil(&self, check_interval: u32) -> Option<GilModel> {
        let tick = dur(self.py_loop_ns_per_iter / self.py_ticks_per_iter?, 1.0);
        match GilModel::old_gil() {
            GilModel::Old {
                release_gap,
                waiter_choice,
                ..
            } => Some(GilModel::Old {
                check_interval,
                tick,
                release_gap,
                waiter_choice,
            }),
            _ => None,
        }
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
            if let Some(sigma) = w.shallow_spread {
                os.shallow_wake_spread = WakeSpread::LogNormal(sigma);
            }
            if let Some(sigma) = w.spread {
                os.wake_spread = WakeSpread::LogNormal(sigma);
            }
            if let Some(b) = w.block_cpu {
                os.block_cpu = b;
            }
        }
    }

    /// The costs part of [`apply`](Self::apply): thread and process start,
    /// pickling, executor bookkeeping and queue messages, pool constructors
    /// and the fork's growth with resident memory.
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
        if let Some([iteration, handle]) = self.asyncio {
            c.asyncio.iteration = iteration;
            c.asyncio.handle = handle;
        }
        if let Some([thread, process, pool]) = self.pool_startup.construct {
            c.thread_executor_construct = thread;
            c.process_executor_construct = process;
            c.pool_construct = pool;
        }
        if let Some(per_gib) = self.pool_startup.fork_per_gib {
            c.fork_per_gib = per_gib;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilsim_engine::{GilModel, MachineConfig};

    #[test]
    fn the_wake_spread_is_the_hops_p10_to_p90() {
        let text = include_str!("../../calibration/profiles/reference-2026-12-05.json");
        let p = Profile::from_json(text).unwrap();
        let w = p.wake.expect("this profile measured the wake path");
        let v: Value = serde_json::from_str(text).unwrap();
        let m = &v["measurements"];
        let calls = m["pipe_write_read_us"]["median"].as_f64().unwrap();
        let shape = |x: &Value| {
            let q = |k: &str| x[k].as_f64().unwrap() - calls;
            (q("p90") / q("p10")).ln() / (2.0 * 1.2815515655446004)
        };
        let (shallow, deep) = (w.shallow_spread.unwrap(), w.spread.unwrap());
        assert!((shallow - shape(&m["wake_latency_us"])).abs() < 1e-12);
        assert!((deep - shape(&m["wake_latency_after_idle_us"]["5ms"])).abs() < 1e-12);
        // A brief idle wakes narrowly, a 5 ms one widely: different idle paths.
        assert!(deep > 2.0 * shallow, "{shallow} {deep}");
        let mut os = OsConfig::default();
        p.apply_os(&mut os);
        assert_eq!(os.wake_spread, WakeSpread::LogNormal(deep));
        assert_eq!(os.shallow_wake_spread, WakeSpread::LogNormal(shallow));
    }

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

    /// Values the model would clamp or round to zero are refused, naming the
    /// key, the value and what is allowed (they used to be taken silently:
    /// cpu_count -2 became 2, a start time of 1e-300 µs became 0 ns).
    #[test]
    fn values_out_of_range_are_refused_not_clamped() {
        let cases: &[(&[&str], Value, &str)] = &[
            (
                &["cpu_count"],
                Value::from(-2),
                "cpu_count is -2: expected a whole number from 1 to 4096",
            ),
            (&["cpu_count"], Value::from(0), "cpu_count is 0"),
            (
                &["cpu_count"],
                Value::from(1_000_000_000_000u64),
                "cpu_count is 1000000000000",
            ),
            (&["cpu_count"], Value::from(2.5), "cpu_count is 2.5"),
            (
                &["measurements", "py_ticks_per_iter", "median"],
                Value::from(1e6),
                "py_ticks_per_iter.median is 1000000.0: expected a number from 5e-1 to 1e2 ticks",
            ),
            (&["cpu_count"], Value::Null, "cpu_count is null"),
            (
                &["measurements", "thread_start_us", "median"],
                Value::from(1e-300),
                "thread_start_us.median is 1e-300: expected a duration from 1 ns",
            ),
            (
                &["measurements", "thread_start_us", "median"],
                Value::from(1e300),
                "thread_start_us.median is 1e300",
            ),
            (
                &["measurements", "loopback_rtt_us", "median"],
                Value::from(1e-300),
                "loopback_rtt_us.median is 1e-300",
            ),
            (
                &["measurements", "process_start_ms", "fork", "median"],
                Value::from(1e300),
                "process_start_ms.fork.median is 1e300",
            ),
            (
                &["measurements", "zlib_bytes_per_sec", "median"],
                Value::from(1e300),
                "zlib_bytes_per_sec.median is 1e300: expected a number from",
            ),
            (
                &["measurements", "py_loop_ns_per_iter", "median"],
                Value::from(1e-300),
                "py_loop_ns_per_iter.median is 1e-300",
            ),
            (
                &["measurements", "executor_construct_us", "pool", "median"],
                Value::from(-20.0),
                "executor_construct_us.pool.median is -20.0: expected a positive number",
            ),
            (
                &["measurements", "fork_rss_ms"],
                serde_json::json!({"0MiB": {"median": 0.5}, "1024MiB": {"median": 0.25}}),
                "fork_rss_ms (slope per GiB) is -0.25: expected a duration from 1 ns",
            ),
            (
                &["measurements", "fork_rss_ms"],
                serde_json::json!({"64MiB": {"median": 0.5}}),
                "measurements.fork_rss_ms is 1 sizes: expected at least two different sizes",
            ),
            (
                &["measurements", "fork_rss_ms"],
                serde_json::json!({"0MiB": {"median": 0.5}, "huge": {"median": 9.0}}),
                "measurements.fork_rss_ms.huge is huge: expected a size like",
            ),
            (
                &["measurements", "fork_rss_ms", "1024MiB", "median"],
                Value::from(-3.0),
                "fork_rss_ms.1024MiB.median is -3",
            ),
            (
                &["measurements", "executor_first_task_ms", "median"],
                Value::from(1e300),
                "executor_first_task_ms.median is 1e300",
            ),
        ];
        for (path, value, want) in cases {
            let mut v: Value = serde_json::from_str(REFERENCE_JSON).unwrap();
            let keys = v["measurements"].as_object_mut().unwrap();
            keys.extend(pool_keys().as_object().unwrap().clone());
            let (last, parents) = path.split_last().unwrap();
            let parent = parents.iter().fold(&mut v, |cur, p| &mut cur[*p]);
            parent[*last] = value.clone();
            match Profile::from_json(&v.to_string()) {
                Ok(p) => panic!("{path:?} = {value}: accepted as {p:?}"),
                Err(e) => assert!(e.to_string().contains(want), "{path:?} = {value}: {e}"),
            }
        }
    }

    /// The servers profile's keys: read when there, range-checked like the others.
    #[test]
    fn the_echo_server_and_blocking_costs_are_read_and_checked() {
        let text = include_str!("../../calibration/profiles/servers.json");
        let p = Profile::from_json(text).unwrap();
        let e = p
            .echo_server
            .expect("the servers profile measured the echo server");
        assert!(e.busy_cpu.is_some() && e.cpu.0 > 0 && e.rtt.0 > 0);
        let block = p
            .wake
            .and_then(|w| w.block_cpu)
            .expect("and the CPU of blocking");
        let mut os = OsConfig::default();
        p.apply_os(&mut os);
        assert_eq!(os.block_cpu, block);
        assert_eq!(Profile::reference().wake.and_then(|w| w.block_cpu), None);
        for (key, value, want) in [
            (
                "echo_server_cpu_us",
                Value::from(-1.0),
                "echo_server_cpu_us.median is -1.0",
            ),
            (
                "echo_server_busy_cpu_us",
                Value::from(1e300),
                "echo_server_busy_cpu_us.median is 1e300",
            ),
            ("pipe_hop_cpu_us", Value::from(1e300), "pipe_hop_cpu_us"),
        ] {
            let mut v: Value = serde_json::from_str(text).unwrap();
            v["measurements"][key]["median"] = value.clone();
            match Profile::from_json(&v.to_string()) {
                Ok(_) => panic!("{key} = {value}: accepted"),
                Err(err) => assert!(err.to_string().contains(want), "{key} = {value}: {err}"),
            }
        }
    }

    #[test]
    fn a_huge_profile_file_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        std::fs::write(&path, vec![b' '; MAX_PROFILE_BYTES as usize + 1]).unwrap();
        let e = Profile::load(&path).unwrap_err().to_string();
        assert!(e.contains("more than the limit of 1048576"), "{e}");
    }

    /// Issue 14: a speed probe of 0 or less used to mean a scale of 1, and a
    /// p10/p90 pair out of order, negative or not a number was taken as no
    /// spread; each is now refused, naming the key, the value and what is
    /// allowed.
    #[test]
    fn probes_and_quantiles_out_of_range_are_refused() {
        let wake = include_str!("../../calibration/profiles/reference-2026-12-05.json");
        let cases: &[(&str, &[&str], Value, &str)] = &[
            (REFERENCE_JSON, &["executor_task_us", "submit", "probe_ns_per_iter"], Value::from(-5.0),
             "measurements.executor_task_us.submit.probe_ns_per_iter is -5.0: expected a number from 1e-3 to 1e6 ns"),
            (REFERENCE_JSON, &["executor_task_us", "run", "probe_ns_per_iter"], Value::from(0),
             "executor_task_us.run.probe_ns_per_iter is 0.0: expected a number from 1e-3"),
            (REFERENCE_JSON, &["ipc_message_us", "probe_ns_per_iter"], Value::from(-1e-9),
             "ipc_message_us.probe_ns_per_iter is -1e-9"),
            (REFERENCE_JSON, &["ipc_message_us", "probe_ns_per_iter"], Value::from("fast"),
             "ipc_message_us.probe_ns_per_iter is \"fast\": expected a number from"),
            (REFERENCE_JSON, &["loopback_rtt_us", "p10"], Value::from(-1.0),
             "measurements.loopback_rtt_us is p10 -1.0, p90 74.8519: expected p10 and p90 both given, numbers from 0 to 3.6e9 µs, p10 ≤ p90"),
            (REFERENCE_JSON, &["loopback_rtt_us", "p10"], Value::from(80.0),
             "loopback_rtt_us is p10 80.0, p90 74.8519"),
            (REFERENCE_JSON, &["loopback_rtt_us", "p90"], Value::from(1e300),
             "loopback_rtt_us is p10 52.3389, p90 1e+300"),
            (REFERENCE_JSON, &["loopback_rtt_us", "p90"], Value::Null,
             "loopback_rtt_us is p10 52.3389, p90 null"),
            (REFERENCE_JSON, &["loopback_rtt_us", "p10"], Value::from("52"),
             "loopback_rtt_us is p10 \"52\""),
            (wake, &["wake_latency_us", "p90"], Value::from("8.4"),
             "measurements.wake_latency_us is p10 6.743, p90 \"8.4\""),
            (wake, &["wake_latency_after_idle_us", "5ms", "p10"], Value::Null,
             "measurements.wake_latency_after_idle_us.5ms is p10 null, p90 65.176"),
        ];
        for (profile, path, value, want) in cases {
            let mut v: Value = serde_json::from_str(profile).unwrap();
            let (last, parents) = path.split_last().unwrap();
            let parent = parents
                .iter()
                .fold(&mut v["measurements"], |cur, p| &mut cur[*p]);
            parent[*last] = value.clone();
            match Profile::from_json(&v.to_string()) {
                Ok(p) => panic!("{path:?} = {value}: accepted as {p:?}"),
                Err(e) => assert!(e.to_string().contains(want), "{path:?} = {value}: {e}"),
            }
        }
        // The shipped profiles pass.
        for text in [REFERENCE_JSON, wake] {
            Profile::from_json(text).unwrap();
        }
    }

    /// The asyncio loop's two costs come from its two measurements: a
    /// switch among 100 tasks and one task alone; a profile without them
    /// keeps the engine's defaults, and numbers that give a negative cost
    /// are refused with the key.
    #[test]
    fn asyncio_loop_costs_are_solved_from_a_switch_and_one_task_alone() {
        let mut v: Value = serde_json::from_str(REFERENCE_JSON).unwrap();
        let stat = |us: f64| serde_json::json!({ "median": us });
        // handle 2 µs, iteration 3 µs: switch 2 + 3/100, alone 5.
        v["measurements"]["asyncio_loop_us"] =
            serde_json::json!({ "switch": stat(2.03), "alone": stat(5.0) });
        let p = Profile::from_json(&v.to_string()).unwrap();
        assert_eq!(p.asyncio, Some([SimDuration::us(3), SimDuration::us(2)]));
        let mut c = SimConfig::new(MachineConfig::with_cores(2), GilModel::new_gil());
        p.apply(&mut c);
        assert_eq!(c.costs.asyncio.iteration, SimDuration::us(3));
        assert_eq!(c.costs.asyncio.handle, SimDuration::us(2));

        v["measurements"]["asyncio_loop_us"] =
            serde_json::json!({ "switch": stat(6.0), "alone": stat(5.0) });
        let e = Profile::from_json(&v.to_string()).unwrap_err().to_string();
        assert!(
            e.contains("asyncio_loop_us") && e.contains("switch 6"),
            "{e}"
        );

        v["measurements"]
            .as_object_mut()
            .unwrap()
            .remove("asyncio_loop_us");
        let p = Profile::from_json(&v.to_string()).unwrap();
        let mut c = SimConfig::new(MachineConfig::with_cores(2), GilModel::new_gil());
        p.apply(&mut c);
        assert_eq!(c.costs.asyncio, gilsim_engine::LoopCosts::default());
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

    /// Pool start-up keys as `measure_profile.py` writes them (a rising fork).
    fn pool_keys() -> Value {
        let stat = |x: f64| serde_json::json!({ "median": x });
        serde_json::json!({
            "executor_construct_us": {"thread": stat(20.0), "process": stat(300.0), "pool": stat(900.0)},
            "fork_rss_ms": {"0MiB": stat(0.3), "64MiB": stat(0.8), "256MiB": stat(2.3), "1024MiB": stat(8.3)},
            "executor_first_task_ms": stat(12.0),
        })
    }

    /// Pool start-up keys are read and applied: the constructors (rescaled
    /// like any Python work), the fork's slope per GiB by least squares;
    /// without them the engine's defaults (0) stay.
    #[test]
    fn pool_startup_keys_are_read_and_applied() {
        let mut v: Value = serde_json::from_str(REFERENCE_JSON).unwrap();
        let keys = v["measurements"].as_object_mut().unwrap();
        keys.extend(pool_keys().as_object().unwrap().clone());
        let p = Profile::from_json(&v.to_string()).unwrap();
        let s = p.pool_startup;
        assert_eq!(
            s.construct,
            Some([
                SimDuration::us(20),
                SimDuration::us(300),
                SimDuration::us(900)
            ])
        );
        // 0.3 + 8 ms per GiB at every point: the slope is 8 ms per GiB.
        let per_gib = s.fork_per_gib.unwrap();
        assert!(per_gib.0.abs_diff(8_000_000) < 2, "{per_gib}");
        assert_eq!(s.first_task, Some(SimDuration::ms(12)));
        let mut c = SimConfig::new(MachineConfig::with_cores(2), GilModel::new_gil());
        p.apply(&mut c);
        assert_eq!(c.costs.pool_construct, SimDuration::us(900));
        assert_eq!(c.costs.process_executor_construct, SimDuration::us(300));
        assert_eq!(c.costs.thread_executor_construct, SimDuration::us(20));
        assert_eq!(c.costs.fork_per_gib, per_gib);

        let reference = Profile::reference();
        assert_eq!(reference.pool_startup, PoolStartup::default());
        let mut c = SimConfig::new(MachineConfig::with_cores(2), GilModel::new_gil());
        reference.apply(&mut c);
        let d = gilsim_engine::Costs::default();
        assert_eq!(
            (c.costs.fork_per_gib, c.costs.pool_construct),
            (d.fork_per_gib, d.pool_construct)
        );
    }
}
