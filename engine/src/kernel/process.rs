//! Processes and executors.
//!
//! A process has its own interpreters and GILs. Starting one costs native time
//! in the parent (holding its GIL: the fork/exec system calls) and Python time
//! in the child before its workload (interpreter start-up: ~50 ms for spawn,
//! PEP 703; under 1 ms for fork, PEP 371; research notes §4.2, §5.4). A
//! `fork` also copies the parent's page tables, one entry per resident page
//! (`copy_page_range` in Linux's `mm/memory.c`), so its parent side grows with
//! the parent's resident memory (`Costs::parent_start`).
//!
//! `pool.map` (`MapPool`) begins a map of the pool (`pool.rs`, the door): a
//! cold pool is constructed by its first map (Python in the caller:
//! `Costs::thread_executor_construct`, `process_executor_construct`,
//! `pool_construct`) and starts its workers the way its API does:
//! - `ThreadPoolExecutor` and `multiprocessing.Pool`: every worker before the
//!   first task (`Pool.__init__` → `_repopulate_pool` in
//!   `Lib/multiprocessing/pool.py`; the thread pool's on-demand start in
//!   `_adjust_thread_count` is not modelled, as before);
//! - `ProcessPoolExecutor` (`Lib/concurrent/futures/process.py`, 3.9+):
//!   nothing in the constructor; the first `submit` starts the management
//!   thread (`_start_executor_manager_thread`: `thread_start` in the caller)
//!   and, with `fork`, every worker before it (`_launch_processes`, gh-90622);
//!   with `spawn` or `forkserver` each submit starts one worker unless one is
//!   idle, up to `max_workers` (`_adjust_process_count`).
//!
//! A warm pool (started before the run), and a pool's later maps, pay
//! neither. The tasks go out in chunks of `chunksize` (one message each
//! way per chunk), are taken by whichever worker is free, and the caller
//! waits for every result; the workers exit after the pool's last map.
//!
//! In a process pool the caller pickles each chunk's arguments under its GIL,
//! they cross a pipe, the worker unpickles them, runs the tasks, pickles the
//! results, which cross back and are unpickled by the caller (§4.2:
//! `_pickle` never releases the GIL). Each message also costs Python time at
//! both ends (`Costs::ipc_message`: the queue's lock, `Connection.send_bytes`
//! and `recv_bytes` around the system call), and an executor's
//! `concurrent.futures` bookkeeping costs Python time per task in the caller
//! (`executor_submit`, `executor_collect`) and, in a thread pool, the worker
//! (`executor_run`): for tiny tasks these, not the task, set the pace. A
//! `ProcessPoolExecutor`'s background threads (the management thread, the
//! call queue's feeder) pickle and unpickle under the caller's GIL; the model
//! charges that work to the caller.

use super::{BurstKind, Event, Frame, FrameKind, Micro, Run, Sim, Wait};
use crate::config::{PoolKind, ProcessConfig, ProcessPoolApi, StartMethod, TaskConfig};
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
    /// Resident memory: what a fork it makes copies the page tables of.
    pub rss_bytes: u64,
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
            rss_bytes: c.rss_bytes,
        }
    }
}

impl<'a, S: TraceSink> Sim<'a, S> {
    /// Creates the pools' workers (and worker processes): not started until
    /// mapped, or at time 0 for a warm pool ([`Self::start_warm_pools`]).
    pub(crate) fn create_pools(&mut self) {
        let cfg = self.cfg;
        for (i, pc) in cfg.pools.iter().enumerate() {
            let pid = PoolId(i as u32);
            let mut pool = Pool::new(pc.name.clone(), pc.kind, pc.tasks.len() as u32, pc.options);
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
                            rss_bytes: 0,
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

    /// Time 0: the workers of warm pools are alive, waiting for a task,
    /// with no start-up paid (thread-pool workers in the main interpreter).
    pub(crate) fn start_warm_pools(&mut self) {
        for i in 0..self.pools.len() {
            if !self.pools[i].options().warm {
                continue;
            }
            let workers = self.pools[i].workers().to_vec();
            for &pr in self.pools[i].worker_processes() {
                self.processes[pr.index()].started = true;
            }
            for w in workers {
                let interp = self.threads[w.index()].interp;
                self.gils[interp.index()].seat_thread(w);
                self.start_thread(w);
            }
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

    /// The parent's side of starting a process by `method` from thread `t`:
    /// a fork grows with `t`'s process's resident memory.
    fn parent_start(&self, t: ThreadId, method: StartMethod) -> u64 {
        let parent = self.threads[t.index()].process;
        let rss = self.processes[parent.index()].rss_bytes;
        self.cfg.costs.parent_start(method, rss).0
    }

    /// The pickled size of chunk `c`'s arguments or results (`bytes` of each task).
    fn chunk_bytes(&self, p: PoolId, c: u32, bytes: fn(&TaskConfig) -> u64) -> u64 {
        let tasks = &self.cfg.pools[p.index()].tasks;
        self.pools[p.index()]
            .chunk_tasks(c)
            .map(|k| bytes(&tasks[k as usize]))
            .fold(0, u64::saturating_add)
    }

    /// `pool.map`: construct and start the pool if this map is its first
    /// (and it is not warm), submit every chunk, collect every result.
    pub(crate) fn map_pool(&mut self, t: ThreadId, p: PoolId) {
        let Some(start) = self.pools[p.index()].map(t) else {
            return;
        };
        let plan = match self.pools[p.index()].kind() {
            PoolKind::Threads => self.thread_pool_map(t, p, start.construct),
            PoolKind::Processes(m) => match self.pools[p.index()].options().process_api {
                ProcessPoolApi::MultiprocessingPool => self.mp_pool_map(t, p, m, start.construct),
                ProcessPoolApi::Executor => self.executor_map(t, p, m, start.construct),
            },
        };
        let m = &mut self.threads[t.index()].micro;
        for x in plan.into_iter().rev() {
            m.push_front(x);
        }
        // A last map with nothing to deliver: idle workers of a warm pool exit now.
        for w in self.pools[p.index()].idle_at_shutdown() {
            self.wake(w);
        }
    }

    /// `list(ThreadPoolExecutor.map(...))`: every worker starts, then the
    /// caller submits each task and waits for all results.
    fn thread_pool_map(&mut self, t: ThreadId, p: PoolId, construct: bool) -> Vec<Micro<'a>> {
        let costs = &self.cfg.costs;
        let interp = self.threads[t.index()].interp;
        let process = self.threads[t.index()].process;
        let mut plan: Vec<Micro<'a>> = Vec::new();
        if construct {
            plan.extend(python(costs.thread_executor_construct.0));
        }
        let pool = &mut self.pools[p.index()];
        let new = pool.start_all();
        let workers = pool.workers()[new].to_vec();
        let chunks = pool.chunks();
        for w in workers {
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
        for k in 0..chunks {
            plan.extend(python(costs.executor_submit.0));
            plan.push(Micro::PoolSubmit(p, k));
        }
        plan.push(Micro::PoolCollect(p));
        // `list(ex.map(...))`: each future's result, in order. Charged
        // after the last result, though real `result()` calls overlap
        // the workers: a small error when tasks are few.
        plan.extend(python(
            costs.executor_collect.0.saturating_mul(u64::from(chunks)),
        ));
        plan
    }

    /// `multiprocessing.Pool(n).map(...)`: the constructor starts every
    /// worker; each chunk is pickled and sent, each chunk's results
    /// received and unpickled.
    fn mp_pool_map(
        &mut self,
        t: ThreadId,
        p: PoolId,
        m: StartMethod,
        construct: bool,
    ) -> Vec<Micro<'a>> {
        let mut plan: Vec<Micro<'a>> = Vec::new();
        if construct {
            plan.extend(python(self.cfg.costs.pool_construct.0));
        }
        let parent = self.parent_start(t, m);
        let new = self.pools[p.index()].start_all();
        for &pr in &self.pools[p.index()].worker_processes()[new] {
            plan.push(Micro::Run(BurstKind::CHold, parent));
            plan.push(Micro::StartProcess(pr));
        }
        let chunks = self.pools[p.index()].chunks();
        for c in 0..chunks {
            let bytes = self.chunk_bytes(p, c, |k| k.arg_bytes);
            plan.push(Micro::Run(
                BurstKind::Py,
                self.cfg.costs.message_time(bytes).0,
            ));
            plan.push(Micro::PoolSubmit(p, c));
        }
        for _ in 0..chunks {
            plan.push(Micro::PoolCollect(p));
        }
        plan
    }

    /// `list(ProcessPoolExecutor(n).map(...))`: the first submit starts the
    /// workers (all with `fork`, else on demand, [`Self::executor_grow`]) and
    /// the management thread; each chunk is a submit (bookkeeping, then its
    /// pickled message), each result a `Future.result()`.
    fn executor_map(
        &mut self,
        t: ThreadId,
        p: PoolId,
        m: StartMethod,
        construct: bool,
    ) -> Vec<Micro<'a>> {
        let costs = &self.cfg.costs;
        let mut plan: Vec<Micro<'a>> = Vec::new();
        if construct {
            plan.extend(python(costs.process_executor_construct.0));
        }
        let chunks = self.pools[p.index()].chunks();
        for c in 0..chunks {
            plan.extend(python(costs.executor_submit.0));
            if m == StartMethod::Fork {
                if c == 0 && construct {
                    let parent = self.parent_start(t, m);
                    let new = self.pools[p.index()].start_all();
                    for &pr in &self.pools[p.index()].worker_processes()[new] {
                        plan.push(Micro::Run(BurstKind::CHold, parent));
                        plan.push(Micro::StartProcess(pr));
                    }
                }
            } else {
                plan.push(Micro::PoolGrow(p));
            }
            if c == 0 && construct {
                plan.push(Micro::Run(BurstKind::CHold, costs.thread_start.0));
            }
            let bytes = self.chunk_bytes(p, c, |k| k.arg_bytes);
            plan.push(Micro::Run(BurstKind::Py, costs.message_time(bytes).0));
            plan.push(Micro::PoolSubmit(p, c));
        }
        for _ in 0..chunks {
            plan.push(Micro::PoolCollect(p));
            plan.extend(python(costs.executor_collect.0));
        }
        plan
    }

    /// A `ProcessPoolExecutor` submit (`spawn`, `forkserver`): start a worker
    /// unless one is idle (`_adjust_process_count`).
    pub(crate) fn executor_grow(&mut self, t: ThreadId, p: PoolId) {
        let PoolKind::Processes(m) = self.pools[p.index()].kind() else {
            return;
        };
        if let Some(w) = self.pools[p.index()].start_on_demand() {
            let pr = self.pools[p.index()].worker_processes()[w];
            let parent = self.parent_start(t, m);
            let micro = &mut self.threads[t.index()].micro;
            micro.push_front(Micro::StartProcess(pr));
            micro.push_front(Micro::Run(BurstKind::CHold, parent));
        }
    }

    /// Chunk `c` leaves the caller: available now (threads) or after the pipe (processes).
    pub(crate) fn pool_submit(&mut self, p: PoolId, c: u32) {
        match self.pools[p.index()].kind() {
            PoolKind::Threads => self.task_deliver(p, c),
            PoolKind::Processes(_) => {
                let bytes = self.chunk_bytes(p, c, |k| k.arg_bytes);
                let at = self.now + self.cfg.costs.pipe_time(bytes);
                self.queue.push(at, Event::TaskDeliver(p, c));
            }
        }
    }

    pub(crate) fn task_deliver(&mut self, p: PoolId, c: u32) {
        let threads = &self.threads;
        let idle_here = |w: ThreadId| threads[w.index()].run == Run::Blocked(Wait::PoolTask(p));
        if let Some(w) = self.pools[p.index()].deliver(c, idle_here) {
            self.wake(w);
        }
    }

    pub(crate) fn pool_task_ready(&self, p: PoolId) -> bool {
        self.pools[p.index()].task_ready()
    }

    /// Worker: take the next chunk, exit when the last map's are all taken,
    /// or wait for one.
    pub(crate) fn pool_next(&mut self, t: ThreadId, p: PoolId) {
        let pool = &mut self.pools[p.index()];
        let kind = pool.kind();
        match pool.next_task() {
            NextTask::Task(c) => {
                let first = pool.chunk_tasks(c).start;
                let unpickle = match kind {
                    PoolKind::Processes(_) => {
                        let bytes = self.chunk_bytes(p, c, |k| k.arg_bytes);
                        Some(self.cfg.costs.message_time(bytes).0)
                    }
                    PoolKind::Threads => None,
                };
                self.begin_task(t, p, first);
                if let Some(work) = unpickle {
                    let m = &mut self.threads[t.index()].micro;
                    m.push_front(Micro::Run(BurstKind::Py, work));
                    m.push_front(Micro::TakeGil);
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

    /// Worker `t` begins task `k`: its steps as a frame.
    fn begin_task(&mut self, t: ThreadId, p: PoolId, k: u32) {
        let task = &self.cfg.pools[p.index()].tasks[k as usize];
        let th = &mut self.threads[t.index()];
        th.task_start = self.now;
        th.frames.push(Frame {
            steps: &task.steps,
            pc: 0,
            kind: FrameKind::Task(p, k),
        });
    }

    /// True if task `k` is the last of its chunk.
    fn ends_chunk(&self, p: PoolId, k: u32) -> bool {
        let pool = &self.pools[p.index()];
        let size = pool.options().chunksize.max(1);
        pool.chunk_tasks(k / size).end == k + 1
    }

    /// Micro-operations that follow the end of a task frame: the next task
    /// of the chunk, or the chunk's results sent back. Replies the task
    /// never received die with it (its sockets close).
    pub(crate) fn task_finished_micros(&mut self, t: ThreadId, p: PoolId, k: u32) {
        self.threads[t.index()].replies.clear();
        if !self.ends_chunk(p, k) {
            self.threads[t.index()]
                .micro
                .push_back(Micro::PoolTaskDone(p, k));
            self.begin_task(t, p, k + 1);
            return;
        }
        let size = self.pools[p.index()].options().chunksize.max(1);
        let overhead = match self.pools[p.index()].kind() {
            PoolKind::Processes(_) => {
                let bytes = self.chunk_bytes(p, k / size, |x| x.result_bytes);
                self.cfg.costs.message_time(bytes).0
            }
            PoolKind::Threads => self.cfg.costs.executor_run.0,
        };
        let m = &mut self.threads[t.index()].micro;
        if overhead > 0 {
            m.push_back(Micro::TakeGil);
            m.push_back(Micro::Run(BurstKind::Py, overhead));
        }
        m.push_back(Micro::PoolTaskDone(p, k));
        m.push_back(Micro::PoolNext(p));
    }

    /// Worker: task `k` is done; at the end of its chunk, hand the results back.
    pub(crate) fn pool_task_done(&mut self, t: ThreadId, p: PoolId, k: u32) {
        let th = &mut self.threads[t.index()];
        th.report.tasks += 1;
        let took = self.now - th.task_start;
        th.report
            .op_latency
            .record(crate::report::OpKind::PoolTask, took);
        if !self.ends_chunk(p, k) {
            return;
        }
        match self.pools[p.index()].kind() {
            PoolKind::Threads => self.result_deliver(p),
            PoolKind::Processes(_) => {
                let size = self.pools[p.index()].options().chunksize.max(1);
                let bytes = self.chunk_bytes(p, k / size, |x| x.result_bytes);
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

    /// Caller: wait for all results (threads) or collect and unpickle one
    /// chunk's (processes).
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
