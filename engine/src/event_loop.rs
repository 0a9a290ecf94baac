//! The asyncio event loop: one thread runs coroutines cooperatively. Python
//! work between two awaits holds the loop (and its process's GIL); an `await`
//! hands the loop to the next ready callback; a blocking call inside a
//! coroutine stalls every other task, because the loop only gets the thread
//! back at the next `await`.
//!
//! **One iteration** follows `BaseEventLoop._run_once`
//! (CPython `Lib/asyncio/base_events.py`, 3.11):
//!
//! 1. the selector is polled: with a timeout of 0 when callbacks are ready,
//!    until the earliest timer when there is one, else for ever
//!    (`self._selector.select(timeout)`); the epoll selector rounds the
//!    timeout *up* to whole milliseconds (`math.ceil(timeout * 1e3) * 1e-3`,
//!    `Lib/selectors.py`, `EpollSelector.select`), so a sleep wakes up to a
//!    millisecond late on an idle loop;
//! 2. the I/O events are turned into callbacks appended to the ready queue
//!    (`_process_events`, `Lib/asyncio/selector_events.py`): **I/O callbacks
//!    go in before timers**;
//! 3. every timer due by now is moved from the heap to the ready queue
//!    (`while self._scheduled: ... self._ready.append(handle)`);
//! 4. exactly the callbacks ready at this point run, first in first out
//!    (`ntodo = len(self._ready)`; `call_soon` appends to a deque): a
//!    callback scheduled by a callback of this iteration waits for the next.
//!
//! A completed future resumes its task through two callbacks: the one the
//! completion runs (a timer's `_set_result_unless_cancelled`, a reader's
//! `_sock_recv`, the executor's `_call_set_state` via
//! `call_soon_threadsafe`), which schedules the task's `__wakeup` with
//! `call_soon` — so a task resumes one iteration after its I/O or timer is
//! collected. `await asyncio.sleep(0)` is a bare `yield`: the task's
//! `__step` is scheduled at once (`Lib/asyncio/tasks.py`, `__sleep0`).
//! Timers with equal deadlines are taken here in the order they were
//! scheduled (CPython's heap does not promise an order among them; a fixed
//! one keeps runs deterministic).
//!
//! `run_in_executor` / `asyncio.to_thread` put a job in the queue of the
//! loop's `ThreadPoolExecutor`; an idle worker takes it (FIFO). The worker's
//! result comes back through `call_soon_threadsafe`, which writes to the
//! loop's self-pipe: it is an I/O event of the next `select`.
//!
//! An asyncio server (`loop.create_server`, `asyncio.start_server`) has its
//! listening socket in the selector; when it is readable the accept
//! callback takes up to `backlog` (100) connections at once
//! (`_accept_connection`, `selector_events.py`), each becoming a task.
//!
//! **The door.** The kernel (`kernel/event_loop.rs`) asks the loop how to
//! select, tells it what the selector returned (I/O and executor
//! completions, a readable listener), asks for the next callback of the
//! iteration, and tells it which task awaits what; the loop keeps the ready
//! queue, the timer heap, the executor's job queue and each task's saved
//! continuation `F` (opaque to it: the kernel's frames). It never sees
//! threads running, cores or the clock beyond the times it is given.

use crate::ids::ThreadId;
use crate::listener::Request;
use crate::time::SimTime;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

mod config;
#[cfg(test)]
mod tests;

pub(crate) use config::validate;
pub use config::{CoroutineConfig, EventLoopConfig, LoopCosts};

/// A task of one event loop (a slot, reused once the task is done).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct TaskId(pub u32);

/// Connections the accept callback takes per readable event
/// (`_accept_connection(..., backlog=100)`, `selector_events.py`).
pub(crate) const ACCEPT_BATCH: usize = 100;

/// A callback in the ready queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Handle {
    /// Run the task until its next `await` (`Task.__step`).
    Step(TaskId),
    /// A future the task awaits is done: schedule the task's `__step`.
    Wakeup(TaskId),
    /// The listening socket is readable: accept connections.
    Accept,
}

/// What a task runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    /// The loop's `k`-th coroutine given in the config.
    Coroutine(u32),
    /// The handler of an accepted request (asyncio server).
    Request(Request),
}

/// How the loop thread calls `select`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Select {
    /// Timeout 0: callbacks are ready or events are waiting to be read.
    Poll,
    /// Block until an event, or until this timer is due (`None`: for ever).
    Block(Option<SimTime>),
}

struct Task<F> {
    body: Body,
    /// The saved continuation while the task awaits (`None`: not started).
    saved: Option<F>,
}

/// Runtime state of one event loop. `F` is a task's saved continuation,
/// `J` an executor job's body.
pub(crate) struct EventLoop<F, J> {
    tasks: Vec<Option<Task<F>>>,
    free: Vec<u32>,
    live: usize,
    ready: VecDeque<Handle>,
    /// Callbacks the next `select` returns (I/O, executor results, accepts).
    events: VecDeque<Handle>,
    accept_pending: bool,
    timers: BinaryHeap<Reverse<(SimTime, u64, TaskId)>>,
    timer_seq: u64,
    /// Callbacks left to run in this iteration.
    batch: usize,
    serves: bool,
    jobs: VecDeque<(TaskId, J)>,
    idle_workers: VecDeque<ThreadId>,
    iterations: u64,
    handles: u64,
    tasks_done: u64,
    /// Live tasks integrated over time (task·ns), up to `counted_to`.
    task_ns: u128,
    counted_to: SimTime,
}

impl<F, J> EventLoop<F, J> {
    /// A loop that serves a listener (never finishes) or not.
    pub fn new(serves: bool) -> Self {
        EventLoop {
            tasks: Vec::new(),
            free: Vec::new(),
            live: 0,
            ready: VecDeque::new(),
            events: VecDeque::new(),
            accept_pending: false,
            timers: BinaryHeap::new(),
            timer_seq: 0,
            batch: 0,
            serves,
            jobs: VecDeque::new(),
            idle_workers: VecDeque::new(),
            iterations: 0,
            handles: 0,
            tasks_done: 0,
            task_ns: 0,
            counted_to: SimTime::ZERO,
        }
    }

    /// `loop.create_task(body)`: the task's first step is scheduled.
    pub fn spawn(&mut self, body: Body, now: SimTime) -> TaskId {
        self.count_to(now);
        let task = Some(Task { body, saved: None });
        let id = match self.free.pop() {
            Some(i) => {
                self.tasks[i as usize] = task;
                TaskId(i)
            }
            None => {
                self.tasks.push(task);
                TaskId(self.tasks.len() as u32 - 1)
            }
        };
        self.live += 1;
        self.ready.push_back(Handle::Step(id));
        id
    }

    /// Tasks spawned and not yet returned.
    pub fn live(&self) -> usize {
        self.live
    }

    /// No task is left and the loop serves nothing: `run_until_complete` returns.
    pub fn finished(&self) -> bool {
        self.live == 0 && !self.serves
    }

    /// An iteration begins: how its `select` is called.
    pub fn select(&mut self) -> Select {
        self.iterations += 1;
        if !self.ready.is_empty() || !self.events.is_empty() {
            return Select::Poll;
        }
        Select::Block(self.timers.peek().map(|Reverse((at, _, _))| *at))
    }

    /// `select` returned at `now`: its events, then the timers due, join the
    /// ready queue; the callbacks ready now are this iteration's.
    pub fn collect(&mut self, now: SimTime) {
        self.ready.extend(self.events.drain(..));
        while let Some(Reverse((at, _, task))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            self.ready.push_back(Handle::Wakeup(task));
        }
        self.batch = self.ready.len();
    }

    /// The next callback of this iteration (`None`: the iteration is over).
    pub fn next(&mut self) -> Option<Handle> {
        if self.batch == 0 {
            return None;
        }
        self.batch -= 1;
        let h = self.ready.pop_front()?;
        self.handles += 1;
        if h == Handle::Accept {
            self.accept_pending = false;
        }
        Some(h)
    }

    /// `call_soon(task.__step)`.
    pub fn call_soon(&mut self, task: TaskId) {
        self.ready.push_back(Handle::Step(task));
    }

    /// `call_later`: the task's future is done at `at`.
    pub fn call_at(&mut self, at: SimTime, task: TaskId) {
        self.timer_seq += 1;
        self.timers.push(Reverse((at, self.timer_seq, task)));
    }

    /// The I/O (or executor job) `task` awaits completed: the next `select` returns it.
    pub fn completed(&mut self, task: TaskId) {
        self.events.push_back(Handle::Wakeup(task));
    }

    /// The listening socket became readable (once per `select`).
    pub fn readable(&mut self) {
        if !self.accept_pending {
            self.accept_pending = true;
            self.events.push_back(Handle::Accept);
        }
    }

    /// `task` awaits: keep its continuation.
    pub fn suspend(&mut self, task: TaskId, saved: F) {
        if let Some(t) = self.task_mut(task) {
            t.saved = Some(saved);
        }
    }

    /// `task` runs again: what it runs and its continuation (`None`: it starts).
    pub fn resume(&mut self, task: TaskId) -> Option<(Body, Option<F>)> {
        let t = self.task_mut(task)?;
        Some((t.body, t.saved.take()))
    }

    /// `task` returned: its slot is free; what it ran.
    pub fn done(&mut self, task: TaskId, now: SimTime) -> Option<Body> {
        let t = self.tasks.get_mut(task.0 as usize)?.take()?;
        self.count_to(now);
        self.free.push(task.0);
        self.live -= 1;
        self.tasks_done += 1;
        Some(t.body)
    }

    fn count_to(&mut self, now: SimTime) {
        let dt = now.0.saturating_sub(self.counted_to.0);
        self.task_ns += u128::from(dt) * self.live as u128;
        self.counted_to = self.counted_to.max(now);
    }

    /// Live tasks integrated over time up to `now`, in task·seconds: over a
    /// span, the mean number of tasks in the loop (Little's L) times the span.
    pub fn task_seconds(&mut self, now: SimTime) -> f64 {
        self.count_to(now);
        self.task_ns as f64 * 1e-9
    }

    fn task_mut(&mut self, task: TaskId) -> Option<&mut Task<F>> {
        self.tasks.get_mut(task.0 as usize)?.as_mut()
    }

    /// `run_in_executor`: the job is queued; the idle worker to wake, if any.
    pub fn submit(&mut self, task: TaskId, job: J) -> Option<ThreadId> {
        self.jobs.push_back((task, job));
        self.idle_workers.pop_front()
    }

    /// A worker takes the oldest job.
    pub fn next_job(&mut self) -> Option<(TaskId, J)> {
        self.jobs.pop_front()
    }

    /// Whether a job waits for a worker.
    pub fn has_job(&self) -> bool {
        !self.jobs.is_empty()
    }

    /// Worker `w` waits for a job.
    pub fn worker_idle(&mut self, w: ThreadId) {
        self.idle_workers.push_back(w);
    }

    /// The loop finished: every idle worker, to be woken to exit.
    pub fn take_idle_workers(&mut self) -> Vec<ThreadId> {
        self.idle_workers.drain(..).collect()
    }

    /// Iterations run (`_run_once` calls).
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// Callbacks run.
    pub fn handles(&self) -> u64 {
        self.handles
    }

    /// Tasks that returned.
    pub fn tasks_done(&self) -> u64 {
        self.tasks_done
    }
}
