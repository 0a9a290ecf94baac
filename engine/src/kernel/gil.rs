//! The kernel's side of the GIL door: it asks the thread's [`Gil`] and
//! applies the [`Effect`]s it answers, in order — blocking and waking
//! threads, arming the new GIL's timed wait (with the OS's timer slack),
//! charging futex wakes as system time, and scheduling the holder's
//! eval-breaker check inside its Python burst. The rules are in `gil.rs`.

use super::cpu::{time_for, work_done};
use super::{BurstKind, Event, Micro, Run, Sim, Wait};
use crate::gil::{Effect, Gil};
use crate::ids::{InterpId, ThreadId};
use crate::trace::TraceSink;

impl<S: TraceSink> Sim<'_, S> {
    fn gil_of(&self, t: ThreadId) -> usize {
        self.threads[t.index()].interp.index()
    }

    /// Asks `t`'s GIL with `ask`, then applies its answer.
    fn ask_gil<R>(&mut self, t: ThreadId, ask: impl FnOnce(&mut Gil, &mut Vec<Effect>) -> R) -> R {
        let g = self.gil_of(t);
        let mut fx = std::mem::take(&mut self.gil_effects);
        let answer = ask(&mut self.gils[g], &mut fx);
        for e in fx.drain(..) {
            self.apply_gil_effect(g, e);
        }
        self.gil_effects = fx;
        answer
    }

    fn apply_gil_effect(&mut self, g: usize, e: Effect) {
        match e {
            Effect::BackOnCore(t) => self.note_back_on_core(t),
            Effect::ScheduleCheck(h) => self.schedule_eval_breaker_check(h),
            Effect::Handoff { from, to } => {
                self.sink.handoff(InterpId(g as u32), self.now, from, to);
            }
            Effect::PaySignal {
                thread,
                even_if_free,
            } => {
                let cost = self.cfg.machine.os.signal_cost.0;
                if cost > 0 || even_if_free {
                    self.threads[thread.index()]
                        .micro
                        .push_front(Micro::Run(BurstKind::Sys, cost));
                }
            }
            Effect::Wake(w) => self.wake(w),
            Effect::WakeByTimer(w) => self.wake_by_timer(w),
            Effect::WaitOnCond { thread, timeout } => {
                self.threads[thread.index()]
                    .micro
                    .push_front(Micro::TakeGil);
                self.block(thread, Wait::Gil);
                if let Some(interval) = timeout {
                    let gen = self.threads[thread.index()].wait_gen;
                    let at = self.now + interval + self.timer_lateness(thread);
                    self.queue.push(at, Event::Timer(thread, gen));
                }
            }
            Effect::WaitForSwitch(t) => self.block(t, Wait::GilSwitch),
            Effect::Handshake(t) => self.threads[t.index()].micro.push_front(Micro::Handshake),
            Effect::ReleaseGap { thread, gap } => {
                self.threads[thread.index()]
                    .micro
                    .push_front(Micro::Run(BurstKind::Sys, gap.0));
            }
        }
    }

    /// True if `t` holds its interpreter's GIL.
    pub(crate) fn holds_gil(&self, t: ThreadId) -> bool {
        self.gils[self.gil_of(t)].holds(t)
    }

    /// `take_gil`, as a micro-operation of the running thread.
    pub(crate) fn take_gil(&mut self, t: ThreadId) {
        self.ask_gil(t, |gil, fx| gil.request(t, fx));
    }

    /// `drop_gil`, as a micro-operation of the running thread.
    pub(crate) fn drop_gil(&mut self, t: ThreadId, forced: bool, check: bool) {
        self.ask_gil(t, |gil, fx| gil.drop(t, forced, check, fx));
    }

    /// The final release of a finishing thread: wakes a waiter, no handshake.
    pub(crate) fn release_gil(&mut self, t: ThreadId) {
        self.ask_gil(t, |gil, fx| gil.release(t, fx));
    }

    /// FORCE_SWITCHING, as a micro-operation of the thread that dropped.
    pub(crate) fn handshake(&mut self, t: ThreadId) {
        self.ask_gil(t, |gil, fx| gil.handshake(t, fx));
    }

    /// A timed wait on the GIL expired.
    pub(crate) fn gil_wait_timed_out(&mut self, t: ThreadId) {
        self.ask_gil(t, |gil, fx| gil.timed_out(t, fx));
    }

    /// The thread is back on a core able to run Python: an I/O return's latency ends.
    fn note_back_on_core(&mut self, t: ThreadId) {
        let now = self.now;
        let th = &mut self.threads[t.index()];
        if let Some(ret) = th.io_return.take() {
            th.report.gil_wait_after_io.record(now - ret);
        }
    }

    /// At the start of a Python burst or when a request appears: when will the
    /// holder `h` next reach an eval-breaker check that matters?
    pub(crate) fn schedule_eval_breaker_check(&mut self, h: ThreadId) {
        let th = &self.threads[h.index()];
        let Some(b) = th.burst else { return };
        if b.kind != BurstKind::Py
            || th.check_scheduled
            || !self.holds_gil(h)
            || !matches!(th.run, Run::Running(_))
        {
            return;
        }
        let done = work_done(&b, self.now);
        let Some(offset) = self.gils[self.gil_of(h)].next_check(h, done) else {
            return;
        };
        if offset >= b.work {
            return; // the check falls at or after the burst's end: the next burst handles it
        }
        let at = b.started + time_for(offset, b.speed);
        let th = &mut self.threads[h.index()];
        th.check_scheduled = true;
        let gen = th.cpu_gen;
        self.queue.push(at.max(self.now), Event::Check(h, gen));
    }

    /// The holder reached the check: honour the drop request (new GIL) or do
    /// the periodic release and re-acquire (old GIL).
    pub(crate) fn eval_breaker_check(&mut self, t: ThreadId) {
        self.pause_burst(t);
        let g = self.gil_of(t);
        if let Some((forced, check)) = self.gils[g].at_check(t) {
            let m = &mut self.threads[t.index()].micro;
            m.push_front(Micro::TakeGil);
            m.push_front(Micro::DropGil { forced, check });
        }
    }
}
