//! Virtual time overflow: an event due at the end of virtual time.
//!
//! Instants are `u64` nanoseconds and `SimTime + SimDuration` saturates at
//! [`SimTime::MAX`] (about 584 years). An event due there is not a moment of
//! the simulation but the sign that some `now + d` did not fit; reaching it
//! would report a makespan of 2⁶⁴ ns as if the run had completed. The event
//! loop instead fails with [`EngineError::TimeOverflow`], naming the thread
//! and the step that was running (or the queue, pool or core).

use super::{Event, Sim};
use crate::config::Step;
use crate::error::EngineError;
use crate::time::SimTime;
use crate::trace::TraceSink;

impl<S: TraceSink> Sim<'_, S> {
    /// The error for `ev` popped at `at`, if `at` is the end of virtual time
    /// and `ev` is live (a cancelled event there overflowed nothing real).
    pub(crate) fn time_overflow(&self, at: SimTime, ev: Event) -> Option<EngineError> {
        if at < SimTime::MAX {
            return None;
        }
        let what = match ev {
            Event::BurstDone(t, g) | Event::Check(t, g) => {
                (self.threads[t.index()].cpu_gen == g).then(|| self.thread_step(t))?
            }
            Event::Timer(t, g) => {
                (self.threads[t.index()].wait_gen == g).then(|| self.thread_step(t))?
            }
            Event::IoDone(t, _) => self.thread_step(t),
            Event::CoreReady(c, g) | Event::SliceEnd(c, g) => {
                let core = &self.cores[c.index()];
                let live = match ev {
                    Event::CoreReady(..) => core.gen == g,
                    _ => core.slice_gen == g,
                };
                if !live {
                    return None;
                }
                match core.thread {
                    Some(t) => self.thread_step(t),
                    None => format!("core {}", c.index()),
                }
            }
            Event::QueueDeliver(q, bytes) => format!(
                "an item of {bytes} bytes put into queue \"{}\"",
                self.cfg.queues[q.index()].name
            ),
            Event::RequestArrives(_, t, _) | Event::ReplyArrives(t, _) => self.thread_step(t),
            Event::SourceSends(s) | Event::SourceArrives(s, _) => format!(
                "a request of source \"{}\"",
                self.cfg.sources[s.index()].name
            ),
            Event::LoopIo(l, _) => self.thread_step(self.cfg.event_loops[l.index()].thread),
            Event::TaskDeliver(p, _) | Event::ResultDeliver(p) => {
                format!("pool \"{}\"", self.pools[p.index()].name())
            }
        };
        Some(EngineError::TimeOverflow {
            time: self.now,
            what,
        })
    }

    /// `thread "t", step program[2].body[0]: Py(..)`: the step `t` is in.
    fn thread_step(&self, t: crate::ids::ThreadId) -> String {
        let th = &self.threads[t.index()];
        let mut path = String::from("program");
        let mut step: Option<&Step> = None;
        for (i, f) in th.frames.iter().enumerate() {
            if i > 0 {
                path.push_str(".body");
            }
            let k = f.pc.saturating_sub(1);
            path.push_str(&format!("[{k}]"));
            step = f.steps.get(k);
        }
        match step {
            Some(s) => format!("thread \"{}\", step {path}: {}", th.name, describe(s)),
            None => format!("thread \"{}\"", th.name),
        }
    }
}

/// A step in a few words: its kind and durations.
fn describe(s: &Step) -> String {
    match s {
        Step::Py(d) => format!("py({d})"),
        Step::C { dur, .. } => format!("c({dur})"),
        Step::Sleep(d) => format!("sleep({d})"),
        Step::Put { bytes, .. } => format!("put of an item of {bytes} bytes"),
        Step::Io { latency, .. } => format!("io(mean {})", latency.mean()),
        Step::Repeat { times, .. } => format!("repeat({times}, ...)"),
        Step::LoopFor { dur, .. } => format!("loop_for({dur}, ...)"),
        other => {
            let text = format!("{other:?}");
            let short: String = text.chars().take(80).collect();
            if short.len() < text.len() {
                format!("{short}...")
            } else {
                short
            }
        }
    }
}
