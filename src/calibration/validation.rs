//! Validation: run in the model the multi-thread scenarios that
//! `calibration/measure_validation.py` measured on real CPython, with the
//! model calibrated only from single-thread measurements (a [`Profile`]), and
//! compare.
//!
//! Each measured row (schema `gilsim-measured/1`) names its scenario and its
//! exact work sizes; [`predict`] builds the same workload as an engine config
//! and returns the predicted value of the row's metric. Nothing is fitted to the
//! multi-thread measurements. `gilsim validate` writes docs/validation.md
//! (`commands/validate.rs` writes the files; this module computes and renders them).

use crate::calibration::profile::Profile;
use gilsim_engine::*;
use serde_json::Value;

/// One measured row.
#[derive(Clone, Debug)]
pub struct MeasuredRow {
    /// Scenario name (`cpu_split`, …).
    pub scenario: String,
    /// Its parameters (work sizes, thread counts…).
    pub params: Value,
    /// Metric name.
    pub metric: String,
    /// Unit of the metric.
    pub unit: String,
    /// Median of the measurement.
    pub median: f64,
    /// Whether the machine was quiet while it was measured.
    pub quiet: bool,
    /// The host's single-thread loop speed around this row's samples
    /// (`row_probe_ns_per_iter`, ns per countdown iteration), where the
    /// measuring script probed it per row.
    pub row_speed_ns: Option<f64>,
}

/// Measured and predicted value of one row.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The measured row.
    pub row: MeasuredRow,
    /// Short description of the parameters.
    pub label: String,
    /// The model's prediction.
    pub predicted: f64,
}

impl Comparison {
    /// (predicted − measured) / measured.
    pub fn rel_error(&self) -> f64 {
        (self.predicted - self.row.median) / self.row.median
    }
}

/// Reads a `gilsim-measured/1` file's rows.
pub fn parse_measured(text: &str) -> anyhow::Result<Vec<MeasuredRow>> {
    let v: Value = serde_json::from_str(text)?;
    anyhow::ensure!(
        v["schema"] == "gilsim-measured/1",
        "expected schema gilsim-measured/1, found {}",
        v["schema"]
    );
    let rows = v["rows"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("no rows"))?;
    rows.iter()
        .map(|r| {
            let median = r["median"]
                .as_f64()
                .ok_or_else(|| anyhow::anyhow!("row without a median: {r}"))?;
            Ok(MeasuredRow {
                scenario: r["scenario"].as_str().unwrap_or_default().to_string(),
                params: r["params"].clone(),
                metric: r["metric"].as_str().unwrap_or_default().to_string(),
                unit: r["unit"].as_str().unwrap_or_default().to_string(),
                median,
                quiet: r["quiet"].as_bool().unwrap_or(false),
                row_speed_ns: r["row_probe_ns_per_iter"].as_f64().filter(|v| *v > 0.0),
            })
        })
        .collect()
}

/// Seeds averaged for each prediction (the model's randomness: wake-up jitter, I/O).
const SEEDS: [u64; 3] = [1, 2, 3];
/// Python glue of one request/response loop iteration (`count += 1`, two calls).
const CLIENT_PY: SimDuration = SimDuration::us(2);

fn f(p: &Value, k: &str) -> f64 {
    p[k].as_f64().unwrap_or(0.0)
}
fn u(p: &Value, k: &str) -> u64 {
    p[k].as_u64().unwrap_or(0)
}

/// The new GIL at a switch interval in seconds (5 ms when not given).
fn new_gil(interval_s: f64) -> GilModel {
    GilModel::new_with_interval(
        SimDuration::from_secs_f64(if interval_s > 0.0 { interval_s } else { 0.005 })
            .unwrap_or(SimDuration::ms(5)),
    )
}

/// The GIL a row was measured under: the old GIL where it gives CPython 2's
/// `check_interval` (`None` if the profile has no tick measurement), else the
/// new GIL at its `switch_interval_s`.
fn gil_of(p: &Value, profile: &Profile) -> Option<GilModel> {
    match p["check_interval"].as_u64() {
        Some(ticks) => profile.old_gil(u32::try_from(ticks).ok()?),
        None => Some(new_gil(f(p, "switch_interval_s"))),
    }
}

fn base(profile: &Profile, gil: GilModel, seed: u64) -> SimConfig {
    let mut c = SimConfig::new(MachineConfig::with_cores(profile.cpu_count), gil);
    profile.apply(&mut c);
    c.limits.seed = seed;
    c
}

/// Threads started and joined by a main thread that does nothing else.
fn started_and_joined(c: &mut SimConfig, programs: Vec<Vec<Step>>) {
    let in_main = programs.into_iter().map(|p| (InterpId(0), p)).collect();
    started_and_joined_in(c, in_main);
}

/// The same, each thread in the interpreter given with its program.
fn started_and_joined_in(c: &mut SimConfig, programs: Vec<(InterpId, Vec<Step>)>) {
    let ids: Vec<ThreadId> = programs
        .into_iter()
        .enumerate()
        .map(|(i, (interp, p))| {
            let t = c.add_thread(&format!("w{i}"), interp, p);
            c.threads[t.index()].autostart = false;
            t
        })
        .collect();
    let mut main: Vec<Step> = ids.iter().map(|&t| Step::StartThread(t)).collect();
    main.extend(ids.iter().map(|&t| Step::Join(t)));
    c.add_thread("main", InterpId(0), main);
}

fn mean_over_seeds(mut one: impl FnMut(u64) -> Option<f64>) -> Option<f64> {
    let vals: Vec<f64> = SEEDS.iter().filter_map(|&s| one(s)).collect();
    (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
}

/// What a predictor reads of a measured row: its parameters and metric, the
/// profile, and the GIL it was measured under ([`gil_of`]).
struct Case<'a> {
    p: &'a Value,
    metric: &'a str,
    profile: &'a Profile,
    gil: GilModel,
}

/// Builds a row's scenario in the model, runs it (over [`SEEDS`]) and returns
/// the predicted value, or `None` for a metric or variant it does not cover.
type Predictor = fn(&Case) -> Option<f64>;

/// Every scenario the model covers: its name, the metric predicted (`*`: the
/// predictor decides) and the predictor. Scenario names are unique.
const PREDICTORS: [(&str, &str, Predictor); 12] = [
    ("cpu_split", "wall_s", cpu_split),
    ("subinterp_split", "wall_s", subinterp_split),
    ("io_next_to_cpu", "*", io_next_to_cpu),
    (
        "sleep_under_contention",
        "sleep_actual_ms",
        sleep_under_contention,
    ),
    ("io_threads_scaling", "ops_per_s", io_threads_scaling),
    ("native_in_threads", "wall_s", native_in_threads),
    ("pool_small_tasks", "wall_s", pool_small_tasks),
    ("echo_rtt", "*", echo_rtt),
    ("sleep_loop", "*", sleep_loop),
    ("zlib_py_cycle", "*", zlib_py_cycle),
    ("echo_clients", "*", echo_clients),
    ("pool_startup", "wall_s", pool_startup),
];

/// The model's prediction for one measured row, or `None` for a scenario or
/// metric the model does not cover.
pub fn predict(row: &MeasuredRow, profile: &Profile) -> Option<f64> {
    let case = Case {
        p: &row.params,
        metric: &row.metric,
        profile,
        gil: gil_of(&row.params, profile)?,
    };
    let (_, _, predictor) = PREDICTORS
        .iter()
        .find(|(s, m, _)| *s == row.scenario && (*m == "*" || *m == row.metric))?;
    predictor(&case)
}

/// `cpu_split`, metric `wall_s`.
fn cpu_split(
    &Case {
        p,
        profile,
        ref gil,
        ..
    }: &Case,
) -> Option<f64> {
    mean_over_seeds(|seed| {
        let mut c = base(profile, gil.clone(), seed);
        let work = profile.py_iters(u(p, "n_per_worker"));
        let workers = u(p, "workers").max(1);
        if p["mode"] == "threads" {
            started_and_joined(&mut c, (0..workers).map(|_| vec![Step::py(work)]).collect());
        } else {
            let mut main = Vec::new();
            let mut procs = Vec::new();
            for i in 0..workers {
                let (pid, interp) = c.add_process(&format!("p{i}"), StartMethod::Fork, gil.clone());
                c.add_thread(&format!("w{i}"), interp, vec![Step::py(work)]);
                procs.push(pid);
            }
            main.extend(procs.iter().map(|&x| Step::StartProcess(x)));
            main.extend(procs.iter().map(|&x| Step::JoinProcess(x)));
            c.add_thread("main", InterpId(0), main);
        }
        run(&c).ok().map(|r| r.makespan.as_secs_f64())
    })
}

/// `subinterp_split`, metric `wall_s`: W threads of the main process, each
/// running its share in its own isolated subinterpreter (PEP 684: its own
/// GIL), started and joined by the main thread.
fn subinterp_split(
    &Case {
        p,
        profile,
        ref gil,
        ..
    }: &Case,
) -> Option<f64> {
    mean_over_seeds(|seed| {
        let mut c = base(profile, gil.clone(), seed);
        let work = profile.py_iters(u(p, "n_per_worker"));
        let programs = (0..u(p, "workers").max(1))
            .map(|_| {
                (
                    c.add_interpreter(ProcessId(0), gil.clone()),
                    vec![Step::py(work)],
                )
            })
            .collect();
        started_and_joined_in(&mut c, programs);
        run(&c).ok().map(|r| r.makespan.as_secs_f64())
    })
}

/// `io_next_to_cpu`.
fn io_next_to_cpu(
    &Case {
        p, metric, profile, ..
    }: &Case,
) -> Option<f64> {
    mean_over_seeds(|seed| {
        let send_cpu = profile.loopback_send.unwrap_or(SimDuration::ZERO);
        echo_client(profile, p, metric, seed, send_cpu)
    })
}

/// `sleep_under_contention`, metric `sleep_actual_ms`.
fn sleep_under_contention(
    &Case {
        p,
        profile,
        ref gil,
        ..
    }: &Case,
) -> Option<f64> {
    mean_over_seeds(|seed| {
        let mut c = base(profile, gil.clone(), seed);
        let window = SimDuration::from_secs_f64(f(p, "window_s")).unwrap_or(SimDuration::secs(1));
        c.limits.until = Some(SimTime::ZERO + window);
        for i in 0..u(p, "cpu_threads") {
            c.add_thread(
                &format!("cpu{i}"),
                InterpId(0),
                vec![Step::LoopFor {
                    dur: window,
                    body: vec![Step::py(SimDuration::ms(10))],
                }],
            );
        }
        let sleep = SimDuration::from_secs_f64(f(p, "sleep_s")).unwrap_or(SimDuration::ms(1));
        let glue = SimDuration::us(1);
        c.add_thread(
            "sleeper",
            InterpId(0),
            vec![Step::LoopFor {
                dur: window,
                body: vec![Step::Sleep(sleep), Step::py(glue)],
            }],
        );
        let r = run(&c).ok()?;
        let t = r.thread("sleeper")?;
        let iterations = t.py_work.as_nanos() as f64 / glue.as_nanos() as f64;
        // A sleeper that never got the GIL back in the window slept at
        // least the window: that bound, rather than no prediction at all.
        Some(if iterations >= 1.0 {
            (t.lifetime().as_nanos() as f64 / iterations - glue.as_nanos() as f64) / 1e6
        } else {
            window.as_millis_f64()
        })
    })
}

/// `io_threads_scaling`, metric `ops_per_s`.
fn io_threads_scaling(
    &Case {
        p,
        profile,
        ref gil,
        ..
    }: &Case,
) -> Option<f64> {
    mean_over_seeds(|seed| {
        let mut c = base(profile, gil.clone(), seed);
        let window = SimDuration::from_secs_f64(f(p, "window_s")).unwrap_or(SimDuration::secs(1));
        c.limits.until = Some(SimTime::ZERO + window);
        let work = profile.py_iters(u(p, "work_iters"));
        let sleep = SimDuration::from_secs_f64(f(p, "sleep_s")).unwrap_or(SimDuration::ms(1));
        for i in 0..u(p, "threads") {
            c.add_thread(
                &format!("t{i}"),
                InterpId(0),
                vec![Step::LoopFor {
                    dur: window,
                    body: vec![Step::Sleep(sleep), Step::py(work)],
                }],
            );
        }
        let r = run(&c).ok()?;
        let done: u64 = r.threads.iter().map(|t| t.py_work.as_nanos()).sum();
        Some(done as f64 / work.as_nanos().max(1) as f64 / window.as_secs_f64())
    })
}

/// `native_in_threads`, metric `wall_s`.
fn native_in_threads(
    &Case {
        p,
        profile,
        ref gil,
        ..
    }: &Case,
) -> Option<f64> {
    mean_over_seeds(|seed| {
        let mut c = base(profile, gil.clone(), seed);
        let per = u(p, "units_per_thread");
        let bytes = u(p, "buffer_bytes");
        let glue = SimDuration::us(5);
        let unit = match p["kind"].as_str()? {
            "zlib" => vec![Step::py(glue), Step::c(profile.zlib_time(bytes), true)],
            "sha256" => vec![Step::py(glue), Step::c(profile.sha256_time(bytes), true)],
            "py_countdown" => vec![Step::py(profile.py_iters(per))],
            _ => return None,
        };
        let times = if p["kind"] == "py_countdown" { 1 } else { per };
        let threads = u(p, "threads").max(1);
        started_and_joined(
            &mut c,
            (0..threads)
                .map(|_| {
                    vec![Step::Repeat {
                        times,
                        body: unit.clone(),
                    }]
                })
                .collect(),
        );
        run(&c).ok().map(|r| r.makespan.as_secs_f64())
    })
}

/// `pool_small_tasks`, metric `wall_s`.
fn pool_small_tasks(
    &Case {
        p,
        profile,
        ref gil,
        ..
    }: &Case,
) -> Option<f64> {
    let pool = p["pool"].as_str()?;
    let n = u(p, "n_tasks");
    let task = if p["tasks"] == "tiny" {
        SimDuration::us(1)
    } else {
        profile.py_iters(u(p, "task_iters"))
    };
    let kind = match pool {
        "thread" => PoolKind::Threads,
        // Pool.map's chunking is not modelled: only chunksize 1 is comparable.
        "process_chunksize1" => PoolKind::Processes(StartMethod::Fork),
        "process" if p["tasks"] != "tiny" => PoolKind::Processes(StartMethod::Fork),
        _ => return None,
    };
    mean_over_seeds(|seed| {
        let mut c = base(profile, gil.clone(), seed);
        let tasks = (0..n)
            .map(|_| TaskConfig {
                steps: vec![Step::py(task)],
                arg_bytes: 64,
                result_bytes: 64,
            })
            .collect();
        c.pools.push(PoolConfig {
            name: "pool".into(),
            kind,
            workers: u(p, "workers").max(1) as u32,
            tasks,
            worker_gil: GilModel::new_gil(),
            options: Default::default(),
        });
        c.add_thread("main", InterpId(0), vec![Step::MapPool(PoolId(0))]);
        run(&c).ok().map(|r| r.makespan.as_secs_f64())
    })
}

/// `pool_startup`, metric `wall_s`: a cold pool constructed, mapped and
/// shut down, or one map of a warm pool (started before the clock), with
/// the row's API, workers, tasks and chunksize. Tiny tasks are 1 µs of
/// Python, as in `pool_small_tasks`; arguments and results pickle to the
/// row's measured sizes per task (64 bytes each where a row has none).
fn pool_startup(
    &Case {
        p,
        profile,
        ref gil,
        ..
    }: &Case,
) -> Option<f64> {
    let (kind, api) = match p["pool"].as_str()? {
        "thread" => (PoolKind::Threads, ProcessPoolApi::MultiprocessingPool),
        "pool" => (
            PoolKind::Processes(StartMethod::Fork),
            ProcessPoolApi::MultiprocessingPool,
        ),
        "executor" => (
            PoolKind::Processes(StartMethod::Fork),
            ProcessPoolApi::Executor,
        ),
        _ => return None,
    };
    let task = match p["tasks"].as_str()? {
        "tiny" => SimDuration::us(1),
        "countdown" => profile.py_iters(u(p, "task_iters")),
        _ => return None,
    };
    let options = PoolOptions {
        process_api: api,
        chunksize: u32::try_from(u(p, "chunksize").max(1)).ok()?,
        warm: p["start"] == "warm",
        maps: 1,
    };
    mean_over_seeds(|seed| {
        let mut c = base(profile, gil.clone(), seed);
        let tasks = (0..u(p, "n_tasks"))
            .map(|_| TaskConfig {
                steps: vec![Step::py(task)],
                arg_bytes: pickled(p, "arg_bytes"),
                result_bytes: pickled(p, "result_bytes"),
            })
            .collect();
        c.pools.push(PoolConfig {
            name: "pool".into(),
            kind,
            workers: u32::try_from(u(p, "workers").max(1)).ok()?,
            tasks,
            worker_gil: GilModel::new_gil(),
            options,
        });
        c.add_thread("main", InterpId(0), vec![Step::MapPool(PoolId(0))]);
        run(&c).ok().map(|r| r.makespan.as_secs_f64())
    })
}

/// The pickled size per task of a pool row's arguments or results
/// (`key`), as measured with the row; 64 bytes for rows measured before.
fn pickled(p: &Value, key: &str) -> u64 {
    p[key].as_f64().map_or(64, |b| b.round().max(0.0) as u64)
}

/// `echo_rtt`.
fn echo_rtt(
    &Case {
        p, metric, profile, ..
    }: &Case,
) -> Option<f64> {
    mean_over_seeds(|seed| {
        // The 16-byte send the profile measured, else the round trip's.
        let send_cpu = profile
            .wake
            .map(|w| w.send)
            .or(profile.loopback_send)
            .unwrap_or(SimDuration::ZERO);
        echo_client(profile, p, metric, seed, send_cpu)
    })
}

/// `sleep_loop`.
fn sleep_loop(
    &Case {
        p,
        metric,
        profile,
        ref gil,
        ..
    }: &Case,
) -> Option<f64> {
    mean_over_seeds(|seed| {
        let mut c = base(profile, gil.clone(), seed);
        let window = window_of(p);
        let cpu = competitors(&mut c, p, window);
        let sleep = SimDuration::from_secs_f64(f(p, "sleep_s")).unwrap_or(SimDuration::us(100));
        c.add_thread(
            "sleeper",
            InterpId(0),
            vec![Step::LoopFor {
                dur: window,
                body: vec![Step::Sleep(sleep), Step::py(CLIENT_PY)],
            }],
        );
        let r = run(&c).ok()?;
        let ops = r.thread("sleeper")?.op_latency.of(OpKind::Sleep);
        match metric {
            "ops_per_s" => Some(ops.count() as f64 / window.as_secs_f64()),
            "sleep_p50_ms" => quantile_ms(ops, 50.0),
            "sleep_p99_ms" => quantile_ms(ops, 99.0),
            "cpu_iter_per_s" if cpu > 0 => Some(cpu_rate(&r, profile, window)),
            _ => None,
        }
    })
}

/// `zlib_py_cycle`.
fn zlib_py_cycle(
    &Case {
        p,
        metric,
        profile,
        ref gil,
        ..
    }: &Case,
) -> Option<f64> {
    mean_over_seeds(|seed| {
        let mut c = base(profile, gil.clone(), seed);
        let window = window_of(p);
        let cpu = competitors(&mut c, p, window);
        let zlib = profile.zlib_time(u(p, "zlib_bytes"));
        let work = profile.py_iters(u(p, "work_iters"));
        c.add_thread(
            "cycler",
            InterpId(0),
            vec![Step::LoopFor {
                dur: window,
                body: vec![Step::c(zlib, true), Step::py(work)],
            }],
        );
        let (r, trace) = run_traced(&c).ok()?;
        let me = ThreadId(c.threads.iter().position(|t| t.name == "cycler")? as u32);
        let cycles = cycle_durations(&trace, me);
        match metric {
            "cycles_per_s" => {
                let done = r.thread("cycler")?.py_work.as_nanos() as f64;
                Some(done / work.as_nanos().max(1) as f64 / window.as_secs_f64())
            }
            "cycle_p50_ms" => quantile_ms(&cycles, 50.0),
            "cycle_p99_ms" => quantile_ms(&cycles, 99.0),
            "cpu_iter_per_s" if cpu > 0 => Some(cpu_rate(&r, profile, window)),
            _ => None,
        }
    })
}

/// The row's measuring window.
fn window_of(p: &Value) -> SimDuration {
    SimDuration::from_secs_f64(f(p, "window_s")).unwrap_or(SimDuration::secs(1))
}

/// CPU-bound competitors for the whole window: `cpu_threads` threads of the
/// measured interpreter or `cpu_processes` processes of their own. Returns
/// how many.
fn competitors(c: &mut SimConfig, p: &Value, window: SimDuration) -> u64 {
    let spin = || {
        vec![Step::LoopFor {
            dur: window,
            body: vec![Step::py(SimDuration::ms(10))],
        }]
    };
    let threads = u(p, "cpu_threads");
    for i in 0..threads {
        c.add_thread(&format!("cpu{i}"), InterpId(0), spin());
    }
    let processes = u(p, "cpu_processes");
    let gil = c.interpreters[0].gil.clone();
    let mut launch = Vec::new();
    for i in 0..processes {
        let (pid, interp) = c.add_process(&format!("cpu_proc{i}"), StartMethod::Fork, gil.clone());
        c.add_thread(&format!("cpu{}", threads + i), interp, spin());
        launch.push(Step::StartProcess(pid));
    }
    if !launch.is_empty() {
        c.add_thread("launcher", InterpId(0), launch);
    }
    threads + processes
}

/// Countdown iterations per second of the competitors (`cpu*` threads).
fn cpu_rate(r: &gilsim_engine::Report, profile: &Profile, window: SimDuration) -> f64 {
    let work: u64 = r
        .threads
        .iter()
        .filter(|t| t.name.starts_with("cpu"))
        .map(|t| t.py_work.as_nanos())
        .sum();
    work as f64 / profile.py_loop_ns_per_iter / window.as_secs_f64()
}

fn quantile_ms(h: &Histogram, q: f64) -> Option<f64> {
    (h.count() > 0).then(|| h.percentile(q).as_secs_f64() * 1e3)
}

/// The durations of a `[c(zlib, releases), py(work)]` cycle from a trace: a
/// cycle begins where the thread passes from running Python into
/// GIL-released native code.
fn cycle_durations(trace: &VecTrace, t: ThreadId) -> Histogram {
    let mut starts = Vec::new();
    let mut prev: Option<ThreadState> = None;
    for iv in trace.intervals.iter().filter(|iv| iv.thread == t) {
        if iv.state == ThreadState::NativeReleasedGil
            && matches!(prev, None | Some(ThreadState::Python))
        {
            starts.push(iv.start);
        }
        prev = Some(iv.state);
    }
    let mut h = Histogram::new();
    for w in starts.windows(2) {
        h.record(w[1] - w[0]);
    }
    h
}

/// An echo client next to CPU-bound competitors (`io_next_to_cpu`,
/// `echo_rtt`): a round trip is the client's Python, its `send` (a system
/// call of `send_cpu`, GIL released) and a `recv` of the echo, due a
/// latency after the send.
fn echo_client(
    profile: &Profile,
    p: &Value,
    metric: &str,
    seed: u64,
    send_cpu: SimDuration,
) -> Option<f64> {
    let mut c = base(profile, new_gil(f(p, "switch_interval_s")), seed);
    let window = window_of(p);
    c.limits.until = Some(SimTime::ZERO + window);
    let cpu = competitors(&mut c, p, window);
    // The measured round trip alone is the client's Python, its send system
    // call, the echo, and the wake-up of its core (a core idle for less than
    // `shallow_idle` wakes fast); the echo's latency is what remains.
    let os = &c.machine.os;
    let wake = if profile.loopback_rtt < os.shallow_idle {
        os.shallow_wake_latency
    } else {
        os.wake_latency
    };
    let echo = profile
        .loopback_rtt
        .saturating_sub(CLIENT_PY)
        .saturating_sub(send_cpu)
        .saturating_sub(wake);
    let latency = Dist::LogNormal {
        mean: echo,
        cv: profile.loopback_rtt_cv,
    };
    c.add_thread(
        "client",
        InterpId(0),
        vec![Step::LoopFor {
            dur: window,
            body: vec![
                Step::py(CLIENT_PY),
                Step::Send {
                    cpu: send_cpu,
                    latency,
                },
                Step::Recv,
            ],
        }],
    );
    let r = run(&c).ok()?;
    let rtt = r.thread("client")?.op_latency.of(OpKind::RoundTrip);
    match metric {
        "requests_per_s" => Some(r.thread("client")?.ops as f64 / window.as_secs_f64()),
        "rtt_p50_ms" => quantile_ms(rtt, 50.0),
        "rtt_p99_ms" => quantile_ms(rtt, 99.0),
        "cpu_iter_per_s" if cpu > 0 => Some(cpu_rate(&r, profile, window)),
        _ => None,
    }
}

/// `echo_clients`: `clients` threads of the measured interpreter, each
/// looping on a round trip to one single-threaded server of the model (its
/// own interpreter, so its own GIL, already running).
///
/// The server's CPU per request and the one-client round trip are the
/// profile's (`echo_server_cpu_us`, `echo_server_rtt_us`, one client): the
/// handler is that CPU less the `recv` and `send` system calls the model
/// charges itself, and the one-way network delay is what the model's
/// one-client round trip lacks of the measured one, halved. Nothing is taken
/// from the rows.
fn echo_clients(
    &Case {
        p, metric, profile, ..
    }: &Case,
) -> Option<f64> {
    let inputs = EchoInputs::of(profile)?;
    let window = window_of(p);
    mean_over_seeds(|seed| {
        let c = inputs.model(profile, u(p, "clients").max(1), window, seed);
        let r = run(&c).ok()?;
        let trips = client_round_trips(&r);
        // CPU time on a core (Python, native code, system calls) per request.
        let cpu_us = |server: bool| {
            let on_core: u64 = r
                .threads
                .iter()
                .filter(|t| (t.name == "server") == server)
                .map(|t| {
                    let s = &t.times;
                    (s.python + s.native_holding_gil + s.native_released_gil).as_nanos()
                })
                .sum();
            (trips.count() > 0).then(|| on_core as f64 / 1e3 / trips.count() as f64)
        };
        match metric {
            "requests_per_s" => Some(trips.count() as f64 / window.as_secs_f64()),
            "rtt_p50_ms" => quantile_ms(&trips, 50.0),
            "server_cpu_us_per_request" => cpu_us(true),
            "client_cpu_us_per_request" => cpu_us(false),
            _ => None,
        }
    })
}

/// The inputs of `echo_clients`, from the profile alone.
#[derive(Clone, Copy, Debug)]
pub struct EchoInputs {
    /// The server's Python per request: its measured CPU per request when
    /// busy (requests waiting, served back to back) less the `recv` and
    /// `send` system calls the model charges itself; for a profile without
    /// it, its CPU with one client (blocking for each request) less those and
    /// a blocking wait's CPU.
    pub handler: SimDuration,
    /// A 16-byte `send`, GIL released (client request and server reply).
    pub send: SimDuration,
    /// One-way network delay: what the model's one-client round trip with
    /// no delay lacks of the measured one, halved.
    pub network: SimDuration,
}

impl EchoInputs {
    /// `None` for a profile without the echo server's or the wake path's measurements.
    pub fn of(profile: &Profile) -> Option<EchoInputs> {
        let server = profile.echo_server?;
        let wake = profile.wake?;
        let mut inputs = EchoInputs {
            handler: match server.busy_cpu {
                // Served back to back: no sleep, no wake-up in it.
                Some(busy) => busy
                    .saturating_sub(wake.send)
                    .saturating_sub(wake.recv_ready),
                // With one client the server blocks for every request: its
                // CPU includes the sleep and the wake-up.
                None => server
                    .cpu
                    .saturating_sub(wake.send)
                    .saturating_sub(wake.recv_ready)
                    .saturating_sub(wake.block_cpu.unwrap_or(SimDuration::ZERO)),
            },
            send: wake.send,
            network: SimDuration::ZERO,
        };
        let alone = run(&inputs.model(profile, 1, SimDuration::ms(50), 0)).ok()?;
        let model_rtt = client_round_trips(&alone).mean();
        inputs.network = SimDuration(server.rtt.saturating_sub(model_rtt).0 / 2);
        Some(inputs)
    }

    /// `clients` threads of the measured interpreter, each looping on a round
    /// trip for `window`, to one single-threaded server (its own
    /// interpreter, so its own GIL, already running).
    fn model(&self, profile: &Profile, clients: u64, window: SimDuration, seed: u64) -> SimConfig {
        let mut c = base(profile, new_gil(0.0), seed);
        c.limits.until = Some(SimTime::ZERO + window);
        let l = c.add_listener("echo", Dist::Fixed(self.network));
        let own = c.add_interpreter(ProcessId(0), c.interpreters[0].gil.clone());
        let serve = vec![
            Step::Accept(l),
            Step::py(self.handler),
            Step::Respond { cpu: self.send },
        ];
        c.add_thread(
            "server",
            own,
            vec![Step::Repeat {
                times: u64::MAX,
                body: serve,
            }],
        );
        for i in 0..clients {
            let trip = vec![
                Step::py(CLIENT_PY),
                Step::Call {
                    listener: l,
                    cpu: self.send,
                },
                Step::Recv,
            ];
            c.add_thread(
                &format!("client{i}"),
                InterpId(0),
                vec![Step::LoopFor {
                    dur: window,
                    body: trip,
                }],
            );
        }
        c
    }
}

/// Every client's round trips.
fn client_round_trips(r: &Report) -> Histogram {
    let mut h = Histogram::new();
    for t in r.threads.iter().filter(|t| t.name.starts_with("client")) {
        h.merge(t.op_latency.of(OpKind::RoundTrip));
    }
    h
}

fn label(row: &MeasuredRow) -> String {
    let what = label_of_scenario(row);
    match row.params["check_interval"].as_u64() {
        Some(ticks) => format!("{what}, check interval {ticks}"),
        None => what,
    }
}

/// [`label`] without the old GIL's check interval.
fn label_of_scenario(row: &MeasuredRow) -> String {
    let p = &row.params;
    let ms = |k: &str| format!("{} ms", f(p, k) * 1e3);
    match row.scenario.as_str() {
        "subinterp_split" => format!("{} subinterpreters", u(p, "workers")),
        "cpu_split" => format!("{} {}", u(p, "workers"), p["mode"].as_str().unwrap_or("")),
        "io_next_to_cpu" => format!(
            "{} CPU threads, interval {}",
            u(p, "cpu_threads"),
            ms("switch_interval_s")
        ),
        "sleep_under_contention" => format!("{} CPU threads", u(p, "cpu_threads")),
        "echo_rtt" | "sleep_loop" | "zlib_py_cycle" => {
            let against = match (u(p, "cpu_threads"), u(p, "cpu_processes")) {
                (0, 0) => "alone".to_string(),
                (0, n) => format!("{n} CPU processes"),
                (n, _) => format!("{n} CPU threads"),
            };
            let client = p["client"].as_str().unwrap_or("worker thread");
            format!("{client}, {against}, interval {}", ms("switch_interval_s"))
        }
        "io_threads_scaling" => format!("{} threads", u(p, "threads")),
        "echo_clients" => match u(p, "clients") {
            1 => "1 client".to_string(),
            n => format!("{n} clients"),
        },
        "native_in_threads" => {
            format!("{} × {}", p["kind"].as_str().unwrap_or(""), u(p, "threads"))
        }
        "pool_startup" => format!(
            "{} {} × {}, {} {} tasks, chunksize {}",
            p["start"].as_str().unwrap_or(""),
            p["pool"].as_str().unwrap_or(""),
            u(p, "workers"),
            u(p, "n_tasks"),
            p["tasks"].as_str().unwrap_or(""),
            u(p, "chunksize")
        ),
        "pool_small_tasks" => format!(
            "{} pool, {} tasks",
            p["pool"].as_str().unwrap_or(""),
            p["tasks"].as_str().unwrap_or("")
        ),
        _ => p.to_string(),
    }
}

/// Predictions for every measured row the model covers.
pub fn compare(rows: &[MeasuredRow], profile: &Profile) -> Vec<Comparison> {
    compare_each(rows, profile).predicted
}

/// Every row, predicted or said to be not.
pub struct Compared {
    /// The rows the model predicts, with their predictions.
    pub predicted: Vec<Comparison>,
    /// The rows it does not (a scenario or metric it has no predictor for,
    /// parameters it cannot read, a run that fails): shown, never dropped.
    pub unpredicted: Vec<MeasuredRow>,
}

/// [`compare`], keeping the rows without a prediction.
pub fn compare_each(rows: &[MeasuredRow], profile: &Profile) -> Compared {
    let mut out = Compared {
        predicted: Vec::new(),
        unpredicted: Vec::new(),
    };
    for row in rows {
        match predict(row, profile) {
            Some(predicted) => out.predicted.push(Comparison {
                row: row.clone(),
                label: label(row),
                predicted,
            }),
            None => out.unpredicted.push(row.clone()),
        }
    }
    out
}

/// A paragraph naming the rows without a prediction (empty when there are none).
pub fn render_unpredicted(rows: &[MeasuredRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let names: Vec<String> = rows
        .iter()
        .map(|r| format!("{} ({}, {})", r.scenario, label(r), r.metric))
        .collect();
    format!(
        "\n**Not predicted** ({} measured row{} the model has no prediction for, left out of the numbers above): {}.\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        names.join("; ")
    )
}

/// (b − a) / |a|.
fn relative_change(a: f64, b: f64) -> f64 {
    (b - a) / a.abs().max(f64::MIN_POSITIVE)
}

/// -1, 0 or +1: how `b` compares with `a`, with a dead zone of ±`tol` (relative).
pub fn direction(a: f64, b: f64, tol: f64) -> i8 {
    let r = relative_change(a, b);
    if r > tol {
        1
    } else if r < -tol {
        -1
    } else {
        0
    }
}

/// One step within a scenario: which way the metric moves, measured and predicted.
#[derive(Clone, Debug)]
pub struct DirectionCheck {
    /// Scenario and metric.
    pub group: String,
    /// From which row to which.
    pub step: String,
    /// Measured direction.
    pub measured: i8,
    /// Predicted direction.
    pub predicted: i8,
    /// The two measured rows.
    pub rows: (MeasuredRow, MeasuredRow),
    /// The profile did not measure the wake path, and the predicted direction
    /// differs across the range its inputs may take (see [`bracket_wake_path`]).
    pub undecided: bool,
}

impl DirectionCheck {
    /// Whether the model predicts the measured direction.
    pub fn ok(&self) -> bool {
        self.measured == self.predicted
    }
}

/// Dead zone of the direction checks: changes smaller than 10% count as "the same".
pub const DIRECTION_TOLERANCE: f64 = 0.10;

/// Directions between consecutive rows of each scenario and metric (rows
/// sharing every parameter but one, in the order measured).
pub fn directions(cmp: &[Comparison]) -> Vec<DirectionCheck> {
    let mut out = Vec::new();
    for (i, a) in cmp.iter().enumerate() {
        let Some(b) = cmp[i + 1..].iter().find(|b| {
            b.row.scenario == a.row.scenario
                && b.row.metric == a.row.metric
                && differ_in_one(&a.row.params, &b.row.params)
        }) else {
            continue;
        };
        out.push(DirectionCheck {
            group: format!("{} {}", a.row.scenario, a.row.metric),
            step: format!("{} → {}", a.label, b.label),
            measured: direction(a.row.median, b.row.median, DIRECTION_TOLERANCE),
            predicted: direction(a.predicted, b.predicted, DIRECTION_TOLERANCE),
            rows: (a.row.clone(), b.row.clone()),
            undecided: false,
        });
    }
    out
}

/// For a profile without wake-path measurements, marks the directions that
/// the unmeasured race decides: predicted once with a shallow wake-up of
/// zero (the woken waiter always wins) and once as slow as a deep wake-up
/// (the thread re-taking the GIL after a short call always wins), a
/// direction that differs between the two is undecided.
pub fn bracket_wake_path(dirs: &mut [DirectionCheck], rows: &[MeasuredRow], profile: &Profile) {
    if profile.wake.is_some() {
        return;
    }
    let mut os = OsConfig::default();
    profile.apply_os(&mut os);
    let ends = [SimDuration::ZERO, os.wake_latency]
        .map(|shallow| directions(&compare(rows, &profile.with_shallow_wake(shallow))));
    for d in dirs.iter_mut() {
        let at = |end: &[DirectionCheck]| {
            end.iter()
                .find(|e| e.group == d.group && e.step == d.step)
                .map(|e| e.predicted)
        };
        d.undecided = at(&ends[0]) != at(&ends[1]);
    }
}

/// The same step measured in another run of the measurements: its relative
/// change and direction, if that run has both rows.
#[derive(Clone, Debug)]
pub struct Replicate {
    /// Relative change of the median from the first row to the second.
    pub change: f64,
    /// Its direction, by the same rule as the main measurement.
    pub direction: i8,
}

impl DirectionCheck {
    /// Relative change of the measured median over this step.
    pub fn change(&self) -> f64 {
        relative_change(self.rows.0.median, self.rows.1.median)
    }

    /// Whether `other` measures this step the same way (whether the measured
    /// direction is a fact of the machine rather than of one run).
    pub fn repeats_in(&self, other: &[MeasuredRow]) -> bool {
        self.replicate(other)
            .is_some_and(|r| r.direction == self.measured)
    }

    /// This step in `other` (another measurement run of the same scenarios).
    pub fn replicate(&self, other: &[MeasuredRow]) -> Option<Replicate> {
        // The one row of `other` with this configuration (none if ambiguous).
        let find = |r: &MeasuredRow| {
            let mut same = other.iter().filter(|o| same_config(o, r));
            match (same.next(), same.next()) {
                (Some(o), None) => Some(o),
                _ => None,
            }
        };
        let (a, b) = (find(&self.rows.0)?, find(&self.rows.1)?);
        Some(Replicate {
            change: relative_change(a.median, b.median),
            direction: direction(a.median, b.median, DIRECTION_TOLERANCE),
        })
    }
}

/// Parameters derived from a varied one (work sizes sized per run on the
/// host), not compared between rows.
const DERIVED: [&str; 4] = [
    "n_per_worker",
    "units_per_thread",
    "chunksize",
    "start_method",
];

/// Work sizes each measurement run picks for its host's speed: two runs of
/// the same configuration differ in them.
const SIZED: [&str; 7] = [
    "n_total",
    "n_per_worker",
    "work_iters",
    "work_s_nominal",
    "units",
    "units_per_thread",
    "task_iters",
];

/// How many keys, other than `ignored` ones, two parameter maps differ in.
fn differences(a: &Value, b: &Value, ignored: &[&str]) -> Option<usize> {
    let (Some(ma), Some(mb)) = (a.as_object(), b.as_object()) else {
        return None;
    };
    let keys: std::collections::BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
    Some(
        keys.iter()
            .filter(|k| !ignored.contains(&k.as_str()) && ma.get(**k) != mb.get(**k))
            .count(),
    )
}

/// Whether two parameter maps differ in exactly one varied key (derived work
/// sizes such as `n_per_worker` and `units_per_thread` follow the varied one).
fn differ_in_one(a: &Value, b: &Value) -> bool {
    differences(a, b, &DERIVED) == Some(1)
}

/// Whether two rows of two runs measure the same configuration (up to the
/// work sizes each run picks for its host).
fn same_config(a: &MeasuredRow, b: &MeasuredRow) -> bool {
    a.scenario == b.scenario
        && a.metric == b.metric
        && differences(&a.params, &b.params, &SIZED) == Some(0)
}

/// Median of |relative error|.
pub fn median_abs_error(cmp: &[Comparison]) -> f64 {
    let mut e: Vec<f64> = cmp.iter().map(|c| c.rel_error().abs()).collect();
    e.sort_by(f64::total_cmp);
    match e.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => e[n / 2],
        n => (e[n / 2 - 1] + e[n / 2]) / 2.0,
    }
}

fn fmt_value(x: f64) -> String {
    if x.abs() >= 1000.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

fn arrow(d: i8) -> &'static str {
    match d {
        1 => "grows",
        -1 => "shrinks",
        _ => "same",
    }
}

/// Rows further off than this are misses; the page counts the rows within it.
pub const ROW_TOLERANCE: f64 = 0.15;

/// Issue 12's targets for the wake-path set: the median |error|, every row
/// next to two CPU-bound threads, every p99 row.
pub const WAKE_MEDIAN_TARGET: f64 = 0.05;
/// See [`WAKE_MEDIAN_TARGET`].
pub const WAKE_TWO_CPU_TOLERANCE: f64 = 0.20;
/// See [`WAKE_MEDIAN_TARGET`].
pub const WAKE_P99_TOLERANCE: f64 = 0.25;

/// The group a row is drawn in: its scenario and metric.
fn group_of(c: &Comparison) -> String {
    format!("{}: {}", c.row.scenario, c.row.metric)
}

/// The rows' points `(measured, y(row))`, one group per scenario and metric,
/// in the order the groups first appear.
fn grouped(cmp: &[Comparison], y: impl Fn(&Comparison) -> f64) -> Vec<(String, Vec<(f64, f64)>)> {
    let mut groups: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for c in cmp {
        let (name, point) = (group_of(c), (c.row.median, y(c)));
        match groups.iter_mut().find(|g| g.0 == name) {
            Some(g) => g.1.push(point),
            None => groups.push((name, vec![point])),
        }
    }
    groups
}

/// The figure: predicted against measured, log–log, one series per scenario,
/// with the line of perfect prediction.
pub fn figure(cmp: &[Comparison]) -> gilsim_plots::Figure {
    use gilsim_plots::*;
    let groups = grouped(cmp, |c| c.predicted);
    let (lo, hi) = cmp.iter().fold((f64::MAX, f64::MIN), |(lo, hi), c| {
        (
            lo.min(c.row.median).min(c.predicted),
            hi.max(c.row.median).max(c.predicted),
        )
    });
    let mut series: Vec<LineSeries> = groups
        .into_iter()
        .map(|(n, pts)| LineSeries::new(n, pts))
        .collect();
    series.push(
        LineSeries::new("perfect prediction", vec![(lo, lo), (hi, hi)])
            .with_color(okabe_ito::BLACK),
    );
    let mut chart = LineChart::new(series).with_log_axes(true, true);
    chart.markers = true;
    Figure::new(
        "gilsim's predictions against real CPython",
        "measured (unit of each metric)",
        "predicted (same unit)",
        chart,
    )
}

/// A tolerance band drawn on a residual figure: ±`tolerance`, the limit
/// for the rows `applies` selects.
pub struct Band {
    /// The relative error, as a fraction (0.15 for ±15%).
    pub tolerance: f64,
    /// Which rows it is the limit for ("every row", "p99 rows").
    pub rows: &'static str,
    /// Selects those rows.
    pub applies: fn(&Comparison) -> bool,
}

impl Band {
    /// (rows it applies to that are within it, rows it applies to).
    pub fn count(&self, cmp: &[Comparison]) -> (usize, usize) {
        let rows: Vec<&Comparison> = cmp.iter().filter(|c| (self.applies)(c)).collect();
        let inside = rows
            .iter()
            .filter(|c| c.rel_error().abs() <= self.tolerance)
            .count();
        (inside, rows.len())
    }
}

/// Predictions off by more than this factor either way would squash the
/// other rows on a linear axis of percent errors: a residual figure with
/// such a row shows the ratio predicted ÷ measured on a log axis instead.
pub const PERCENT_AXIS_MAX_RATIO: f64 = 2.0;

/// How a residual figure shows each row's error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorAxis {
    /// (predicted − measured) / measured in percent, linear.
    Percent,
    /// predicted ÷ measured, logarithmic.
    Ratio,
}

impl ErrorAxis {
    /// The axis for `cmp`: percent unless a row is off by more than
    /// [`PERCENT_AXIS_MAX_RATIO`] either way (and every ratio can be logged).
    pub fn for_rows(cmp: &[Comparison]) -> ErrorAxis {
        let ratios = cmp.iter().map(|c| c.predicted / c.row.median);
        let positive = cmp.iter().all(|c| c.predicted / c.row.median > 0.0);
        let wide = ratios
            .clone()
            .any(|r| !(1.0 / PERCENT_AXIS_MAX_RATIO..=PERCENT_AXIS_MAX_RATIO).contains(&r));
        if wide && positive {
            ErrorAxis::Ratio
        } else {
            ErrorAxis::Percent
        }
    }

    /// Where a row with relative error `e` (a fraction) is drawn.
    fn y(self, e: f64) -> f64 {
        match self {
            ErrorAxis::Percent => 100.0 * e,
            ErrorAxis::Ratio => 1.0 + e,
        }
    }

    fn label(self) -> &'static str {
        match self {
            ErrorAxis::Percent => "relative error of the prediction (%)",
            ErrorAxis::Ratio => "predicted ÷ measured (log scale)",
        }
    }

    /// What the caption says is plotted.
    fn caption(self) -> &'static str {
        match self {
            ErrorAxis::Percent => "Signed relative error, (predicted − measured) / measured,",
            ErrorAxis::Ratio => "Ratio predicted ÷ measured (log scale, so that +100% and −50% lie equally far from exact)",
        }
    }
}

/// The residual figure: each row's error against its measured value (log
/// x), one marker and colour per scenario and metric, dashed lines at exact
/// and at ± each band's tolerance. A scatter: rows of one group are separate
/// measurements, not a curve.
pub fn residual_figure(cmp: &[Comparison], title: &str, bands: &[Band]) -> gilsim_plots::Figure {
    use gilsim_plots::*;
    let axis = ErrorAxis::for_rows(cmp);
    let series: Vec<LineSeries> = grouped(cmp, |c| axis.y(c.rel_error()))
        .into_iter()
        .map(|(n, pts)| LineSeries::new(n, pts))
        .collect();
    let mut chart = LineChart::new(series)
        .with_log_axes(true, axis == ErrorAxis::Ratio)
        .scatter();
    chart.reference_lines.push((axis.y(0.0), "exact".into()));
    for b in bands {
        let pct = 100.0 * b.tolerance;
        chart.reference_lines.push((
            axis.y(b.tolerance),
            format!("+{pct:.0}% target ({})", b.rows),
        ));
        chart.reference_lines.push((
            axis.y(-b.tolerance),
            format!("−{pct:.0}% target ({})", b.rows),
        ));
    }
    Figure::new(
        title,
        "measured value (unit of each metric, log scale)",
        axis.label(),
        chart,
    )
}

/// How many rows of `cmp` are within ±`tolerance`.
fn rows_within(cmp: &[Comparison], tolerance: f64) -> usize {
    cmp.iter()
        .filter(|c| c.rel_error().abs() <= tolerance)
        .count()
}

/// The row furthest off, as "scenario metric, parameters (+x%)".
fn worst_row(cmp: &[Comparison]) -> Option<String> {
    let w = cmp
        .iter()
        .max_by(|a, b| a.rel_error().abs().total_cmp(&b.rel_error().abs()))?;
    Some(format!(
        "{} {}, {} ({:+.1}%)",
        w.row.scenario,
        w.row.metric,
        w.label,
        100.0 * w.rel_error()
    ))
}

/// The alt text and caption (without its number) of a residual figure:
/// what is plotted, from how many rows and groups, how many rows each band
/// holds, and the row furthest off.
pub fn residual_caption(cmp: &[Comparison], bands: &[Band]) -> (String, String) {
    let groups = grouped(cmp, |_| 0.0).len();
    let lines: Vec<String> = bands
        .iter()
        .map(|b| format!("±{:.0}%", 100.0 * b.tolerance))
        .collect();
    let inside: Vec<String> = bands
        .iter()
        .map(|b| {
            let (inside, of) = b.count(cmp);
            format!(
                "±{:.0}% ({}): {inside} of {of} inside",
                100.0 * b.tolerance,
                b.rows
            )
        })
        .collect();
    let alt = format!(
        "Scatter of the error of each of {} predicted rows against the measured value, \
{groups} groups, with dashed lines at exact and {}",
        cmp.len(),
        lines.join(" and ")
    );
    let caption = format!(
        "{} of each of the {} rows against its measured value (log scale, in the unit of each metric), one \
marker and colour per scenario and metric ({groups} groups); dashed lines at exact and {}. {}. Furthest off: {}.",
        ErrorAxis::for_rows(cmp).caption(),
        cmp.len(),
        lines.join(" and "),
        capitalise_first(&inside.join("; ")),
        worst_row(cmp).unwrap_or_else(|| "no row".into())
    );
    (alt, caption)
}

/// A residual figure on the page: the image with its alt text, then its
/// numbered caption.
pub(super) fn residual_markdown(
    number: usize,
    cmp: &[Comparison],
    bands: &[Band],
    path: &str,
) -> String {
    let (alt, caption) = residual_caption(cmp, bands);
    format!("![{alt}]({path})\n\n*Figure {number}. {caption}*\n\n")
}

/// `s` with its first letter in upper case.
fn capitalise_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The bands of the main set: the page's row tolerance.
pub fn main_bands() -> [Band; 1] {
    [Band {
        tolerance: ROW_TOLERANCE,
        rows: "every row",
        applies: |_| true,
    }]
}

/// Issue 13's target for pool start-up rows: within 20%.
pub const POOLS_TOLERANCE: f64 = 0.20;

/// The bands of the pools set: every row within [`POOLS_TOLERANCE`].
pub fn pools_bands() -> [Band; 1] {
    [Band {
        tolerance: POOLS_TOLERANCE,
        rows: "every row",
        applies: |_| true,
    }]
}

/// The bands of the wake-path set: issue 12's row targets.
pub fn wake_bands() -> [Band; 2] {
    [
        Band {
            tolerance: WAKE_TWO_CPU_TOLERANCE,
            rows: "rows next to two CPU-bound threads",
            applies: |c| u(&c.row.params, "cpu_threads") == 2,
        },
        Band {
            tolerance: WAKE_P99_TOLERANCE,
            rows: "p99 rows",
            applies: |c| c.row.metric.contains("p99"),
        },
    ]
}

/// What the model lacks where it misses a scenario.
fn why(scenario: &str, metric: &str) -> &'static str {
    match (scenario, metric) {
        ("pool_small_tasks", _) => "The model charges each task the executor's bookkeeping measured single-threaded (`concurrent.futures` submit, run and collect; one `multiprocessing` queue message at each end, beside pickling), without which tiny tasks came out several times too fast. They are still too fast: in a thread pool the caller and four workers hand each task and result over through a queue and a `Future` with its condition variable, waking each other, which a single thread does not measure; `multiprocessing.Pool` also moves tasks and results through two handler threads in the parent, and its workers take turns on one lock to read the task pipe. Large tasks, where that overhead is negligible, are predicted within 15%.",
        ("io_next_to_cpu", "cpu_iter_per_s") | (_, "cpu_iter_per_s") => "This reference VM changes its own speed by up to ±30% for seconds at a time (calibration/README.md); the measured CPU rates move within that noise, while the model predicts the small cost of each GIL hand-off.",
        ("io_next_to_cpu", _) => "The client is a `send` (its system call, GIL released, as measured) and a `recv` of a reply due a round trip after the send; both release the GIL, and whether the woken waiter or the client takes it back first is a race between the waiter's wake-up and the client's system call. This profile did not measure that race, so the model runs on the OS defaults; the directions it decides are marked \"?\". The wake-path set below, with the race's inputs measured on its host, shows the client losing the GIL in both calls next to one CPU-bound thread (two intervals per round trip), as measured there; this run's host lost it about once. With two CPU-bound threads the model's client waits longer than the real one: its timed waits and the CPU-bound threads' fall into step, and the waiter that times out first is not the one the next signal wakes (docs/model.md, the wake path).",
        ("echo_rtt", m) if m.starts_with("rtt") || m == "requests_per_s" => "The echo peer is a delay taken from the 1-byte round trip to a blocking echo server; the measured peer is a single-threaded `selectors` server whose own Python work (its `select`, `recv` and `send`) the model does not run, so a client alone is too fast by about that work. With two CPU-bound threads the model's client waits longer than the real one: its timed waits and the CPU-bound threads' fall into step, and the waiter that times out first is not the one the next signal wakes. Next to CPU-bound processes, the model's client and server preempt them at once, with no wake-up latency, while the real ones sometimes wait up to a scheduler slice (the measured p99 of ~2 ms).",
        ("sleep_under_contention", _) | ("sleep_loop", _) => "As for io_next_to_cpu: with two CPU-bound threads the model's sleeper, whose wake-ups fall into step with the CPU-bound threads' timed waits, loses more races for the GIL than the real one.",
        ("echo_clients", _) => "The CPU rows show where the time goes. The model charges each request the server's busy CPU (measured single-threaded with requests waiting on 16 connections) plus, whenever a thread blocked, the CPU of blocking and being woken (measured by a pipe ping-pong): so its server spends more per request with one client, which blocks every time, than with many, as the measured one does. At load, though, both the real server and the real clients spend more CPU per request than their single-threaded measurements, and the clients' cost grows with their number (64 threads of one interpreter contend for its GIL after every `recv`, each hand-off a futex wake and a condition signal), which the model does not charge: its plateau is too high and does not fall with many clients. With one client the model's round trip is too long: it charges the whole cost of blocking when the server wakes, before it replies, while the real server goes to sleep after sending its reply; the network delay, derived from that round trip, comes out as zero.",
        ("pool_startup", _) => "Three mechanisms, measured by a phase-by-phase run of the same pools on the same host (construct, first task, the other tasks, shutdown; calibration/README.md, the pools run). (1) A cold pool's **shutdown** joins its workers: 0.05–0.2 ms for a thread pool, but 1.4–3.9 ms for one or four worker processes (each child's exit, its address space torn down, and the parent's `join`, one worker after another). The model has no exit: it charges a trivial process's whole life, from `start()` to `join()` (the profile's process start), when the process starts, half to the parent and half to the child, so the children's share overlaps other work and a process finishes when its last thread does; the real exits come after the work, in series in the parent. The parent's real `fork()` call, 1.4 ms here (`fork_rss_ms` at 0 MiB), is less than the half the model charges, which hides part of this miss. (2) Warm pools' **tiny tasks** cost 13 µs each in a thread pool, 32 µs in `multiprocessing.Pool` and 128 µs in `ProcessPoolExecutor` (chunksize 1), against the 5–8 µs of single-threaded bookkeeping the model charges: in the parent, each task and result passes between threads — the pool's task and result handler threads, or the executor's management thread and its call queue's feeder thread — each hand-off a futex wake-up and a GIL hand-over, which the model does not run as threads. (3) The rows ran while the host was slower than when the profile was measured: the driver's speed probe around the rows read 26–40 ns per loop iteration against the profile's 24 (calibration/README.md), which is why even the rows of 16 countdowns of ~10 ms, where start-up and bookkeeping are small, come out 19–35% fast. The tasks' pickled sizes are measured with each row (a chunk of 125 small ints pickles to 300 bytes; an earlier run's assumed 64 bytes per task made large chunks 1.6–3× too slow). What would reach the target: a process's exit and join as a measured cost of the child's last thread; the pools' parent-side threads (handler, management, feeder) as threads of the model, so their hand-offs pay the wake-up and GIL costs the model already has; the rows predicted at the host speed of their own moment (a probe per row in a worker thread, as the versions set now does).",
        _ => "Not analysed yet.",
    }
}

/// Where the page's figures are, relative to the page.
pub struct FigurePaths<'a> {
    /// Predicted against measured (log–log).
    pub scatter: &'a str,
    /// Relative error against measured.
    pub residuals: &'a str,
}

/// The figure of predicted against measured on the page, with its caption.
fn scatter_markdown(number: usize, cmp: &[Comparison], path: &str) -> String {
    let groups = grouped(cmp, |_| 0.0).len();
    let (lo, hi) = cmp.iter().fold((f64::MAX, f64::MIN), |(lo, hi), c| {
        (lo.min(c.row.median), hi.max(c.row.median))
    });
    let decades = (hi / lo).log10();
    format!(
        "![Predicted against measured value of each of {} rows, log–log, {groups} groups, with the line of perfect \
prediction]({path})\n\n*Figure {number}. Predicted against measured value of each of the {} rows, both on log scales \
(in the unit of each metric), one marker and colour per scenario and metric ({groups} groups), with the line of \
perfect prediction. The measured values span {decades:.1} decades, so errors of tens of percent are hard to see \
here: Figure {} shows them.*\n\n",
        cmp.len(),
        cmp.len(),
        number - 1
    )
}

/// docs/validation.md.
pub fn render_markdown(
    cmp: &[Comparison],
    dirs: &[DirectionCheck],
    profile: &Profile,
    figures: &FigurePaths,
    replicate: Option<(&str, &[MeasuredRow])>,
) -> String {
    let mut s = String::new();
    let mae = median_abs_error(cmp);
    let within = rows_within(cmp, ROW_TOLERANCE);
    let dir_ok = dirs.iter().filter(|d| d.ok()).count();
    s.push_str("# Validation: gilsim against real CPython\n\n");
    s.push_str("<!-- Generated by `cargo run --release -- validate`; do not edit by hand. -->\n\n");
    s.push_str(&format!(
        "The model is calibrated from single-thread measurements of the reference machine \
(profile `{}`: {} cores, a pure-Python loop iteration {:.1} ns, sleep overshoot {}, loopback round trip {}, \
zlib {:.0} MB/s, sha256 {:.0} MB/s, thread start {}, fork/spawn/forkserver {} / {} / {}). \
It then predicts multi-thread outcomes it was not fitted to, measured on the same machine by \
`calibration/measure_validation.py` (see `calibration/README.md` for each workload).\n\n",
        profile.name,
        profile.cpu_count,
        profile.py_loop_ns_per_iter,
        profile.sleep_overshoot,
        profile.loopback_rtt,
        profile.zlib_bytes_per_sec / 1e6,
        profile.sha256_bytes_per_sec / 1e6,
        profile.thread_start,
        profile.process_start[0],
        profile.process_start[1],
        profile.process_start[2],
    ));
    s.push_str(&format!(
        "**Summary.** {} rows compared; median absolute relative error **{:.1}%** (target ≤ {tol:.0}%); \
{} of {} rows within {tol:.0}%; **{} of {}** measured directions predicted right \
(a change under {:.0}% counts as \"same\").\n\n",
        cmp.len(),
        mae * 100.0,
        within,
        cmp.len(),
        dir_ok,
        dirs.len(),
        DIRECTION_TOLERANCE * 100.0,
        tol = ROW_TOLERANCE * 100.0,
    ));
    push_undecided(&mut s, dirs, profile);
    s.push_str(&residual_markdown(1, cmp, &main_bands(), figures.residuals));
    s.push_str(&scatter_markdown(2, cmp, figures.scatter));
    if let Some((name, rows)) = replicate {
        let repeated: Vec<&DirectionCheck> = dirs.iter().filter(|d| d.repeats_in(rows)).collect();
        s.push_str(&format!(
            "**{} of {}** directions measured the same way again in a second run ({name}) are \
predicted right ({} of them changes beyond the dead zone); the others are listed below with both \
runs' values.\n\n",
            repeated.iter().filter(|d| d.ok()).count(),
            repeated.len(),
            repeated.iter().filter(|d| d.measured != 0).count()
        ));
    }
    push_comparison_table(&mut s, cmp);
    s.push_str("\n## Where the model misses, and why\n\n");
    push_misses(&mut s, cmp);
    for d in dirs.iter().filter(|d| !d.ok()) {
        let again = match replicate.and_then(|(name, rows)| Some((name, d.replicate(rows)?))) {
            Some((name, r)) => format!(
                " The same step measured in {name}: {:+.1}% ({}){}.",
                r.change * 100.0,
                arrow(r.direction),
                if r.direction == d.predicted {
                    ", as predicted"
                } else {
                    ""
                }
            ),
            None => String::new(),
        };
        s.push_str(&format!(
            "- **direction {}**, {}: measured {:+.1}% ({}), predicted {}. {}{again}\n",
            d.group,
            d.step,
            d.change() * 100.0,
            arrow(d.measured),
            arrow(d.predicted),
            why(
                d.group.split(' ').next().unwrap_or(""),
                d.group.split(' ').nth(1).unwrap_or("")
            )
        ));
    }
    s.push_str("\n## Directions\n\n");
    push_directions_table(&mut s, dirs);
    if let Some((name, rows)) = replicate {
        render_replication(&mut s, dirs, name, rows);
    }
    s
}

/// Says which directions the profile's unmeasured wake path decides.
fn push_undecided(s: &mut String, dirs: &[DirectionCheck], profile: &Profile) {
    let undecided: Vec<&DirectionCheck> = dirs.iter().filter(|d| d.undecided).collect();
    if undecided.is_empty() {
        return;
    }
    s.push_str(&format!(
        "Profile `{}` did not measure the wake path (who wins the GIL when a thread releases it \
for a short system call), and **{} of {}** directions depend on it: predicted with the shallow \
wake-up at zero and at the deep wake-up latency, they come out differently ({}). They are marked \
\"?\" below; the wake-path set further down has the measured inputs.\n\n",
        profile.name,
        undecided.len(),
        dirs.len(),
        undecided
            .iter()
            .map(|d| format!("{}, {}", d.group, d.step))
            .collect::<Vec<_>>()
            .join("; ")
    ));
}

/// The directions measured again in another run: which of them repeat.
fn render_replication(s: &mut String, dirs: &[DirectionCheck], name: &str, rows: &[MeasuredRow]) {
    let pairs: Vec<(&DirectionCheck, Replicate)> = dirs
        .iter()
        .filter_map(|d| Some((d, d.replicate(rows)?)))
        .collect();
    let repeat = pairs
        .iter()
        .filter(|(d, r)| d.measured == r.direction)
        .count();
    let changes = pairs
        .iter()
        .filter(|(d, r)| d.measured == r.direction && d.measured != 0)
        .count();
    let right = pairs
        .iter()
        .filter(|(d, r)| d.predicted == r.direction)
        .count();
    s.push_str(&format!(
        "\n## Do the measured directions repeat?\n\nThe same scenarios measured in another run, \
{name}, by the same rule: {repeat} of {} directions repeat ({changes} changes beyond the dead \
zone, {} \"same\" in both runs); the model predicts {right} of the {} directions of that run.\n\n\
| scenario | step | this run | other run | repeats |\n|---|---|---|---|---|\n",
        pairs.len(),
        repeat - changes,
        pairs.len()
    ));
    for (d, r) in &pairs {
        s.push_str(&format!(
            "| {} | {} | {:+.1}% ({}) | {:+.1}% ({}) | {} |\n",
            d.group,
            d.step,
            d.change() * 100.0,
            arrow(d.measured),
            r.change * 100.0,
            arrow(r.direction),
            if d.measured == r.direction {
                "yes"
            } else {
                "no"
            }
        ));
    }
}

/// The table of measured against predicted values, one row per comparison.
pub(super) fn push_comparison_table(s: &mut String, cmp: &[Comparison]) {
    s.push_str("| scenario | parameters | metric | measured | predicted | relative error | quiet |\n|---|---|---|---:|---:|---:|---|\n");
    for c in cmp {
        s.push_str(&format!(
            "| {} | {} | {} ({}) | {} | {} | {:+.1}% | {} |\n",
            c.row.scenario,
            c.label,
            c.row.metric,
            c.row.unit,
            fmt_value(c.row.median),
            fmt_value(c.predicted),
            c.rel_error() * 100.0,
            if c.row.quiet { "yes" } else { "no" }
        ));
    }
}

/// The wake-path set's section: its own profile (same host, same session),
/// its summary against issue 12's targets, its rows and directions.
pub fn render_wake_set(
    cmp: &[Comparison],
    dirs: &[DirectionCheck],
    profile: &Profile,
    name: &str,
    figure_path: &str,
) -> String {
    let mut s = String::from("\n## The wake-path set\n\n");
    let wake = profile.wake;
    s.push_str(&format!(
        "Who gets the GIL next, measured by `calibration/measure_validation.py --only echo_rtt,sleep_loop,zlib_py_cycle` \
({name}) and predicted from the profile `{}` measured on the same host in the same session: a pure-Python loop \
iteration {:.1} ns, loopback round trip {}, sleep overshoot {}; the wake path: a futex wake-up onto a CPU that \
idled briefly {}, a ready 16-byte `recv` {}, a 16-byte `send` {}; wake-ups spread log-normally with shape σ {} \
after a brief idle and {} after 5 ms. Nothing here is fitted to these rows.\n\n",
        profile.name,
        profile.py_loop_ns_per_iter,
        profile.loopback_rtt,
        profile.sleep_overshoot,
        wake.map_or("(not measured)".to_string(), |w| w.shallow.to_string()),
        wake.map_or("(not measured)".to_string(), |w| w.recv_ready.to_string()),
        wake.map_or("(not measured)".to_string(), |w| w.send.to_string()),
        sigma(wake.and_then(|w| w.shallow_spread)),
        sigma(wake.and_then(|w| w.spread)),
    ));
    let bands = wake_bands();
    let targets = band_counts(&bands, cmp);
    s.push_str(&format!(
        "**Summary.** {} rows; median absolute relative error **{:.1}%** (target ≤ {:.0}%); {}; measured \
directions predicted right: **{} of {}**.\n\n",
        cmp.len(),
        median_abs_error(cmp) * 100.0,
        100.0 * WAKE_MEDIAN_TARGET,
        targets.join("; "),
        dirs.iter().filter(|d| d.ok()).count(),
        dirs.len(),
    ));
    s.push_str(&residual_markdown(3, cmp, &bands, figure_path));
    push_comparison_table(&mut s, cmp);
    s.push_str("\n### Where the wake-path set misses, and why\n\n");
    push_misses(&mut s, cmp);
    s.push_str("\n### Directions in the wake-path set\n\n");
    push_directions_table(&mut s, dirs);
    s
}

/// The servers set (gilsim issue 13): `clients` threads against one
/// single-threaded echo server process, measured with its own profile.
pub fn render_servers_set(
    cmp: &[Comparison],
    dirs: &[DirectionCheck],
    profile: &Profile,
    name: &str,
    figure_path: &str,
) -> String {
    let mut s = String::from("\n## The servers set\n\n");
    let inputs = EchoInputs::of(profile);
    let show = |f: fn(&EchoInputs) -> SimDuration| {
        inputs.map_or("(not measured)".to_string(), |i| f(&i).to_string())
    };
    s.push_str(&format!(
        "1 to 64 client threads of one interpreter, each looping on a 16-byte round trip to one single-threaded \
`selectors` echo server in another process, measured by `calibration/measure_validation.py --only echo_clients` \
({name}) and predicted with the server inside the model (`add_listener`, `accept`, `respond`: its own CPU under \
its own GIL, one request at a time). The profile `{}`, measured on the same host in the same session, gives the \
inputs: the server's CPU per request when busy {} (requests waiting on 16 connections, served back to back) \
and with one client {}, and that client's round trip {}; the CPU of blocking and being woken {}; so the server's \
Python per request is {} (the busy CPU less a 16-byte `send` {} and a ready `recv` {}, which the model charges \
itself), and the one-way network delay is {} (what the model's one-client round trip with no delay lacks of the \
measured one, halved). A pure-Python loop iteration {:.1} ns. Nothing here is fitted to these rows.\n\n",
        profile.name,
        profile
            .echo_server
            .and_then(|e| e.busy_cpu)
            .map_or("(not measured)".to_string(), |d| d.to_string()),
        profile.echo_server.map_or("(not measured)".to_string(), |e| e.cpu.to_string()),
        profile.echo_server.map_or("(not measured)".to_string(), |e| e.rtt.to_string()),
        profile
            .wake
            .and_then(|w| w.block_cpu)
            .map_or("(not measured: 0)".to_string(), |b| b.to_string()),
        show(|i| i.handler),
        show(|i| i.send),
        profile.wake.map_or("(not measured)".to_string(), |w| w.recv_ready.to_string()),
        show(|i| i.network),
        profile.py_loop_ns_per_iter,
    ));
    let bands = main_bands();
    s.push_str(&summary_line(cmp, dirs, ROW_TOLERANCE));
    s.push_str(&residual_markdown(4, cmp, &bands, figure_path));
    push_comparison_table(&mut s, cmp);
    s.push_str("\n### Where the servers set misses, and why\n\n");
    push_misses(&mut s, cmp);
    s.push_str("\n### Directions in the servers set\n\n");
    push_directions_table(&mut s, dirs);
    s
}

/// The pools set's section: thread and process pools started cold (W = 1,
/// 2, 4, 8) and warm, predicted from their own profile.
pub fn render_pools_set(
    cmp: &[Comparison],
    dirs: &[DirectionCheck],
    profile: &Profile,
    name: &str,
    figure_path: &str,
) -> String {
    let mut s = String::from("\n## The pools set\n\n");
    let ps = &profile.pool_startup;
    let constructors = ps.construct.map_or("(not measured)".to_string(), |[t, p, pool]| {
        format!("`ThreadPoolExecutor` {t}, `ProcessPoolExecutor` {p}, `multiprocessing.Pool` beyond its workers {pool}")
    });
    s.push_str(&format!(
        "`ThreadPoolExecutor`, `multiprocessing.Pool` and `ProcessPoolExecutor` (fork context) with W = 1, 2, 4 and 8 \
workers started **cold** (the clock covers the constructor, one map of 4·W tiny tasks and the shutdown) and W = 4 \
**warm** (started and warmed up before the clock; one map of 2000 tiny tasks or 16 countdowns of about 10 ms, \
chunksize 1 and a larger one), measured by `calibration/measure_validation.py --only pool_startup` ({name}) and \
predicted from the profile `{}`, measured on the same host in the same session. Its inputs: the constructors \
({constructors}); a fork's extra cost per GiB of the parent's resident memory {}; a thread's start {}; a \
process's start by fork, from `start()` to `join()` of a process that does nothing, {}; the executor's \
bookkeeping per task (submit, run, collect) {}; \
one end of a queue message {}; a pure-Python loop iteration {:.1} ns. A tiny task is 1 µs of Python, as in \
`pool_small_tasks`; arguments and results pickle to the sizes measured with each row (`arg_bytes`, \
`result_bytes`: the pickle of the row's items over their number). Nothing here is fitted to these rows. Target \
(issue 13): every row within {:.0}%.\n\n",
        profile.name,
        ps.fork_per_gib.map_or("(not measured)".to_string(), |d| d.to_string()),
        profile.thread_start,
        profile.process_start[0],
        profile.executor.map_or("(not measured)".to_string(), |[a, b, c]| format!("{a}, {b}, {c}")),
        profile.ipc_message.map_or("(not measured)".to_string(), |d| d.to_string()),
        profile.py_loop_ns_per_iter,
        POOLS_TOLERANCE * 100.0,
    ));
    s.push_str(&summary_line(cmp, dirs, POOLS_TOLERANCE));
    s.push_str(&residual_markdown(6, cmp, &pools_bands(), figure_path));
    push_comparison_table(&mut s, cmp);
    s.push_str("\n### Where the pools set misses, and why\n\n");
    push_misses_beyond(&mut s, cmp, POOLS_TOLERANCE);
    s.push_str("\n### Directions in the pools set\n\n");
    push_directions_table(&mut s, dirs);
    s
}

/// A set's summary: rows, median error, rows within `tolerance`, directions right.
fn summary_line(cmp: &[Comparison], dirs: &[DirectionCheck], tolerance: f64) -> String {
    format!(
        "**Summary.** {} rows; median absolute relative error **{:.1}%**; within {:.0}%: **{} of {}**; measured \
directions predicted right: **{} of {}**.\n\n",
        cmp.len(),
        median_abs_error(cmp) * 100.0,
        100.0 * tolerance,
        rows_within(cmp, tolerance),
        cmp.len(),
        dirs.iter().filter(|d| d.ok()).count(),
        dirs.len(),
    )
}

/// "ROWS within T%: **k of n**" for each band.
pub(super) fn band_counts(bands: &[Band], cmp: &[Comparison]) -> Vec<String> {
    bands
        .iter()
        .map(|b| {
            let (inside, of) = b.count(cmp);
            format!(
                "{} within {:.0}%: **{inside} of {of}**",
                b.rows,
                100.0 * b.tolerance
            )
        })
        .collect()
}

/// One line per scenario and metric with rows off by more than the row tolerance: which, and why.
fn push_misses(s: &mut String, cmp: &[Comparison]) {
    push_misses_beyond(s, cmp, ROW_TOLERANCE);
}

/// One line per scenario and metric with rows off by more than `tolerance`: which, and why.
fn push_misses_beyond(s: &mut String, cmp: &[Comparison], tolerance: f64) {
    let mut seen = std::collections::BTreeSet::new();
    for c in cmp.iter().filter(|c| c.rel_error().abs() > tolerance) {
        if seen.insert((c.row.scenario.clone(), c.row.metric.clone())) {
            let rows: Vec<String> = cmp
                .iter()
                .filter(|d| {
                    d.row.scenario == c.row.scenario
                        && d.row.metric == c.row.metric
                        && d.rel_error().abs() > tolerance
                })
                .map(|d| format!("{} ({:+.0}%)", d.label, d.rel_error() * 100.0))
                .collect();
            s.push_str(&format!(
                "- **{} {}**: {}. {}\n",
                c.row.scenario,
                c.row.metric,
                rows.join("; "),
                why(&c.row.scenario, &c.row.metric)
            ));
        }
    }
}

/// The directions, measured against predicted ("?": decided by an unmeasured input).
fn push_directions_table(s: &mut String, dirs: &[DirectionCheck]) {
    s.push_str("| scenario | step | measured | predicted | |\n|---|---|---|---|---|\n");
    for d in dirs {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            d.group,
            d.step,
            arrow(d.measured),
            arrow(d.predicted),
            match (d.ok(), d.undecided) {
                (true, false) => "✓",
                (false, false) => "✗",
                (true, true) => "✓ ?",
                (false, true) => "✗ ?",
            }
        ));
    }
}

/// A log-normal shape for the page.
fn sigma(s: Option<f64>) -> String {
    s.map_or("(not measured)".to_string(), |s| format!("{s:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> (Vec<Comparison>, Vec<DirectionCheck>) {
        let text = include_str!("../../calibration/measured/reference.json");
        let rows = parse_measured(text).unwrap();
        let profile = Profile::reference();
        let cmp = compare(&rows, &profile);
        let mut dirs = directions(&cmp);
        bracket_wake_path(&mut dirs, &rows, &profile);
        (cmp, dirs)
    }

    /// The model, calibrated from single-thread numbers only, predicts which
    /// way every measured outcome moves — every direction that a second
    /// measurement run repeats (the reference VM's own speed noise flips some
    /// ±10% CPU-rate changes between runs) — and its median error stays
    /// within the 15% target.
    /// A row the model cannot predict is kept and named, never dropped.
    #[test]
    fn rows_without_a_prediction_are_named_not_dropped() {
        let text = include_str!("../../calibration/measured/reference.json");
        let mut rows = parse_measured(text).unwrap();
        let mut unknown = rows[0].clone();
        unknown.scenario = "no_such_scenario".into();
        rows.push(unknown);
        let all = compare_each(&rows, &Profile::reference());
        assert_eq!(all.predicted.len() + all.unpredicted.len(), rows.len());
        assert!(all
            .unpredicted
            .iter()
            .any(|r| r.scenario == "no_such_scenario"));
        let text = render_unpredicted(&all.unpredicted);
        assert!(text.contains("no_such_scenario"), "{text}");
        assert!(
            text.contains(&format!("({} measured rows", all.unpredicted.len())),
            "{text}"
        );
        assert_eq!(render_unpredicted(&[]), "");
    }

    #[test]
    fn predicted_directions_match_the_repeated_measured_ones() {
        let (cmp, dirs) = reference();
        let earlier = parse_measured(include_str!(
            "../../calibration/measured/reference-earlier.json"
        ))
        .unwrap();
        assert!(
            cmp.len() >= 40,
            "most measured rows are covered: {}",
            cmp.len()
        );
        let repeated: Vec<&DirectionCheck> =
            dirs.iter().filter(|d| d.repeats_in(&earlier)).collect();
        assert!(
            repeated.len() + 3 >= dirs.len(),
            "most directions repeat: {} of {}",
            repeated.len(),
            dirs.len()
        );
        let undecided = repeated.iter().filter(|d| d.undecided).count();
        assert!(
            undecided * 5 <= repeated.len(),
            "the unmeasured wake path decides at most a fifth of the directions: {undecided} of {}",
            repeated.len()
        );
        for d in repeated.iter().filter(|d| !d.undecided) {
            assert!(
                d.ok(),
                "{} {}: measured {} predicted {}",
                d.group,
                d.step,
                d.measured,
                d.predicted
            );
        }
        let mae = median_abs_error(&cmp);
        assert!(mae <= ROW_TOLERANCE, "median absolute relative error {mae}");
    }

    /// The reference rows with every error pulled within −40%…+50%, so
    /// they fit a percent axis whatever the model predicts today.
    fn within_percent_axis() -> Vec<Comparison> {
        let (mut cmp, _) = reference();
        for c in &mut cmp {
            c.predicted = c.row.median * (1.0 + c.rel_error().clamp(-0.4, 0.5));
        }
        cmp
    }

    /// The residual figure holds every row once, in its group, at its
    /// measured value and its own error, with lines at exact and ± the
    /// page's tolerance; errors within 2× fit a percent axis.
    #[test]
    fn the_residual_figure_plots_each_rows_error_against_its_measured_value() {
        let cmp = within_percent_axis();
        assert_eq!(ErrorAxis::for_rows(&cmp), ErrorAxis::Percent);
        let fig = residual_figure(&cmp, "t", &main_bands());
        let gilsim_plots::Chart::Line(chart) = &fig.chart else {
            panic!("a line chart")
        };
        assert!(!chart.lines && chart.log_x && !chart.log_y);
        let mut points = 0;
        for series in &chart.series {
            for &(x, y) in &series.points {
                let row = cmp
                    .iter()
                    .find(|c| group_of(c) == series.name && c.row.median == x)
                    .expect("a point of its own group");
                assert!(
                    (y - 100.0 * row.rel_error()).abs() < 1e-9,
                    "{}",
                    series.name
                );
                points += 1;
            }
        }
        assert_eq!(points, cmp.len());
        let groups: std::collections::BTreeSet<String> = cmp.iter().map(group_of).collect();
        assert_eq!(chart.series.len(), groups.len());
        let lines: Vec<f64> = chart.reference_lines.iter().map(|l| l.0).collect();
        assert_eq!(lines, [0.0, 100.0 * ROW_TOLERANCE, -100.0 * ROW_TOLERANCE]);
        gilsim_plots::render_svg(&fig).expect("it renders");
    }

    /// A row off by more than the percent axis's factor switches the figure
    /// to ratios on a log axis, with the bands' lines at 1 ± tolerance.
    #[test]
    fn far_off_rows_switch_the_residual_figure_to_ratios() {
        let mut cmp = within_percent_axis();
        assert_eq!(ErrorAxis::for_rows(&cmp), ErrorAxis::Percent);
        cmp[0].predicted = cmp[0].row.median * PERCENT_AXIS_MAX_RATIO * 1.01;
        assert_eq!(ErrorAxis::for_rows(&cmp), ErrorAxis::Ratio);
        let fig = residual_figure(&cmp, "t", &wake_bands());
        let gilsim_plots::Chart::Line(chart) = &fig.chart else {
            panic!("a line chart")
        };
        assert!(chart.log_y);
        let want: Vec<f64> = std::iter::once(1.0)
            .chain(
                wake_bands()
                    .iter()
                    .flat_map(|b| [1.0 + b.tolerance, 1.0 - b.tolerance]),
            )
            .collect();
        let lines: Vec<f64> = chart.reference_lines.iter().map(|l| l.0).collect();
        assert_eq!(lines, want);
        let top = chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(f64::MIN, f64::max);
        assert!((top - PERCENT_AXIS_MAX_RATIO * 1.01).abs() < 1e-9, "{top}");
        // Ratios must be positive to be logged: a negative prediction keeps percent.
        cmp[1].predicted = -1.0;
        assert_eq!(ErrorAxis::for_rows(&cmp), ErrorAxis::Percent);
    }

    /// The page shows both figures, numbered, with alt text and captions
    /// whose counts are the rows' own.
    #[test]
    fn the_page_shows_the_residual_figure_first_with_its_counts() {
        let (cmp, dirs) = reference();
        let md = render_markdown(
            &cmp,
            &dirs,
            &Profile::reference(),
            &FigurePaths {
                scatter: "f/scatter.png",
                residuals: "f/residuals.png",
            },
            None,
        );
        let residuals = md.find("](f/residuals.png)").expect("the residual figure");
        let scatter = md.find("](f/scatter.png)").expect("the scatter");
        assert!(residuals < scatter);
        assert!(md[residuals..].starts_with("](f/residuals.png)\n\n*Figure 1. "));
        assert!(md[scatter..].starts_with("](f/scatter.png)\n\n*Figure 2. "));
        let inside = format!(
            "{} of {} inside",
            rows_within(&cmp, ROW_TOLERANCE),
            cmp.len()
        );
        assert!(md.contains(&inside), "{inside}");
        assert!(md.contains(&worst_row(&cmp).unwrap()));
        assert!(!md.contains("![]("), "every figure has alt text");
    }

    #[test]
    fn directions_have_a_dead_zone() {
        assert_eq!(direction(100.0, 105.0, 0.1), 0);
        assert_eq!(direction(100.0, 120.0, 0.1), 1);
        assert_eq!(direction(100.0, 80.0, 0.1), -1);
    }

    #[test]
    fn measured_files_of_another_schema_are_refused() {
        let e = parse_measured(r#"{"schema":"x","rows":[]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("gilsim-measured/1"), "{e}");
    }

    /// `pool_startup` rows are predicted for every API, cold and warm: a
    /// cold process pool's start-up grows with its workers (each a fork in
    /// the caller), a warm pool pays none, and a larger chunksize sends
    /// fewer messages.
    #[test]
    fn pool_startup_rows_are_predicted() {
        let profile = Profile::reference();
        let wall = |pool: &str, start: &str, workers: u64, n: u64, chunksize: u64| {
            let row = MeasuredRow {
                scenario: "pool_startup".into(),
                params: serde_json::json!({"pool": pool, "start": start, "workers": workers,
                    "tasks": "tiny", "n_tasks": n, "chunksize": chunksize,
                    "start_method": "fork", "switch_interval_s": 0.005}),
                metric: "wall_s".into(),
                unit: "s".into(),
                median: 1.0,
                quiet: true,
                row_speed_ns: None,
            };
            predict(&row, &profile).unwrap_or_else(|| panic!("{pool} {start}: no prediction"))
        };
        for pool in ["pool", "executor"] {
            let (one, eight) = (wall(pool, "cold", 1, 4, 1), wall(pool, "cold", 8, 32, 1));
            assert!(eight > one, "{pool}: 8 workers {eight} s, 1 worker {one} s");
            let warm = wall(pool, "warm", 8, 32, 1);
            assert!(warm < eight, "{pool}: warm {warm} s, cold {eight} s");
            let (by1, by125) = (
                wall(pool, "warm", 4, 2000, 1),
                wall(pool, "warm", 4, 2000, 125),
            );
            assert!(by125 < by1, "{pool}: chunksize 125 {by125} s, 1 {by1} s");
        }
        assert!(wall("thread", "cold", 4, 16, 1) > wall("thread", "warm", 4, 16, 1));
    }
}
