//! Open workloads in the kernel: arrival sources send requests to
//! listeners (`source.rs`), and server threads `Serve` them — accept, run
//! the steps the request's kind carries, reply (`listener.rs`).
//!
//! A source's request leaves at its arrival time and reaches the listener
//! after the listener's network delay, both drawn from the source's own
//! stream; the reply's network delay is drawn from the server thread's.

use super::{Event, Frame, FrameKind, Micro, Sim};
use crate::ids::{SourceId, ThreadId};
use crate::listener::{Arrival, Request};
use crate::time::{SimDuration, SimTime};
use crate::trace::TraceSink;

impl<'a, S: TraceSink> Sim<'a, S> {
    /// Schedules every source's first request.
    pub(crate) fn start_sources(&mut self) {
        for (i, c) in self.cfg.sources.iter().enumerate() {
            let start = SimTime::ZERO + c.start;
            if let Some(at) = self.sources[i].next_arrival(c, start, start) {
                self.queue.push(at, Event::SourceSends(SourceId(i as u32)));
            }
        }
    }

    /// Source `s` sends a request now: it reaches the listener after the
    /// network delay; the source's next request is scheduled.
    pub(crate) fn source_sends(&mut self, s: SourceId) {
        let c = &self.cfg.sources[s.index()];
        let source = &mut self.sources[s.index()];
        let kind = source.send();
        let network = self.cfg.listeners[c.listener.index()]
            .network
            .sample(source.rng());
        let slot = source.fly(self.now, kind);
        self.queue
            .push(self.now + network, Event::SourceArrives(s, slot));
        let start = SimTime::ZERO + c.start;
        if let Some(at) = self.sources[s.index()].next_arrival(c, start, self.now) {
            self.queue.push(at, Event::SourceSends(s));
        }
    }

    /// Source `s`'s request in `slot` reached its listener.
    pub(crate) fn source_arrives(&mut self, s: SourceId, slot: u32) {
        let c = &self.cfg.sources[s.index()];
        let l = c.listener;
        let backlog = self.listeners[l.index()].backlog() + self.loop_requests(l);
        let source = &mut self.sources[s.index()];
        let sent = source.sent_at(slot);
        source.saw_backlog(c, self.cfg.limits.until, sent, backlog);
        // Counted before the hand-over: an idle server may answer at once.
        self.sources[s.index()].reached_server(self.now);
        if self.request_arrives(l, Request::Source { source: s, slot }) == Arrival::Refused {
            let source = &mut self.sources[s.index()];
            source.left_server(self.now);
            source.dropped();
            source.land(slot);
        }
    }

    /// The reply to source `s`'s request in `slot` reaches its client at `at`.
    pub(crate) fn source_answered(&mut self, s: SourceId, slot: u32, at: SimTime) {
        let timeout = self.cfg.sources[s.index()].timeout;
        let source = &mut self.sources[s.index()];
        let sent = source.land(slot);
        source.left_server(self.now);
        source.answered(sent, at, timeout);
    }

    /// Server `t` accepted a request in a `Serve` step: it runs the steps
    /// of the request's kind, then replies with `reply_cpu`.
    pub(crate) fn begin_handler(&mut self, t: ThreadId, reply_cpu: SimDuration) {
        let steps: &'a [crate::config::Step] = match self.threads[t.index()].serving.back() {
            Some((_, Request::Source { source, slot })) => {
                let kind = self.sources[source.index()].kind(*slot);
                &self.cfg.sources[source.index()].mix[kind as usize].steps
            }
            _ => &[],
        };
        self.threads[t.index()].frames.push(Frame {
            steps,
            pc: 0,
            kind: FrameKind::Handler(reply_cpu),
        });
    }

    /// A `Serve` step's handler ended: the reply goes out (its system call
    /// with the GIL released, as `Respond`).
    pub(crate) fn handler_finished_micros(&mut self, t: ThreadId, reply_cpu: SimDuration) {
        use super::BurstKind;
        use Micro::*;
        let m = &mut self.threads[t.index()].micro;
        m.extend([
            TakeGil,
            DropGil {
                forced: false,
                check: false,
            },
        ]);
        if reply_cpu.0 > 0 {
            m.push_back(Run(BurstKind::CFree, reply_cpu.0));
        }
        m.extend([Respond, TakeGil]);
    }
}
