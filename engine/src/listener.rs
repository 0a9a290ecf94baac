//! A listening socket served by threads of the same simulation: the
//! in-model peer of a `send`/`recv` (a selectors or threaded echo server, a
//! database), whose own CPU work and GIL decide how fast it answers — one
//! single-threaded server serialises every connection.
//!
//! Requests reach the listener after their network delay and are served in
//! arrival order. A server thread in `Accept` takes the oldest waiting request
//! (returning after its system call), or blocks until one comes; an arriving
//! request is handed to the longest-waiting idle server thread (the kernel
//! wakes one waiter per event, as `epoll`/`accept` do without
//! `EPOLLEXCLUSIVE` thundering herds: `research/wake-path.md` §4).
//!
//! **The door.** The kernel (`kernel/io.rs`) tells the listener a request
//! arrived and learns which idle server thread to wake; a server thread asks
//! for the next request or waits.

use crate::ids::ThreadId;
use std::collections::VecDeque;

/// A request: its client and the client's number for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub client: ThreadId,
    pub seq: u32,
}

#[cfg(test)]
mod tests;

/// Runtime state of a listening socket.
#[derive(Default)]
pub(crate) struct Listener {
    /// Requests arrived and not yet accepted, oldest first.
    pending: VecDeque<Request>,
    /// Server threads blocked in `Accept`, longest first.
    idle: VecDeque<ThreadId>,
    /// Most requests ever waiting at once.
    peak_backlog: usize,
    /// Requests taken by server threads.
    accepted: u64,
}

impl Listener {
    /// A request arrives: returns the idle server thread that takes it (if
    /// one still waits), else the request waits in the backlog.
    pub fn arrive(
        &mut self,
        request: Request,
        still_waiting: impl Fn(ThreadId) -> bool,
    ) -> Option<ThreadId> {
        while let Some(s) = self.idle.pop_front() {
            if still_waiting(s) {
                self.accepted += 1;
                return Some(s);
            }
        }
        self.pending.push_back(request);
        self.peak_backlog = self.peak_backlog.max(self.pending.len());
        None
    }

    /// A server thread accepts: the oldest waiting request.
    pub fn accept(&mut self) -> Option<Request> {
        let r = self.pending.pop_front()?;
        self.accepted += 1;
        Some(r)
    }

    /// Server thread `s` blocks until a request arrives.
    pub fn wait(&mut self, s: ThreadId) {
        self.idle.push_back(s);
    }

    /// Most requests ever waiting to be accepted at once.
    pub fn peak_backlog(&self) -> usize {
        self.peak_backlog
    }

    /// Requests taken by server threads so far.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }
}
