//! The model a script describes: a `Machine` (cores and OS scheduler) and a
//! `Program` (a Python program: processes, interpreters and their GILs,
//! threads, devices, locks, queues, pools and the costs of it all).
//!
//! `python(options)` creates a program with its main process and main
//! interpreter; its `add_*` methods declare everything else (`thread` is a
//! reserved word in Rhai, so no method can be called `thread`) and return *handles*
//! (`Thread`, `Process`, `Lock`...) that steps use to refer to them. A child
//! process, an extra interpreter and a process pool's workers run the same
//! Python as the main interpreter unless their options say otherwise.
//! [`build`] turns a machine and a program into the engine's `SimConfig`.

use super::api::add;
use super::api::{Api, RhaiResult};
use super::handles::{
    DeviceRef, InterpRef, ListenerRef, LockRef, PoolRef, ProcessRef, QueueRef, ThreadRef,
};
use super::options::Opts;
use super::values::describe;
use super::workload::{self, Ids, Task};
use crate::calibration::profile::Profile;
use gilsim_engine::*;
use rhai::{Array, Map, INT};
use std::fmt;
use std::sync::Arc;

/// Options of `machine()`.
pub(crate) const MACHINE_OPTIONS: &[&str] = &[
    "cores",
    "core_speed",
    "scheduler",
    "slice",
    "wakeup_granularity",
    "quantum",
    "ctx_switch",
    "wake_latency",
    "wake_jitter",
    "wake_sigma",
    "timer_slack",
    "signal_cost",
];
/// Options that choose and tune a GIL.
pub(crate) const GIL_OPTIONS: &[&str] = &[
    "gil",
    "switch_interval",
    "check_period",
    "waiter",
    "check_interval",
    "tick",
    "release_gap",
    "slowdown",
];
/// Options of `python()`: the GIL options and the main process's `rss_mb`.
pub(crate) const PYTHON_OPTIONS: &[&str] = &[
    "gil",
    "switch_interval",
    "check_period",
    "waiter",
    "check_interval",
    "tick",
    "release_gap",
    "slowdown",
    "rss_mb",
];
/// Which GIL options belong to which model.
const GIL_MODEL_OPTIONS: [(&str, &[&str]); 3] = [
    ("new", &["switch_interval", "check_period", "waiter"]),
    ("old", &["check_interval", "tick", "release_gap", "waiter"]),
    ("none", &["slowdown"]),
];
/// Options of `set_costs()`.
const COST_OPTIONS: &[&str] = &[
    "thread_start",
    "fork_parent",
    "fork_child",
    "spawn_parent",
    "spawn_child",
    "forkserver_parent",
    "forkserver_child",
    "pickle_bytes_per_sec",
    "pipe_latency",
    "pipe_bytes_per_sec",
    "executor_submit",
    "executor_run",
    "executor_collect",
    "ipc_message",
    "fork_per_gib",
    "thread_executor_construct",
    "process_executor_construct",
    "pool_construct",
];
/// Largest resident memory of a process, `rss_mb` (1 TiB).
const MAX_RSS_MB: i64 = 1 << 20;
/// Pool APIs of `add_process_pool(..., #{ api })` by name.
const POOL_APIS: [(&str, ProcessPoolApi); 2] = [
    ("pool", ProcessPoolApi::MultiprocessingPool),
    ("executor", ProcessPoolApi::Executor),
];
/// Start methods by name.
const START_METHODS: [(&str, StartMethod); 3] = [
    ("fork", StartMethod::Fork),
    ("spawn", StartMethod::Spawn),
    ("forkserver", StartMethod::Forkserver),
];
/// Default quantum of `scheduler: "rr"`: Linux's `sched_rr_timeslice_ms`.
const RR_QUANTUM: SimDuration = SimDuration::ms(100);
/// Longest name of anything declared.
const MAX_NAME: usize = 200;

/// `options` followed by `more`: the option list of a function that takes
/// the GIL options and some of its own.
fn options_plus<'a>(options: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    let mut v = options.to_vec();
    v.extend_from_slice(more);
    v
}

/// `machine(options)`.
pub fn machine(opts: Map, profile: Option<&Profile>) -> RhaiResult<MachineConfig> {
    let mut o = Opts::new("machine()", opts, MACHINE_OPTIONS)?;
    let cores = o.int_in("cores", 1, i64::from(MAX_CORES))?.unwrap_or(1) as u32;
    let mut m = MachineConfig::with_cores(cores);
    if let Some(p) = profile {
        p.apply_os(&mut m.os);
    }
    m.core_speed = core_speeds(&mut o, cores)?;
    m.os.policy = policy(&mut o)?;
    let os = &mut m.os;
    os.ctx_switch = o.duration("ctx_switch")?.unwrap_or(os.ctx_switch);
    os.wake_latency = o.duration("wake_latency")?.unwrap_or(os.wake_latency);
    let jitter_given = o.has("wake_jitter");
    if let Some(j) = o.float("wake_jitter")? {
        if !(0.0..=1.0).contains(&j) {
            return Err(o.error(
                "wake_jitter",
                format!("expected a number between 0 and 1, got {j}"),
            ));
        }
        os.wake_spread = WakeSpread::Uniform(j);
        os.shallow_wake_spread = os.wake_spread;
    }
    if let Some(s) = o.float("wake_sigma")? {
        if jitter_given {
            return Err(o.error(
                "wake_sigma",
                "give wake_jitter (a uniform spread) or wake_sigma (a log-normal one), not both"
                    .to_string(),
            ));
        }
        if !(0.0..=3.0).contains(&s) {
            return Err(o.error(
                "wake_sigma",
                format!("expected a number between 0 and 3, got {s}"),
            ));
        }
        os.wake_spread = WakeSpread::LogNormal(s);
        os.shallow_wake_spread = os.wake_spread;
    }
    os.timer_slack = o.duration("timer_slack")?.unwrap_or(os.timer_slack);
    os.signal_cost = o.duration("signal_cost")?.unwrap_or(os.signal_cost);
    check_early(
        &o,
        SimConfig::new(m.clone(), GilModel::new_gil()),
        "machine.",
    )?;
    Ok(m)
}

/// Runs the engine's own checks on a config holding just what an options
/// map built, so that a bad value is reported at the call that gave it
/// (`python(...)`, `machine(...)`), named by its option, not later at `.run`
/// by the engine's field path. Errors outside `prefix` are left to `.run`.
fn check_early(o: &Opts, cfg: SimConfig, prefix: &str) -> RhaiResult<()> {
    match cfg.validate() {
        Err(e) => match e.field.strip_prefix(prefix) {
            Some(path) => {
                let key = path.rsplit('.').next().unwrap_or(path);
                let key = key.split('[').next().unwrap_or(key);
                Err(o.error(key, format!("{} is not allowed: {}", e.value, e.allowed)))
            }
            None => Ok(()),
        },
        Ok(()) => Ok(()),
    }
}

/// The `core_speed` option: one factor per core, or empty (all 1.0).
fn core_speeds(o: &mut Opts, cores: u32) -> RhaiResult<Vec<f64>> {
    let Some(list) = o.raw("core_speed") else {
        return Ok(Vec::new());
    };
    let list = list.clone().into_array().map_err(|_| {
        o.error(
            "core_speed",
            format!(
                "expected a list of numbers, one per core, got {}",
                describe(&list)
            ),
        )
    })?;
    if list.len() != cores as usize {
        let msg = format!(
            "has {} entries but the machine has {cores} cores; give one speed per core",
            list.len()
        );
        return Err(o.error("core_speed", msg));
    }
    let mut speeds = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        match super::options::number(v) {
            Some(x) if x.is_finite() && (0.01..=100.0).contains(&x) => speeds.push(x),
            _ => {
                let msg = format!(
                    "entry [{i}] must be a number between 0.01 and 100, got {}",
                    describe(v)
                );
                return Err(o.error("core_speed", msg));
            }
        }
    }
    Ok(speeds)
}

/// The scheduler policy from `scheduler` and its own options; an option of
/// the other policy is an error.
fn policy(o: &mut Opts) -> RhaiResult<Policy> {
    let scheduler = o
        .choice("scheduler", &["fair", "rr"])?
        .unwrap_or_else(|| "fair".into());
    let (own, other, other_keys): (&str, &str, &[&str]) = if scheduler == "fair" {
        ("fair", "rr", &["quantum"])
    } else {
        ("rr", "fair", &["slice", "wakeup_granularity"])
    };
    if let Some(key) = other_keys.iter().find(|k| o.has(k)) {
        return Err(o.error(
            key,
            format!("applies to scheduler \"{other}\", not \"{own}\""),
        ));
    }
    if own == "rr" {
        return Ok(Policy::round_robin(
            o.duration("quantum")?.unwrap_or(RR_QUANTUM),
        ));
    }
    let (slice, wakeup_granularity) = match Policy::fair() {
        Policy::Fair {
            slice,
            wakeup_granularity,
        } => (slice, wakeup_granularity),
        Policy::RoundRobin { quantum } => (quantum, quantum),
    };
    Ok(Policy::Fair {
        slice: o.duration("slice")?.unwrap_or(slice),
        wakeup_granularity: o
            .duration("wakeup_granularity")?
            .unwrap_or(wakeup_granularity),
    })
}

/// Reads the GIL options from `o`; models not named default to `base`.
fn gil_from(o: &mut Opts, base: &GilModel) -> RhaiResult<GilModel> {
    let model = o
        .choice("gil", &["new", "old", "none"])?
        .unwrap_or_else(|| base.name().to_string());
    let own: &[&str] = GIL_MODEL_OPTIONS
        .iter()
        .find(|(n, _)| *n == model)
        .map_or(&[], |(_, k)| *k);
    for (owner, keys) in GIL_MODEL_OPTIONS {
        if let Some(key) = keys.iter().find(|k| o.has(k) && !own.contains(k)) {
            let msg = format!(
                "applies to gil \"{owner}\", not \"{model}\"; gil \"{model}\" takes: {}",
                own.join(", ")
            );
            return Err(o.error(key, msg));
        }
    }
    let base = if base.name() == model {
        base.clone()
    } else {
        match model.as_str() {
            "old" => GilModel::old_gil(),
            "none" => GilModel::no_gil(),
            _ => GilModel::new_gil(),
        }
    };
    let waiter = |o: &mut Opts| -> RhaiResult<Option<WaiterChoice>> {
        Ok(o.choice("waiter", &["fifo", "random"])?.map(|w| {
            if w == "fifo" {
                WaiterChoice::Fifo
            } else {
                WaiterChoice::Random
            }
        }))
    };
    Ok(match base {
        GilModel::New {
            switch_interval,
            check_period,
            waiter_choice,
        } => GilModel::New {
            switch_interval: o.duration("switch_interval")?.unwrap_or(switch_interval),
            check_period: o.duration("check_period")?.unwrap_or(check_period),
            waiter_choice: waiter(o)?.unwrap_or(waiter_choice),
        },
        GilModel::Old {
            check_interval,
            tick,
            release_gap,
            waiter_choice,
        } => GilModel::Old {
            check_interval: o
                .int_in("check_interval", 1, i64::from(u32::MAX))?
                .map_or(check_interval, |c| c as u32),
            tick: o.duration("tick")?.unwrap_or(tick),
            release_gap: o.duration("release_gap")?.unwrap_or(release_gap),
            waiter_choice: waiter(o)?.unwrap_or(waiter_choice),
        },
        GilModel::None { slowdown } => {
            let s = o.float("slowdown")?.unwrap_or(slowdown);
            if !(s > 0.0 && s <= 1000.0) {
                return Err(o.error(
                    "slowdown",
                    format!("expected a number in (0, 1000], got {s}"),
                ));
            }
            GilModel::None { slowdown: s }
        }
    })
}

fn start_method_from(o: &mut Opts) -> RhaiResult<StartMethod> {
    let names: Vec<&str> = START_METHODS.iter().map(|(n, _)| *n).collect();
    let m = o
        .choice("start_method", &names)?
        .unwrap_or_else(|| "fork".into());
    Ok(START_METHODS
        .iter()
        .find(|(n, _)| *n == m)
        .map_or(StartMethod::Fork, |(_, s)| *s))
}

/// `rss_mb`: a process's resident memory in MiB (0 when not given), which
/// a `fork` it makes copies the page tables of.
fn rss_from(o: &mut Opts) -> RhaiResult<u64> {
    Ok(o.int_in("rss_mb", 0, MAX_RSS_MB)?
        .map_or(0, |mb| (mb as u64) << 20))
}

/// Options of a thread pool.
const THREAD_POOL_OPTIONS: &[&str] = &["warm", "maps", "chunksize"];
/// Options of a process pool beside the GIL options.
const PROCESS_POOL_OPTIONS: &[&str] = &["start_method", "api", "warm", "maps", "chunksize"];

/// A pool's `api`, `chunksize`, `warm` and `maps`, for `tasks` tasks on
/// `workers` workers (`threads`: a thread pool, which takes only chunksize 1).
fn pool_options(
    o: &mut Opts,
    tasks: usize,
    workers: u32,
    threads: bool,
) -> RhaiResult<PoolOptions> {
    let names: Vec<&str> = POOL_APIS.iter().map(|(n, _)| *n).collect();
    let api = o.choice("api", &names)?.unwrap_or_else(|| "pool".into());
    let process_api = POOL_APIS
        .iter()
        .find(|(n, _)| *n == api)
        .map_or(ProcessPoolApi::MultiprocessingPool, |(_, a)| *a);
    let chunksize = chunksize_from(o, tasks, workers, process_api)?;
    if threads && chunksize != 1 {
        return Err(o.error(
            "chunksize",
            format!("a thread pool takes only 1, got {chunksize} (ThreadPoolExecutor.map ignores chunksize)"),
        ));
    }
    let max = i64::from(MAX_POOL_COUNT);
    Ok(PoolOptions {
        process_api,
        chunksize,
        warm: o.bool("warm")?.unwrap_or(false),
        maps: o.int_in("maps", 1, max)?.map_or(1, |m| m as u32),
    })
}

/// `chunksize`: an integer from 1 to [`MAX_POOL_COUNT`] (default 1), or
/// `"auto"`: `multiprocessing.Pool.map`'s default, `ceil(tasks / (4 ×
/// workers))` (`Pool._map_async` in `Lib/multiprocessing/pool.py`).
fn chunksize_from(
    o: &mut Opts,
    tasks: usize,
    workers: u32,
    api: ProcessPoolApi,
) -> RhaiResult<u32> {
    let Some(v) = o.raw("chunksize") else {
        return Ok(1);
    };
    if v.clone().into_string().is_ok_and(|s| s == "auto") {
        if api == ProcessPoolApi::Executor {
            return Err(o.error(
                "chunksize",
                "\"auto\" is multiprocessing.Pool.map's default; ProcessPoolExecutor.map's is 1: give a number",
            ));
        }
        let per = u64::from(workers.max(1)) * 4;
        let auto = (tasks as u64).div_ceil(per).max(1);
        return Ok(auto.min(u64::from(MAX_POOL_COUNT)) as u32);
    }
    let got = match v.as_int() {
        Ok(i) if (1..=i64::from(MAX_POOL_COUNT)).contains(&i) => return Ok(i as u32),
        Ok(i) => i.to_string(),
        Err(_) => describe(&v),
    };
    Err(o.error(
        "chunksize",
        format!("expected an integer between 1 and {MAX_POOL_COUNT} or \"auto\", got {got}"),
    ))
}

fn check_name(kind: &str, name: &str) -> RhaiResult<()> {
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(format!(
            "{kind} name \"{}\" is not allowed: use 1 to {MAX_NAME} printable characters",
            name.escape_debug()
        )
        .into());
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq)]
struct ProcessSpec {
    name: String,
    start_method: Option<StartMethod>,
    rss_bytes: u64,
}

#[derive(Clone, Debug, PartialEq)]
struct InterpSpec {
    name: String,
    process: usize,
    gil: GilModel,
}

#[derive(Clone, Debug, PartialEq)]
struct ThreadSpec {
    name: String,
    interp: usize,
    autostart: bool,
    steps: Vec<workload::Step>,
}

#[derive(Clone, Debug, PartialEq)]
struct PoolSpec {
    name: String,
    kind: PoolKind,
    workers: u32,
    tasks: Vec<Task>,
    worker_gil: GilModel,
    options: PoolOptions,
}

/// An arrival source as declared: names instead of ids.
#[derive(Clone, Debug, PartialEq)]
struct SourceSpec {
    name: String,
    listener: String,
    arrivals: Arrivals,
    /// (weight, steps) of each kind of request.
    mix: Vec<(f64, Vec<workload::Step>)>,
    start: SimDuration,
    count: Option<u64>,
    until: Option<SimDuration>,
    timeout: Option<SimDuration>,
}

/// A Python program, as a script value (`Program`).
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    processes: Vec<ProcessSpec>,
    interpreters: Vec<InterpSpec>,
    threads: Vec<ThreadSpec>,
    devices: Vec<DeviceConfig>,
    listeners: Vec<ListenerConfig>,
    sources: Vec<SourceSpec>,
    locks: Vec<String>,
    queues: Vec<QueueConfig>,
    pools: Vec<PoolSpec>,
    costs: Costs,
    max_threads: usize,
    max_processes: usize,
    /// `kind\0name` -> index in its list, so adding and finding by name stay
    /// fast with many threads, locks, ...
    names: std::collections::HashMap<String, usize>,
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "python(gil \"{}\", {} threads, {} processes, {} interpreters, {} pools)",
            self.interpreters[0].gil.name(),
            self.threads.len(),
            self.processes.len(),
            self.interpreters.len(),
            self.pools.len()
        )
    }
}

fn name_key(kind: &str, name: &str) -> String {
    format!("{kind}\0{name}")
}

fn exists(kind: &str, name: &str) -> Box<rhai::EvalAltResult> {
    format!("a {kind} named \"{name}\" already exists in this program; names must be unique").into()
}

impl Program {
    /// `python(options)`, with the `threads` and `processes` limits.
    pub fn new(
        opts: Map,
        (max_threads, max_processes): (usize, usize),
        profile: Option<&Profile>,
    ) -> RhaiResult<Program> {
        let mut o = Opts::new("python()", opts, PYTHON_OPTIONS)?;
        let rss_bytes = rss_from(&mut o)?;
        let gil = gil_from(&mut o, &GilModel::new_gil())?;
        check_early(
            &o,
            SimConfig::new(MachineConfig::with_cores(1), gil.clone()),
            "interpreters[0].gil.",
        )?;
        let mut costs = Costs::default();
        if let Some(p) = profile {
            p.apply_costs(&mut costs);
        }
        Ok(Program {
            processes: vec![ProcessSpec {
                name: "main".into(),
                start_method: None,
                rss_bytes,
            }],
            interpreters: vec![InterpSpec {
                name: "main".into(),
                process: 0,
                gil,
            }],
            threads: Vec::new(),
            devices: Vec::new(),
            listeners: Vec::new(),
            sources: Vec::new(),
            locks: Vec::new(),
            queues: Vec::new(),
            pools: Vec::new(),
            costs,
            max_threads,
            max_processes,
            names: [("process", 0), ("interpreter", 0)]
                .into_iter()
                .map(|(k, i)| (name_key(k, "main"), i))
                .collect(),
        })
    }

    /// The index of the `kind` named `name`, if there is one.
    fn find(&self, kind: &str, name: &str) -> Option<usize> {
        self.names.get(&name_key(kind, name)).copied()
    }

    /// Fails if a `kind` named `name` exists.
    fn free(&self, kind: &str, name: &str) -> RhaiResult<()> {
        match self.find(kind, name) {
            Some(_) => Err(exists(kind, name)),
            None => Ok(()),
        }
    }

    /// Records that the `kind` named `name` is at `index`.
    fn claim(&mut self, kind: &str, name: &str, index: usize) {
        self.names.insert(name_key(kind, name), index);
    }

    /// Threads (pool workers included) and processes plus interpreters
    /// (process-pool workers included) the program has.
    fn size(&self) -> (usize, usize) {
        let mut threads = self.threads.len();
        let mut processes = self.interpreters.len();
        for p in &self.pools {
            threads = threads.saturating_add(p.workers as usize);
            if matches!(p.kind, PoolKind::Processes(_)) {
                processes = processes.saturating_add(p.workers as usize);
            }
        }
        (threads, processes)
    }

    /// Fails if adding `threads` threads and `processes` processes would
    /// exceed the program's limits.
    fn check_size(&self, what: &str, threads: usize, processes: usize) -> RhaiResult<()> {
        let (t, p) = self.size();
        for (have, add, max, name, unit) in [
            (
                t,
                threads,
                self.max_threads,
                "threads",
                "threads (pool workers included)",
            ),
            (
                p,
                processes,
                self.max_processes,
                "processes",
                "processes and interpreters (process-pool workers included)",
            ),
        ] {
            let want = have.saturating_add(add);
            if add > 0 && want > max {
                return Err(format!(
                    "{what}: the program would have {want} {unit}, more than {max}; {}",
                    crate::support::limits::raise_hint(name, max as u64, Some(want as u64))
                )
                .into());
            }
        }
        Ok(())
    }

    fn main_gil(&self) -> &GilModel {
        &self.interpreters[0].gil
    }

    fn process_index(&self, p: &ProcessRef) -> RhaiResult<usize> {
        self.find("process", &p.name)
            .ok_or_else(|| format!("{p} does not belong to this program").into())
    }

    fn interp_index(&self, i: &InterpRef) -> RhaiResult<usize> {
        self.find("interpreter", &i.name)
            .ok_or_else(|| format!("{i} does not belong to this program").into())
    }

    fn add_interp(&mut self, name: &str, process: usize, gil: GilModel) -> RhaiResult<InterpRef> {
        self.free("interpreter", name)?;
        self.claim("interpreter", name, self.interpreters.len());
        self.interpreters.push(InterpSpec {
            name: name.to_string(),
            process,
            gil,
        });
        Ok(InterpRef {
            name: name.to_string(),
        })
    }

    /// `app.add_thread(name, steps, options)`.
    pub fn thread(&mut self, name: &str, steps: Array, opts: Map) -> RhaiResult<ThreadRef> {
        check_name("thread", name)?;
        let what = format!("add_thread(\"{name}\")");
        let mut o = Opts::new(&what, opts, &["autostart", "process", "interpreter"])?;
        self.free("thread", name)?;
        self.check_size(&what, 1, 0)?;
        let autostart = o.bool("autostart")?.unwrap_or(true);
        let process = o.custom::<ProcessRef>("process", "a Process from app.add_process(...)")?;
        let interp = o.custom::<InterpRef>(
            "interpreter",
            "an Interpreter from app.add_interpreter(...)",
        )?;
        let interp = match (process, interp) {
            (Some(_), Some(_)) => {
                return Err(format!("{what}: give `process` or `interpreter`, not both (an interpreter belongs to one process)").into())
            }
            (Some(p), None) => {
                let p = self.process_index(&p)?;
                // A process's first interpreter has its name (add_process).
                self.find("interpreter", &self.processes[p].name).unwrap_or(0)
            }
            (None, Some(i)) => self.interp_index(&i)?,
            (None, None) => 0,
        };
        let steps = workload::steps_from(&what, steps)?;
        if steps.is_empty() {
            return Err(format!("{what}: the program is empty; give at least one step").into());
        }
        self.claim("thread", name, self.threads.len());
        self.threads.push(ThreadSpec {
            name: name.to_string(),
            interp,
            autostart,
            steps,
        });
        Ok(ThreadRef {
            name: name.to_string(),
        })
    }

    /// `app.add_process(name, options)`.
    pub fn process(&mut self, name: &str, opts: Map) -> RhaiResult<ProcessRef> {
        check_name("process", name)?;
        let what = format!("add_process(\"{name}\")");
        let mut o = Opts::new(
            &what,
            opts,
            &options_plus(GIL_OPTIONS, &["start_method", "running", "rss_mb"]),
        )?;
        self.free("process", name)?;
        self.check_size(&what, 0, 1)?;
        let running = o.bool("running")?.unwrap_or(false);
        if running && o.has("start_method") {
            return Err(format!(
                "{what}: a process `running: true` from the start is not started, so it has no `start_method`"
            )
            .into());
        }
        let start_method = start_method_from(&mut o)?;
        let rss_bytes = rss_from(&mut o)?;
        let gil = gil_from(&mut o, &self.main_gil().clone())?;
        self.add_interp(name, self.processes.len(), gil)?;
        self.claim("process", name, self.processes.len());
        self.processes.push(ProcessSpec {
            name: name.to_string(),
            start_method: (!running).then_some(start_method),
            rss_bytes,
        });
        Ok(ProcessRef {
            name: name.to_string(),
        })
    }

    /// `app.add_interpreter(name, options)`.
    pub fn interpreter(&mut self, name: &str, opts: Map) -> RhaiResult<InterpRef> {
        check_name("interpreter", name)?;
        let what = format!("add_interpreter(\"{name}\")");
        let mut o = Opts::new(&what, opts, &options_plus(GIL_OPTIONS, &["process"]))?;
        self.check_size(&what, 0, 1)?;
        let process =
            match o.custom::<ProcessRef>("process", "a Process from app.add_process(...)")? {
                Some(p) => self.process_index(&p)?,
                None => 0,
            };
        let gil = gil_from(&mut o, &self.main_gil().clone())?;
        self.add_interp(name, process, gil)
    }

    /// `app.add_device(name, options)`.
    pub fn device(&mut self, name: &str, opts: Map) -> RhaiResult<DeviceRef> {
        check_name("device", name)?;
        let mut o = Opts::new(&format!("add_device(\"{name}\")"), opts, &["concurrency"])?;
        self.free("device", name)?;
        let concurrency = o
            .int_in("concurrency", 1, i64::from(u32::MAX))?
            .map(|c| c as u32);
        self.claim("device", name, self.devices.len());
        self.devices.push(DeviceConfig {
            name: name.to_string(),
            concurrency,
        });
        Ok(DeviceRef {
            name: name.to_string(),
        })
    }

    /// `app.add_listener(name, options)`.
    pub fn listener(&mut self, name: &str, opts: Map) -> RhaiResult<ListenerRef> {
        check_name("listener", name)?;
        let mut o = Opts::new(
            &format!("add_listener(\"{name}\")"),
            opts,
            &["network", "backlog"],
        )?;
        self.free("listener", name)?;
        let network = o.dist("network")?.unwrap_or(Dist::Fixed(SimDuration::ZERO));
        let backlog = o
            .int_in("backlog", 1, i64::from(u32::MAX))?
            .map(|b| b as u32);
        self.claim("listener", name, self.listeners.len());
        self.listeners.push(ListenerConfig {
            name: name.to_string(),
            network,
            backlog,
        });
        Ok(ListenerRef {
            name: name.to_string(),
        })
    }

    /// `app.add_source(name, listener, arrivals, requests, options)`.
    pub fn source(
        &mut self,
        name: &str,
        listener: ListenerRef,
        arrivals: Arrivals,
        requests: Array,
        opts: Map,
    ) -> RhaiResult<()> {
        check_name("source", name)?;
        let what = format!("add_source(\"{name}\")");
        let mut o = Opts::new(&what, opts, &["start", "count", "duration", "timeout"])?;
        self.free("source", name)?;
        if self.find("listener", &listener.name).is_none() {
            return Err(format!(
                "{what}: {listener} is not a listener of this program; declare it with app.add_listener"
            )
            .into());
        }
        let start = o.duration("start")?.unwrap_or(SimDuration::ZERO);
        let count = o.int_in("count", 0, i64::MAX)?.map(|n| n as u64);
        let until = o.duration("duration")?;
        let timeout = o.duration("timeout")?;
        if count.is_none() && until.is_none() && !matches!(arrivals, Arrivals::Replay(_)) {
            return Err(format!(
                "{what}: {} sends forever; give `duration` (how long it sends, a Duration) or `count`",
                workload::arrivals::show(&arrivals)
            )
            .into());
        }
        let mix = request_mix(&what, requests)?;
        self.claim("source", name, self.sources.len());
        self.sources.push(SourceSpec {
            name: name.to_string(),
            listener: listener.name,
            arrivals,
            mix,
            start,
            count,
            until,
            timeout,
        });
        Ok(())
    }

    /// `app.add_lock(name)`.
    pub fn lock(&mut self, name: &str) -> RhaiResult<LockRef> {
        check_name("lock", name)?;
        self.free("lock", name)?;
        self.claim("lock", name, self.locks.len());
        self.locks.push(name.to_string());
        Ok(LockRef {
            name: name.to_string(),
        })
    }

    /// `app.add_queue(name, options)`.
    pub fn queue(&mut self, name: &str, opts: Map) -> RhaiResult<QueueRef> {
        check_name("queue", name)?;
        let mut o = Opts::new(&format!("add_queue(\"{name}\")"), opts, &["ipc"])?;
        self.free("queue", name)?;
        let ipc = o.bool("ipc")?.unwrap_or(false);
        self.claim("queue", name, self.queues.len());
        self.queues.push(QueueConfig {
            name: name.to_string(),
            ipc,
        });
        Ok(QueueRef {
            name: name.to_string(),
        })
    }

    fn pool(
        &mut self,
        name: &str,
        workers: INT,
        tasks: Array,
        kind: &str,
        opts: Map,
    ) -> RhaiResult<PoolRef> {
        check_name("pool", name)?;
        let what = format!("add_{kind}(\"{name}\", ...)");
        self.free("pool", name)?;
        if !(1..=100_000).contains(&workers) {
            return Err(
                format!("{what}: workers must be between 1 and 100000, got {workers}").into(),
            );
        }
        let mut list = Vec::with_capacity(tasks.len());
        for (i, t) in tasks.into_iter().enumerate() {
            let t = t.flatten();
            match t.clone().try_cast::<Task>() {
                Some(task) => list.push(task),
                None => {
                    return Err(format!(
                    "{what}: tasks[{i}] must be a Task from task([...]) or tasks(n, [...]), got {}",
                    describe(&t)
                )
                    .into())
                }
            }
        }
        let processes = if kind == "thread_pool" {
            0
        } else {
            workers as usize
        };
        self.check_size(&what, workers as usize, processes)?;
        let (kind, worker_gil, options) = if kind == "thread_pool" {
            let mut o = Opts::new(&what, opts, THREAD_POOL_OPTIONS)?;
            (
                PoolKind::Threads,
                self.main_gil().clone(),
                pool_options(&mut o, list.len(), workers as u32, true)?,
            )
        } else {
            let mut o = Opts::new(
                &what,
                opts,
                &options_plus(GIL_OPTIONS, PROCESS_POOL_OPTIONS),
            )?;
            let method = start_method_from(&mut o)?;
            let options = pool_options(&mut o, list.len(), workers as u32, false)?;
            (
                PoolKind::Processes(method),
                gil_from(&mut o, &self.main_gil().clone())?,
                options,
            )
        };
        self.claim("pool", name, self.pools.len());
        self.pools.push(PoolSpec {
            name: name.to_string(),
            kind,
            workers: workers as u32,
            tasks: list,
            worker_gil,
            options,
        });
        Ok(PoolRef {
            name: name.to_string(),
        })
    }

    /// `app.set_costs(options)`.
    pub fn set_costs(&mut self, opts: Map) -> RhaiResult<()> {
        let mut o = Opts::new("set_costs()", opts, COST_OPTIONS)?;
        let c = &mut self.costs;
        c.thread_start = o.duration("thread_start")?.unwrap_or(c.thread_start);
        for (prefix, cost) in [
            ("fork", &mut c.fork),
            ("spawn", &mut c.spawn),
            ("forkserver", &mut c.forkserver),
        ] {
            cost.parent = o
                .duration(&format!("{prefix}_parent"))?
                .unwrap_or(cost.parent);
            cost.child = o
                .duration(&format!("{prefix}_child"))?
                .unwrap_or(cost.child);
        }
        for (key, rate) in [
            ("pickle_bytes_per_sec", &mut c.pickle_bytes_per_sec),
            ("pipe_bytes_per_sec", &mut c.pipe_bytes_per_sec),
        ] {
            if let Some(r) = o.float(key)? {
                if r <= 0.0 {
                    return Err(o.error(
                        key,
                        format!("expected a positive number of bytes per second, got {r}"),
                    ));
                }
                *rate = r;
            }
        }
        c.pipe_latency = o.duration("pipe_latency")?.unwrap_or(c.pipe_latency);
        for (key, cost) in [
            ("executor_submit", &mut c.executor_submit),
            ("executor_run", &mut c.executor_run),
            ("executor_collect", &mut c.executor_collect),
            ("ipc_message", &mut c.ipc_message),
            ("fork_per_gib", &mut c.fork_per_gib),
            (
                "thread_executor_construct",
                &mut c.thread_executor_construct,
            ),
            (
                "process_executor_construct",
                &mut c.process_executor_construct,
            ),
            ("pool_construct", &mut c.pool_construct),
        ] {
            *cost = o.duration(key)?.unwrap_or(*cost);
        }
        Ok(())
    }
}

/// A program built for the engine, with the script's names of the
/// interpreters it declares (the engine names them only by index).
pub struct Built {
    /// The engine config.
    pub cfg: SimConfig,
    /// Names of the declared interpreters, by engine index; pool worker
    /// interpreters follow them in the report, named by the engine.
    pub interp_names: Vec<String>,
}

/// A source's requests: a step list (one kind), or a mix, a list of
/// `#{ weight, steps }` maps.
fn request_mix(what: &str, requests: Array) -> RhaiResult<Vec<(f64, Vec<workload::Step>)>> {
    let is_mix = requests.first().is_some_and(|r| r.is_map());
    if !is_mix {
        let steps = workload::steps_from(what, requests)?;
        return Ok(vec![(1.0, steps)]);
    }
    let mut mix = Vec::with_capacity(requests.len());
    for (i, r) in requests.into_iter().enumerate() {
        let kind = format!("{what}, request kind [{i}]");
        let Some(map) = r.clone().try_cast::<Map>() else {
            return Err(format!(
                "{kind}: a mix is a list of #{{ weight: 3, steps: [...] }} maps, got {}",
                describe(&r)
            )
            .into());
        };
        let mut o = Opts::new(&kind, map, &["weight", "steps"])?;
        let weight = o.float("weight")?.unwrap_or(1.0);
        if weight <= 0.0 {
            return Err(o.error("weight", format!("expected a weight above 0, got {weight}")));
        }
        let steps = match o.raw("steps") {
            Some(v) if v.is_array() => {
                workload::steps_from(&kind, v.into_array().unwrap_or_default())?
            }
            Some(v) => {
                return Err(o.error(
                    "steps",
                    format!("expected a list of steps, got {}", describe(&v)),
                ))
            }
            None => {
                return Err(o.error(
                    "steps",
                    "missing: give the steps a request of this kind runs",
                ))
            }
        };
        mix.push((weight, steps));
    }
    Ok(mix)
}

/// Builds the engine config of `program` on `machine` with `limits`.
pub fn build(
    program: &Program,
    machine: &MachineConfig,
    limits: RunLimits,
) -> Result<Built, String> {
    let index = |names: Vec<&String>| {
        names
            .into_iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect()
    };
    let ids = Ids {
        devices: index(program.devices.iter().map(|d| &d.name).collect()),
        locks: index(program.locks.iter().collect()),
        queues: index(program.queues.iter().map(|q| &q.name).collect()),
        threads: index(program.threads.iter().map(|t| &t.name).collect()),
        processes: index(program.processes.iter().skip(1).map(|p| &p.name).collect())
            .into_iter()
            .map(|(n, i)| (n, i + 1))
            .collect(),
        pools: index(program.pools.iter().map(|p| &p.name).collect()),
        listeners: index(program.listeners.iter().map(|l| &l.name).collect()),
    };
    let interp_names: Vec<String> = program
        .interpreters
        .iter()
        .map(|i| i.name.clone())
        .collect();
    let mut cfg = SimConfig::new(machine.clone(), program.main_gil().clone());
    cfg.processes = program
        .processes
        .iter()
        .map(|p| ProcessConfig {
            name: p.name.clone(),
            start_method: p.start_method,
            rss_bytes: p.rss_bytes,
        })
        .collect();
    cfg.interpreters = program
        .interpreters
        .iter()
        .map(|i| InterpreterConfig {
            process: ProcessId(i.process as u32),
            gil: i.gil.clone(),
        })
        .collect();
    for t in &program.threads {
        let what = format!("thread \"{}\"", t.name);
        cfg.threads.push(ThreadConfig {
            name: t.name.clone(),
            interp: InterpId(t.interp as u32),
            autostart: t.autostart,
            program: match workload::asyncio::loop_of(&t.steps) {
                Some(_) => Vec::new(), // `asyncio::attach` below
                None => workload::to_engine(&t.steps, &ids, &what)?,
            },
        });
    }
    for p in &program.pools {
        let mut tasks = Vec::with_capacity(p.tasks.len());
        for (k, t) in p.tasks.iter().enumerate() {
            tasks.push(TaskConfig {
                steps: workload::to_engine(
                    &t.steps,
                    &ids,
                    &format!("pool \"{}\" task [{k}]", p.name),
                )?,
                arg_bytes: t.arg_bytes,
                result_bytes: t.result_bytes,
            });
        }
        cfg.pools.push(PoolConfig {
            name: p.name.clone(),
            kind: p.kind,
            workers: p.workers,
            tasks,
            worker_gil: p.worker_gil.clone(),
            options: p.options,
        });
    }
    cfg.devices = program.devices.clone();
    cfg.listeners = program.listeners.clone();
    for src in &program.sources {
        let what = format!("source \"{}\"", src.name);
        let mut mix = Vec::with_capacity(src.mix.len());
        for (k, (weight, steps)) in src.mix.iter().enumerate() {
            mix.push(RequestKind {
                weight: *weight,
                steps: workload::to_engine(steps, &ids, &format!("{what}, request kind [{k}]"))?,
            });
        }
        cfg.sources.push(SourceConfig {
            name: src.name.clone(),
            listener: ListenerId(
                *ids.listeners
                    .get(&src.listener)
                    .ok_or_else(|| format!("{what}: no listener named \"{}\"", src.listener))?,
            ),
            arrivals: src.arrivals.clone(),
            start: src.start,
            count: src.count,
            until: src.until,
            mix,
            timeout: src.timeout,
        });
    }
    let loops = program
        .threads
        .iter()
        .map(|t| (t.name.as_str(), &t.steps[..]));
    workload::asyncio::attach(loops, &mut cfg, &ids)?;
    cfg.locks = program.locks.clone();
    cfg.queues = program.queues.clone();
    cfg.costs = program.costs.clone();
    cfg.limits = limits;
    Ok(Built { cfg, interp_names })
}

/// Registers `Machine`, `Program`, the handles and their functions.
pub fn register(api: &mut Api, limits: &super::context::Limits, profile: Option<Arc<Profile>>) {
    let max = (limits.max_threads, limits.max_processes);
    api.engine()
        .register_type_with_name::<MachineConfig>("Machine")
        .register_type_with_name::<Program>("Program")
        .register_fn("to_string", |p: &mut Program| p.to_string())
        .register_fn("to_debug", |p: &mut Program| p.to_string())
        .register_fn("to_string", |m: &mut MachineConfig| {
            format!("machine({} cores)", m.cores)
        })
        .register_fn("to_debug", |m: &mut MachineConfig| format!("{m:?}"));
    super::handles::register(api);

    let (p1, p2, p3, p4) = (profile.clone(), profile.clone(), profile.clone(), profile);
    add!(api, "machine() -> Machine", move || machine(
        Map::new(),
        p1.as_deref()
    ));
    add!(api, "machine(options: map) -> Machine", move |o: Map| {
        machine(o, p2.as_deref())
    });
    add!(api, "python() -> Program", move || Program::new(
        Map::new(),
        max,
        p3.as_deref()
    ));
    add!(api, "python(options: map) -> Program", move |o: Map| {
        Program::new(o, max, p4.as_deref())
    });
    add!(
        api,
        "Program.add_thread(name: string, steps: array) -> Thread",
        |p: &mut Program, name: &str, steps: Array| { p.thread(name, steps, Map::new()) }
    );
    add!(
        api,
        "Program.add_thread(name: string, steps: array, options: map) -> Thread",
        |p: &mut Program, name: &str, steps: Array, o: Map| { p.thread(name, steps, o) }
    );
    add!(
        api,
        "Program.add_process(name: string) -> Process",
        |p: &mut Program, name: &str| p.process(name, Map::new())
    );
    add!(
        api,
        "Program.add_process(name: string, options: map) -> Process",
        |p: &mut Program, name: &str, o: Map| p.process(name, o)
    );
    add!(
        api,
        "Program.add_interpreter(name: string) -> Interpreter",
        |p: &mut Program, name: &str| { p.interpreter(name, Map::new()) }
    );
    add!(
        api,
        "Program.add_interpreter(name: string, options: map) -> Interpreter",
        |p: &mut Program, name: &str, o: Map| { p.interpreter(name, o) }
    );
    add!(
        api,
        "Program.add_device(name: string) -> Device",
        |p: &mut Program, name: &str| p.device(name, Map::new())
    );
    add!(
        api,
        "Program.add_device(name: string, options: map) -> Device",
        |p: &mut Program, name: &str, o: Map| p.device(name, o)
    );
    add!(
        api,
        "Program.add_listener(name: string) -> Listener",
        |p: &mut Program, name: &str| p.listener(name, Map::new())
    );
    add!(
        api,
        "Program.add_listener(name: string, options: map) -> Listener",
        |p: &mut Program, name: &str, o: Map| p.listener(name, o)
    );
    add!(
        api,
        "Program.add_source(name: string, listener: Listener, arrivals: Arrivals, requests: array)",
        |p: &mut Program, name: &str, l: ListenerRef, a: Arrivals, r: Array| p.source(
            name,
            l,
            a,
            r,
            Map::new()
        )
    );
    add!(
        api,
        "Program.add_source(name: string, listener: Listener, arrivals: Arrivals, requests: array, options: map)",
        |p: &mut Program, name: &str, l: ListenerRef, a: Arrivals, r: Array, o: Map| p.source(
            name, l, a, r, o
        )
    );
    add!(
        api,
        "Program.add_lock(name: string) -> Lock",
        |p: &mut Program, name: &str| p.lock(name)
    );
    add!(
        api,
        "Program.add_queue(name: string) -> Queue",
        |p: &mut Program, name: &str| p.queue(name, Map::new())
    );
    add!(
        api,
        "Program.add_queue(name: string, options: map) -> Queue",
        |p: &mut Program, name: &str, o: Map| p.queue(name, o)
    );
    add!(
        api,
        "Program.add_thread_pool(name: string, workers: int, tasks: array) -> Pool",
        |p: &mut Program, name: &str, w: INT, t: Array| {
            p.pool(name, w, t, "thread_pool", Map::new())
        }
    );
    add!(
        api,
        "Program.add_thread_pool(name: string, workers: int, tasks: array, options: map) -> Pool",
        |p: &mut Program, name: &str, w: INT, t: Array, o: Map| p.pool(
            name,
            w,
            t,
            "thread_pool",
            o
        ),
    );
    add!(
        api,
        "Program.add_process_pool(name: string, workers: int, tasks: array) -> Pool",
        |p: &mut Program, name: &str, w: INT, t: Array| {
            p.pool(name, w, t, "process_pool", Map::new())
        }
    );
    add!(
        api,
        "Program.add_process_pool(name: string, workers: int, tasks: array, options: map) -> Pool",
        |p: &mut Program, name: &str, w: INT, t: Array, o: Map| p.pool(
            name,
            w,
            t,
            "process_pool",
            o
        ),
    );
    add!(
        api,
        "Program.set_costs(options: map)",
        |p: &mut Program, o: Map| p.set_costs(o)
    );
}
