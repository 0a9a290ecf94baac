//! Processes and executors.
//!
//! A process has its own interpreters and GILs. Starting one costs native time
//! in the parent (holding its GIL: the fork/exec system calls) and Python time
//! in the child before its workload (interpreter start-up: ~50 ms for spawn,
//! PEP 703; under 1 ms for fork, PEP 371; research notes §4.2, §5.4).
//!
//! `pool.map` (`MapPool`) starts the workers, hands the tasks out in order to
//! whichever worker is free, waits for every result and shuts the pool down.
//! In a process pool the caller pickles each task's arguments under its GIL,
//! they cross a pipe, the worker unpickles them, runs the task, pickles the
//! result, which crosses back and is unpickled by the caller (§4.2:
//! `_pickle` never releases the GIL). Each message also costs Python time at
//! both ends (`Costs::ipc_message`: the queue's lock, `Connection.send_bytes`
//! and `recv_bytes` around the system call), and a thread pool's
//! `concurrent.futures` bookkeeping costs Python time per task in the caller
//! (`executor_submit`, `executor_collect`) and the worker (`executor_run`):
//! for tiny tasks these, not the task, set the pace.

use super::{BurstKind, Event, Frame, FrameKind, Micro, Run, Sim, Wait};
use crate::config::{PoolKind, ProcessConfig, StartMethod};
use crate::ids::{InterpId, PoolId, ProcessId, ThreadId};
use crate::pool::{NextTask, Pool};
use crate::trace::TraceSink;

/// Runtime state of a process.
pub(crate) struct Process {
    pub name: String,
    pub method: Option<StartMethod>,
    pub started: bool,
    pub threads: Vec<ThreadId>,
    /// Started threads not yet finished.
    pub alive: u32,
    pub joiners: Vec<ThreadId>,
}

impl Process {
    pub fn new(c: &ProcessConfig) -> Self {
        Process {
            name: c.name.clone(),
            method: c.start_method,
            started: false,
            threads: Vec::new(),
            alive: 0,
            joiners: Vec::new(),
        }
    }
}

impl<'a, S: TraceSink> Sim<'a, S> {
    /// Creates the pools' workers (and worker processes): not started until mapped.
    pub(crate) fn create_pools(&mut self) {
        let cfg = self.cfg;
        for (i, pc) in cfg.pools.iter().enumerate() {
            let pid = PoolId(i as u32);
            let mut pool = Pool::new(pc.name.clone(), pc.kind, pc.tasks.len() as u32);
            for w in 0..pc.workers {
                let name = format!("{}-worker{}", pc.name, w);
                let (interp, process) = match pc.kind {
                    // Thread-pool workers join the caller's interpreter when mapped.
                    PoolKind::Threads => (InterpId(0), ProcessId(0)),
                    PoolKind::Processes(m) => {
                        let p = ProcessId(self.processes.len() as u32);
                        self.processes.push(Process::new(&ProcessConfig {
                            name: name.clone(),
                            start_method: Some(m),
                        }));
                        let g = self.gils.len();
                        let rng = crate::rng::stream(cfg.limits.seed, "gil-waiter", g as u64);
                        self.gils
                            .push(crate::gil::Gil::new(&pc.worker_gil, rng, name.clone(), p));
                        (InterpId(g as u32), p)
                    }
                };
                // Thread-pool workers start when mapped; process-pool workers with their process.
                let autostart = matches!(pc.kind, PoolKind::Processes(_));
                let t = self.add_thread(name, interp, process, autostart, &[]);
                self.threads[t.index()]
                    .micro
                    .push_back(Micro::PoolNext(pid));
                let own_process = matches!(pc.kind, PoolKind::Processes(_)).then_some(process);
                pool.add_worker(t, own_process);
            }
            self.pools.push(pool);
        }
    }

    pub(crate) fn start_process(&mut self, p: ProcessId) {
        if self.processes[p.index()].started {
            return;
        }
        self.processes[p.index()].started = true;
        let method = self.processes[p.index()]
            .method
            .unwrap_or(StartMethod::Fork);
        let init = self.cfg.costs.start_cost(method).child.0;
        let first = self.processes[p.index()]
            .threads
            .iter()
            .copied()
            .find(|&t| self.threads[t.index()].autostart);
        if let Some(main) = first {
            let m = &mut self.threads[main.index()].micro;
            m.push_front(Micro::StartSiblings(p));
            if init > 0 {
                m.push_front(Micro::Run(BurstKind::Py, init));
            }
            m.push_front(Micro::TakeGil);
            self.start_thread(main);
        }
    }

    pub(crate) fn start_siblings(&mut self, p: ProcessId) {
        let all = self.processes[p.index()].threads.clone();
        for t in all {
            if self.threads[t.index()].autostart {
                self.start_thread(t);
            }
        }
    }

    pub(crate) fn process_finished(&self, p: ProcessId) -> bool {
        let pr = &self.processes[p.index()];
        pr.started && pr.alive == 0
    }

    pub(crate) fn join_process(&mut self, t: ThreadId, p: ProcessId) {
        if !self.process_finished(p) {
            self.wait_then_retry(t, Wait::Process(p), Micro::JoinProcess(p));
        }
    }

    pub(crate) fn thread_exited_process(&mut self, p: ProcessId) {
        let pr = &mut self.processes[p.index()];
        pr.alive = pr.alive.saturating_sub(1);
        if pr.alive == 0 && pr.started {
            for j in std::mem::take(&mut pr.joiners) {
                self.wake(j);
            }
        }
    }

    /// `pool.map`: start the workers and submit every task.
    pub(crate) fn map_pool(&mut self, t: ThreadId, p: PoolId) {
        let pool = &mut self.pools[p.index()];
        if !pool.map(t) {
            return;
        }
        let kind = pool.kind();
        let workers = pool.workers().to_vec();
        let procs = pool.worker_processes().to_vec();
        let total = pool.tasks();
        let costs = &self.cfg.costs;
        let interp = self.threads[t.index()].interp;
        let process = self.threads[t.index()].process;
        let mut plan: Vec<Micro<'a>> = Vec::new();
        match kind {
            PoolKind::Threads => {
                for &w in &workers {
                    let th = &mut self.threads[w.index()];
                    let old_process = th.process;
                    th.interp = interp;
                    th.process = process;
                    th.report.interp = interp;
                    th.report.process = process;
                    if old_process != process {
                        self.processes[old_process.index()]
                            .threads
                            .retain(|&x| x != w);
                        self.processes[process.index()].threads.push(w);
                    }
                    self.gils[interp.index()].seat_thread(w);
                    plan.push(Micro::Run(BurstKind::CHold, costs.thread_start.0));
                    plan.push(Micro::StartThread(w));
                }
                for k in 0..total {
                    plan.extend(python(costs.executor_submit.0));
                    plan.push(Micro::PoolSubmit(p, k));
                }
                plan.push(Micro::PoolCollect(p));
                // `list(ex.map(...))`: each future's result, in order. Charged
                // after the last result, though real `result()` calls overlap
                // the workers: a small error when tasks are few.
                plan.extend(python(
                    costs.executor_collect.0.saturating_mul(u64::from(total)),
                ));
            }
            PoolKind::Processes(m) => {
                let parent = costs.start_cost(m).parent.0;
                for &pr in &procs {
                    plan.push(Micro::Run(BurstKind::CHold, parent));
                    plan.push(Micro::StartProcess(pr));
                }
                for (k, task) in self.cfg.pools[p.index()].tasks.iter().enumerate() {
                    plan.push(Micro::Run(
                        BurstKind::Py,
                        costs.message_time(task.arg_bytes).0,
                    ));
                    plan.push(Micro::PoolSubmit(p, k as u32));
                }
                for _ in 0..total {
                    plan.push(Micro::PoolCollect(p));
                }
            }
        }
        let m = &mut self.threads[t.index()].micro;
        for x in plan.into_iter().rev() {
            m.push_front(x);
        }
    }

    /// Task `k` leaves the caller: available now (threads) or after the pipe (processes).
    pub(crate) fn pool_submit(&mut self, p: PoolId, k: u32) {
        match self.pools[p.index()].kind() {
            PoolKind::Threads => self.task_deliver(p, k),
            PoolKind::Processes(_) => {
                let bytes = self.cfg.pools[p.index()].tasks[k as usize].arg_bytes;
                let at = self.now + self.cfg.costs.pipe_time(bytes);
                self.queue.push(at, Event::TaskDeliver(p, k));
            }
        }
    }

    pub(crate) fn task_deliver(&mut self, p: PoolId, k: u32) {
        let threads = &self.threads;
        let idle_here = |w: ThreadId| threads[w.index()].run == Run::Blocked(Wait::PoolTask(p));
        if let Some(w) = self.pools[p.index()].deliver(k, idle_here) {
            self.wake(w);
        }
    }

    pub(crate) fn pool_task_ready(&self, p: PoolId) -> bool {
        self.pools[p.index()].task_ready()
    }

    /// Worker: take the next task, exit when all are taken, or wait for one.
    pub(crate) fn pool_next(&mut self, t: ThreadId, p: PoolId) {
        let pool = &mut self.pools[p.index()];
        let kind = pool.kind();
        match pool.next_task() {
            NextTask::Task(k) => {
                let task = &self.cfg.pools[p.index()].tasks[k as usize];
                let th = &mut self.threads[t.index()];
                th.task_start = self.now;
                th.frames.push(Frame {
                    steps: &task.steps,
                    pc: 0,
                    kind: FrameKind::Task(p, k),
                });
                if matches!(kind, PoolKind::Processes(_)) {
                    let costs = &self.cfg.costs;
                    th.micro.push_front(Micro::Run(
                        BurstKind::Py,
                        costs.message_time(task.arg_bytes).0,
                    ));
                    th.micro.push_front(Micro::TakeGil);
                }
            }
            NextTask::Shutdown(idle) => {
                // Nothing left for this worker; wake the others to exit too.
                for w in idle {
                    self.wake(w);
                }
                self.threads[t.index()].micro.push_front(Micro::Finish);
            }
            NextTask::Wait => {
                self.wait_then_retry(t, Wait::PoolTask(p), Micro::PoolNext(p));
            }
        }
    }

    /// Micro-operations that follow the end of a task frame. Replies the task
    /// never received die with it (its sockets close).
    pub(crate) fn task_finished_micros(&mut self, t: ThreadId, p: PoolId, k: u32) {
        self.threads[t.index()].replies.clear();
        let m = &mut self.threads[t.index()].micro;
        let costs = &self.cfg.costs;
        let overhead = match self.pools[p.index()].kind() {
            PoolKind::Processes(_) => {
                let bytes = self.cfg.pools[p.index()].tasks[k as usize].result_bytes;
                costs.message_time(bytes).0
            }
            PoolKind::Threads => costs.executor_run.0,
        };
        if overhead > 0 {
            m.push_back(Micro::TakeGil);
            m.push_back(Micro::Run(BurstKind::Py, overhead));
        }
        m.push_back(Micro::PoolTaskDone(p, k));
        m.push_back(Micro::PoolNext(p));
    }

    /// Worker: hand the result back.
    pub(crate) fn pool_task_done(&mut self, t: ThreadId, p: PoolId, k: u32) {
        let th = &mut self.threads[t.index()];
        th.report.tasks += 1;
        let took = self.now - th.task_start;
        th.report
            .op_latency
            .record(crate::report::OpKind::PoolTask, took);
        match self.pools[p.index()].kind() {
            PoolKind::Threads => self.result_deliver(p),
            PoolKind::Processes(_) => {
                let bytes = self.cfg.pools[p.index()].tasks[k as usize].result_bytes;
                let at = self.now + self.cfg.costs.pipe_time(bytes);
                self.pools[p.index()].result_sent(bytes);
                self.queue.push(at, Event::ResultDeliver(p));
            }
        }
    }

    pub(crate) fn result_deliver(&mut self, p: PoolId) {
        if let Some(c) = self.pools[p.index()].result_delivered() {
            if self.threads[c.index()].run == Run::Blocked(Wait::PoolResults(p)) {
                self.wake(c);
            }
        }
    }

    pub(crate) fn pool_results_ready(&self, p: PoolId) -> bool {
        self.pools[p.index()].results_ready()
    }

    /// Caller: wait for all results (threads) or collect and unpickle one (processes).
    pub(crate) fn pool_collect(&mut self, t: ThreadId, p: PoolId) {
        if !self.pool_results_ready(p) {
            self.wait_then_retry(t, Wait::PoolResults(p), Micro::PoolCollect(p));
            return;
        }
        if let Some(bytes) = self.pools[p.index()].collect() {
            let w = self.cfg.costs.message_time(bytes).0;
            self.threads[t.index()]
                .micro
                .push_front(Micro::Run(BurstKind::Py, w));
        }
    }
}

/// A burst of Python work, if there is any.
fn python<'a>(work: u64) -> Option<Micro<'a>> {
    (work > 0).then_some(Micro::Run(BurstKind::Py, work))
}
