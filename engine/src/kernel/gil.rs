//! The kernel's side of the GIL door: it asks the thread's [`Gil`] and
//! applies the [`Effect`]s it answers, in order — blocking and waking
//! threads, arming the new GIL's timed wait (with the OS's timer slack),
//! charging futex wakes as system time, and scheduling the holder's
//! eval-breaker check inside its Python burst. The rules are in `gil.rs`.
//!
//! It also fuses the waiters' no-op expiries (below): in CPython a waiter
//! whose `COND_TIMED_WAIT` times out after a switch re-checks
//! `switch_number`, sets no `gil_drop_request` and waits again
//! (`take_gil` in `Python/ceval_gil.c`); when nothing else happens before its
//! arrival on a core, that arrival is done in place, with identical results.

use super::cpu::{time_for, work_done};
use super::{BurstKind, Event, Micro, Run, Sim, Wait};
use crate::gil::{Effect, Gil};
use crate::ids::{CoreId, InterpId, ThreadId};
use crate::time::SimTime;
use crate::trace::{ThreadState, TraceSink};

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
            Effect::FutexWaitCall(thread) => {
                let cost = self.cfg.machine.os.syscall.0;
                let m = &mut self.threads[thread.index()].micro;
                m.push_front(Micro::TakeGil);
                if cost > 0 {
                    m.push_front(Micro::Run(BurstKind::Sys, cost));
                }
            }
            Effect::FutexWakeNobody(thread) => {
                let cost = self.cfg.machine.os.syscall.0;
                if cost > 0 {
                    self.threads[thread.index()]
                        .micro
                        .push_front(Micro::Run(BurstKind::Sys, cost));
                }
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
        if self.cfg.fusion {
            if let Some(c) = self.noop_expiry_core(t) {
                self.fused_expiry(t, c);
                return;
            }
        }
        self.ask_gil(t, |gil, fx| gil.timed_out(t, fx));
    }

    // ----- exact fusion of no-op expiries ----------------------------------
    //
    // Most expiries of a GIL waiter's timed wait change nothing: the waiter
    // wakes on an idle core, finds the GIL held and `switch_number` moved (or
    // a drop request already pending), and waits again. Unfused, that is two
    // events (the timer, the core's `CoreReady`) and the generic machinery
    // between them. When no other event falls between the expiry and the
    // waiter's arrival on its core, nothing else can see the world in between,
    // so the arrival is done in place, right after the expiry: the same state
    // changes in the same order, the same random draws, the same trace
    // records, the same event and budget counts — only without the
    // `CoreReady` event's round trip through the queue and the generic
    // dispatch of micro-operations. Results are byte-identical with fusion
    // off (`SimConfig::fusion`; `engine/tests/fusion.rs` compares them).

    /// The idle core `t`'s expiry would wake, if the expiry can be a no-op:
    /// the GIL says the retry only waits again, nobody waits for a core (so
    /// the arrival dispatches nobody else and arms no slice), and `t` will
    /// retry at once (no burst, `TakeGil` next). Whether it *is* one also
    /// needs an empty window until the arrival, known only after the wake-up
    /// latency is drawn.
    fn noop_expiry_core(&self, t: ThreadId) -> Option<CoreId> {
        let th = &self.threads[t.index()];
        if th.burst.is_some()
            || !matches!(th.micro.front(), Some(Micro::TakeGil))
            || !self.sched.is_empty()
            || !self.gils[self.gil_of(t)].expiry_is_noop(t)
        {
            return None;
        }
        self.idle_core_for(t)
    }

    /// The expiry of `t`'s timed wait, waking it on idle core `c`, exactly as
    /// `timed_out` → `wake_by_timer` → `make_runnable` → `dispatch` do; then
    /// the arrival in place if nothing else happens before it, else its
    /// `CoreReady` event as usual.
    fn fused_expiry(&mut self, t: ThreadId, c: CoreId) {
        let g = self.gil_of(t);
        self.gils[g].expire(t);
        // wake_for(t, Wake::Timer): a GIL wait pays no block_cpu.
        self.threads[t.index()].wait_gen += 1;
        self.set_state(t, ThreadState::Runnable);
        self.threads[t.index()].run = Run::Ready;
        if self.sched.is_fair() {
            self.place_sleeper(t);
        }
        let delay = self.wake_latency(t, c);
        let due = self.begin_dispatch(c, t, delay);
        if !self.arrival_fuses(due) {
            let core = &mut self.cores[c.index()];
            core.timer_wake_pending = delay.0 > 0;
            let gen = core.gen;
            self.queue.push(due, Event::CoreReady(c, gen));
            return;
        }
        self.fused_arrival(c, due);
    }

    /// The arrival at `due` can be done now: no pending event comes at or
    /// before it (all were scheduled earlier, so one at `due` would come
    /// first), the run does not stop before it, and neither the event budget
    /// nor the cancellation poll falls due in its two units (the `CoreReady`
    /// event and the `TakeGil` micro-operation).
    fn arrival_fuses(&self, due: SimTime) -> bool {
        let until = self.cfg.limits.until.unwrap_or(SimTime::MAX);
        let used = self.budget_used + 2;
        due < SimTime::MAX
            && due <= until
            && self.queue.peek_time().is_none_or(|next| next > due)
            && used < self.cfg.limits.max_events
            && used < self.next_cancel_check
    }

    /// What `CoreReady(c)` at `due` does for a no-op expiry: `core_ready`
    /// (nobody waits, so no slice is armed), the `TakeGil` retry that only
    /// waits again (its `WaitOnCond` puts `TakeGil` back in front), `block`
    /// and the fresh timed wait.
    fn fused_arrival(&mut self, c: CoreId, due: SimTime) {
        // The event loop's part: one more event, its unit of budget (the
        // margin is checked), the clock.
        self.events += 1;
        self.budget_used += 1;
        self.now = due;
        debug_assert!(self.cores[c.index()]
            .thread
            .is_some_and(|t| self.retry_only_waits_on_arrival(t)));
        self.core_ready(c);
    }

    /// On its core, `t`'s next micro-operation is a `TakeGil` that will only
    /// wait again (see [`Gil::request_only_waits`]).
    pub(crate) fn retry_only_waits(&self, t: ThreadId) -> bool {
        matches!(self.threads[t.index()].run, Run::Running(_))
            && self.retry_only_waits_on_arrival(t)
    }

    /// [`retry_only_waits`](Self::retry_only_waits) once `t` is on its core.
    fn retry_only_waits_on_arrival(&self, t: ThreadId) -> bool {
        let th = &self.threads[t.index()];
        th.burst.is_none()
            && matches!(th.micro.front(), Some(Micro::TakeGil))
            && self.gils[self.gil_of(t)].request_only_waits(t)
    }

    /// What `run_thread` does for such a `TakeGil`, without the generic
    /// dispatch: its unit of budget, the request (only a `WaitOnCond`, which
    /// puts `TakeGil` back in front), `block` and the fresh timed wait.
    pub(crate) fn wait_again(&mut self, t: ThreadId) {
        if let Err(e) = self.spend_budget() {
            self.error = Some(e);
            return;
        }
        let g = self.gil_of(t);
        self.gils[g].retry_noop(t);
        self.block(t, Wait::Gil);
        if let Some(interval) = self.gils[g].wait_timeout() {
            let gen = self.threads[t.index()].wait_gen;
            let at = self.now + interval + self.timer_lateness(t);
            self.queue.push(at, Event::Timer(t, gen));
        }
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
