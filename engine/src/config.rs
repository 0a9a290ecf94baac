//! The run configuration: machine, OS scheduler, interpreters and their GILs,
//! processes, threads and their workloads, devices, synchronisation, pools.
//!
//! A config is plain data. [`SimConfig::validate`] checks it and names the
//! field, the value and what is allowed; the engine runs only valid configs.
//! Every default is for a current Linux x86-64 machine and CPython 3.12, and
//! its doc comment cites where the number comes from
//! (`shared/research/gil-anchors.md` sections in brackets).

use crate::dist::Dist;
use crate::error::ConfigError;
use crate::ids::*;
use crate::time::{SimDuration, SimTime};

/// Smallest fraction of the timer slack by which a timed wait expires late.
pub const TIMER_SLACK_MIN_FRACTION: f64 = 0.8;

/// The OS scheduler's policy for threads that compete for cores.
#[derive(Clone, Debug, PartialEq)]
pub enum Policy {
    /// CFS/EEVDF-like: least virtual runtime first, a time slice, wake-up
    /// preemption when the woken thread is behind by more than `wakeup_granularity`,
    /// sleepers placed at most half a latency period behind (Linux `kernel/sched/fair.c`).
    Fair {
        /// Slice a running thread gets before the next runnable one may take
        /// its core. Default 3 ms: EEVDF `base_slice` at ≥ 8 CPUs [§5.5].
        slice: SimDuration,
        /// A woken thread preempts the running thread with the largest
        /// virtual runtime if it is behind it by more than this. Default 1 ms
        /// (`sched_wakeup_granularity` base value) [§5.5].
        wakeup_granularity: SimDuration,
    },
    /// Round robin: a FIFO run queue and a fixed quantum, no wake-up preemption.
    RoundRobin {
        /// The quantum.
        quantum: SimDuration,
    },
}

impl Policy {
    /// The default `fair` policy.
    pub fn fair() -> Self {
        Policy::Fair {
            slice: SimDuration::ms(3),
            wakeup_granularity: SimDuration::ms(1),
        }
    }
    /// Round robin with the given quantum.
    pub fn round_robin(quantum: SimDuration) -> Self {
        Policy::RoundRobin { quantum }
    }
}

/// Costs and policy of the OS scheduler.
#[derive(Clone, Debug, PartialEq)]
pub struct OsConfig {
    /// The scheduling policy.
    pub policy: Policy,
    /// CPU time a core spends switching from one thread to another. Default
    /// 2 µs: 1.1–2.4 µs measured by pipe ping-pong on Linux 6.6, 3.8 µs direct
    /// cost in Li et al. 2007 [§5.5].
    pub ctx_switch: SimDuration,
    /// Mean delay before an idle core runs a thread it was woken for (IPI and
    /// C-state exit). Default 5 µs: C1/C1E exit latencies are 1–10 µs in
    /// `drivers/idle/intel_idle.c` [§5.5, §6].
    pub wake_latency: SimDuration,
    /// A core idle for less than this still sits in a shallow C-state and
    /// wakes in [`shallow_wake_latency`](Self::shallow_wake_latency). Default
    /// 100 µs: cpuidle governors pick a deep state only for long idle periods.
    pub shallow_idle: SimDuration,
    /// Wake-up delay of a core that went idle less than `shallow_idle` ago.
    /// Default 2 µs: C1 exit latency in `intel_idle.c` [§5.5].
    pub shallow_wake_latency: SimDuration,
    /// How wake-ups from a shallow idle state spread around
    /// `shallow_wake_latency`. Default `Uniform(0.5)`, like `wake_spread`.
    pub shallow_wake_spread: WakeSpread,
    /// How each wake-up from a deep idle state spreads around
    /// `wake_latency`. Default `Uniform(0.5)`. Without spread the old GIL's race
    /// between a woken waiter and the re-acquiring holder would be decided
    /// identically every time, and waiters whose timed waits have the same
    /// period would stay in step; a profile sets the spread it measured.
    pub wake_spread: WakeSpread,
    /// A timed wait (a sleep, the GIL's timed condition wait) expires between
    /// [`TIMER_SLACK_MIN_FRACTION`] of this and all of it after its deadline
    /// (an hrtimer fires at the end of its slack range unless something else
    /// wakes the core first). Default 50 µs: Linux's default `timer_slack_ns`.
    pub timer_slack: SimDuration,
    /// CPU time of a futex wake system call that wakes a waiter
    /// (`pthread_cond_signal` with a sleeper, `sem_post`). Default 1.5 µs,
    /// about one direct context switch [§5.5].
    pub signal_cost: SimDuration,
    /// CPU time of a blocking call that returns at once (its data or buffer
    /// space is already there), spent in the kernel with the GIL released:
    /// CPython releases the GIL around every such call (`sock_call_ex`,
    /// `Py_BEGIN_ALLOW_THREADS`), so a waiter woken by that release races
    /// the caller's re-take (`research/wake-path.md` §4.3, case A). Default
    /// 1.66 µs: a 16-byte `recv` with its data waiting, measured
    /// single-threaded on the reference VM
    /// (`calibration/profiles/reference-2026-12-05.json`,
    /// `recv_ready_syscall_us`); a profile with that key sets it.
    pub syscall: SimDuration,
    /// CPU a thread spends on blocking and being woken, beyond its system
    /// call: going to sleep (`schedule()` away to the idle task or another
    /// thread) and switching back in (research notes §5.5). Charged on the
    /// thread's core, GIL released, when it resumes from a blocking wait other
    /// than a wait for the GIL (whose cost the wake path's measured latencies
    /// hold). A busy server whose next request is already waiting does not
    /// block and does not pay it. Default 0 (not charged); a profile with
    /// `block_wake_cpu_us` sets it.
    pub block_cpu: SimDuration,
}

impl Default for OsConfig {
    fn default() -> Self {
        OsConfig {
            policy: Policy::fair(),
            ctx_switch: SimDuration::us(2),
            wake_latency: SimDuration::us(5),
            shallow_idle: SimDuration::us(100),
            shallow_wake_latency: SimDuration::us(2),
            shallow_wake_spread: WakeSpread::Uniform(0.5),
            wake_spread: WakeSpread::Uniform(0.5),
            timer_slack: SimDuration::us(50),
            signal_cost: SimDuration::ns(1_500),
            syscall: SimDuration::ns(1_660),
            block_cpu: SimDuration::ZERO,
        }
    }
}

/// The spread of wake-up latencies around their typical value `m`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WakeSpread {
    /// Uniform in `m × [1 − j, 1 + j]`, `j` in 0–1 (0: always `m`).
    Uniform(f64),
    /// Log-normal with median `m` and shape `σ` (0–3): `m × exp(σ Z)`, Z
    /// standard normal clamped to ±4. Measured wake-ups of a vCPU that idled are skewed
    /// this way (calibration: p10 and p90 about half and twice the median).
    LogNormal(f64),
}

impl WakeSpread {
    /// Whether the parameter is in range.
    pub fn is_valid(self) -> bool {
        match self {
            WakeSpread::Uniform(j) => j.is_finite() && (0.0..=1.0).contains(&j),
            WakeSpread::LogNormal(s) => s.is_finite() && (0.0..=3.0).contains(&s),
        }
    }
}

/// The machine: identical cores (optionally with speed factors) and the OS.
#[derive(Clone, Debug, PartialEq)]
pub struct MachineConfig {
    /// Number of cores (≥ 1).
    pub cores: u32,
    /// Per-core speed factors (1.0 = reference speed); empty means all 1.0,
    /// otherwise one entry per core.
    pub core_speed: Vec<f64>,
    /// The OS scheduler.
    pub os: OsConfig,
}

impl MachineConfig {
    /// A machine with `cores` reference-speed cores and the default OS.
    pub fn with_cores(cores: u32) -> Self {
        MachineConfig {
            cores,
            core_speed: Vec::new(),
            os: OsConfig::default(),
        }
    }
}

/// Which GIL waiter a release wakes.
///
/// `Fifo` is the mechanism of glibc and the kernel, rule by rule
/// (`research/wake-path.md` §1.2, §2): `pthread_cond_signal` signals the
/// older waiter group G1, and `FUTEX_WAKE(1)` wakes the oldest queued
/// non-real-time waiter of that group's futex word (`__futex_queue`,
/// `plist_add`), so a signal goes to the waiter whose *current* wait began
/// earliest. A waiter whose timed wait expires leaves its group and waits
/// again as the newest (`__condvar_cancel_waiting`, a new `__wseq`
/// position). The old GIL's `sem_t` (`sem_post` → `futex_wake(1)`) wakes the
/// oldest blocked waiter too (§6). `Random` is an explicit alternative for
/// users who want a coin flip among the waiters; nothing in the sources
/// supports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaiterChoice {
    /// The waiter whose current wait began earliest (glibc + futex order).
    Fifo,
    /// A seeded random waiter (a coin flip; not CPython's mechanism).
    Random,
}

/// The GIL model of one interpreter.
#[derive(Clone, Debug, PartialEq)]
pub enum GilModel {
    /// CPython ≥ 3.2 (`Python/ceval_gil.c`, FORCE_SWITCHING) [§1].
    New {
        /// `sys.setswitchinterval`; default 5 ms (`DEFAULT_INTERVAL 5000`) [§1.7].
        switch_interval: SimDuration,
        /// Time between eval-breaker checks in running Python code (loop back
        /// edges and calls). Default 1 µs: pure-Python loops check every
        /// iteration, tens of ns apart [§1.4]; the exact value hardly matters
        /// next to a 5 ms interval. Checks are computed, not simulated one by one.
        check_period: SimDuration,
        /// Which waiter a release wakes.
        waiter_choice: WaiterChoice,
    },
    /// CPython ≤ 3.1: release and immediately re-acquire every
    /// `check_interval` ticks, no handshake [§2].
    Old {
        /// `sys.setcheckinterval`; default 100 ticks [§2.1].
        check_interval: u32,
        /// CPU time of one tick (about one bytecode). Default 50 ns: Python 2
        /// ran on the order of 20 M bytecodes per second.
        tick: SimDuration,
        /// Time the GIL stays free between the release and the re-acquire when
        /// no waiter needs signalling (the two lock calls). Default 200 ns.
        release_gap: SimDuration,
        /// Which waiter a release wakes.
        waiter_choice: WaiterChoice,
    },
    /// Free-threaded build (PEP 703): no GIL; Python runs `slowdown` times
    /// slower. Default 1.08: 3.14's single-thread overhead on x86-64 Linux is
    /// "about 8%" [§3, §5.1].
    None {
        /// Factor applied to every `py` step (≥ 1 is typical).
        slowdown: f64,
    },
}

impl GilModel {
    /// The new GIL with its defaults.
    pub fn new_gil() -> Self {
        GilModel::New {
            switch_interval: SimDuration::ms(5),
            check_period: SimDuration::us(1),
            waiter_choice: WaiterChoice::Fifo,
        }
    }
    /// The new GIL with the given switch interval.
    pub fn new_with_interval(switch_interval: SimDuration) -> Self {
        match Self::new_gil() {
            GilModel::New {
                check_period,
                waiter_choice,
                ..
            } => GilModel::New {
                switch_interval,
                check_period,
                waiter_choice,
            },
            other => other,
        }
    }
    /// The old GIL with its defaults.
    pub fn old_gil() -> Self {
        GilModel::Old {
            check_interval: 100,
            tick: SimDuration::ns(50),
            release_gap: SimDuration::ns(200),
            waiter_choice: WaiterChoice::Fifo,
        }
    }
    /// No GIL, with the default slowdown.
    pub fn no_gil() -> Self {
        GilModel::None { slowdown: 1.08 }
    }
    /// The model's name as used in configs and tables: `new`, `old`, `none`.
    pub fn name(&self) -> &'static str {
        match self {
            GilModel::New { .. } => "new",
            GilModel::Old { .. } => "old",
            GilModel::None { .. } => "none",
        }
    }
}

/// How a process is started (`multiprocessing` start methods) [§4.2].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartMethod {
    /// `os.fork()`: cheap, the child is a copy.
    Fork,
    /// A fresh interpreter: re-initialisation and imports.
    Spawn,
    /// A fork server forks children on request.
    Forkserver,
}

impl StartMethod {
    /// `fork`, `spawn` or `forkserver`.
    pub fn name(self) -> &'static str {
        match self {
            StartMethod::Fork => "fork",
            StartMethod::Spawn => "spawn",
            StartMethod::Forkserver => "forkserver",
        }
    }
}

/// Cost of starting a process by one method.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StartCost {
    /// Native time in the parent, holding its GIL (the fork/exec system calls).
    pub parent: SimDuration,
    /// Python time of the child's start-up (interpreter init, imports) before
    /// it runs its workload.
    pub child: SimDuration,
}

/// Costs of threads, processes and inter-process communication.
#[derive(Clone, Debug, PartialEq)]
pub struct Costs {
    /// Native time (GIL held) in the thread that starts a thread. Default 100 µs:
    /// "Starting a thread takes ~100 µs" (PEP 703) [§5.4].
    pub thread_start: SimDuration,
    /// Default parent 0.5 ms + child 0.2 ms: PEP 371 measured 0.71 ms to
    /// create, run and join one forked worker [§5.4].
    pub fork: StartCost,
    /// Default parent 1 ms + child 50 ms: "spawning a subprocess takes ~50 ms
    /// due to Python re-initialization" (PEP 703) [§5.4].
    pub spawn: StartCost,
    /// Default parent 1.2 ms + child 0.3 ms: about 820 forkserver starts per
    /// second (gh-97514) [§5.4].
    pub forkserver: StartCost,
    /// Pickling and unpickling throughput, bytes per second of Python time
    /// (`_pickle` never releases the GIL [§4.2]). Default 200 MB/s.
    pub pickle_bytes_per_sec: f64,
    /// One-way latency of a pipe between processes. Default 20 µs.
    pub pipe_latency: SimDuration,
    /// Pipe bandwidth, bytes per second. Default 1 GB/s.
    pub pipe_bytes_per_sec: f64,
    /// Python time of the caller per task submitted to a thread pool
    /// (`ThreadPoolExecutor.submit`: a `Future`, a work item, the queue put,
    /// the executor's bookkeeping). Default 3.7 µs, measured on the reference
    /// machine (`calibration/measure_profile.py`, `executor_task_us`).
    pub executor_submit: SimDuration,
    /// Python time of a thread-pool worker per task around the task itself
    /// (`_WorkItem.run`: the call and `Future.set_result`). Default 1.8 µs
    /// (reference machine).
    pub executor_run: SimDuration,
    /// Python time of the caller per result it collects from a thread pool
    /// (`Future.result()` of a finished future). Default 0.45 µs (reference machine).
    pub executor_collect: SimDuration,
    /// Python time at each end of one message through a `multiprocessing`
    /// queue, beside the pickling itself: the queue's lock and the
    /// `Connection` send or receive around the system call. Half of one
    /// measured `put` + `get` of a small task: default 3.1 µs (reference
    /// machine, `ipc_message_us`).
    pub ipc_message: SimDuration,
    /// The asyncio event loop's own costs.
    pub asyncio: crate::event_loop::LoopCosts,
    /// The parent's extra native time of a `fork` per GiB of its resident
    /// memory: `fork()` copies the parent's page tables (`copy_page_range`,
    /// `mm/memory.c`), one entry per resident page. Default 0 (the measured
    /// start of a small process is `fork`); a profile with `fork_rss_ms` sets it.
    pub fork_per_gib: SimDuration,
    /// Python time of the caller to construct a `ThreadPoolExecutor` (a
    /// queue, a semaphore, the bookkeeping; no thread starts before the
    /// first submit, `Lib/concurrent/futures/thread.py`). Default 0; a
    /// profile with `executor_construct_us` sets it.
    pub thread_executor_construct: SimDuration,
    /// Python time of the caller to construct a `ProcessPoolExecutor`
    /// (its call queue, result queue and wake-up pipe; no process starts
    /// before the first submit, `Lib/concurrent/futures/process.py`).
    /// Default 0.
    pub process_executor_construct: SimDuration,
    /// Python time of the caller to construct a `multiprocessing.Pool`
    /// beside starting its workers: its queues and pipes and its three
    /// handler threads (`Lib/multiprocessing/pool.py`, `Pool.__init__`).
    /// Default 0.
    pub pool_construct: SimDuration,
}

impl Default for Costs {
    fn default() -> Self {
        Costs {
            thread_start: SimDuration::us(100),
            fork: StartCost {
                parent: SimDuration::us(500),
                child: SimDuration::us(200),
            },
            spawn: StartCost {
                parent: SimDuration::ms(1),
                child: SimDuration::ms(50),
            },
            forkserver: StartCost {
                parent: SimDuration::us(1200),
                child: SimDuration::us(300),
            },
            pickle_bytes_per_sec: 200e6,
            pipe_latency: SimDuration::us(20),
            pipe_bytes_per_sec: 1e9,
            executor_submit: SimDuration::ns(3_700),
            executor_run: SimDuration::ns(1_800),
            executor_collect: SimDuration::ns(450),
            ipc_message: SimDuration::ns(3_100),
            asyncio: Default::default(),
            fork_per_gib: SimDuration::ZERO,
            thread_executor_construct: SimDuration::ZERO,
            process_executor_construct: SimDuration::ZERO,
            pool_construct: SimDuration::ZERO,
        }
    }
}

impl Costs {
    /// The start cost of `method`.
    pub fn start_cost(&self, method: StartMethod) -> StartCost {
        match method {
            StartMethod::Fork => self.fork,
            StartMethod::Spawn => self.spawn,
            StartMethod::Forkserver => self.forkserver,
        }
    }
    /// Python time to pickle (or unpickle) `bytes`.
    pub fn pickle_time(&self, bytes: u64) -> SimDuration {
        rate_time(bytes, self.pickle_bytes_per_sec)
    }
    /// Python time at one end of a queue message of `bytes`: its pickling
    /// (or unpickling) and the message's own cost (saturating).
    pub fn message_time(&self, bytes: u64) -> SimDuration {
        self.pickle_time(bytes).saturating_add(self.ipc_message)
    }
    /// The parent's side of starting a process by `method` from a parent
    /// with `rss_bytes` resident: a `fork` also copies the page tables
    /// (`fork_per_gib` per GiB, saturating). `spawn` and `forkserver` do
    /// not copy the parent's memory (`exec`, or a fork of the small server).
    pub fn parent_start(&self, method: StartMethod, rss_bytes: u64) -> SimDuration {
        let base = self.start_cost(method).parent;
        if method != StartMethod::Fork || rss_bytes == 0 {
            return base;
        }
        let per = (u128::from(self.fork_per_gib.0) * u128::from(rss_bytes)) >> 30;
        base.saturating_add(SimDuration(u64::try_from(per).unwrap_or(u64::MAX)))
    }
    /// Time for `bytes` to cross a pipe.
    pub fn pipe_time(&self, bytes: u64) -> SimDuration {
        self.pipe_latency + rate_time(bytes, self.pipe_bytes_per_sec)
    }
}

fn rate_time(bytes: u64, per_sec: f64) -> SimDuration {
    if bytes == 0 {
        return SimDuration::ZERO;
    }
    SimDuration::from_secs_f64(bytes as f64 / per_sec).unwrap_or(SimDuration::MAX)
}

/// An OS process.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessConfig {
    /// Name used in reports.
    pub name: String,
    /// `None`: the process exists at time 0 (the main process, or a server
    /// started before the run), its autostart threads running from the
    /// start. `Some(m)`: it is started by a `StartProcess` step and pays the
    /// start cost of `m`. The first process must be `None`.
    pub start_method: Option<StartMethod>,
    /// Resident memory of the process, in bytes: a `fork` it makes copies
    /// its page tables, so the parent's side of the fork grows with it
    /// (`Costs::fork_per_gib`). Default 0: the fork costs `Costs::fork` alone.
    pub rss_bytes: u64,
}

/// A Python interpreter inside a process; each has its own GIL (PEP 684).
#[derive(Clone, Debug, PartialEq)]
pub struct InterpreterConfig {
    /// The process it lives in.
    pub process: ProcessId,
    /// Its GIL model.
    pub gil: GilModel,
}

/// A Python thread.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadConfig {
    /// Name used in reports and traces.
    pub name: String,
    /// The interpreter whose GIL it uses.
    pub interp: InterpId,
    /// Started when its process starts (true) or by a `StartThread` step.
    pub autostart: bool,
    /// What it does.
    pub program: Vec<Step>,
}

/// An I/O device.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceConfig {
    /// Name used in reports.
    pub name: String,
    /// How many requests it serves at once (`None`: unlimited, e.g. a network
    /// link; `Some(1)`: a disk with queue depth 1). Requests beyond it queue FIFO.
    pub concurrency: Option<u32>,
}

/// A listening socket whose requests are served by threads of the same
/// simulation (`Accept`, then the handler's steps, then `Respond`): an
/// in-model peer, with its own CPU work under its own GIL, unlike the
/// delay-only peer of [`Step::Send`].
#[derive(Clone, Debug, PartialEq)]
pub struct ListenerConfig {
    /// Name used in reports.
    pub name: String,
    /// One-way network delay of each request and each reply (loopback: a few µs).
    pub network: Dist,
    /// Most requests that may wait to be accepted (`listen(backlog)`); an
    /// arriving request that finds it full is refused. `None`: unlimited.
    pub backlog: Option<u32>,
}

/// When an arrival source sends its requests.
#[derive(Clone, Debug, PartialEq)]
pub enum Arrivals {
    /// Exponential gaps at `per_s` requests per second on average.
    Poisson {
        /// Mean rate.
        per_s: f64,
    },
    /// One request every `1 / per_s` seconds, the first at the start.
    Periodic {
        /// Rate.
        per_s: f64,
    },
    /// Poisson at `per_s` while on, silent while off, starting on.
    Bursts {
        /// Rate while on.
        per_s: f64,
        /// Length of each on phase.
        on: SimDuration,
        /// Length of each off phase.
        off: SimDuration,
    },
    /// Requests at these offsets from the start (non-decreasing).
    Replay(Vec<SimDuration>),
}

/// One kind of request of a source's mix.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestKind {
    /// Relative weight (> 0) of this kind among the source's requests.
    pub weight: f64,
    /// What the server thread that accepts it runs (`Step::Serve`).
    pub steps: Vec<Step>,
}

/// An open workload: requests sent to a listener at times of their own,
/// whether or not earlier ones were answered.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceConfig {
    /// Name used in reports.
    pub name: String,
    /// Where the requests go.
    pub listener: ListenerId,
    /// When they are sent.
    pub arrivals: Arrivals,
    /// Offset of the first possible arrival from the start of the run.
    pub start: SimDuration,
    /// Sends at most this many requests.
    pub count: Option<u64>,
    /// Sends no request later than this after its start.
    pub until: Option<SimDuration>,
    /// The kinds of request it sends, drawn by weight (at least one).
    pub mix: Vec<RequestKind>,
    /// A reply later than this after its request counts as timed out.
    pub timeout: Option<SimDuration>,
}

/// A queue between threads or processes.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueConfig {
    /// Name used in reports.
    pub name: String,
    /// A `multiprocessing.Queue`: items are pickled by the sender, cross a pipe
    /// and are unpickled by the receiver. Otherwise a `queue.Queue`.
    pub ipc: bool,
}

/// What a pool's workers are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PoolKind {
    /// `ThreadPoolExecutor`: worker threads in the caller's interpreter.
    Threads,
    /// `multiprocessing.Pool`: worker processes started by `method`; arguments
    /// and results are pickled and cross pipes.
    Processes(StartMethod),
}

/// Which API a process pool is: they start their workers differently.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProcessPoolApi {
    /// `multiprocessing.Pool`: every worker starts in the constructor
    /// (`Pool.__init__` → `_repopulate_pool`).
    #[default]
    MultiprocessingPool,
    /// `concurrent.futures.ProcessPoolExecutor` (3.9+): no worker before the
    /// first submit; with `fork` every worker starts at the first submit
    /// (`_start_executor_manager_thread` → `_launch_processes`), otherwise one
    /// per submit while none is idle, up to `workers`
    /// (`_adjust_process_count`); the first submit also starts the
    /// executor's management thread in the parent.
    Executor,
}

/// How a pool is started, fed and reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolOptions {
    /// Process pools: `multiprocessing.Pool` or `ProcessPoolExecutor`.
    /// Thread pools are `ThreadPoolExecutor`s and ignore it.
    pub process_api: ProcessPoolApi,
    /// Tasks per message (process pools): `map(..., chunksize)` pickles a
    /// chunk of tasks into one message and its results into one reply.
    /// Default 1; thread pools take only 1 (`ThreadPoolExecutor.map`
    /// ignores it).
    pub chunksize: u32,
    /// The pool was started before the run: its workers are alive at time
    /// 0 and no map pays construction or worker start-up.
    pub warm: bool,
    /// `map_pool` steps the pool serves before it is shut down (its workers
    /// exit after the last one); a later map does nothing. Default 1.
    pub maps: u32,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            process_api: ProcessPoolApi::MultiprocessingPool,
            chunksize: 1,
            warm: false,
            maps: 1,
        }
    }
}

/// One task of a pool.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskConfig {
    /// What the task does in the worker.
    pub steps: Vec<Step>,
    /// Pickled size of its arguments (process pools).
    pub arg_bytes: u64,
    /// Pickled size of its result (process pools).
    pub result_bytes: u64,
}

/// A thread or process pool whose tasks a `MapPool` step runs.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolConfig {
    /// Name used in reports.
    pub name: String,
    /// Threads or processes.
    pub kind: PoolKind,
    /// Number of workers (≥ 1).
    pub workers: u32,
    /// The tasks, handed out in order to whichever worker is free.
    pub tasks: Vec<TaskConfig>,
    /// GIL model of each worker process's interpreter (process pools).
    pub worker_gil: GilModel,
    /// API, chunking, warm start and reuse (defaults: a cold pool, one map,
    /// one task per message).
    pub options: PoolOptions,
}

/// One step of a thread's program.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Python bytecode for this much CPU time; holds the GIL.
    Py(SimDuration),
    /// Native code (zlib, hashlib, NumPy…) for this much CPU time; it releases
    /// the GIL (`Py_BEGIN_ALLOW_THREADS`) or holds it without eval-breaker checks.
    C {
        /// CPU time of the call.
        dur: SimDuration,
        /// Whether it releases the GIL around the work.
        releases_gil: bool,
    },
    /// A blocking call (a `send`, a `recv`, a `read`): releases the GIL, blocks
    /// for a latency drawn from `latency` (served by `device` if given), then
    /// re-takes the GIL. Counts one op.
    Io {
        /// The device that serves it (`None`: no contention).
        device: Option<DeviceId>,
        /// How long it blocks.
        latency: Dist,
    },
    /// A request sent to a peer (`sock.sendall`): the system call runs for
    /// `cpu` with the GIL released, and the reply arrives `latency` after it
    /// returns, whether or not the thread is waiting for it by then.
    Send {
        /// CPU time of the send system call (GIL released).
        cpu: SimDuration,
        /// From the end of the send until the reply is there to read.
        latency: Dist,
    },
    /// Waits for the reply to the oldest request not yet answered
    /// (`sock.recv`): releases the GIL; returns at once if the reply is
    /// already there, else blocks until it comes. Counts one op.
    Recv,
    /// A request sent to a server of this simulation (`sock.sendall` to a
    /// [`ListenerConfig`]): the system call runs for `cpu` with the GIL
    /// released; the request reaches the listener after its network delay and
    /// waits there for a server thread's `Accept`. Its reply is read by `Recv`.
    Call {
        /// The listening socket.
        listener: ListenerId,
        /// CPU time of the send system call (GIL released).
        cpu: SimDuration,
    },
    /// Server: waits for the next request on the listener (`accept`/`recv`
    /// of a selectors or threaded server), with the GIL released; returns at
    /// once, after its system call, if one is waiting. Counts one op.
    Accept(ListenerId),
    /// Server: accepts the next request on the listener (as `Accept`), runs
    /// the steps its kind carries (a source's request mix; a client's
    /// `Call` carries none), then replies (as `Respond` with `reply_cpu`).
    /// Counts one op.
    Serve {
        /// The listening socket.
        listener: ListenerId,
        /// CPU time of the reply's send system call (GIL released).
        reply_cpu: SimDuration,
    },
    /// Server: sends the reply to the oldest request it accepted and has not
    /// answered (`sock.sendall`): the system call runs for `cpu` with the GIL
    /// released, and the reply reaches the client after the network delay.
    /// With no such request it sends nothing.
    Respond {
        /// CPU time of the send system call (GIL released).
        cpu: SimDuration,
    },
    /// `time.sleep(d)`: releases the GIL; a timed wait, so it wakes late by the timer slack.
    Sleep(SimDuration),
    /// Runs `body` `times` times.
    Repeat {
        /// Number of iterations.
        times: u64,
        /// The steps of one iteration.
        body: Vec<Step>,
    },
    /// Runs `body` again and again until `dur` has passed since the loop began
    /// (checked before each iteration).
    LoopFor {
        /// How long to keep looping.
        dur: SimDuration,
        /// The steps of one iteration.
        body: Vec<Step>,
    },
    /// `lock.acquire()`: releases the GIL while it blocks.
    Acquire(LockId),
    /// `lock.release()`.
    Release(LockId),
    /// `queue.put(item)` of an item pickling to `bytes`.
    Put {
        /// The queue.
        queue: QueueId,
        /// Pickled size of the item (costs only for IPC queues).
        bytes: u64,
    },
    /// `queue.get()`: releases the GIL while it blocks.
    Get(QueueId),
    /// `threading.Thread(...).start()` of a thread that is not autostarted.
    StartThread(ThreadId),
    /// `thread.join()`.
    Join(ThreadId),
    /// `Process(...).start()` of a process with a start method.
    StartProcess(ProcessId),
    /// `process.join()`: waits until all its threads have finished.
    JoinProcess(ProcessId),
    /// `pool.map(...)`: starts the pool's workers, runs every task, waits for
    /// all results, shuts the pool down.
    MapPool(PoolId),
    /// `asyncio.run`: the loop thread runs its event loop (`event_loop.rs`)
    /// until its coroutines return (for ever when it serves a listener).
    RunLoop(LoopId),
    /// An executor worker of the loop: runs its `ToThread` jobs.
    ExecutorWorker(LoopId),
    /// In a coroutine: `await` of socket I/O that completes after `latency`
    /// (the selector's wake-up); the loop runs other tasks meanwhile.
    AwaitIo(Dist),
    /// In a coroutine: `await asyncio.sleep(d)` (0: yield to the loop).
    AwaitSleep(SimDuration),
    /// In a coroutine: `await asyncio.to_thread(...)`: the steps run on a
    /// worker of the loop's executor (same process, same GIL).
    ToThread(Vec<Step>),
}

impl Step {
    /// Python work.
    pub fn py(d: SimDuration) -> Step {
        Step::Py(d)
    }
    /// Native work.
    pub fn c(d: SimDuration, releases_gil: bool) -> Step {
        Step::C {
            dur: d,
            releases_gil,
        }
    }
    /// A blocking I/O call on no particular device.
    pub fn io(latency: Dist) -> Step {
        Step::Io {
            device: None,
            latency,
        }
    }
}

/// Bounds and seed of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunLimits {
    /// Stop at this virtual time (threads still running are reported as such).
    pub until: Option<SimTime>,
    /// Stop with an error after this many events (a runaway workload).
    pub max_events: u64,
    /// The master seed of every random stream.
    pub seed: u64,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            until: None,
            max_events: 100_000_000,
            seed: 0,
        }
    }
}

/// Everything one run needs.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Cores and OS.
    pub machine: MachineConfig,
    /// Processes; the first must be the main process (`start_method: None`).
    pub processes: Vec<ProcessConfig>,
    /// Interpreters, each in a process.
    pub interpreters: Vec<InterpreterConfig>,
    /// Threads, each in an interpreter.
    pub threads: Vec<ThreadConfig>,
    /// I/O devices.
    pub devices: Vec<DeviceConfig>,
    /// Names of the locks.
    pub locks: Vec<String>,
    /// Queues.
    pub queues: Vec<QueueConfig>,
    /// Pools.
    pub pools: Vec<PoolConfig>,
    /// Listening sockets served by threads of this simulation.
    pub listeners: Vec<ListenerConfig>,
    /// Arrival sources sending requests to the listeners.
    pub sources: Vec<SourceConfig>,
    /// asyncio event loops (`SimConfig::add_event_loop`).
    pub event_loops: Vec<crate::event_loop::EventLoopConfig>,
    /// Thread, process and IPC costs.
    pub costs: Costs,
    /// Bounds and seed.
    pub limits: RunLimits,
    /// Exact fusion of GIL waiters' no-op timer expiries (`kernel/gil.rs`):
    /// a speed-up that changes no result; off only to prove that
    /// (`engine/tests/fusion.rs`). On by default.
    pub fusion: bool,
}

impl SimConfig {
    /// A machine with one main process holding one interpreter with `gil`,
    /// and no threads yet.
    pub fn new(machine: MachineConfig, gil: GilModel) -> Self {
        SimConfig {
            machine,
            processes: vec![ProcessConfig {
                name: "main".into(),
                start_method: None,
                rss_bytes: 0,
            }],
            interpreters: vec![InterpreterConfig {
                process: ProcessId(0),
                gil,
            }],
            threads: Vec::new(),
            devices: Vec::new(),
            locks: Vec::new(),
            queues: Vec::new(),
            pools: Vec::new(),
            listeners: Vec::new(),
            sources: Vec::new(),
            event_loops: Vec::new(),
            costs: Costs::default(),
            limits: RunLimits::default(),
            fusion: true,
        }
    }

    /// Adds an autostarted thread to interpreter `interp`.
    pub fn add_thread(&mut self, name: &str, interp: InterpId, program: Vec<Step>) -> ThreadId {
        self.threads.push(ThreadConfig {
            name: name.to_string(),
            interp,
            autostart: true,
            program,
        });
        ThreadId((self.threads.len() - 1) as u32)
    }

    /// Adds a process started later by `method`, with one interpreter; returns both ids.
    pub fn add_process(
        &mut self,
        name: &str,
        method: StartMethod,
        gil: GilModel,
    ) -> (ProcessId, InterpId) {
        self.processes.push(ProcessConfig {
            name: name.into(),
            start_method: Some(method),
            rss_bytes: 0,
        });
        let p = ProcessId((self.processes.len() - 1) as u32);
        (p, self.add_interpreter(p, gil))
    }

    /// Adds an interpreter with its own GIL to process `p`.
    pub fn add_interpreter(&mut self, p: ProcessId, gil: GilModel) -> InterpId {
        self.interpreters
            .push(InterpreterConfig { process: p, gil });
        InterpId((self.interpreters.len() - 1) as u32)
    }

    /// Adds a listening socket served by threads of this simulation, with a
    /// one-way `network` delay per message.
    pub fn add_listener(&mut self, name: &str, network: Dist) -> ListenerId {
        self.listeners.push(ListenerConfig {
            name: name.into(),
            network,
            backlog: None,
        });
        ListenerId((self.listeners.len() - 1) as u32)
    }

    /// Adds an arrival source sending requests of one kind (`steps`) to
    /// `listener` with `arrivals`, from the start, until `until`.
    pub fn add_source(
        &mut self,
        name: &str,
        listener: ListenerId,
        arrivals: Arrivals,
        until: SimDuration,
        steps: Vec<Step>,
    ) -> SourceId {
        self.sources.push(SourceConfig {
            name: name.into(),
            listener,
            arrivals,
            start: SimDuration::ZERO,
            count: None,
            until: Some(until),
            mix: vec![RequestKind { weight: 1.0, steps }],
            timeout: None,
        });
        SourceId((self.sources.len() - 1) as u32)
    }

    /// Checks the whole config; the error names the field, the value and what is allowed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::validate::validate(self)
    }
}
