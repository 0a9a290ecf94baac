//! Synchronisation that real programs use: `threading.Lock`, `queue.Queue`
//! and `multiprocessing.Queue`, and `Thread.join`.
//!
//! A contended `Lock.acquire` first tries without releasing the GIL, then
//! releases it and blocks (`acquire_timed` in `Modules/_threadmodule.c`,
//! research notes §7). A release wakes one waiter, which must take the GIL and
//! retry: the lock is not handed over, so a running thread may barge in.
//! `multiprocessing.Queue` items are pickled by the sender under its GIL, cross
//! a pipe, and are unpickled by the receiver under its GIL (§4.2).

use crate::config::QueueConfig;
use crate::ids::{LockId, QueueId, ThreadId};
use crate::kernel::{BurstKind, Event, Micro, Run, Sim, Wait};
use crate::trace::TraceSink;
use std::collections::VecDeque;

/// Runtime state of a lock.
#[derive(Default)]
pub(crate) struct Lock {
    pub owner: Option<ThreadId>,
    pub waiters: VecDeque<ThreadId>,
}

/// Runtime state of a queue.
pub(crate) struct Queue {
    pub ipc: bool,
    /// Pickled sizes of the items available.
    pub items: VecDeque<u64>,
    pub getters: VecDeque<ThreadId>,
}

impl Queue {
    pub fn new(c: &QueueConfig) -> Self {
        Queue {
            ipc: c.ipc,
            items: VecDeque::new(),
            getters: VecDeque::new(),
        }
    }
}

impl<S: TraceSink> Sim<'_, S> {
    pub(crate) fn lock_acquire(&mut self, t: ThreadId, l: LockId) {
        let lock = &mut self.locks[l.index()];
        if lock.owner.is_none() {
            lock.owner = Some(t);
        } else {
            self.wait_then_retry(t, Wait::Lock(l), Micro::LockAcquire(l));
        }
    }

    pub(crate) fn lock_release(&mut self, t: ThreadId, l: LockId) {
        let lock = &mut self.locks[l.index()];
        // Releasing a lock one does not hold is a RuntimeError in Python; the
        // model treats it as releasing whoever holds it.
        lock.owner = None;
        if let Some(w) = self.pop_blocked_waiter(l) {
            self.wake(w);
            self.pay_signal(t);
        }
    }

    /// First waiter of lock `l` that is still blocked on it.
    fn pop_blocked_waiter(&mut self, l: LockId) -> Option<ThreadId> {
        while let Some(w) = self.locks[l.index()].waiters.pop_front() {
            if self.threads[w.index()].run == Run::Blocked(Wait::Lock(l)) {
                return Some(w);
            }
        }
        None
    }

    /// The running thread `t` pays a futex wake.
    pub(crate) fn pay_signal(&mut self, t: ThreadId) {
        let cost = self.cfg.machine.os.signal_cost.0;
        if cost > 0 {
            self.threads[t.index()]
                .micro
                .push_front(Micro::Run(BurstKind::Sys, cost));
        }
    }

    pub(crate) fn queue_put(&mut self, t: ThreadId, q: QueueId, bytes: u64) {
        if self.queues[q.index()].ipc {
            let at = self.now + self.cfg.costs.pipe_time(bytes);
            self.queue.push(at, Event::QueueDeliver(q, bytes));
        } else {
            if self.queue_deliver(q, bytes) {
                self.pay_signal(t);
            }
        }
    }

    /// An item becomes available: wake one blocked getter (returns whether one was woken).
    pub(crate) fn queue_deliver(&mut self, q: QueueId, bytes: u64) -> bool {
        self.queues[q.index()].items.push_back(bytes);
        while let Some(g) = self.queues[q.index()].getters.pop_front() {
            if self.threads[g.index()].run == Run::Blocked(Wait::Queue(q)) {
                self.wake(g);
                return true;
            }
        }
        false
    }

    pub(crate) fn queue_get(&mut self, t: ThreadId, q: QueueId) {
        let queue = &mut self.queues[q.index()];
        match queue.items.pop_front() {
            Some(bytes) => {
                if queue.ipc {
                    let w = self.cfg.costs.pickle_time(bytes).0;
                    self.threads[t.index()]
                        .micro
                        .push_front(Micro::Run(BurstKind::Py, w));
                }
            }
            None => {
                self.wait_then_retry(t, Wait::Queue(q), Micro::QueueGet(q));
            }
        }
    }

    pub(crate) fn join_thread(&mut self, t: ThreadId, x: ThreadId) {
        match self.threads[x.index()].run {
            Run::Done => {}
            Run::NotStarted if x != t => {
                // Joining a thread that was never started raises in Python;
                // the model waits for it to be started and finish.
                self.wait_then_retry(t, Wait::Join(x), Micro::Join(x));
            }
            _ if x == t => {} // joining oneself raises in Python; ignored
            _ => {
                self.wait_then_retry(t, Wait::Join(x), Micro::Join(x));
            }
        }
    }
}
