//! Each thread's interpreter of its workload program: its [`Step`]s, nested
//! in frames for loops and pool tasks, are expanded step by step into
//! [`Micro`]-operations — bursts of CPU work and the zero-time actions of the
//! mechanisms (take or drop the GIL, block on I/O, take a lock…) — executed in
//! order while the thread has a core. A step that releases the GIL around a
//! call brackets it with `DropGil`/`TakeGil`, as CPython's
//! `Py_BEGIN/END_ALLOW_THREADS` does (research notes §1.5).

use super::{Run, Sim, Wait};
use crate::config::*;
use crate::dist::Dist;
use crate::ids::*;
use crate::report::OpKind;
use crate::time::{SimDuration, SimTime};
use crate::trace::TraceSink;

/// What a CPU burst is doing (decides the accounting state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BurstKind {
    /// Python bytecode.
    Py,
    /// Native code holding the GIL (no eval-breaker checks inside).
    CHold,
    /// Native code with the GIL released.
    CFree,
    /// A system call (futex wake, lock handover); held or not, as it happens.
    Sys,
}

/// A zero-time action or a burst, executed in order while the thread has a core.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Micro<'a> {
    /// Burn CPU for `work` reference nanoseconds.
    Run(BurstKind, u64),
    /// Take the GIL (if the model has one and the thread does not hold it).
    TakeGil,
    /// Release the GIL; `forced` when honouring a drop request, `check` for the old GIL's periodic release.
    DropGil { forced: bool, check: bool },
    /// FORCE_SWITCHING: wait until another thread has taken the GIL.
    Handshake,
    /// Block on I/O.
    Io(Option<DeviceId>, &'a Dist),
    /// A request goes out: its reply is due after a latency drawn now.
    Request(&'a Dist),
    /// Wait for the oldest pending reply.
    AwaitReply,
    /// A request goes out to a listener of this simulation.
    Call(ListenerId),
    /// Server: take the next request on the listener, or wait for one.
    Accept(ListenerId),
    /// Server: the reply to the oldest accepted request goes out.
    Respond,
    /// Server (`Serve`): run the accepted request's steps, then reply with
    /// this system call time.
    Handle(SimDuration),
    /// A blocking call returned (counted as an op; its GIL wait starts).
    IoReturned,
    /// An operation of this kind, begun at the thread's `op_start`, is complete.
    OpDone(OpKind),
    /// `time.sleep`.
    Sleep(SimDuration),
    /// Try to take a lock; on failure release the GIL and wait.
    LockAcquire(LockId),
    /// Release a lock.
    LockRelease(LockId),
    /// Put an item of `bytes` into a queue.
    QueuePut(QueueId, u64),
    /// Take an item from a queue or wait.
    QueueGet(QueueId),
    /// Start a thread.
    StartThread(ThreadId),
    /// Wait for a thread to finish.
    Join(ThreadId),
    /// Start a process (after the parent paid its share of the start cost).
    StartProcess(ProcessId),
    /// Start the other autostart threads of a process, after its start-up.
    StartSiblings(ProcessId),
    /// Wait for every thread of a process to finish.
    JoinProcess(ProcessId),
    /// Begin `pool.map`.
    MapPool(PoolId),
    /// A `ProcessPoolExecutor` submit starts a worker unless one is idle.
    PoolGrow(PoolId),
    /// Make task `k` available to the workers (after its pipe delay for process pools).
    PoolSubmit(PoolId, u32),
    /// Caller: wait for all results (thread pools) or take one result (process pools).
    PoolCollect(PoolId),
    /// Worker: take the next task, or exit when there is none left.
    PoolNext(PoolId),
    /// Worker: task done; hand back its result.
    PoolTaskDone(PoolId, u32),
    /// An event loop's step (`kernel/event_loop.rs`).
    Loop(LoopId, super::LoopOp),
    /// A coroutine `await`s this step.
    Await(&'a Step),
    /// Block until `reason` holds (re-checked first).
    Block(Wait),
    /// End the thread.
    Finish,
}

/// Where a frame's steps come from and how it repeats.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FrameKind {
    Once,
    Repeat {
        left: u64,
    },
    Until(SimTime),
    /// A pool task: when it ends, report it done.
    Task(PoolId, u32),
    /// A `Serve` step's handler: when it ends, reply with this system call time.
    Handler(SimDuration),
    /// A task's coroutine on its loop's thread: when it ends, the task returned.
    Coroutine(LoopId, crate::event_loop::TaskId),
    /// An executor job on a worker: when it ends, its result goes to the loop.
    Job(LoopId, crate::event_loop::TaskId),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame<'a> {
    pub steps: &'a [Step],
    pub pc: usize,
    pub kind: FrameKind,
}

/// What comes next in a thread's program.
enum Next<'a> {
    Step(&'a Step),
    /// The end of a frame queued micro-operations.
    Micros,
    End,
}

impl<'a, S: TraceSink> Sim<'a, S> {
    // ----- executing a thread ----------------------------------------------

    /// Executes micro-operations of the running thread `t` until it starts a
    /// burst, blocks, loses its core or finishes.
    pub(crate) fn run_thread(&mut self, t: ThreadId) {
        loop {
            let th = &self.threads[t.index()];
            if th.burst.is_some() || !matches!(th.run, Run::Running(_)) {
                return;
            }
            if let Err(e) = self.spend_budget() {
                self.error = Some(e);
                return;
            }
            let m = match self.threads[t.index()].micro.pop_front() {
                Some(m) => m,
                None => match self.next_step(t) {
                    Next::Step(step) => {
                        self.expand(t, step);
                        continue;
                    }
                    Next::Micros => continue,
                    Next::End => Micro::Finish,
                },
            };
            self.execute(t, m);
        }
    }

    /// The next step of `t`'s program, advancing loops.
    fn next_step(&mut self, t: ThreadId) -> Next<'a> {
        let now = self.now;
        loop {
            let th = &mut self.threads[t.index()];
            let Some(f) = th.frames.last_mut() else {
                return Next::End;
            };
            if f.pc < f.steps.len() {
                f.pc += 1;
                return Next::Step(&f.steps[f.pc - 1]);
            }
            match &mut f.kind {
                FrameKind::Repeat { left } if *left > 1 => {
                    *left -= 1;
                    f.pc = 0;
                }
                FrameKind::Until(deadline) if now < *deadline => f.pc = 0,
                FrameKind::Task(p, k) => {
                    let (p, k) = (*p, *k);
                    th.frames.pop();
                    self.task_finished_micros(t, p, k);
                    return Next::Micros;
                }
                FrameKind::Handler(cpu) => {
                    let cpu = *cpu;
                    th.frames.pop();
                    self.handler_finished_micros(t, cpu);
                    return Next::Micros;
                }
                FrameKind::Coroutine(l, task) => {
                    let (l, task) = (*l, *task);
                    th.frames.pop();
                    self.coroutine_returned(t, l, task);
                    return Next::Micros;
                }
                FrameKind::Job(l, task) => {
                    let (l, task) = (*l, *task);
                    th.frames.pop();
                    self.job_returned(t, l, task);
                    return Next::Micros;
                }
                _ => {
                    th.frames.pop();
                }
            }
        }
    }

    /// Turns one step into micro-operations (or a frame, for loops).
    fn expand(&mut self, t: ThreadId, step: &'a Step) {
        use Micro::*;
        let costs = &self.cfg.costs;
        let slow = self.gils[self.threads[t.index()].interp.index()].py_slowdown();
        let now = self.now;
        let th = &mut self.threads[t.index()];
        th.op_start = now;
        let m = &mut th.micro;
        match step {
            Step::Py(d) => {
                m.push_back(TakeGil);
                let w = if slow == 1.0 { d.0 } else { d.mul_f64(slow).0 };
                if w > 0 {
                    m.push_back(Run(BurstKind::Py, w));
                }
            }
            Step::C {
                dur,
                releases_gil: false,
            } => {
                m.push_back(TakeGil);
                m.push_back(Run(BurstKind::CHold, dur.0));
            }
            Step::C {
                dur,
                releases_gil: true,
            } => {
                m.extend([
                    TakeGil,
                    DropGil {
                        forced: false,
                        check: false,
                    },
                    Run(BurstKind::CFree, dur.0),
                    TakeGil,
                ]);
            }
            Step::Io { device, latency } => {
                m.extend([
                    TakeGil,
                    DropGil {
                        forced: false,
                        check: false,
                    },
                    Io(*device, latency),
                    TakeGil,
                    OpDone(OpKind::Io),
                ]);
            }
            Step::Send { cpu, latency } => {
                m.extend([
                    TakeGil,
                    DropGil {
                        forced: false,
                        check: false,
                    },
                ]);
                if cpu.0 > 0 {
                    m.push_back(Run(BurstKind::CFree, cpu.0));
                }
                m.extend([Request(latency), TakeGil]);
            }
            Step::Call { listener, cpu } => {
                m.extend([
                    TakeGil,
                    DropGil {
                        forced: false,
                        check: false,
                    },
                ]);
                if cpu.0 > 0 {
                    m.push_back(Run(BurstKind::CFree, cpu.0));
                }
                m.extend([Call(*listener), TakeGil]);
            }
            Step::Accept(l) => {
                m.extend([
                    TakeGil,
                    DropGil {
                        forced: false,
                        check: false,
                    },
                    Accept(*l),
                    TakeGil,
                ]);
            }
            Step::Serve {
                listener,
                reply_cpu,
            } => {
                m.extend([
                    TakeGil,
                    DropGil {
                        forced: false,
                        check: false,
                    },
                    Accept(*listener),
                    TakeGil,
                    Handle(*reply_cpu),
                ]);
            }
            Step::Respond { cpu } => {
                m.extend([
                    TakeGil,
                    DropGil {
                        forced: false,
                        check: false,
                    },
                ]);
                if cpu.0 > 0 {
                    m.push_back(Run(BurstKind::CFree, cpu.0));
                }
                m.extend([Respond, TakeGil]);
            }
            Step::Recv => {
                m.extend([
                    TakeGil,
                    DropGil {
                        forced: false,
                        check: false,
                    },
                    AwaitReply,
                    TakeGil,
                    OpDone(OpKind::RoundTrip),
                ]);
            }
            Step::Sleep(d) => {
                m.extend([
                    TakeGil,
                    DropGil {
                        forced: false,
                        check: false,
                    },
                    Sleep(*d),
                    TakeGil,
                    OpDone(OpKind::Sleep),
                ]);
            }
            Step::Repeat { times, body } => {
                if *times > 0 && !body.is_empty() {
                    th.frames.push(Frame {
                        steps: body,
                        pc: 0,
                        kind: FrameKind::Repeat { left: *times },
                    });
                }
            }
            Step::LoopFor { dur, body } => {
                if dur.0 > 0 && !body.is_empty() {
                    th.frames.push(Frame {
                        steps: body,
                        pc: 0,
                        kind: FrameKind::Until(now + *dur),
                    });
                }
            }
            Step::Acquire(l) => m.extend([TakeGil, LockAcquire(*l), OpDone(OpKind::LockAcquire)]),
            Step::Release(l) => m.extend([TakeGil, LockRelease(*l)]),
            Step::Put { queue, bytes } => {
                m.push_back(TakeGil);
                if self.cfg.queues[queue.index()].ipc {
                    m.push_back(Run(BurstKind::Py, costs.pickle_time(*bytes).0));
                }
                m.push_back(QueuePut(*queue, *bytes));
            }
            Step::Get(q) => m.extend([TakeGil, QueueGet(*q), OpDone(OpKind::QueueGet)]),
            Step::StartThread(x) => {
                m.extend([
                    TakeGil,
                    Run(BurstKind::CHold, costs.thread_start.0),
                    StartThread(*x),
                ]);
            }
            Step::Join(x) => m.extend([TakeGil, Join(*x)]),
            Step::StartProcess(p) => {
                let method = self.cfg.processes[p.index()]
                    .start_method
                    .unwrap_or(StartMethod::Fork);
                let rss = self.processes[th.process.index()].rss_bytes;
                let cost = costs.parent_start(method, rss);
                m.extend([TakeGil, Run(BurstKind::CHold, cost.0), StartProcess(*p)]);
            }
            Step::JoinProcess(p) => m.extend([TakeGil, JoinProcess(*p)]),
            Step::MapPool(p) => m.extend([TakeGil, MapPool(*p)]),
            Step::RunLoop(l) => m.extend([TakeGil, Loop(*l, super::LoopOp::Start)]),
            Step::ExecutorWorker(l) => m.push_back(Loop(*l, super::LoopOp::WorkerNext)),
            Step::AwaitIo(_) | Step::AwaitSleep(_) | Step::ToThread(_) => {
                m.extend([TakeGil, Await(step)])
            }
        }
    }

    fn execute(&mut self, t: ThreadId, m: Micro<'a>) {
        match m {
            Micro::Run(kind, work) => self.start_burst(t, kind, work),
            Micro::TakeGil => self.take_gil(t),
            Micro::DropGil { forced, check } => self.drop_gil(t, forced, check),
            Micro::Handshake => self.handshake(t),
            Micro::Io(dev, dist) => self.start_io(t, dev, dist),
            Micro::Request(dist) => self.send_request(t, dist),
            Micro::AwaitReply => self.await_reply(t),
            Micro::Call(l) => self.call_listener(t, l),
            Micro::Accept(l) => self.accept(t, l),
            Micro::Respond => self.respond(t),
            Micro::Handle(cpu) => self.begin_handler(t, cpu),
            Micro::IoReturned => self.io_returned(t),
            Micro::OpDone(kind) => self.op_done(t, kind),
            Micro::Sleep(d) => self.sleep(t, d),
            Micro::LockAcquire(l) => self.lock_acquire(t, l),
            Micro::LockRelease(l) => self.lock_release(t, l),
            Micro::QueuePut(q, b) => self.queue_put(t, q, b),
            Micro::QueueGet(q) => self.queue_get(t, q),
            Micro::StartThread(x) => self.start_thread(x),
            Micro::Join(x) => self.join_thread(t, x),
            Micro::StartProcess(p) => self.start_process(p),
            Micro::StartSiblings(p) => self.start_siblings(p),
            Micro::JoinProcess(p) => self.join_process(t, p),
            Micro::MapPool(p) => self.map_pool(t, p),
            Micro::PoolGrow(p) => self.executor_grow(t, p),
            Micro::PoolSubmit(p, k) => self.pool_submit(p, k),
            Micro::PoolCollect(p) => self.pool_collect(t, p),
            Micro::PoolNext(p) => self.pool_next(t, p),
            Micro::PoolTaskDone(p, k) => self.pool_task_done(t, p, k),
            Micro::Loop(l, op) => self.loop_op(t, l, op),
            Micro::Await(step) => self.await_step(t, step),
            Micro::Block(w) => self.block_unless_ready(t, w),
            Micro::Finish => self.finish_thread(t),
        }
    }

    /// Waits for `w` the way CPython does it: release the GIL, block, take it
    /// again, then retry `retry` (the condition may have been taken by a barging thread).
    pub(crate) fn wait_then_retry(&mut self, t: ThreadId, w: Wait, retry: Micro<'a>) {
        let m = &mut self.threads[t.index()].micro;
        m.push_front(retry);
        m.push_front(Micro::TakeGil);
        m.push_front(Micro::Block(w));
        m.push_front(Micro::DropGil {
            forced: false,
            check: false,
        });
    }

    /// Blocks `t` on `w` unless it already holds. The thread registers as a
    /// waiter only now, as it really blocks, so no wake-up can be lost.
    fn block_unless_ready(&mut self, t: ThreadId, w: Wait) {
        if self.wait_satisfied(t, w) {
            return;
        }
        match w {
            Wait::Lock(l) => self.locks[l.index()].wait(t),
            Wait::Queue(q) => self.queues[q.index()].wait(t),
            Wait::Join(x) => self.threads[x.index()].joiners.push(t),
            Wait::Process(p) => self.processes[p.index()].joiners.push(t),
            Wait::PoolTask(p) => self.pools[p.index()].wait_for_task(t),
            Wait::Executor(l) => {
                if !self.worker_may_block(t, l) {
                    return;
                }
            }
            Wait::PoolResults(_)
            | Wait::Select(_)
            | Wait::Gil
            | Wait::GilSwitch
            | Wait::Io
            | Wait::NoRequest
            | Wait::Sleep
            | Wait::Accept(_)
            | Wait::Reply(_) => {}
        }
        self.block(t, w);
    }

    fn wait_satisfied(&self, t: ThreadId, w: Wait) -> bool {
        match w {
            Wait::Lock(l) => self.locks[l.index()].is_free(),
            Wait::Queue(q) => self.queues[q.index()].has_items(),
            Wait::Join(x) => self.threads[x.index()].run == Run::Done,
            Wait::Process(p) => self.process_finished(p),
            Wait::PoolResults(p) => self.pool_results_ready(p),
            Wait::PoolTask(p) => self.pool_task_ready(p),
            Wait::Executor(_) => false,
            Wait::Gil
            | Wait::Select(_)
            | Wait::GilSwitch
            | Wait::Io
            | Wait::NoRequest
            | Wait::Sleep
            | Wait::Accept(_)
            | Wait::Reply(_) => {
                let _ = t;
                false
            }
        }
    }
}
