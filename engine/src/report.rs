//! The run report: every metric of a run, per thread, per core, per GIL and in total.

use crate::histogram::Histogram;
use crate::ids::{InterpId, ProcessId};
use crate::time::{SimDuration, SimTime};

/// Why the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Every started thread finished.
    Completed,
    /// The `until` time was reached.
    Until,
}

/// Time a thread spent in each state; the parts add up to its lifetime.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateTimes {
    /// Running Python.
    pub python: SimDuration,
    /// Running native code holding the GIL.
    pub native_holding_gil: SimDuration,
    /// Running native code or system calls with the GIL released.
    pub native_released_gil: SimDuration,
    /// Waiting for the GIL (condition wait or forced-switch handshake).
    pub waiting_gil: SimDuration,
    /// Runnable without a core.
    pub runnable: SimDuration,
    /// Blocked on I/O, sleep, lock, queue, join.
    pub blocked: SimDuration,
}

impl StateTimes {
    /// The sum of all parts.
    pub fn total(&self) -> SimDuration {
        self.python
            + self.native_holding_gil
            + self.native_released_gil
            + self.waiting_gil
            + self.runnable
            + self.blocked
    }
    /// Time on a core (Python + native).
    pub fn cpu(&self) -> SimDuration {
        self.python + self.native_holding_gil + self.native_released_gil
    }
}

/// Metrics of one thread.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadReport {
    /// Its name.
    pub name: String,
    /// Its process.
    pub process: ProcessId,
    /// Its interpreter.
    pub interp: InterpId,
    /// When it started (never started: `None`).
    pub started: Option<SimTime>,
    /// When it finished (still running at the end: `None`).
    pub finished: Option<SimTime>,
    /// Time per state.
    pub times: StateTimes,
    /// Python work completed (reference-core nanoseconds of `py` steps).
    pub py_work: SimDuration,
    /// Times it took the GIL.
    pub gil_acquisitions: u64,
    /// Times it was made to drop the GIL by a drop request (new GIL).
    pub forced_drops: u64,
    /// Drop requests it set after a switch interval without a switch.
    pub drop_requests: u64,
    /// Times it was woken to take the GIL and found it taken.
    pub failed_wakeups: u64,
    /// Completed blocking I/O calls.
    pub ops: u64,
    /// Completed pool tasks (workers).
    pub tasks: u64,
    /// The GIL wait after each blocking call: from the call's return to
    /// running with the GIL again.
    pub gil_wait_after_io: Histogram,
    /// The duration of each operation, per kind (see [`OpKind`]).
    pub op_latency: OpLatencies,
}

/// The kinds of operation whose durations a thread records: each from the
/// moment the thread, holding the GIL, starts the operation to the moment it
/// holds the GIL again after it (so the GIL wait that follows counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    /// An `io` call.
    Io,
    /// A request/reply exchange: a `send` to the end of its matching `recv`.
    RoundTrip,
    /// `time.sleep`.
    Sleep,
    /// A queue `get`.
    QueueGet,
    /// A lock `acquire`.
    LockAcquire,
    /// A pool task, on its worker: from taking the task to handing back its result.
    PoolTask,
}

impl OpKind {
    /// Every kind, in a fixed order.
    pub const ALL: [OpKind; 6] = [
        OpKind::Io,
        OpKind::RoundTrip,
        OpKind::Sleep,
        OpKind::QueueGet,
        OpKind::LockAcquire,
        OpKind::PoolTask,
    ];
    /// Its name in scripts and tables: `io`, `round_trip`, `sleep`,
    /// `queue_get`, `lock_acquire`, `pool_task`.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Io => "io",
            OpKind::RoundTrip => "round_trip",
            OpKind::Sleep => "sleep",
            OpKind::QueueGet => "queue_get",
            OpKind::LockAcquire => "lock_acquire",
            OpKind::PoolTask => "pool_task",
        }
    }
    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<OpKind> {
        OpKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One latency histogram per [`OpKind`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpLatencies {
    by_kind: [Histogram; 6],
}

impl OpLatencies {
    /// The durations of operations of `kind`.
    pub fn of(&self, kind: OpKind) -> &Histogram {
        &self.by_kind[kind as usize]
    }
    /// Records one operation.
    pub fn record(&mut self, kind: OpKind, d: SimDuration) {
        self.by_kind[kind as usize].record(d);
    }
    /// Every operation, whatever its kind.
    pub fn all(&self) -> Histogram {
        let mut h = Histogram::new();
        for k in &self.by_kind {
            h.merge(k);
        }
        h
    }
}

impl ThreadReport {
    /// Lifetime: from start to finish, or to the end of the run.
    pub fn lifetime(&self) -> SimDuration {
        self.times.total()
    }
    /// Completed ops per second of its lifetime (0 for a thread that never ran).
    pub fn ops_per_sec(&self) -> f64 {
        let life = self.lifetime().as_secs_f64();
        if life > 0.0 {
            self.ops as f64 / life
        } else {
            0.0
        }
    }
}

/// Metrics of one core.
#[derive(Clone, Debug, PartialEq)]
pub struct CoreReport {
    /// Time executing threads or switching between them.
    pub busy: SimDuration,
    /// `busy / end time`.
    pub utilisation: f64,
    /// Context switches on this core.
    pub context_switches: u64,
}

/// One process of the run (config processes first, then pool worker processes).
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessReport {
    /// Its name (pool worker processes: `<pool>-worker<i>`).
    pub name: String,
    /// How it was started (`None`: the main process).
    pub start_method: Option<crate::config::StartMethod>,
    /// Whether it was started during the run.
    pub started: bool,
}

/// Metrics of one GIL (one interpreter).
#[derive(Clone, Debug, PartialEq)]
pub struct GilReport {
    /// Name of its interpreter (`main`, `interp<i>`, or the pool worker's name).
    pub name: String,
    /// The process it lives in.
    pub process: ProcessId,
    /// The model: `new`, `old` or `none`.
    pub model: &'static str,
    /// Times the holder changed (`switch_number`).
    pub switches: u64,
    /// Acquisitions of any kind.
    pub acquisitions: u64,
    /// Drop requests set.
    pub drop_requests: u64,
    /// Forced drops honoured.
    pub forced_drops: u64,
    /// Woken waiters that found the GIL taken.
    pub failed_wakeups: u64,
    /// Old GIL: periodic checks performed while others waited.
    pub checks: u64,
}

/// Totals over the run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// GIL holder changes over all GILs.
    pub gil_switches: u64,
    /// Failed wake-ups over all GILs.
    pub failed_wakeups: u64,
    /// Drop requests over all GILs.
    pub drop_requests: u64,
    /// Context switches over all cores.
    pub context_switches: u64,
    /// Events processed by the kernel.
    pub events: u64,
    /// Largest number of pending events at once (the event queue's size).
    pub peak_pending_events: u64,
}

/// The report of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Why it ended.
    pub stop: StopReason,
    /// The virtual time at which it ended.
    pub end: SimTime,
    /// When the last thread finished (or the end, if some never finished).
    pub makespan: SimDuration,
    /// Per thread, in config order (then pool workers).
    pub threads: Vec<ThreadReport>,
    /// Per core.
    pub cores: Vec<CoreReport>,
    /// Per interpreter (config interpreters first, then pool worker interpreters).
    pub gils: Vec<GilReport>,
    /// Per process (config processes first, then pool worker processes).
    pub processes: Vec<ProcessReport>,
    /// Per listening socket served in the model, in config order.
    pub listeners: Vec<ListenerReport>,
    /// Per arrival source, in config order.
    pub sources: Vec<SourceReport>,
    /// Per asyncio event loop, in config order.
    pub loops: Vec<LoopReport>,
    /// Totals.
    pub totals: Totals,
}

/// Metrics of one arrival source.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceReport {
    /// Its name.
    pub name: String,
    /// Requests sent.
    pub sent: u64,
    /// Requests whose reply reached the client (timed-out ones included).
    pub completed: u64,
    /// Requests refused because the listener's backlog was full.
    pub dropped: u64,
    /// Completed requests whose reply came after the source's timeout.
    pub timed_out: u64,
    /// Latency of each completed request: from its sending to its reply's arrival.
    pub latency: crate::histogram::Histogram,
    /// The offered load exceeded what the servers could take: over 1% of
    /// the requests refused, or a backlog that kept growing (the backlog
    /// arrivals found in the last quarter of the run at least twice that of
    /// the second quarter, and more than the server threads).
    pub saturated: bool,
    /// Requests at the server (arrived, not yet answered: waiting in the
    /// backlog or being handled) over time, per time bucket.
    pub in_server: Vec<crate::level::LevelPoint>,
}

/// Metrics of one asyncio event loop.
#[derive(Clone, Debug, PartialEq)]
pub struct LoopReport {
    /// Its name.
    pub name: String,
    /// Iterations (`_run_once` calls).
    pub iterations: u64,
    /// Callbacks run.
    pub handles: u64,
    /// Tasks that returned (its coroutines and the requests it served).
    pub tasks_done: u64,
    /// When each of its configured coroutines returned (`None`: it did not).
    pub coroutine_ends: Vec<Option<SimTime>>,
    /// Live tasks integrated over the run, task·seconds: divided by the
    /// run's span, the mean number of tasks in the loop.
    pub task_seconds: f64,
}

/// Metrics of one listening socket.
#[derive(Clone, Debug, PartialEq)]
pub struct ListenerReport {
    /// Its name.
    pub name: String,
    /// Requests accepted by its server threads.
    pub accepted: u64,
    /// Most requests waiting to be accepted at once.
    pub peak_backlog: u64,
    /// Requests waiting to be accepted over time, per time bucket.
    pub backlog: Vec<crate::level::LevelPoint>,
}

impl Report {
    /// The first thread with this name.
    pub fn thread(&self, name: &str) -> Option<&ThreadReport> {
        self.threads.iter().find(|t| t.name == name)
    }
    /// Completed ops of a thread per second of its lifetime.
    pub fn ops_per_sec(&self, name: &str) -> Option<f64> {
        self.thread(name).map(ThreadReport::ops_per_sec)
    }
}
