//! `concurrent.futures` executors and `multiprocessing.Pool`: a `map` hands
//! its tasks to the workers, who take them one at a time, and the caller
//! collects the results (research notes §4).
//!
//! **The door.** A [`Pool`] keeps the bookkeeping of one `map`: which tasks
//! have reached the workers, which workers wait idle for one, how many results
//! are back and collected. The kernel (`kernel/process.rs`) turns a `map` into
//! the caller's and workers' micro-operations (start-up, pickling, pipes) and
//! asks the pool what comes next.

use crate::config::PoolKind;
use crate::ids::{ProcessId, ThreadId};
use std::collections::VecDeque;

#[cfg(test)]
mod tests;

/// What a worker does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NextTask {
    /// Run task `k`.
    Task(u32),
    /// Every task is taken: exit, and wake these idle workers to exit too.
    Shutdown(Vec<ThreadId>),
    /// A task is still on its way: wait for it.
    Wait,
}

/// Runtime state of a pool.
pub(crate) struct Pool {
    name: String,
    kind: PoolKind,
    workers: Vec<ThreadId>,
    /// Worker processes (process pools).
    procs: Vec<ProcessId>,
    /// Tasks delivered to the workers and not yet taken.
    available: VecDeque<u32>,
    /// Tasks not yet delivered to the workers.
    undelivered: u32,
    /// Results sent back and not yet collected (their pickled sizes).
    results: VecDeque<u64>,
    done: u32,
    total: u32,
    collected: u32,
    caller: Option<ThreadId>,
    idle: VecDeque<ThreadId>,
    mapped: bool,
}

impl Pool {
    pub fn new(name: String, kind: PoolKind, tasks: u32) -> Self {
        Pool {
            name,
            kind,
            workers: Vec::new(),
            procs: Vec::new(),
            available: VecDeque::new(),
            undelivered: tasks,
            results: VecDeque::new(),
            done: 0,
            total: tasks,
            collected: 0,
            caller: None,
            idle: VecDeque::new(),
            mapped: false,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> PoolKind {
        self.kind
    }

    pub fn workers(&self) -> &[ThreadId] {
        &self.workers
    }

    pub fn worker_processes(&self) -> &[ProcessId] {
        &self.procs
    }

    pub fn tasks(&self) -> u32 {
        self.total
    }

    pub fn add_worker(&mut self, t: ThreadId, process: Option<ProcessId>) {
        self.workers.push(t);
        self.procs.extend(process);
    }

    /// `caller` maps the pool: false if it was mapped already (a pool is shut
    /// down after its map; mapping it again does nothing).
    pub fn map(&mut self, caller: ThreadId) -> bool {
        if self.mapped {
            return false;
        }
        self.mapped = true;
        self.caller = Some(caller);
        true
    }

    /// Task `k` reaches the workers: returns the idle worker to wake, if one
    /// still waits.
    pub fn deliver(
        &mut self,
        k: u32,
        still_waiting: impl Fn(ThreadId) -> bool,
    ) -> Option<ThreadId> {
        self.available.push_back(k);
        self.undelivered = self.undelivered.saturating_sub(1);
        while let Some(w) = self.idle.pop_front() {
            if still_waiting(w) {
                return Some(w);
            }
        }
        None
    }

    /// True if a worker asking now would not wait.
    pub fn task_ready(&self) -> bool {
        !self.available.is_empty() || (self.undelivered == 0 && self.mapped)
    }

    /// A worker asks for its next task.
    pub fn next_task(&mut self) -> NextTask {
        if let Some(k) = self.available.pop_front() {
            NextTask::Task(k)
        } else if self.undelivered == 0 {
            NextTask::Shutdown(self.idle.drain(..).collect())
        } else {
            NextTask::Wait
        }
    }

    /// Worker `t` blocks until a task arrives.
    pub fn wait_for_task(&mut self, t: ThreadId) {
        self.idle.push_back(t);
    }

    /// A process-pool worker sends a result of `bytes` back through the pipe.
    pub fn result_sent(&mut self, bytes: u64) {
        self.results.push_back(bytes);
    }

    /// A result reached the caller: returns the caller, to wake if it waits.
    pub fn result_delivered(&mut self) -> Option<ThreadId> {
        self.done += 1;
        self.caller
    }

    /// True if the caller's next collect would not wait: every result (thread
    /// pools, `list(ex.map(...))`) or the next one (process pools).
    pub fn results_ready(&self) -> bool {
        match self.kind {
            PoolKind::Threads => self.done >= self.total,
            PoolKind::Processes(_) => self.done > self.collected,
        }
    }

    /// The caller collects: the pickled size of the result it unpickles
    /// (process pools), or `None` (thread pools hand results over in memory).
    pub fn collect(&mut self) -> Option<u64> {
        match self.kind {
            PoolKind::Processes(_) => {
                self.collected += 1;
                Some(self.results.pop_front().unwrap_or(0))
            }
            PoolKind::Threads => None,
        }
    }
}
