//! The OS scheduler's run queue: which runnable thread gets the next free core.
//!
//! `fair` approximates Linux CFS/EEVDF (`kernel/sched/fair.c`): the runnable
//! thread with the least virtual runtime runs next, a running thread keeps its
//! core for a slice, and a woken sleeper is placed at most one slice behind the
//! least runtime so it can preempt a CPU hog (wake-up preemption). `rr` is a
//! FIFO queue with a fixed quantum. Time slices, dispatch and preemption are
//! driven by the kernel (`kernel/cpu.rs`); this module only orders threads:
//! the kernel asks it to `enqueue` a runnable thread and for the next one
//! (`pop_next`), and reads the policy's slice and wake-up granularity.

use crate::config::Policy;
use crate::ids::ThreadId;
use crate::time::SimDuration;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

#[cfg(test)]
mod tests;

pub(crate) enum RunQueue {
    /// Least (virtual runtime, arrival) first.
    Fair(BinaryHeap<Reverse<(u64, u64, ThreadId)>>),
    /// Arrival order.
    Fifo(VecDeque<ThreadId>),
}

pub(crate) struct Scheduler {
    pub policy: Policy,
    queue: RunQueue,
    arrivals: u64,
    /// Monotone lower bound of virtual runtimes (CFS `min_vruntime`).
    pub min_vruntime: u64,
}

impl Scheduler {
    pub fn new(policy: Policy) -> Self {
        let queue = match policy {
            Policy::Fair { .. } => RunQueue::Fair(BinaryHeap::new()),
            Policy::RoundRobin { .. } => RunQueue::Fifo(VecDeque::new()),
        };
        Scheduler {
            policy,
            queue,
            arrivals: 0,
            min_vruntime: 0,
        }
    }

    /// How long a thread keeps a core before it may be preempted.
    pub fn slice(&self) -> SimDuration {
        match self.policy {
            Policy::Fair { slice, .. } => slice,
            Policy::RoundRobin { quantum } => quantum,
        }
    }

    /// Wake-up preemption threshold, if the policy preempts on wake-up.
    pub fn wakeup_granularity(&self) -> Option<SimDuration> {
        match self.policy {
            Policy::Fair {
                wakeup_granularity, ..
            } => Some(wakeup_granularity),
            Policy::RoundRobin { .. } => None,
        }
    }

    pub fn is_fair(&self) -> bool {
        matches!(self.queue, RunQueue::Fair(_))
    }

    pub fn enqueue(&mut self, t: ThreadId, vruntime: u64) {
        self.arrivals += 1;
        match &mut self.queue {
            RunQueue::Fair(heap) => heap.push(Reverse((vruntime, self.arrivals, t))),
            RunQueue::Fifo(q) => q.push_back(t),
        }
    }

    pub fn pop_next(&mut self) -> Option<ThreadId> {
        match &mut self.queue {
            RunQueue::Fair(heap) => heap.pop().map(|Reverse((_, _, t))| t),
            RunQueue::Fifo(q) => q.pop_front(),
        }
    }

    /// Virtual runtime of the next thread to run (fair only).
    pub fn leftmost_vruntime(&self) -> Option<u64> {
        match &self.queue {
            RunQueue::Fair(heap) => heap.peek().map(|Reverse(e)| e.0),
            RunQueue::Fifo(_) => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        match &self.queue {
            RunQueue::Fair(heap) => heap.is_empty(),
            RunQueue::Fifo(q) => q.is_empty(),
        }
    }
}
