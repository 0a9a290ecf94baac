//! `concurrent.futures` executors and `multiprocessing.Pool`: a `map` hands
//! its tasks to the workers in chunks, who take them one chunk at a time,
//! and the caller collects the results (research notes §4).
//!
//! **The door.** A [`Pool`] keeps the bookkeeping of a pool across its maps:
//! which workers have started, which chunks of the current map have reached
//! the workers, which workers wait idle for one, how many results are back
//! and collected, and how many maps it serves before it shuts down. The
//! kernel (`kernel/process.rs`) turns a `map` into the caller's and workers'
//! micro-operations (construction, start-up, pickling, pipes) and asks the
//! pool what comes next.
//!
//! A chunk is `chunksize` consecutive tasks sent as one message
//! (`Pool._get_tasks` in `Lib/multiprocessing/pool.py`, `_get_chunks` in
//! `Lib/concurrent/futures/process.py`); with `chunksize` 1 a chunk is a task.
//! A `ProcessPoolExecutor` grows on demand: each submit first takes an idle
//! worker's token (`_idle_worker_semaphore`, released per result the
//! management thread processes), else starts a worker while fewer than
//! `max_workers` run (`_adjust_process_count`).

use crate::config::{PoolKind, PoolOptions};
use crate::ids::{ProcessId, ThreadId};
use std::collections::VecDeque;
use std::ops::Range;

#[cfg(test)]
mod tests;

/// What a worker does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NextTask {
    /// Run chunk `c`.
    Task(u32),
    /// The last map's chunks are all taken: exit, and wake these idle
    /// workers to exit too.
    Shutdown(Vec<ThreadId>),
    /// A chunk is still on its way, or the next map has not begun: wait.
    Wait,
}

/// What a map must do before it submits its chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MapStart {
    /// The pool is constructed by this map (its first, and not warm).
    pub construct: bool,
}

/// Runtime state of a pool.
pub(crate) struct Pool {
    name: String,
    kind: PoolKind,
    options: PoolOptions,
    workers: Vec<ThreadId>,
    /// Worker processes (process pools).
    procs: Vec<ProcessId>,
    /// Tasks of one map.
    tasks: u32,
    /// Workers started so far (all of them in a warm pool).
    started: u32,
    /// Results processed and not yet claimed by a submit: idle workers
    /// (`ProcessPoolExecutor._idle_worker_semaphore`).
    idle_tokens: u32,
    /// Chunks delivered to the workers and not yet taken.
    available: VecDeque<u32>,
    /// Chunks of this map not yet delivered to the workers.
    undelivered: u32,
    /// Results sent back and not yet collected (their pickled sizes).
    results: VecDeque<u64>,
    /// Results of this map back at the caller.
    done: u32,
    collected: u32,
    caller: Option<ThreadId>,
    idle: VecDeque<ThreadId>,
    /// Maps begun so far.
    maps: u32,
}

impl Pool {
    pub fn new(name: String, kind: PoolKind, tasks: u32, options: PoolOptions) -> Self {
        Pool {
            name,
            kind,
            options,
            workers: Vec::new(),
            procs: Vec::new(),
            tasks,
            started: 0,
            idle_tokens: 0,
            available: VecDeque::new(),
            undelivered: 0,
            results: VecDeque::new(),
            done: 0,
            collected: 0,
            caller: None,
            idle: VecDeque::new(),
            maps: 0,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> PoolKind {
        self.kind
    }

    pub fn options(&self) -> PoolOptions {
        self.options
    }

    pub fn workers(&self) -> &[ThreadId] {
        &self.workers
    }

    pub fn worker_processes(&self) -> &[ProcessId] {
        &self.procs
    }

    pub fn add_worker(&mut self, t: ThreadId, process: Option<ProcessId>) {
        self.workers.push(t);
        self.procs.extend(process);
        if self.options.warm {
            self.started += 1;
        }
    }

    /// Chunks of one map: `chunksize` tasks each, the last one shorter.
    pub fn chunks(&self) -> u32 {
        self.tasks.div_ceil(self.options.chunksize.max(1))
    }

    /// The tasks of chunk `c`.
    pub fn chunk_tasks(&self, c: u32) -> Range<u32> {
        let size = self.options.chunksize.max(1);
        let first = c.saturating_mul(size).min(self.tasks);
        first..first.saturating_add(size).min(self.tasks)
    }

    /// `caller` maps the pool: `None` if it has served its last map already
    /// (mapping it again does nothing).
    pub fn map(&mut self, caller: ThreadId) -> Option<MapStart> {
        if self.maps >= self.options.maps.max(1) {
            return None;
        }
        let construct = self.maps == 0 && !self.options.warm;
        self.maps += 1;
        self.caller = Some(caller);
        self.undelivered = self.chunks();
        self.done = 0;
        self.collected = 0;
        self.results.clear();
        Some(MapStart { construct })
    }

    /// Workers not started yet, all started now (a `multiprocessing.Pool`,
    /// a thread pool, a `ProcessPoolExecutor` with `fork`).
    pub fn start_all(&mut self) -> Range<usize> {
        let from = self.started as usize;
        self.started = self.workers.len() as u32;
        from..self.workers.len()
    }

    /// A `ProcessPoolExecutor` submit: an idle worker takes the task, or a
    /// new worker starts (its index) while fewer than all run.
    pub fn start_on_demand(&mut self) -> Option<usize> {
        if self.idle_tokens > 0 {
            self.idle_tokens -= 1;
            return None;
        }
        if (self.started as usize) < self.workers.len() {
            self.started += 1;
            return Some(self.started as usize - 1);
        }
        None
    }

    /// Chunk `c` reaches the workers: returns the idle worker to wake, if
    /// one still waits.
    pub fn deliver(
        &mut self,
        c: u32,
        still_waiting: impl Fn(ThreadId) -> bool,
    ) -> Option<ThreadId> {
        self.available.push_back(c);
        self.undelivered = self.undelivered.saturating_sub(1);
        while let Some(w) = self.idle.pop_front() {
            if still_waiting(w) {
                return Some(w);
            }
        }
        None
    }

    /// The last map has begun and all its chunks have reached the workers.
    fn shutting_down(&self) -> bool {
        self.maps >= self.options.maps.max(1) && self.undelivered == 0
    }

    /// True if a worker asking now would not wait.
    pub fn task_ready(&self) -> bool {
        !self.available.is_empty() || self.shutting_down()
    }

    /// A worker asks for its next chunk.
    pub fn next_task(&mut self) -> NextTask {
        if let Some(c) = self.available.pop_front() {
            NextTask::Task(c)
        } else if self.shutting_down() {
            NextTask::Shutdown(self.idle.drain(..).collect())
        } else {
            NextTask::Wait
        }
    }

    /// Idle workers to wake because the pool shuts down with nothing left
    /// to deliver (a last map without tasks): they would wait for ever.
    pub fn idle_at_shutdown(&mut self) -> Vec<ThreadId> {
        if self.shutting_down() && self.available.is_empty() {
            self.idle.drain(..).collect()
        } else {
            Vec::new()
        }
    }

    /// Worker `t` blocks until a chunk arrives.
    pub fn wait_for_task(&mut self, t: ThreadId) {
        self.idle.push_back(t);
    }

    /// A process-pool worker sends a chunk's results of `bytes` back
    /// through the pipe.
    pub fn result_sent(&mut self, bytes: u64) {
        self.results.push_back(bytes);
    }

    /// A chunk's results reached the caller: returns the caller, to wake if
    /// it waits. An executor's worker is idle again.
    pub fn result_delivered(&mut self) -> Option<ThreadId> {
        self.done += 1;
        self.idle_tokens += 1;
        self.caller
    }

    /// True if the caller's next collect would not wait: every result (thread
    /// pools, `list(ex.map(...))`) or the next chunk's (process pools).
    pub fn results_ready(&self) -> bool {
        match self.kind {
            PoolKind::Threads => self.done >= self.chunks(),
            PoolKind::Processes(_) => self.done > self.collected,
        }
    }

    /// The caller collects: the pickled size of the chunk's results it
    /// unpickles (process pools), or `None` (thread pools hand results over
    /// in memory).
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
