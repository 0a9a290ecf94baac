//! The kernel's side of locks, queues and joins: it asks the [`Lock`] or
//! [`Queue`] (`sync.rs`) and does what follows — release the GIL and block
//! (then take it again and retry, as CPython does), wake the waiter the
//! release names, pay the futex wake, carry an IPC item across its pipe and
//! charge its pickling.

use super::{BurstKind, Event, Micro, Run, Sim, Wait};
use crate::ids::{LockId, QueueId, ThreadId};
use crate::trace::TraceSink;

impl<S: TraceSink> Sim<'_, S> {
    pub(crate) fn lock_acquire(&mut self, t: ThreadId, l: LockId) {
        if !self.locks[l.index()].try_acquire(t) {
            self.wait_then_retry(t, Wait::Lock(l), Micro::LockAcquire(l));
        }
    }

    pub(crate) fn lock_release(&mut self, t: ThreadId, l: LockId) {
        let threads = &self.threads;
        let blocked_here = |w: ThreadId| threads[w.index()].run == Run::Blocked(Wait::Lock(l));
        if let Some(w) = self.locks[l.index()].release(blocked_here) {
            self.wake(w);
            self.pay_signal(t);
        }
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
        if self.queues[q.index()].is_ipc() {
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
        let threads = &self.threads;
        let blocked_here = |g: ThreadId| threads[g.index()].run == Run::Blocked(Wait::Queue(q));
        match self.queues[q.index()].deliver(bytes, blocked_here) {
            Some(g) => {
                self.wake(g);
                true
            }
            None => false,
        }
    }

    pub(crate) fn queue_get(&mut self, t: ThreadId, q: QueueId) {
        let queue = &mut self.queues[q.index()];
        match queue.take() {
            Some(bytes) => {
                if queue.is_ipc() {
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
