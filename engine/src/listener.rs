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
//! Several processes blocked in `accept` on one shared socket (a prefork
//! server) are served the same way: Linux queues them with
//! `prepare_to_wait_exclusive` and wakes the first, "a true wake-one
//! mechanism for incoming connections" (`inet_csk_wait_for_connect`,
//! `net/ipv4/inet_connection_sock.c`), so connections spread over the idle
//! workers in turn.
//!
//! A listener with a backlog limit (`listen(backlog)`) refuses an arriving
//! request of an arrival source when that many already wait (a full accept
//! queue drops the connection); a client thread's request always waits.
//!
//! **The door.** The kernel (`kernel/io.rs`, `kernel/serve.rs`) tells the
//! listener a request arrived and learns which idle server thread to wake
//! (or that it waits, or was refused); a server thread asks for the next
//! request or waits.

use crate::ids::{SourceId, ThreadId};
use crate::level::Level;
use crate::time::SimTime;
use std::collections::VecDeque;

/// A request: a client thread's (with the client's number for it), or an
/// arrival source's (with its slot among the source's requests in flight).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Request {
    Client { client: ThreadId, seq: u32 },
    Source { source: SourceId, slot: u32 },
}

/// What became of an arriving request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// This idle server thread takes it.
    Taken(ThreadId),
    /// It waits in the backlog.
    Queued,
    /// The backlog was full.
    Refused,
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
    /// The backlog's length over time.
    history: Level,
}

impl Listener {
    /// A request arrives: the idle server thread that takes it (if one
    /// still waits), else it waits in the backlog — unless it is a source's
    /// and `limit` requests already wait.
    pub fn arrive(
        &mut self,
        now: SimTime,
        request: Request,
        limit: Option<u32>,
        still_waiting: impl Fn(ThreadId) -> bool,
    ) -> Arrival {
        while let Some(s) = self.idle.pop_front() {
            if still_waiting(s) {
                self.accepted += 1;
                return Arrival::Taken(s);
            }
        }
        let full = limit.is_some_and(|n| self.pending.len() >= n as usize);
        if full && matches!(request, Request::Source { .. }) {
            return Arrival::Refused;
        }
        self.pending.push_back(request);
        self.peak_backlog = self.peak_backlog.max(self.pending.len());
        self.history.set(now, self.pending.len() as u64);
        Arrival::Queued
    }

    /// Requests waiting to be accepted now.
    pub fn backlog(&self) -> usize {
        self.pending.len()
    }

    /// A server thread accepts at `now`: the oldest waiting request.
    pub fn accept(&mut self, now: SimTime) -> Option<Request> {
        let r = self.pending.pop_front()?;
        self.accepted += 1;
        self.history.set(now, self.pending.len() as u64);
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

    /// The backlog's length over time.
    pub fn history(&self) -> &Level {
        &self.history
    }

    /// Requests taken by server threads so far.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }
}
