//! The simulation kernel: the world's threads and cores, the event loop, and
//! the application of what the mechanisms answer.
//!
//! The mechanisms own their state behind narrow doors and never see the
//! kernel: the GIL (`gil.rs`), the run queue (`sched.rs`), locks and queues
//! (`sync.rs`), devices (`device.rs`) and pools (`pool.rs`). The kernel asks
//! them and applies their answers — blocking and waking threads, scheduling
//! events, charging CPU time — in its own files, one per mechanism:
//! `kernel/gil.rs`, `kernel/cpu.rs` (cores, dispatch, preemption, wake-up
//! latency), `kernel/sync.rs`, `kernel/io.rs` (blocking calls, sleeps,
//! request/reply), `kernel/process.rs` (processes, start-up, pool maps).
//! `kernel/program.rs` expands each thread's [`Step`]s into micro-operations,
//! executed only while the thread has a core.

use crate::config::*;
use crate::device::Device;
use crate::error::{BlockedThread, EngineError};
use crate::event_queue::EventQueue;
use crate::gil::Gil;
use crate::ids::*;
use crate::listener::Listener;
use crate::pool::Pool;
use crate::report::*;
use crate::rng::{stream, StreamRng};
use crate::sched::Scheduler;
use crate::source::Source;
use crate::sync::{Lock, Queue};
use crate::time::{SimDuration, SimTime};
use crate::trace::{ThreadState, TraceSink};
use cpu::Wake;
use process::Process;
use std::collections::VecDeque;

pub(crate) mod cpu;
mod event_loop;
mod gil;
pub(crate) mod io;
mod overflow;
pub(crate) mod process;
mod program;
mod serve;

pub(crate) use event_loop::LoopOp;
pub(crate) use program::{BurstKind, Frame, FrameKind, Micro};
mod sync;

pub use io::MAX_PENDING_REPLIES;

/// Why a blocked thread is blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// On the GIL's condition (timed under the new GIL).
    Gil,
    /// On the forced-switch condition.
    GilSwitch,
    /// On an I/O call.
    Io,
    /// In a `recv` with no request pending: forever.
    NoRequest,
    /// In `time.sleep`.
    Sleep,
    /// On a lock.
    Lock(LockId),
    /// On an empty queue.
    Queue(QueueId),
    /// On another thread's end.
    Join(ThreadId),
    /// On a process's end.
    Process(ProcessId),
    /// Pool caller waiting for results.
    PoolResults(PoolId),
    /// Pool worker waiting for a task.
    PoolTask(PoolId),
    /// Server thread waiting for a request (`Accept`): idle, not stuck.
    Accept(ListenerId),
    /// In a `recv` of the reply to request `seq` from an in-model server.
    Reply(u32),
    /// An event loop's thread in a blocking `select`.
    Select(LoopId),
    /// An executor worker of the loop waiting for a job.
    Executor(LoopId),
}

/// A thread's OS state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Run {
    NotStarted,
    /// In the run queue.
    Ready,
    /// A core is switching to it (context switch, idle-core wake-up).
    Dispatching(CoreId),
    Running(CoreId),
    Blocked(Wait),
    Done,
}

/// A CPU burst in progress.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Burst {
    pub kind: BurstKind,
    /// Work left when the burst (re)started, in reference nanoseconds.
    pub work: u64,
    pub started: SimTime,
    pub speed: f64,
}

/// A reply a thread waits for: when it is there to read (`None`: not yet
/// sent by an in-model server), and when its request was sent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reply {
    due: Option<SimTime>,
    sent: SimTime,
    /// The request's number, for replies from a listener.
    seq: u32,
}

/// Runtime state of one thread.
pub(crate) struct Thread<'a> {
    name: String,
    interp: InterpId,
    process: ProcessId,
    autostart: bool,
    program: &'a [Step],
    frames: Vec<Frame<'a>>,
    micro: VecDeque<Micro<'a>>,
    run: Run,
    /// Current accounting state and since when (`None`: not alive).
    acct: Option<(ThreadState, SimTime)>,
    burst: Option<Burst>,
    /// Bumped to cancel a scheduled burst end or eval-breaker check.
    cpu_gen: u32,
    /// Bumped to cancel a scheduled timer.
    wait_gen: u32,
    /// An eval-breaker check is scheduled in the current burst.
    check_scheduled: bool,
    vruntime: u64,
    run_start: SimTime,
    last_core: Option<CoreId>,
    /// When the last I/O call returned, until the thread holds the GIL again.
    io_return: Option<SimTime>,
    /// Pending requests, oldest first: when each reply arrives and when its
    /// request was sent.
    replies: VecDeque<Reply>,
    /// Requests to listeners sent so far (numbers them).
    calls: u32,
    /// Server: requests accepted and not yet answered, oldest first.
    serving: VecDeque<(ListenerId, crate::listener::Request)>,
    /// When the operation in progress began.
    op_start: SimTime,
    /// When the pool task in progress began.
    task_start: SimTime,
    joiners: Vec<ThreadId>,
    rng_io: StreamRng,
    rng_wake: StreamRng,
    rng_timer: StreamRng,
    report: ThreadReport,
}

/// Runtime state of one core.
pub(crate) struct Core {
    thread: Option<ThreadId>,
    running: bool,
    last_thread: Option<ThreadId>,
    gen: u32,
    /// The current thread's slice end matters (the run queue is non-empty):
    /// it is due at `slice_due`.
    slice_armed: bool,
    slice_due: SimTime,
    /// The time of the one `SliceEnd` event kept in the queue for this core,
    /// and its generation. It survives re-dispatch: a slice end due later
    /// re-schedules it when it fires, so cores do not leave a trail of
    /// cancelled events each time their thread changes.
    slice_event: Option<SimTime>,
    slice_gen: u32,
    speed: f64,
    busy: SimDuration,
    busy_since: Option<SimTime>,
    /// When the core last went idle.
    idle_since: SimTime,
    /// The core is leaving idle for a timer that fired on it: until its
    /// thread runs, other wakers still see it idle (Linux `idle_cpu()`: the
    /// woken thread is enqueued only once the core handles the interrupt).
    timer_wake_pending: bool,
    context_switches: u64,
}

/// Kernel events. Cancellable ones carry the generation they were scheduled under.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Event {
    /// A CPU burst finished.
    BurstDone(ThreadId, u32),
    /// The holder reaches an eval-breaker check (drop request, or old-GIL tick count).
    Check(ThreadId, u32),
    /// A timed wait expired (GIL condition timeout, sleep).
    Timer(ThreadId, u32),
    /// An I/O call returned.
    IoDone(ThreadId, Option<DeviceId>),
    /// A core finished switching to its thread.
    CoreReady(CoreId, u32),
    /// A running thread's slice expired.
    SliceEnd(CoreId, u32),
    /// An item crossed a pipe into a queue.
    QueueDeliver(QueueId, u64),
    /// A pool task crossed the pipe to the workers.
    TaskDeliver(PoolId, u32),
    /// A pool result crossed the pipe to the caller.
    ResultDeliver(PoolId),
    /// Request `seq` of a client reached a listener.
    RequestArrives(ListenerId, ThreadId, u32),
    /// The reply to request `seq` reached its client.
    ReplyArrives(ThreadId, u32),
    /// An arrival source sends its next request.
    SourceSends(SourceId),
    /// A source's request (its slot) reached the listener.
    SourceArrives(SourceId, u32),
    /// The socket I/O a task of a loop awaits completed.
    LoopIo(LoopId, crate::event_loop::TaskId),
}

/// The whole simulated world during a run.
pub(crate) struct Sim<'a, S: TraceSink> {
    cfg: &'a SimConfig,
    now: SimTime,
    queue: EventQueue<Event>,
    threads: Vec<Thread<'a>>,
    cores: Vec<Core>,
    sched: Scheduler,
    gils: Vec<Gil>,
    /// The GIL door's answers, reused between questions.
    gil_effects: Vec<crate::gil::Effect>,
    processes: Vec<Process>,
    devices: Vec<Device>,
    locks: Vec<Lock>,
    queues: Vec<Queue>,
    pools: Vec<Pool>,
    listeners: Vec<Listener>,
    sources: Vec<Source>,
    loops: Vec<event_loop::LoopState<'a>>,
    sink: &'a mut S,
    /// Events processed plus micro-operations executed: bounded by `max_events`.
    budget_used: u64,
    /// Asked every [`CANCEL_CHECK_EVERY`] units of budget whether to stop.
    cancelled: &'a dyn Fn() -> bool,
    next_cancel_check: u64,
    events: u64,
    peak_pending: usize,
    /// Queue length that triggers dropping stale events.
    compact_at: usize,
    error: Option<EngineError>,
}

/// Runs `cfg` and returns its report; trace records go to `sink`.
pub fn run_with_sink<S: TraceSink>(cfg: &SimConfig, sink: &mut S) -> Result<Report, EngineError> {
    run_cancellable(cfg, sink, &|| false)
}

/// Events and micro-operations between two calls of a run's `cancelled`.
pub const CANCEL_CHECK_EVERY: u64 = 1 << 12;

/// [`run_with_sink`], asking `cancelled` every [`CANCEL_CHECK_EVERY`] events
/// and micro-operations whether to stop (at ≈ 100 ns each, every ≈ 0.4 ms of
/// wall time): the run then ends with [`EngineError::Cancelled`].
pub fn run_cancellable<S: TraceSink>(
    cfg: &SimConfig,
    sink: &mut S,
    cancelled: &dyn Fn() -> bool,
) -> Result<Report, EngineError> {
    cfg.validate()?;
    let mut sim = Sim::new(cfg, sink, cancelled);
    sim.start();
    let stop = sim.event_loop()?;
    Ok(sim.finish(stop))
}

impl<'a, S: TraceSink> Sim<'a, S> {
    fn new(cfg: &'a SimConfig, sink: &'a mut S, cancelled: &'a dyn Fn() -> bool) -> Self {
        let seed = cfg.limits.seed;
        let speed = |i: usize| cfg.machine.core_speed.get(i).copied().unwrap_or(1.0);
        let cores = (0..cfg.machine.cores as usize)
            .map(|i| Core {
                thread: None,
                running: false,
                last_thread: None,
                gen: 0,
                slice_armed: false,
                slice_due: SimTime::ZERO,
                slice_event: None,
                slice_gen: 0,
                speed: speed(i),
                busy: SimDuration::ZERO,
                busy_since: None,
                idle_since: SimTime::ZERO,
                timer_wake_pending: false,
                context_switches: 0,
            })
            .collect();
        let mut sim = Sim {
            cfg,
            now: SimTime::ZERO,
            queue: EventQueue::new(),
            threads: Vec::with_capacity(cfg.threads.len()),
            cores,
            sched: Scheduler::new(cfg.machine.os.policy.clone()),
            gils: Vec::new(),
            gil_effects: Vec::new(),
            processes: cfg.processes.iter().map(Process::new).collect(),
            devices: cfg.devices.iter().map(Device::new).collect(),
            locks: cfg.locks.iter().map(|_| Lock::default()).collect(),
            queues: cfg.queues.iter().map(Queue::new).collect(),
            pools: Vec::new(),
            listeners: cfg.listeners.iter().map(|_| Listener::default()).collect(),
            sources: cfg
                .sources
                .iter()
                .enumerate()
                .map(|(i, c)| Source::new(c, stream(seed, "source", i as u64)))
                .collect(),
            loops: Vec::new(),
            sink,
            budget_used: 0,
            cancelled,
            next_cancel_check: CANCEL_CHECK_EVERY,
            events: 0,
            peak_pending: 0,
            compact_at: 32,
            error: None,
        };
        for (i, it) in cfg.interpreters.iter().enumerate() {
            let name = if i == 0 {
                "main".to_string()
            } else {
                format!("interp{i}")
            };
            let rng = stream(seed, "gil-waiter", i as u64);
            sim.gils.push(Gil::new(&it.gil, rng, name, it.process));
        }
        for t in &cfg.threads {
            let p = cfg.interpreters[t.interp.index()].process;
            sim.add_thread(t.name.clone(), t.interp, p, t.autostart, &t.program);
        }
        sim.create_pools();
        sim.create_loops();
        sim
    }

    /// Registers a thread (config threads first, then pool workers).
    pub(crate) fn add_thread(
        &mut self,
        name: String,
        interp: InterpId,
        process: ProcessId,
        autostart: bool,
        program: &'a [Step],
    ) -> ThreadId {
        let id = ThreadId(self.threads.len() as u32);
        let seed = self.cfg.limits.seed;
        self.threads.push(Thread {
            report: ThreadReport {
                name: name.clone(),
                process,
                interp,
                started: None,
                finished: None,
                times: StateTimes::default(),
                py_work: SimDuration::ZERO,
                gil_acquisitions: 0,
                forced_drops: 0,
                drop_requests: 0,
                failed_wakeups: 0,
                ops: 0,
                tasks: 0,
                gil_wait_after_io: Default::default(),
                op_latency: Default::default(),
            },
            name,
            interp,
            process,
            autostart,
            program,
            frames: Vec::new(),
            micro: VecDeque::new(),
            run: Run::NotStarted,
            acct: None,
            burst: None,
            cpu_gen: 0,
            wait_gen: 0,
            check_scheduled: false,
            vruntime: 0,
            run_start: SimTime::ZERO,
            last_core: None,
            io_return: None,
            replies: VecDeque::new(),
            calls: 0,
            serving: VecDeque::new(),
            op_start: SimTime::ZERO,
            task_start: SimTime::ZERO,
            joiners: Vec::new(),
            rng_io: stream(seed, "io", u64::from(id.0)),
            rng_wake: stream(seed, "wake", u64::from(id.0)),
            rng_timer: stream(seed, "timer", u64::from(id.0)),
        });
        self.processes[process.index()].threads.push(id);
        id
    }

    /// Time 0: the processes that exist from the start (the main process,
    /// servers started before the run) run their autostart threads, and the
    /// arrival sources schedule their first requests.
    fn start(&mut self) {
        self.start_sources();
        for p in 0..self.cfg.processes.len() {
            if self.cfg.processes[p].start_method.is_some() {
                continue;
            }
            self.processes[p].started = true;
            let threads: Vec<ThreadId> = self.processes[p].threads.clone();
            for t in threads {
                if self.threads[t.index()].autostart {
                    self.start_thread(t);
                }
            }
        }
        self.start_warm_pools();
    }

    /// The thread begins its life: runnable, program not yet started.
    pub(crate) fn start_thread(&mut self, t: ThreadId) {
        let th = &mut self.threads[t.index()];
        if th.run != Run::NotStarted {
            return;
        }
        th.report.started = Some(self.now);
        th.frames.push(Frame {
            steps: th.program,
            pc: 0,
            kind: FrameKind::Once,
        });
        th.acct = Some((ThreadState::Runnable, self.now));
        let p = th.process;
        self.processes[p.index()].alive += 1;
        self.sink.thread_started(
            self.now,
            t,
            &self.threads[t.index()].name,
            p,
            &self.processes[p.index()].name,
        );
        self.make_runnable(t, Wake::Remote);
    }

    fn event_loop(&mut self) -> Result<StopReason, EngineError> {
        let until = self.cfg.limits.until.unwrap_or(SimTime::MAX);
        while let Some(at) = self.queue.peek_time() {
            if at > until {
                if self.all_done() {
                    break; // finished before `until`; what is left is stale
                }
                self.now = until;
                return Ok(StopReason::Until);
            }
            let Some((at, ev)) = self.queue.pop() else {
                break;
            };
            if let Some(e) = self.time_overflow(at, ev) {
                return Err(e);
            }
            self.spend_budget()?;
            // A cancelled event, or a timer that only re-arms, is no moment of
            // the simulation: the clock (and so the run's end) stays put.
            let before = self.now;
            self.now = at;
            if self.handle(ev) {
                self.events += 1;
            } else {
                self.now = before;
            }
            if self.queue.len() > self.compact_at {
                self.drop_stale_events();
            }
            self.peak_pending = self.peak_pending.max(self.queue.len());
            if let Some(e) = self.error.take() {
                return Err(e);
            }
        }
        let blocked: Vec<BlockedThread> = self
            .threads
            .iter()
            .filter_map(|th| match th.run {
                Run::Blocked(w) if self.idle_wait(w) => None,
                Run::Blocked(w) => Some(BlockedThread {
                    thread: th.name.clone(),
                    waits_for: self.describe_wait(w),
                }),
                _ => None,
            })
            .collect();
        if !blocked.is_empty() {
            return Err(EngineError::Deadlock {
                time: self.now,
                blocked,
            });
        }
        if self.cfg.limits.until.is_some_and(|u| u > self.now) && !self.all_done() {
            self.now = until;
            return Ok(StopReason::Until);
        }
        Ok(StopReason::Completed)
    }

    /// Cancelled events wait in the queue until their time; a preempted
    /// 10-second burst leaves one 10 s ahead. Dropping them when they outnumber
    /// the live ones keeps memory independent of the simulated duration.
    fn drop_stale_events(&mut self) {
        let (threads, cores) = (&self.threads, &self.cores);
        self.queue.retain(|ev| match *ev {
            Event::BurstDone(t, g) | Event::Check(t, g) => threads[t.index()].cpu_gen == g,
            Event::Timer(t, g) => threads[t.index()].wait_gen == g,
            Event::CoreReady(c, g) => cores[c.index()].gen == g,
            Event::SliceEnd(c, g) => cores[c.index()].slice_gen == g,
            _ => true,
        });
        self.compact_at = (2 * self.queue.len()).max(32);
    }

    /// Every thread finished, never started, or is a server waiting for a
    /// request (server threads serve forever, like daemon threads).
    fn all_done(&self) -> bool {
        self.threads.iter().all(|t| match t.run {
            Run::Done | Run::NotStarted => true,
            Run::Blocked(w) => self.idle_wait(w),
            _ => false,
        })
    }

    fn describe_wait(&self, w: Wait) -> String {
        let tn = |t: ThreadId| self.threads[t.index()].name.clone();
        match w {
            Wait::Gil | Wait::GilSwitch => "the GIL".into(),
            Wait::Io => "I/O".into(),
            Wait::NoRequest => "a reply, but it sent no request".into(),
            Wait::Sleep => "a sleep".into(),
            Wait::Lock(l) => format!("lock \"{}\"", self.cfg.locks[l.index()]),
            Wait::Queue(q) => format!("an item in queue \"{}\"", self.cfg.queues[q.index()].name),
            Wait::Join(t) => format!("thread \"{}\" to finish", tn(t)),
            Wait::Process(p) => format!(
                "process \"{}\" to finish",
                self.cfg.processes[p.index()].name
            ),
            Wait::PoolResults(p) => format!("results of pool \"{}\"", self.pools[p.index()].name()),
            Wait::PoolTask(p) => format!("a task of pool \"{}\"", self.pools[p.index()].name()),
            Wait::Accept(l) => format!(
                "a request on listener \"{}\"",
                self.cfg.listeners[l.index()].name
            ),
            Wait::Reply(_) => "a reply from a server that is not answering".into(),
            Wait::Select(l) => format!(
                "an event of loop \"{}\"",
                self.cfg.event_loops[l.index()].name
            ),
            Wait::Executor(l) => {
                format!("a job of loop \"{}\"", self.cfg.event_loops[l.index()].name)
            }
        }
    }

    /// Handles one event; false if it was stale (cancelled).
    fn handle(&mut self, ev: Event) -> bool {
        match ev {
            Event::BurstDone(t, g) => {
                if self.threads[t.index()].cpu_gen != g {
                    return false;
                }
                self.burst_done(t);
                self.run_thread(t);
            }
            Event::Check(t, g) => {
                if self.threads[t.index()].cpu_gen != g {
                    return false;
                }
                self.eval_breaker_check(t);
                self.run_thread(t);
            }
            Event::Timer(t, g) => {
                if self.threads[t.index()].wait_gen != g {
                    return false;
                }
                self.timer_expired(t);
            }
            Event::IoDone(t, d) => self.io_done(t, d),
            Event::CoreReady(c, g) => {
                if self.cores[c.index()].gen != g {
                    return false;
                }
                self.core_ready(c);
            }
            Event::SliceEnd(c, g) => {
                if self.cores[c.index()].slice_gen != g {
                    return false;
                }
                return self.slice_timer_fired(c);
            }
            Event::QueueDeliver(q, bytes) => {
                self.queue_deliver(q, bytes);
            }
            Event::TaskDeliver(p, k) => self.task_deliver(p, k),
            Event::ResultDeliver(p) => self.result_deliver(p),
            Event::RequestArrives(l, client, seq) => {
                let request = crate::listener::Request::Client { client, seq };
                self.request_arrives(l, request);
            }
            Event::SourceSends(s) => self.source_sends(s),
            Event::SourceArrives(s, slot) => self.source_arrives(s, slot),
            Event::ReplyArrives(client, seq) => self.reply_arrives(client, seq),
            Event::LoopIo(l, task) => self.loop_io_done(l, task),
        }
        true
    }

    // ----- accounting -------------------------------------------------------

    /// Closes the current accounting interval of `t` and opens `state`.
    pub(crate) fn set_state(&mut self, t: ThreadId, state: ThreadState) {
        let now = self.now;
        let th = &mut self.threads[t.index()];
        if let Some((old, since)) = th.acct {
            if old == state {
                return;
            }
            if now > since {
                add_time(&mut th.report.times, old, now - since);
                self.sink.interval(t, old, since, now);
            }
        }
        th.acct = Some((state, now));
    }

    fn close_accounting(&mut self, t: ThreadId) {
        let now = self.now;
        let th = &mut self.threads[t.index()];
        if let Some((old, since)) = th.acct.take() {
            if now > since {
                add_time(&mut th.report.times, old, now - since);
                self.sink.interval(t, old, since, now);
            }
        }
    }

    /// Counts one event or micro-operation against `max_events`, and every
    /// [`CANCEL_CHECK_EVERY`] asks the caller whether to stop.
    fn spend_budget(&mut self) -> Result<(), EngineError> {
        self.budget_used += 1;
        if self.budget_used >= self.cfg.limits.max_events {
            return Err(EngineError::EventLimit {
                limit: self.cfg.limits.max_events,
                time: self.now,
            });
        }
        if self.budget_used >= self.next_cancel_check {
            self.next_cancel_check = self.budget_used + CANCEL_CHECK_EVERY;
            if (self.cancelled)() {
                return Err(EngineError::Cancelled { time: self.now });
            }
        }
        Ok(())
    }

    /// `t` leaves its core and blocks on `w`.
    pub(crate) fn block(&mut self, t: ThreadId, w: Wait) {
        let state = match w {
            Wait::Gil | Wait::GilSwitch => ThreadState::WaitingGil,
            _ => ThreadState::Blocked,
        };
        self.set_state(t, state);
        self.leave_core(t);
        self.threads[t.index()].run = Run::Blocked(w);
    }

    /// A blocked `t` is woken by another thread or a device (futex wake, I/O completion).
    pub(crate) fn wake(&mut self, t: ThreadId) {
        self.wake_for(t, Wake::Remote);
    }

    /// A blocked `t`'s timed wait expired (a sleep, the GIL's timed wait).
    pub(crate) fn wake_by_timer(&mut self, t: ThreadId) {
        self.wake_for(t, Wake::Timer);
    }

    fn wake_for(&mut self, t: ThreadId, how: Wake) {
        if let Run::Blocked(w) = self.threads[t.index()].run {
            self.pay_for_blocking(t, w);
            self.threads[t.index()].wait_gen += 1;
            self.set_state(t, ThreadState::Runnable);
            self.make_runnable(t, how);
        }
    }

    /// A thread resuming from a blocking wait (not a GIL wait) first spends
    /// the OS's `block_cpu` on its core: the sleep and the switch back in.
    fn pay_for_blocking(&mut self, t: ThreadId, w: Wait) {
        let cost = self.cfg.machine.os.block_cpu.0;
        if cost > 0 && !matches!(w, Wait::Gil | Wait::GilSwitch) {
            self.threads[t.index()]
                .micro
                .push_front(Micro::Run(BurstKind::Sys, cost));
        }
    }

    /// An operation of `kind` is complete: record its duration.
    fn op_done(&mut self, t: ThreadId, kind: OpKind) {
        let th = &mut self.threads[t.index()];
        th.report.op_latency.record(kind, self.now - th.op_start);
    }

    fn finish_thread(&mut self, t: ThreadId) {
        if self.holds_gil(t) {
            // Final release: wakes a waiter, no forced-switch handshake.
            let m = &mut self.threads[t.index()].micro;
            m.push_front(Micro::Finish);
            self.release_gil(t);
            return;
        }
        self.close_accounting(t);
        self.leave_core(t);
        let th = &mut self.threads[t.index()];
        th.run = Run::Done;
        th.report.finished = Some(self.now);
        let joiners = std::mem::take(&mut th.joiners);
        let p = th.process;
        for j in joiners {
            self.wake(j);
        }
        self.thread_exited_process(p);
    }

    fn finish(mut self, stop: StopReason) -> Report {
        let end = self.now;
        for i in 0..self.threads.len() {
            self.close_accounting(ThreadId(i as u32));
        }
        for i in 0..self.cores.len() {
            let (c, core) = (CoreId(i as u32), &self.cores[i]);
            if let (Some(t), true) = (core.thread, core.running) {
                let since = self.threads[t.index()].run_start;
                self.ran_on_core(c, t, since);
            }
        }
        for c in &mut self.cores {
            if let Some(s) = c.busy_since.take() {
                c.busy += end - s;
            }
        }
        let makespan = match stop {
            StopReason::Completed => self
                .threads
                .iter()
                .filter_map(|t| t.report.finished)
                .max()
                .unwrap_or(SimTime::ZERO)
                .since(SimTime::ZERO),
            StopReason::Until => end.since(SimTime::ZERO),
        };
        let cores: Vec<CoreReport> = self
            .cores
            .iter()
            .map(|c| CoreReport {
                busy: c.busy,
                utilisation: if end.0 > 0 {
                    c.busy.0 as f64 / end.0 as f64
                } else {
                    0.0
                },
                context_switches: c.context_switches,
            })
            .collect();
        for (i, th) in self.threads.iter_mut().enumerate() {
            let t = ThreadId(i as u32);
            for c in self.gils.iter().map(|g| g.counts(t)) {
                let r = &mut th.report;
                r.gil_acquisitions += c.acquisitions;
                r.forced_drops += c.forced_drops;
                r.drop_requests += c.drop_requests;
                r.failed_wakeups += c.failed_wakeups;
            }
        }
        let gils: Vec<GilReport> = self.gils.iter().map(Gil::report).collect();
        let processes: Vec<ProcessReport> = self
            .processes
            .iter()
            .map(|p| ProcessReport {
                name: p.name.clone(),
                start_method: p.method,
                started: p.started,
            })
            .collect();
        let listeners: Vec<ListenerReport> = self
            .cfg
            .listeners
            .iter()
            .zip(&self.listeners)
            .map(|(c, l)| ListenerReport {
                name: c.name.clone(),
                accepted: l.accepted(),
                peak_backlog: l.peak_backlog() as u64,
                backlog: l.history().points(self.now),
            })
            .collect();
        let sources: Vec<SourceReport> = self
            .cfg
            .sources
            .iter()
            .zip(&self.sources)
            .map(|(c, s)| {
                let servers = self
                    .threads
                    .iter()
                    .filter(|t| t.program.iter().any(|st| serves(st, c.listener)))
                    .count();
                SourceReport {
                    name: c.name.clone(),
                    sent: s.sent(),
                    completed: s.completed(),
                    dropped: s.dropped_count(),
                    timed_out: s.timed_out(),
                    latency: s.latency().clone(),
                    saturated: s.saturated(servers),
                    in_server: s.in_server().points(self.now),
                }
            })
            .collect();
        let loops = self.loop_reports();
        let totals = Totals {
            gil_switches: gils.iter().map(|g| g.switches).sum(),
            failed_wakeups: gils.iter().map(|g| g.failed_wakeups).sum(),
            drop_requests: gils.iter().map(|g| g.drop_requests).sum(),
            context_switches: cores.iter().map(|c| c.context_switches).sum(),
            events: self.events,
            peak_pending_events: self.peak_pending as u64,
        };
        Report {
            stop,
            end,
            makespan,
            threads: self.threads.into_iter().map(|t| t.report).collect(),
            cores,
            gils,
            processes,
            listeners,
            sources,
            loops,
            totals,
        }
    }
}

/// Whether `step` (or a loop inside it) accepts requests on `l`.
fn serves(step: &Step, l: ListenerId) -> bool {
    match step {
        Step::Accept(x) | Step::Serve { listener: x, .. } => *x == l,
        Step::Repeat { body, .. } | Step::LoopFor { body, .. } => body.iter().any(|s| serves(s, l)),
        _ => false,
    }
}

fn add_time(times: &mut StateTimes, s: ThreadState, d: SimDuration) {
    let slot = match s {
        ThreadState::Python => &mut times.python,
        ThreadState::NativeHoldingGil => &mut times.native_holding_gil,
        ThreadState::NativeReleasedGil => &mut times.native_released_gil,
        ThreadState::WaitingGil => &mut times.waiting_gil,
        ThreadState::Runnable => &mut times.runnable,
        ThreadState::Blocked => &mut times.blocked,
    };
    *slot += d;
}

/// The physical limit of the kernel: `holds` hold operations (pop the earliest
/// event, push one a pseudo-random delay later) on an event queue of `size`
/// pending kernel events, the same event type the engine uses. Returns a
/// checksum so the work cannot be optimised away. For benchmarks.
pub fn event_queue_hold(size: usize, holds: u64) -> u64 {
    let mut q: EventQueue<Event> = EventQueue::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let next = |x: &mut u64| {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x % 5_000_000
    };
    for i in 0..size.max(1) {
        let d = next(&mut x);
        q.push(SimTime(d), Event::BurstDone(ThreadId(i as u32), 0));
    }
    let mut sum = 0u64;
    for _ in 0..holds {
        if let Some((t, Event::BurstDone(id, _))) = q.pop() {
            sum = sum.wrapping_add(t.0 ^ u64::from(id.0));
            let d = next(&mut x);
            q.push(SimTime(t.0 + d), Event::BurstDone(id, 0));
        }
    }
    sum
}
