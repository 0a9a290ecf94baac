//! asyncio event loops in the kernel: the loop thread's iterations, its
//! tasks' continuations (their frames, saved at each `await`), the selector's
//! blocking wait and wake-up, and the executor's worker threads
//! (`event_loop.rs` holds the loop's rules and sources).
//!
//! The loop thread is an ordinary thread: its Python work (the loop's own
//! per-iteration and per-callback costs, the coroutines' steps) needs its
//! process's GIL, and `select` releases the GIL around the system call
//! (`Py_BEGIN_ALLOW_THREADS` in `select.epoll.poll`, `Modules/selectmodule.c`),
//! so executor workers waiting for the GIL take it at every iteration. A
//! blocking `select` is a blocking wait of the thread: an I/O completion or an
//! executor's `call_soon_threadsafe` wakes it by the wake path of every other
//! blocking call; its timeout is a timed wait (timer slack).

use super::{BurstKind, Event, Frame, FrameKind, Micro, Run, Sim, Wait};
use crate::config::Step;
use crate::event_loop::{Body, EventLoop, Handle, Select, TaskId, ACCEPT_BATCH};
use crate::ids::{ListenerId, LoopId, ThreadId};
use crate::listener::Request;
use crate::report::LoopReport;
use crate::time::{SimDuration, SimTime};
use crate::trace::TraceSink;

/// A loop's runtime state: the door, and when each coroutine returned.
pub(crate) struct LoopState<'a> {
    door: EventLoop<Vec<Frame<'a>>, &'a [Step]>,
    coroutine_ends: Vec<Option<SimTime>>,
}

impl<'a> LoopState<'a> {
    pub fn new(c: &crate::event_loop::EventLoopConfig) -> Self {
        LoopState {
            door: EventLoop::new(c.serves.is_some()),
            coroutine_ends: vec![None; c.coroutines.len()],
        }
    }

    pub fn report(&mut self, name: &str, now: SimTime) -> LoopReport {
        LoopReport {
            name: name.into(),
            iterations: self.door.iterations(),
            handles: self.door.handles(),
            tasks_done: self.door.tasks_done(),
            task_seconds: self.door.task_seconds(now),
            coroutine_ends: self.coroutine_ends.clone(),
        }
    }
}

/// A step of the loop thread or of an executor worker.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LoopOp {
    /// `asyncio.run`: every coroutine becomes a task.
    Start,
    /// An iteration begins (or the loop has finished).
    Iterate,
    /// `select`, with the GIL released.
    Select,
    /// `select` returned: events and due timers join the ready queue.
    Collect,
    /// Run the iteration's next callback.
    Next,
    /// A task's coroutine returned.
    TaskEnded(TaskId),
    /// A served request's reply is out.
    Reply(Request),
    /// Executor worker: take the next job, wait, or exit.
    WorkerNext,
    /// Executor worker: the job of this task is done.
    JobEnded(TaskId),
}

impl<'a, S: TraceSink> Sim<'a, S> {
    /// Every loop's runtime state.
    pub(crate) fn create_loops(&mut self) {
        self.loops = self.cfg.event_loops.iter().map(LoopState::new).collect();
    }

    pub(crate) fn loop_reports(&mut self) -> Vec<LoopReport> {
        let now = self.now;
        self.cfg
            .event_loops
            .iter()
            .zip(&mut self.loops)
            .map(|(c, s)| s.report(&c.name, now))
            .collect()
    }

    /// A thread blocked on `w` is idle, not stuck: a server waiting for a
    /// request, a serving loop in `select`, an executor worker waiting for a job.
    pub(crate) fn idle_wait(&self, w: Wait) -> bool {
        match w {
            Wait::Accept(_) => true,
            Wait::Select(l) => self.cfg.event_loops[l.index()].serves.is_some(),
            Wait::Executor(_) => true,
            _ => false,
        }
    }

    fn loop_micros(&mut self, t: ThreadId, ms: &[Micro<'a>]) {
        let m = &mut self.threads[t.index()].micro;
        for x in ms.iter().rev() {
            m.push_front(*x);
        }
    }

    pub(crate) fn loop_op(&mut self, t: ThreadId, l: LoopId, op: LoopOp) {
        match op {
            LoopOp::Start => {
                for k in 0..self.cfg.event_loops[l.index()].coroutines.len() {
                    self.loops[l.index()]
                        .door
                        .spawn(Body::Coroutine(k as u32), self.now);
                }
                self.loop_micros(t, &[Micro::Loop(l, LoopOp::Iterate)]);
            }
            LoopOp::Iterate => self.iterate(t, l),
            LoopOp::Select => self.select(t, l),
            LoopOp::Collect => self.loops[l.index()].door.collect(self.now),
            LoopOp::Next => self.run_next_handle(t, l),
            LoopOp::TaskEnded(task) => self.task_ended(t, l, task),
            LoopOp::Reply(request) => {
                let listener = self.cfg.event_loops[l.index()].serves;
                if let Some(listener) = listener {
                    self.threads[t.index()]
                        .serving
                        .push_front((listener, request));
                    self.respond(t);
                }
            }
            LoopOp::WorkerNext => self.worker_next(t, l),
            LoopOp::JobEnded(task) => {
                self.loops[l.index()].door.completed(task);
                self.wake_selecting_loop(l);
                // `call_soon_threadsafe` writes a byte to the self-pipe.
                let syscall = self.cfg.machine.os.syscall.0;
                let mut ms = vec![];
                if syscall > 0 {
                    ms.push(Micro::Run(BurstKind::Sys, syscall));
                }
                ms.push(Micro::Loop(l, LoopOp::WorkerNext));
                self.loop_micros(t, &ms);
            }
        }
    }

    /// An iteration: the loop's own Python work, then `select` with the GIL
    /// released; or, with no task left, `asyncio.run` returns.
    fn iterate(&mut self, t: ThreadId, l: LoopId) {
        if self.loops[l.index()].door.finished() {
            for w in self.loops[l.index()].door.take_idle_workers() {
                self.wake(w);
            }
            return;
        }
        let cost = self.cfg.costs.asyncio.iteration.0;
        let mut ms = vec![];
        if cost > 0 {
            ms.push(Micro::Run(BurstKind::Py, cost));
        }
        ms.extend([
            Micro::DropGil {
                forced: false,
                check: false,
            },
            Micro::Loop(l, LoopOp::Select),
            Micro::TakeGil,
            Micro::Loop(l, LoopOp::Collect),
            Micro::Loop(l, LoopOp::Next),
        ]);
        self.loop_micros(t, &ms);
    }

    /// `select`: returns at once if callbacks are ready (its cost is the
    /// iteration's), else the thread blocks until an event or its timeout,
    /// rounded up to the selector's resolution, plus the timer slack.
    fn select(&mut self, t: ThreadId, l: LoopId) {
        let Select::Block(until) = self.loops[l.index()].door.select() else {
            return;
        };
        if until.is_some_and(|at| at <= self.now) {
            return; // a timer is due: `select(0)`
        }
        self.block(t, Wait::Select(l));
        if let Some(at) = until {
            let res = self.cfg.costs.asyncio.select_resolution.0.max(1);
            let wait = at.0.saturating_sub(self.now.0).div_ceil(res) * res;
            let gen = self.threads[t.index()].wait_gen;
            let due = self.now + SimDuration(wait) + self.timer_lateness(t);
            self.queue.push(due, Event::Timer(t, gen));
        }
    }

    /// The loop of `l` is woken if it blocks in `select`.
    fn wake_selecting_loop(&mut self, l: LoopId) {
        let lt = self.cfg.event_loops[l.index()].thread;
        if self.threads[lt.index()].run == Run::Blocked(Wait::Select(l)) {
            self.wake(lt);
        }
    }

    /// The I/O task `task` of loop `l` awaited completed.
    pub(crate) fn loop_io_done(&mut self, l: LoopId, task: TaskId) {
        self.loops[l.index()].door.completed(task);
        self.wake_selecting_loop(l);
    }

    /// A request waits on listener `ln`: if a loop serves it, its listening
    /// socket is readable.
    pub(crate) fn listener_readable(&mut self, ln: ListenerId) {
        let Some(l) = self
            .cfg
            .event_loops
            .iter()
            .position(|c| c.serves == Some(ln))
        else {
            return;
        };
        let l = LoopId(l as u32);
        self.loops[l.index()].door.readable();
        self.wake_selecting_loop(l);
    }

    /// Requests a loop serving `ln` has accepted and not answered: an
    /// asyncio server accepts at once, so its queue is its tasks.
    pub(crate) fn loop_requests(&self, ln: ListenerId) -> usize {
        self.cfg
            .event_loops
            .iter()
            .zip(&self.loops)
            .filter(|(c, _)| c.serves == Some(ln))
            .map(|(_, s)| s.door.live())
            .sum()
    }

    /// Runs the iteration's next callback, or begins the next iteration.
    fn run_next_handle(&mut self, t: ThreadId, l: LoopId) {
        let Some(h) = self.loops[l.index()].door.next() else {
            self.loop_micros(t, &[Micro::Loop(l, LoopOp::Iterate)]);
            return;
        };
        let cost = self.cfg.costs.asyncio.handle.0;
        let mut ms = vec![];
        if cost > 0 {
            ms.push(Micro::Run(BurstKind::Py, cost));
        }
        match h {
            Handle::Wakeup(task) => {
                self.loops[l.index()].door.call_soon(task);
                ms.push(Micro::Loop(l, LoopOp::Next));
            }
            Handle::Accept => {
                let syscall = self.cfg.machine.os.syscall.0;
                if let Some(ln) = self.cfg.event_loops[l.index()].serves {
                    for _ in 0..ACCEPT_BATCH {
                        let Some(r) = self.listeners[ln.index()].accept(self.now) else {
                            break;
                        };
                        self.loops[l.index()].door.spawn(Body::Request(r), self.now);
                        if syscall > 0 {
                            ms.push(Micro::Run(BurstKind::Sys, syscall));
                        }
                    }
                }
                ms.push(Micro::Loop(l, LoopOp::Next));
            }
            Handle::Step(task) => self.resume_task(t, l, task),
        }
        self.loop_micros(t, &ms);
    }

    /// `task`'s coroutine runs on `t` until its next `await`: its saved
    /// frames, or a new frame of its body.
    fn resume_task(&mut self, t: ThreadId, l: LoopId, task: TaskId) {
        let Some((body, saved)) = self.loops[l.index()].door.resume(task) else {
            return;
        };
        let frames = match saved {
            Some(f) => f,
            None => vec![Frame {
                steps: self.body_steps(l, body),
                pc: 0,
                kind: FrameKind::Coroutine(l, task),
            }],
        };
        self.threads[t.index()].frames.extend(frames);
    }

    fn body_steps(&self, l: LoopId, body: Body) -> &'a [Step] {
        let cfg: &'a crate::config::SimConfig = self.cfg;
        match body {
            Body::Coroutine(k) => &cfg.event_loops[l.index()].coroutines[k as usize].steps,
            Body::Request(Request::Source { source, slot }) => {
                let kind = self.sources[source.index()].kind(slot);
                &cfg.sources[source.index()].mix[kind as usize].steps
            }
            Body::Request(Request::Client { .. }) => &[],
        }
    }

    /// A coroutine's frame ended: the task returned (a served request's
    /// reply goes out first: `transport.write` sends at once, GIL released).
    pub(crate) fn coroutine_returned(&mut self, t: ThreadId, l: LoopId, task: TaskId) {
        self.loop_micros(t, &[Micro::Loop(l, LoopOp::TaskEnded(task))]);
    }

    fn task_ended(&mut self, t: ThreadId, l: LoopId, task: TaskId) {
        let now = self.now;
        let state = &mut self.loops[l.index()];
        let mut ms = vec![];
        match state.door.done(task, now) {
            Some(Body::Coroutine(k)) => state.coroutine_ends[k as usize] = Some(now),
            Some(Body::Request(r)) => {
                let cpu = self.cfg.event_loops[l.index()].reply_cpu.0;
                ms.push(Micro::DropGil {
                    forced: false,
                    check: false,
                });
                if cpu > 0 {
                    ms.push(Micro::Run(BurstKind::CFree, cpu));
                }
                ms.extend([Micro::Loop(l, LoopOp::Reply(r)), Micro::TakeGil]);
            }
            None => {}
        }
        ms.push(Micro::Loop(l, LoopOp::Next));
        self.loop_micros(t, &ms);
    }

    /// A coroutine `await`s: its frames are saved, what it awaits is
    /// registered, and the loop runs its next callback.
    pub(crate) fn await_step(&mut self, t: ThreadId, step: &'a Step) {
        let frames = &self.threads[t.index()].frames;
        let Some(pos) = frames
            .iter()
            .rposition(|f| matches!(f.kind, FrameKind::Coroutine(..)))
        else {
            return; // validation keeps awaits inside coroutines
        };
        let FrameKind::Coroutine(l, task) = frames[pos].kind else {
            return;
        };
        if let Step::AwaitIo(dist) = step {
            let lat = dist.sample(&mut self.threads[t.index()].rng_io);
            if lat.0 == 0 {
                // The data is there: `sock_recv` returns without suspending.
                let syscall = self.cfg.machine.os.syscall.0;
                if syscall > 0 {
                    self.loop_micros(t, &[Micro::Run(BurstKind::Sys, syscall)]);
                }
                return;
            }
            self.queue.push(self.now + lat, Event::LoopIo(l, task));
        }
        let saved = self.threads[t.index()].frames.split_off(pos);
        let door = &mut self.loops[l.index()].door;
        door.suspend(task, saved);
        let mut ms = vec![];
        match step {
            Step::AwaitSleep(d) if d.0 == 0 => door.call_soon(task),
            Step::AwaitSleep(d) => door.call_at(self.now + *d, task),
            Step::ToThread(body) => {
                let submit = self.cfg.costs.executor_submit.0;
                if submit > 0 {
                    ms.push(Micro::Run(BurstKind::Py, submit));
                }
                if let Some(w) = door.submit(task, body) {
                    self.wake(w);
                }
            }
            _ => {}
        }
        ms.push(Micro::Loop(l, LoopOp::Next));
        self.loop_micros(t, &ms);
    }

    /// Executor worker `t`: takes the oldest job (then holds the GIL for its
    /// Python bookkeeping), waits for one with the GIL released, or exits
    /// once the loop has finished.
    fn worker_next(&mut self, t: ThreadId, l: LoopId) {
        let door = &mut self.loops[l.index()].door;
        if let Some((task, body)) = door.next_job() {
            let run = self.cfg.costs.executor_run.0;
            let mut ms = vec![Micro::TakeGil];
            if run > 0 {
                ms.push(Micro::Run(BurstKind::Py, run));
            }
            self.threads[t.index()].frames.push(Frame {
                steps: body,
                pc: 0,
                kind: FrameKind::Job(l, task),
            });
            self.loop_micros(t, &ms);
            return;
        }
        if door.finished() {
            return;
        }
        self.wait_then_retry(t, Wait::Executor(l), Micro::Loop(l, LoopOp::WorkerNext));
    }

    /// Worker `t` is about to block for a job of loop `l`: unless one
    /// waits (or the loop finished), it registers as idle.
    pub(crate) fn worker_may_block(&mut self, t: ThreadId, l: LoopId) -> bool {
        let door = &mut self.loops[l.index()].door;
        if door.has_job() || door.finished() {
            return false;
        }
        door.worker_idle(t);
        true
    }

    /// A job's frame ended on worker `t`.
    pub(crate) fn job_returned(&mut self, t: ThreadId, l: LoopId, task: TaskId) {
        self.loop_micros(t, &[Micro::Loop(l, LoopOp::JobEnded(task))]);
    }
}
