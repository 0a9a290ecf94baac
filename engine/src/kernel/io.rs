//! Blocking calls: I/O on devices and timed sleeps.
//!
//! Every blocking call releases the GIL before it blocks and re-takes it on
//! return (`Py_BEGIN/END_ALLOW_THREADS`, research notes §1.5); the kernel's
//! step expansion does that around these micro-operations. A device with a
//! concurrency limit serves that many calls at once and queues the rest FIFO
//! (a disk with queue depth 1 serialises requests; a network link does not).
//! A sleep is a timed wait and so expires late by the OS timer slack.
//!
//! A call that returns at once (a `recv` whose data is waiting, an `io` of
//! zero latency) still releases the GIL around its system call: CPython wraps
//! every socket call in `Py_BEGIN/END_ALLOW_THREADS` (`sock_call_ex`,
//! `Modules/socketmodule.c`; `research/wake-path.md` §4.3–4.4). The call
//! takes the OS's `syscall` time on the caller's core with the GIL free, so a
//! waiter woken by the release races the caller's re-take: the waiter wins
//! when its wake-up is shorter than the system call.
//!
//! A request/reply exchange (`send` then `recv` on a socket) is two calls: the
//! reply's arrival is fixed when the request goes out, so a `recv` made late
//! (after waiting for the GIL) finds it there and returns after its system
//! call; only a `recv` made early blocks.

use super::{BurstKind, Event, Micro, Reply, Run, Sim, Wait};
use crate::dist::Dist;
use crate::ids::{DeviceId, ListenerId, ThreadId};
use crate::listener::{Arrival, Request};
use crate::time::SimDuration;
use crate::trace::TraceSink;
use rand_distr::Distribution;

/// Most replies a thread may have pending: bounds the memory of a run whose
/// program sends without receiving.
pub const MAX_PENDING_REPLIES: usize = 1 << 16;

impl<S: TraceSink> Sim<'_, S> {
    /// `t` issues a blocking call; its latency is drawn now from `t`'s own
    /// stream, so the n-th call of a thread has the same latency in every variant.
    pub(crate) fn start_io(&mut self, t: ThreadId, dev: Option<DeviceId>, dist: &Dist) {
        let lat = dist.sample(&mut self.threads[t.index()].rng_io);
        let device_free = dev.is_none_or(|d| self.devices[d.index()].has_room());
        if lat.0 == 0 && device_free {
            self.returns_at_once(t);
            return;
        }
        self.block(t, Wait::Io);
        match dev {
            Some(d) => {
                if self.devices[d.index()].submit(t, lat) {
                    self.queue.push(self.now + lat, Event::IoDone(t, Some(d)));
                }
            }
            None => self.queue.push(self.now + lat, Event::IoDone(t, None)),
        }
    }

    /// `t`'s request is out: its reply is due after a latency drawn now from
    /// `t`'s own stream (the same in every variant).
    /// Its return counts for the latency until it runs Python again (the
    /// wait for the GIL after a `sendall`), though not as an op.
    pub(crate) fn send_request(&mut self, t: ThreadId, dist: &Dist) {
        if self.too_many_pending(t) {
            return;
        }
        let th = &mut self.threads[t.index()];
        let lat = dist.sample(&mut th.rng_io);
        let sent = th.op_start;
        th.replies.push_back(Reply {
            due: Some(self.now + lat),
            sent,
            seq: 0,
        });
        th.io_return = Some(self.now);
    }

    /// True (after recording the error) if `t` has too many replies pending.
    fn too_many_pending(&mut self, t: ThreadId) -> bool {
        let th = &self.threads[t.index()];
        if th.replies.len() < MAX_PENDING_REPLIES {
            return false;
        }
        self.error = Some(crate::EngineError::UnansweredRequests {
            thread: th.name.clone(),
            time: self.now,
            limit: MAX_PENDING_REPLIES,
        });
        true
    }

    /// `t`'s request to listener `l` is out: it arrives after the network
    /// delay, drawn now from `t`'s own stream; its reply's time is not known
    /// until a server thread answers it.
    pub(crate) fn call_listener(&mut self, t: ThreadId, l: ListenerId) {
        if self.too_many_pending(t) {
            return;
        }
        let network = &self.cfg.listeners[l.index()].network;
        let th = &mut self.threads[t.index()];
        let lat = network.sample(&mut th.rng_io);
        th.calls = th.calls.wrapping_add(1);
        let seq = th.calls;
        th.replies.push_back(Reply {
            due: None,
            sent: th.op_start,
            seq,
        });
        th.io_return = Some(self.now);
        self.queue
            .push(self.now + lat, Event::RequestArrives(l, t, seq));
    }

    /// A request reached listener `l`: an idle server thread takes it (its
    /// `accept` returns), or it waits in the backlog, or (a source's, the
    /// backlog full) it is refused. Returns what became of it.
    pub(crate) fn request_arrives(&mut self, l: ListenerId, request: Request) -> Arrival {
        let threads = &self.threads;
        let idle = |s: ThreadId| threads[s.index()].run == Run::Blocked(Wait::Accept(l));
        let limit = self.cfg.listeners[l.index()].backlog;
        let arrival = self.listeners[l.index()].arrive(self.now, request, limit, idle);
        match arrival {
            Arrival::Taken(s) => {
                self.threads[s.index()].serving.push_back((l, request));
                self.io_done(s, None);
            }
            Arrival::Queued => self.listener_readable(l),
            Arrival::Refused => {}
        }
        arrival
    }

    /// Server `t` accepts on `l`: the oldest waiting request, after the
    /// system call, or it blocks until one comes.
    pub(crate) fn accept(&mut self, t: ThreadId, l: ListenerId) {
        match self.listeners[l.index()].accept(self.now) {
            Some(request) => {
                self.threads[t.index()].serving.push_back((l, request));
                self.returns_at_once(t);
            }
            None => {
                self.listeners[l.index()].wait(t);
                self.block(t, Wait::Accept(l));
            }
        }
    }

    /// Server `t` answers its oldest accepted request: the reply reaches the
    /// client after the network delay, drawn from `t`'s own stream.
    pub(crate) fn respond(&mut self, t: ThreadId) {
        let Some((l, request)) = self.threads[t.index()].serving.pop_front() else {
            return;
        };
        let network = &self.cfg.listeners[l.index()].network;
        let th = &mut self.threads[t.index()];
        let lat = network.sample(&mut th.rng_io);
        th.io_return = Some(self.now);
        match request {
            Request::Client { client, seq } => self
                .queue
                .push(self.now + lat, Event::ReplyArrives(client, seq)),
            Request::Source { source, slot } => self.source_answered(source, slot, self.now + lat),
        }
    }

    /// The reply to `client`'s request `seq` arrived: its `recv` returns if
    /// it waits for it, else the reply waits to be read.
    pub(crate) fn reply_arrives(&mut self, client: ThreadId, seq: u32) {
        if self.threads[client.index()].run == Run::Blocked(Wait::Reply(seq)) {
            self.io_done(client, None);
            return;
        }
        let now = self.now;
        let th = &mut self.threads[client.index()];
        if let Some(r) = th
            .replies
            .iter_mut()
            .find(|r| r.due.is_none() && r.seq == seq)
        {
            r.due = Some(now);
        }
    }

    /// `recv`: the oldest pending reply, after the system call if it is
    /// there, else when it comes. The round trip counts from its `send`.
    pub(crate) fn await_reply(&mut self, t: ThreadId) {
        let th = &mut self.threads[t.index()];
        let Some(reply) = th.replies.pop_front() else {
            self.block(t, Wait::NoRequest);
            return;
        };
        th.op_start = reply.sent;
        let Some(at) = reply.due else {
            self.block(t, Wait::Reply(reply.seq));
            return;
        };
        if at <= self.now {
            self.returns_at_once(t);
            return;
        }
        self.block(t, Wait::Io);
        self.queue.push(at, Event::IoDone(t, None));
    }

    /// A call that does not block: its system call runs on the caller's core
    /// with the GIL released, then it returns.
    fn returns_at_once(&mut self, t: ThreadId) {
        let syscall = self.cfg.machine.os.syscall.0;
        let m = &mut self.threads[t.index()].micro;
        m.push_front(Micro::IoReturned);
        if syscall > 0 {
            m.push_front(Micro::Run(BurstKind::Sys, syscall));
        }
    }

    /// A blocking call returned on the caller's core.
    pub(crate) fn io_returned(&mut self, t: ThreadId) {
        let th = &mut self.threads[t.index()];
        th.report.ops += 1;
        th.io_return = Some(self.now);
    }

    /// A call returned: the device serves its next request, the thread wakes.
    pub(crate) fn io_done(&mut self, t: ThreadId, dev: Option<DeviceId>) {
        if let Some(d) = dev {
            if let Some((next, lat)) = self.devices[d.index()].finished() {
                self.queue
                    .push(self.now + lat, Event::IoDone(next, Some(d)));
            }
        }
        let th = &mut self.threads[t.index()];
        th.report.ops += 1;
        th.io_return = Some(self.now);
        self.wake(t);
    }

    /// `time.sleep(d)`: a timed wait that expires after `d` plus the timer slack.
    pub(crate) fn sleep(&mut self, t: ThreadId, d: SimDuration) {
        self.block(t, Wait::Sleep);
        let gen = self.threads[t.index()].wait_gen;
        let at = self.now + d + self.timer_lateness(t);
        self.queue.push(at, Event::Timer(t, gen));
    }

    /// How late a timed wait of `t` expires: uniformly between 80% and 100% of
    /// the timer slack. An hrtimer with slack fires at the end of its range
    /// unless another timer or interrupt comes due first, so on a mostly idle
    /// core it is nearly the whole slack; the spread keeps threads whose waits
    /// start together from staying phase-locked forever.
    pub(crate) fn timer_lateness(&mut self, t: ThreadId) -> SimDuration {
        let slack = self.cfg.machine.os.timer_slack;
        if slack.0 == 0 {
            return slack;
        }
        let u: f64 = rand_distr::StandardUniform.sample(&mut self.threads[t.index()].rng_timer);
        let lo = crate::config::TIMER_SLACK_MIN_FRACTION;
        slack.mul_f64(lo + (1.0 - lo) * u)
    }

    /// A timed wait expired.
    pub(crate) fn timer_expired(&mut self, t: ThreadId) {
        match self.threads[t.index()].run {
            Run::Blocked(Wait::Sleep | Wait::Select(_)) => self.wake_by_timer(t),
            Run::Blocked(Wait::Gil) => self.gil_wait_timed_out(t),
            _ => {}
        }
    }
}
