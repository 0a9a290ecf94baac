//! Synchronisation that real programs use: `threading.Lock`, `queue.Queue`
//! and `multiprocessing.Queue`.
//!
//! A contended `Lock.acquire` first tries without releasing the GIL, then
//! releases it and blocks (`acquire_timed` in `Modules/_threadmodule.c`,
//! research notes §7). A release wakes one waiter, which must take the GIL and
//! retry: the lock is not handed over, so a running thread may barge in.
//! `multiprocessing.Queue` items are pickled by the sender under its GIL, cross
//! a pipe, and are unpickled by the receiver under its GIL (§4.2).
//!
//! **The door.** A [`Lock`] or [`Queue`] owns its owner, items and waiters;
//! the kernel (`kernel/sync.rs`) asks it and does the blocking, waking, GIL
//! and pipe work its answers call for. A waiter is woken only if it still
//! waits (`still_waiting`, the kernel's knowledge).

use crate::config::QueueConfig;
use crate::ids::ThreadId;
use std::collections::VecDeque;

#[cfg(test)]
mod tests;

/// A `threading.Lock`.
#[derive(Default)]
pub(crate) struct Lock {
    owner: Option<ThreadId>,
    waiters: VecDeque<ThreadId>,
}

impl Lock {
    /// True if nobody holds it.
    pub fn is_free(&self) -> bool {
        self.owner.is_none()
    }

    /// `acquire(blocking=False)`: true if `t` took it.
    pub fn try_acquire(&mut self, t: ThreadId) -> bool {
        if self.owner.is_some() {
            return false;
        }
        self.owner = Some(t);
        true
    }

    /// `t` blocks on the lock (after its non-blocking try failed).
    pub fn wait(&mut self, t: ThreadId) {
        self.waiters.push_back(t);
    }

    /// `release`: the lock is free; returns the first waiter that still
    /// waits, to wake (it retries; the lock is not handed over). Releasing a
    /// lock one does not hold is a RuntimeError in Python; the model treats it
    /// as releasing whoever holds it.
    pub fn release(&mut self, still_waiting: impl Fn(ThreadId) -> bool) -> Option<ThreadId> {
        self.owner = None;
        pop_still_waiting(&mut self.waiters, still_waiting)
    }
}

/// A `queue.Queue` or (`ipc`) a `multiprocessing.Queue`.
pub(crate) struct Queue {
    ipc: bool,
    /// Pickled sizes of the items available.
    items: VecDeque<u64>,
    getters: VecDeque<ThreadId>,
}

impl Queue {
    pub fn new(c: &QueueConfig) -> Self {
        Queue {
            ipc: c.ipc,
            items: VecDeque::new(),
            getters: VecDeque::new(),
        }
    }

    /// Items cross a pipe and are pickled (`multiprocessing.Queue`).
    pub fn is_ipc(&self) -> bool {
        self.ipc
    }

    /// True if a `get` would not block.
    pub fn has_items(&self) -> bool {
        !self.items.is_empty()
    }

    /// An item of `bytes` becomes available: returns the getter to wake, if
    /// one still waits.
    pub fn deliver(
        &mut self,
        bytes: u64,
        still_waiting: impl Fn(ThreadId) -> bool,
    ) -> Option<ThreadId> {
        self.items.push_back(bytes);
        pop_still_waiting(&mut self.getters, still_waiting)
    }

    /// `get` without blocking: the oldest item's size, if any.
    pub fn take(&mut self) -> Option<u64> {
        self.items.pop_front()
    }

    /// `t` blocks on the empty queue.
    pub fn wait(&mut self, t: ThreadId) {
        self.getters.push_back(t);
    }
}

fn pop_still_waiting(
    waiters: &mut VecDeque<ThreadId>,
    still_waiting: impl Fn(ThreadId) -> bool,
) -> Option<ThreadId> {
    while let Some(w) = waiters.pop_front() {
        if still_waiting(w) {
            return Some(w);
        }
    }
    None
}
