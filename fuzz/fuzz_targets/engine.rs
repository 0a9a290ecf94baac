//! Arbitrary engine configs built from bytes, run with `gilsim_engine::run`
//! and `run_traced`. Small bounds (≤ 8 cores, ≤ 16 threads, ≤ 3 more
//! processes, pools of ≤ 8 workers, `until` ≤ 60 virtual seconds,
//! `max_events` ≤ 200 000) keep each run short; values are mostly sensible but
//! can be extreme (any u64 duration, any f64, ids out of range, zero counts),
//! so invalid configs are tried too. An `Err` is fine; a panic is a bug, and
//! so is a report that breaks one of the invariants checked below, or one
//! that changes (or a trace that does) with `SimConfig::fusion` off.
#![no_main]

use arbitrary::Arbitrary;
use gilsim_engine as e;
use gilsim_engine::{
    Costs, DeviceConfig, Dist, GilModel, InterpId, InterpreterConfig, MachineConfig, OsConfig,
    PoolConfig, PoolKind, ProcessConfig, QueueConfig, SimConfig, SimDuration, SimTime, StartCost,
    StartMethod, Step, StopReason, TaskConfig, ThreadConfig, ThreadState, VecTrace, WaiterChoice,
};
use libfuzzer_sys::fuzz_target;

const MAX_CORES: u8 = 8;
const MAX_THREADS: usize = 16;
const MAX_PROCESSES: usize = 4;
const MAX_INTERPS: usize = 4;
const MAX_WORKERS: u8 = 8;
const MAX_UNTIL: SimDuration = SimDuration::secs(60);
const MAX_EVENTS: u64 = 200_000;

/// A duration: usually a small one of some unit, sometimes any u64.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Dur {
    Ns(u16),
    Us(u16),
    Ms(u8),
    S(u8),
    Raw(u64),
}

impl Dur {
    fn get(self) -> SimDuration {
        match self {
            Dur::Ns(n) => SimDuration::ns(n.into()),
            Dur::Us(n) => SimDuration::us(n.into()),
            Dur::Ms(n) => SimDuration::ms(n.into()),
            Dur::S(n) => SimDuration::secs(n.into()),
            Dur::Raw(n) => SimDuration(n),
        }
    }
}

/// A number: in [0, 1], a scaled integer, or any f64 (NaN, infinities...).
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Num {
    Unit(u16),
    Small(u16),
    Big(u16),
    Raw(f64),
}

impl Num {
    fn get(self) -> f64 {
        match self {
            Num::Unit(n) => f64::from(n) / f64::from(u16::MAX),
            Num::Small(n) => f64::from(n) / 100.0,
            Num::Big(n) => f64::from(n) * 1e4,
            Num::Raw(x) => x,
        }
    }
}

/// A count: usually small, sometimes any u64.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Count {
    Small(u8),
    Raw(u64),
}

impl Count {
    fn get(self) -> u64 {
        match self {
            Count::Small(n) => n.into(),
            Count::Raw(n) => n,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum PolicyIn {
    Fair { slice: Dur, wakeup_granularity: Dur },
    RoundRobin { quantum: Dur },
}

#[derive(Arbitrary, Debug)]
struct OsIn {
    policy: PolicyIn,
    ctx_switch: Dur,
    wake_latency: Dur,
    wake_jitter: Num,
    wake_lognormal: bool,
    timer_slack: Dur,
    signal_cost: Dur,
}

#[derive(Arbitrary, Debug)]
enum GilIn {
    Default,
    New {
        switch_interval: Dur,
        check_period: Dur,
        random: bool,
    },
    Old {
        check_interval: u16,
        tick: Dur,
        release_gap: Dur,
        random: bool,
    },
    None {
        slowdown: Num,
    },
}

fn choice(random: bool) -> WaiterChoice {
    if random {
        WaiterChoice::Random
    } else {
        WaiterChoice::Fifo
    }
}

impl GilIn {
    fn get(&self) -> GilModel {
        match *self {
            GilIn::Default => GilModel::new_gil(),
            GilIn::New {
                switch_interval,
                check_period,
                random,
            } => GilModel::New {
                switch_interval: switch_interval.get(),
                check_period: check_period.get(),
                waiter_choice: choice(random),
            },
            GilIn::Old {
                check_interval,
                tick,
                release_gap,
                random,
            } => GilModel::Old {
                check_interval: check_interval.into(),
                tick: tick.get(),
                release_gap: release_gap.get(),
                waiter_choice: choice(random),
            },
            GilIn::None { slowdown } => GilModel::None {
                slowdown: slowdown.get(),
            },
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum MethodIn {
    Fork,
    Spawn,
    Forkserver,
}

impl MethodIn {
    fn get(self) -> StartMethod {
        match self {
            MethodIn::Fork => StartMethod::Fork,
            MethodIn::Spawn => StartMethod::Spawn,
            MethodIn::Forkserver => StartMethod::Forkserver,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum DistIn {
    Fixed(Dur),
    Uniform(Dur, Dur),
    Exp(Dur),
    LogNormal(Dur, Num),
    Normal(Dur, Dur),
    Empirical(Vec<Dur>),
}

impl DistIn {
    fn get(&self) -> Dist {
        match self {
            DistIn::Fixed(d) => Dist::Fixed(d.get()),
            DistIn::Uniform(lo, hi) => Dist::Uniform {
                lo: lo.get(),
                hi: hi.get(),
            },
            DistIn::Exp(m) => Dist::Exp { mean: m.get() },
            DistIn::LogNormal(m, cv) => Dist::LogNormal {
                mean: m.get(),
                cv: cv.get(),
            },
            DistIn::Normal(m, sd) => Dist::Normal {
                mean: m.get(),
                sd: sd.get(),
            },
            DistIn::Empirical(v) => Dist::Empirical(v.iter().take(16).map(|d| d.get()).collect()),
        }
    }
}

/// A step; ids are taken modulo (count + 1), so an unknown id is possible.
#[derive(Arbitrary, Debug)]
enum StepIn {
    Py(Dur),
    C(Dur, bool),
    Io(Option<u8>, DistIn),
    Sleep(Dur),
    Repeat(Count, Vec<StepIn>),
    LoopFor(Dur, Vec<StepIn>),
    Acquire(u8),
    Release(u8),
    Put(u8, Count),
    Get(u8),
    StartThread(u8),
    Join(u8),
    StartProcess(u8),
    JoinProcess(u8),
    MapPool(u8),
    Send(Dur, DistIn),
    Recv,
    Call(u8, Dur),
    Accept(u8),
    Respond(Dur),
}

/// Entity counts, for mapping ids.
struct Counts {
    devices: usize,
    locks: usize,
    queues: usize,
    threads: usize,
    processes: usize,
    pools: usize,
    listeners: usize,
}

fn id(raw: u8, n: usize) -> u32 {
    (usize::from(raw) % (n + 1)) as u32
}

fn steps(v: &[StepIn], n: &Counts) -> Vec<Step> {
    v.iter().take(8).map(|s| step(s, n)).collect()
}

fn step(s: &StepIn, n: &Counts) -> Step {
    match s {
        StepIn::Py(d) => Step::Py(d.get()),
        StepIn::C(d, r) => Step::c(d.get(), *r),
        StepIn::Io(dev, lat) => Step::Io {
            device: dev.map(|d| e::DeviceId(id(d, n.devices))),
            latency: lat.get(),
        },
        StepIn::Sleep(d) => Step::Sleep(d.get()),
        StepIn::Send(cpu, lat) => Step::Send {
            cpu: cpu.get(),
            latency: lat.get(),
        },
        StepIn::Recv => Step::Recv,
        StepIn::Call(l, cpu) => Step::Call {
            listener: e::ListenerId(id(*l, n.listeners)),
            cpu: cpu.get(),
        },
        StepIn::Accept(l) => Step::Accept(e::ListenerId(id(*l, n.listeners))),
        StepIn::Respond(cpu) => Step::Respond { cpu: cpu.get() },
        StepIn::Repeat(k, body) => Step::Repeat {
            times: k.get(),
            body: steps(body, n),
        },
        StepIn::LoopFor(d, body) => Step::LoopFor {
            dur: d.get(),
            body: steps(body, n),
        },
        StepIn::Acquire(l) => Step::Acquire(e::LockId(id(*l, n.locks))),
        StepIn::Release(l) => Step::Release(e::LockId(id(*l, n.locks))),
        StepIn::Put(q, b) => Step::Put {
            queue: e::QueueId(id(*q, n.queues)),
            bytes: b.get(),
        },
        StepIn::Get(q) => Step::Get(e::QueueId(id(*q, n.queues))),
        StepIn::StartThread(t) => Step::StartThread(e::ThreadId(id(*t, n.threads))),
        StepIn::Join(t) => Step::Join(e::ThreadId(id(*t, n.threads))),
        StepIn::StartProcess(p) => Step::StartProcess(e::ProcessId(id(*p, n.processes))),
        StepIn::JoinProcess(p) => Step::JoinProcess(e::ProcessId(id(*p, n.processes))),
        StepIn::MapPool(p) => Step::MapPool(e::PoolId(id(*p, n.pools))),
    }
}

#[derive(Arbitrary, Debug)]
struct ThreadIn {
    interp: u8,
    autostart: bool,
    program: Vec<StepIn>,
}

#[derive(Arbitrary, Debug)]
struct TaskIn {
    steps: Vec<StepIn>,
    arg_bytes: Count,
    result_bytes: Count,
}

#[derive(Arbitrary, Debug)]
struct PoolIn {
    /// `None`: a thread pool.
    processes: Option<MethodIn>,
    /// 255 means 0 workers (invalid); otherwise 1..=8.
    workers: u8,
    tasks: Vec<TaskIn>,
    worker_gil: GilIn,
}

#[derive(Arbitrary, Debug)]
struct CostsIn {
    thread_start: Dur,
    fork: (Dur, Dur),
    spawn: (Dur, Dur),
    forkserver: (Dur, Dur),
    pickle_bytes_per_sec: Num,
    pipe_latency: Dur,
    pipe_bytes_per_sec: Num,
}

fn start_cost((parent, child): (Dur, Dur)) -> StartCost {
    StartCost {
        parent: parent.get(),
        child: child.get(),
    }
}

/// The scalars come first: when the input runs out, `arbitrary` fills the
/// rest with zeros, and a zero maps to a valid value for each of them.
#[derive(Arbitrary, Debug)]
struct Input {
    seed: u64,
    /// Zero: 1 s; otherwise at most `MAX_UNTIL`.
    until: Dur,
    /// `MAX_EVENTS - (n % MAX_EVENTS)`, except `u32::MAX`: 0 (invalid).
    max_events: u32,
    /// `1 + n % MAX_CORES`, except 255: 0 (invalid).
    cores: u8,
    core_speed: Option<Vec<Num>>,
    os: Option<OsIn>,
    main_gil: GilIn,
    costs: Option<CostsIn>,
    locks: u8,
    /// Concurrency of each device (`Some(0)` is invalid).
    devices: Vec<Option<u8>>,
    queues: Vec<bool>,
    /// Processes after the main one; `None` start method is invalid.
    processes: Vec<Option<MethodIn>>,
    /// Interpreters after the main one: (process index, GIL).
    interpreters: Vec<(u8, GilIn)>,
    pools: Vec<PoolIn>,
    threads: Vec<ThreadIn>,
    /// Listening sockets served in the model: each one's network delay.
    listeners: Vec<DistIn>,
}

// `..Default::default()` keeps fields added to the engine later at their defaults.
#[allow(clippy::needless_update)]
fn config(i: &Input) -> SimConfig {
    let cores = if i.cores == u8::MAX {
        0
    } else {
        1 + u32::from(i.cores % MAX_CORES)
    };
    let mut machine = MachineConfig::with_cores(cores);
    if let Some(v) = &i.core_speed {
        machine.core_speed = v.iter().take(9).map(|x| x.get()).collect();
    }
    if let Some(os) = &i.os {
        let spread = if os.wake_lognormal {
            e::WakeSpread::LogNormal(os.wake_jitter.get())
        } else {
            e::WakeSpread::Uniform(os.wake_jitter.get())
        };
        machine.os = OsConfig {
            policy: match os.policy {
                PolicyIn::Fair {
                    slice,
                    wakeup_granularity,
                } => e::Policy::Fair {
                    slice: slice.get(),
                    wakeup_granularity: wakeup_granularity.get(),
                },
                PolicyIn::RoundRobin { quantum } => e::Policy::RoundRobin {
                    quantum: quantum.get(),
                },
            },
            ctx_switch: os.ctx_switch.get(),
            wake_latency: os.wake_latency.get(),
            wake_spread: spread,
            shallow_wake_spread: spread,
            timer_slack: os.timer_slack.get(),
            signal_cost: os.signal_cost.get(),
            // Fields added later keep their defaults.
            ..OsConfig::default()
        };
    }
    let mut c = SimConfig::new(machine, i.main_gil.get());
    for (k, m) in i.processes.iter().take(MAX_PROCESSES - 1).enumerate() {
        c.processes.push(ProcessConfig {
            name: format!("p{}", k + 1),
            start_method: m.map(MethodIn::get),
            rss_bytes: 0,
        });
        // Every started process gets an interpreter of its own.
        c.interpreters.push(InterpreterConfig {
            process: e::ProcessId(k as u32 + 1),
            gil: GilModel::new_gil(),
        });
    }
    for (p, gil) in i.interpreters.iter().take(MAX_INTERPS - 1) {
        c.interpreters.push(InterpreterConfig {
            process: e::ProcessId(id(*p, c.processes.len())),
            gil: gil.get(),
        });
    }
    c.devices = i
        .devices
        .iter()
        .take(3)
        .enumerate()
        .map(|(k, conc)| DeviceConfig {
            name: format!("d{k}"),
            concurrency: conc.map(|n| u32::from(n % 5)),
        })
        .collect();
    c.locks = (0..i.locks % 4).map(|k| format!("l{k}")).collect();
    c.queues = i
        .queues
        .iter()
        .take(3)
        .enumerate()
        .map(|(k, &ipc)| QueueConfig {
            name: format!("q{k}"),
            ipc,
        })
        .collect();
    for (k, d) in i.listeners.iter().take(3).enumerate() {
        c.add_listener(&format!("s{k}"), d.get());
    }
    let threads: Vec<&ThreadIn> = i.threads.iter().take(MAX_THREADS).collect();
    let pools: Vec<&PoolIn> = i.pools.iter().take(2).collect();
    let n = Counts {
        devices: c.devices.len(),
        locks: c.locks.len(),
        queues: c.queues.len(),
        threads: threads.len(),
        processes: c.processes.len(),
        pools: pools.len(),
        listeners: c.listeners.len(),
    };
    for (k, t) in threads.iter().enumerate() {
        c.threads.push(ThreadConfig {
            name: format!("t{k}"),
            interp: InterpId(id(t.interp, c.interpreters.len())),
            autostart: t.autostart,
            program: steps(&t.program, &n),
        });
    }
    for (k, p) in pools.iter().enumerate() {
        c.pools.push(PoolConfig {
            name: format!("pool{k}"),
            kind: match p.processes {
                None => PoolKind::Threads,
                Some(m) => PoolKind::Processes(m.get()),
            },
            workers: if p.workers == u8::MAX {
                0
            } else {
                1 + u32::from(p.workers % MAX_WORKERS)
            },
            tasks: p
                .tasks
                .iter()
                .take(16)
                .map(|t| TaskConfig {
                    steps: steps(&t.steps, &n),
                    arg_bytes: t.arg_bytes.get(),
                    result_bytes: t.result_bytes.get(),
                })
                .collect(),
            worker_gil: p.worker_gil.get(),
            options: Default::default(),
        });
    }
    if let Some(k) = &i.costs {
        c.costs = Costs {
            thread_start: k.thread_start.get(),
            fork: start_cost(k.fork),
            spawn: start_cost(k.spawn),
            forkserver: start_cost(k.forkserver),
            pickle_bytes_per_sec: k.pickle_bytes_per_sec.get(),
            pipe_latency: k.pipe_latency.get(),
            pipe_bytes_per_sec: k.pipe_bytes_per_sec.get(),
            ..Costs::default()
        };
    }
    c.limits.seed = i.seed;
    let until = match i.until.get() {
        SimDuration::ZERO => SimDuration::secs(1),
        d => d.min(MAX_UNTIL),
    };
    c.limits.until = Some(SimTime(until.0));
    c.limits.max_events = if i.max_events == u32::MAX {
        0
    } else {
        MAX_EVENTS - u64::from(i.max_events) % MAX_EVENTS
    };
    c
}

fn on_core(s: ThreadState) -> bool {
    matches!(
        s,
        ThreadState::Python | ThreadState::NativeHoldingGil | ThreadState::NativeReleasedGil
    )
}

fn holds_gil(s: ThreadState) -> bool {
    matches!(s, ThreadState::Python | ThreadState::NativeHoldingGil)
}

/// The largest number of `[start, end)` intervals that overlap at one instant.
fn max_overlap<'a>(ivs: impl Iterator<Item = &'a e::Interval>) -> usize {
    let mut edges: Vec<(u64, i32)> = Vec::new();
    for iv in ivs {
        edges.push((iv.start.0, 1));
        edges.push((iv.end.0, -1));
    }
    edges.sort_unstable();
    let (mut cur, mut max) = (0i32, 0i32);
    for (_, d) in edges {
        cur += d;
        max = max.max(cur);
    }
    max as usize
}

/// True if some step of the config is an `Accept` (a server thread).
fn serves(c: &SimConfig) -> bool {
    fn any(steps: &[Step]) -> bool {
        steps.iter().any(|s| match s {
            Step::Accept(_) => true,
            Step::Repeat { body, .. } | Step::LoopFor { body, .. } => any(body),
            _ => false,
        })
    }
    c.threads.iter().any(|t| any(&t.program))
        || c.pools.iter().any(|p| p.tasks.iter().any(|t| any(&t.steps)))
}

/// Invariants of every successful run.
fn check(c: &SimConfig, r: &e::Report, trace: &VecTrace) {
    let end = r.end;
    let until = c.limits.until.unwrap_or(SimTime::MAX);
    assert!(end <= until, "end {end} after until {until}");
    match r.stop {
        StopReason::Until => assert_eq!(end, until, "stopped by until at {end}"),
        // A server thread waiting in `Accept` is idle, not stuck: a run
        // completes around it, unfinished.
        StopReason::Completed if !serves(c) => {
            for t in &r.threads {
                assert!(
                    t.started.is_none() || t.finished.is_some(),
                    "completed run, but {} never finished",
                    t.name
                );
            }
        }
        StopReason::Completed => {}
    }
    assert!(r.makespan <= end.since(SimTime::ZERO));
    if r.stop == StopReason::Completed {
        let last = r.threads.iter().filter_map(|t| t.finished).max();
        assert_eq!(
            r.makespan,
            last.unwrap_or(SimTime::ZERO).since(SimTime::ZERO)
        );
    }
    assert!(r.totals.events <= c.limits.max_events);
    assert!(r.processes.len() >= c.processes.len());
    assert!(r.gils.len() >= c.interpreters.len());
    // Hand-offs come in time order, within the run, to a thread of that GIL.
    for w in trace.handoffs.windows(2) {
        assert!(w[0].time <= w[1].time, "{:?} before {:?}", w[0], w[1]);
    }
    for h in &trace.handoffs {
        assert!(h.time <= end, "{h:?} after the end {end}");
        assert_eq!(r.threads[h.to.index()].interp, h.interp, "{h:?}");
        if let Some(from) = h.from {
            assert_eq!(r.threads[from.index()].interp, h.interp, "{h:?}");
        }
    }
    assert!(r.threads.len() >= c.threads.len());
    assert_eq!(r.cores.len(), c.machine.cores as usize);
    for core in &r.cores {
        assert!(
            core.busy <= end.since(SimTime::ZERO),
            "core busy {}",
            core.busy
        );
    }
    let mut per_thread = vec![Vec::new(); r.threads.len()];
    for iv in &trace.intervals {
        assert!(iv.start < iv.end, "empty interval {iv:?}");
        assert!(iv.end <= end, "interval {iv:?} after the end {end}");
        per_thread[iv.thread.index()].push(*iv);
    }
    for (t, ivs) in r.threads.iter().zip(&mut per_thread) {
        match t.started {
            None => {
                assert!(t.finished.is_none(), "{} finished unstarted", t.name);
                assert_eq!(t.times.total(), SimDuration::ZERO, "{}", t.name);
            }
            Some(s) => {
                let stop = t.finished.unwrap_or(end);
                assert!(s <= stop && stop <= end, "{}: {s} to {stop}", t.name);
                // State times add up to the lifetime.
                assert_eq!(t.times.total(), stop - s, "{}: {:?}", t.name, t.times);
            }
        }
        // A thread's intervals never overlap and add up to its state times.
        ivs.sort_unstable_by_key(|iv| iv.start);
        for w in ivs.windows(2) {
            assert!(
                w[0].end <= w[1].start,
                "{}: {:?} overlaps {:?}",
                t.name,
                w[0],
                w[1]
            );
        }
        let sum: u64 = ivs.iter().map(|iv| (iv.end - iv.start).0).sum();
        assert_eq!(sum, t.times.total().0, "{}", t.name);
    }
    // Never more threads on cores than cores.
    let busy = max_overlap(trace.intervals.iter().filter(|iv| on_core(iv.state)));
    assert!(
        busy <= r.cores.len(),
        "{busy} threads on {} cores",
        r.cores.len()
    );
    // At most one holder of each GIL at every instant.
    for (g, gil) in r.gils.iter().enumerate() {
        if gil.model == "none" {
            continue;
        }
        let holders =
            max_overlap(trace.intervals.iter().filter(|iv| {
                holds_gil(iv.state) && r.threads[iv.thread.index()].interp.index() == g
            }));
        assert!(holders <= 1, "{holders} holders of GIL {}", gil.name);
    }
}

/// `GILSIM_FUZZ_STATS=1`: print each outcome (to see what the corpus reaches).
fn show_outcomes() -> bool {
    static SHOW: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SHOW.get_or_init(|| std::env::var_os("GILSIM_FUZZ_STATS").is_some())
}

fuzz_target!(|input: Input| {
    let cfg = config(&input);
    let plain = e::run(&cfg);
    let traced = e::run_traced(&cfg);
    // Exact fusion of no-op GIL expiries changes nothing, trace included.
    let mut unfused = cfg.clone();
    unfused.fusion = false;
    assert!(
        e::run_traced(&unfused) == traced,
        "fusion on and off differ (report, error or trace)"
    );
    if show_outcomes() {
        match &plain {
            Ok(r) => eprintln!("outcome: ok {:?} {} events", r.stop, r.totals.events),
            Err(e::EngineError::Config(c)) => eprintln!("outcome: invalid {}", c.field),
            Err(e) => eprintln!("outcome: {}", e.to_string().split(':').next().unwrap_or("")),
        }
    }
    match (plain, traced) {
        (Ok(r), Ok((rt, trace))) => {
            // A trace sink never changes the result.
            assert_eq!(r, rt, "run and run_traced differ");
            check(&cfg, &r, &trace);
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "run and run_traced fail differently"),
        (a, b) => panic!(
            "run and run_traced disagree: {:?} vs {:?}",
            a.map(|_| ()),
            b.map(|_| ())
        ),
    }
});
