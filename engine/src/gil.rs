//! The GIL models: CPython's new GIL (3.2+), the old tick-based GIL (≤ 3.1),
//! and none (free-threaded, PEP 703). Each interpreter has its own GIL (PEP 684).
//!
//! New GIL, rule by rule from `Python/ceval_gil.c` (research notes §1.2–1.8):
//! - `take_gil`: a thread that finds the GIL held waits on `gil->cond` with a
//!   timeout of one switch interval, a fresh interval on every pass; on timeout,
//!   if no switch happened during that wait (`switch_number` unchanged), it sets
//!   the drop request. A woken waiter that finds the GIL taken again waits again.
//! - The holder notices the request at its next eval-breaker check (computed
//!   from `check_period`, never inside a GIL-holding C call), drops the GIL and
//!   re-requests it.
//! - `drop_gil`: `locked = 0`, signal one waiter, then FORCE_SWITCHING: if a
//!   drop request is pending and nobody took the GIL yet, clear it and wait on
//!   `switch_cond` until another thread has taken it (also on a voluntary drop).
//! - Acquiring bumps `switch_number` when the holder changes, wakes the
//!   handshake waiter and clears the drop request (≤ 3.12 semantics).
//! - A thread that is already running may take a free GIL before the woken
//!   waiter arrives (barging).
//!
//! Old GIL (§2): every `check_interval` ticks of Python the holder releases,
//! signals one waiter and immediately re-acquires; the waiter, woken on another
//! core, usually finds it taken again (a failed wake-up, Beazley's "GIL battle").
//! The GIL is free only during the signal system call (or `release_gap`).

use crate::config::{GilModel, WaiterChoice};
use crate::ids::{ProcessId, ThreadId};
use crate::kernel::{BurstKind, Event, Micro, Run, Sim, Wait};
use crate::report::GilReport;
use crate::rng::StreamRng;
use crate::time::SimDuration;
use crate::trace::TraceSink;
use rand_distr::Distribution;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    New {
        interval: SimDuration,
        check_period: u64,
    },
    Old {
        check_work: u64,
        gap: SimDuration,
    },
    None {
        slowdown: f64,
    },
}

/// One interpreter's GIL.
pub(crate) struct Gil {
    /// Its interpreter's name and process, for the report.
    name: String,
    process: ProcessId,
    model: &'static str,
    pub kind: Kind,
    choice: WaiterChoice,
    pub locked: bool,
    pub holder: Option<ThreadId>,
    pub last_holder: Option<ThreadId>,
    pub switch_number: u64,
    pub drop_request: bool,
    /// Threads blocked on `gil->cond`, longest first, with the ticket of
    /// their wait; an entry whose ticket is no longer the thread's current one
    /// is stale (that wait ended by its timeout) and is skipped.
    pub waiters: VecDeque<(ThreadId, u64)>,
    /// Tickets handed out to waits.
    pub tickets: u64,
    /// Entries of `waiters` whose wait is still current.
    pub live_waiters: usize,
    /// The forced dropper waiting on `switch_cond`.
    pub switch_waiters: Vec<ThreadId>,
    /// Woken waiters on their way back to try.
    pub inflight: u32,
    rng: StreamRng,
    acquisitions: u64,
    drop_requests: u64,
    forced_drops: u64,
    failed_wakeups: u64,
    checks: u64,
}

impl Gil {
    pub fn new(model: &GilModel, rng: StreamRng, name: String, process: ProcessId) -> Self {
        let (kind, choice) = match *model {
            GilModel::New {
                switch_interval,
                check_period,
                waiter_choice,
            } => (
                Kind::New {
                    interval: switch_interval,
                    check_period: check_period.0.max(1),
                },
                waiter_choice,
            ),
            GilModel::Old {
                check_interval,
                tick,
                release_gap,
                waiter_choice,
            } => (
                Kind::Old {
                    check_work: u64::from(check_interval).saturating_mul(tick.0).max(1),
                    gap: release_gap,
                },
                waiter_choice,
            ),
            GilModel::None { slowdown } => (Kind::None { slowdown }, WaiterChoice::Fifo),
        };
        Gil {
            name,
            process,
            model: model.name(),
            kind,
            choice,
            locked: false,
            holder: None,
            last_holder: None,
            switch_number: 0,
            drop_request: false,
            waiters: VecDeque::new(),
            tickets: 0,
            live_waiters: 0,
            switch_waiters: Vec::new(),
            inflight: 0,
            rng,
            acquisitions: 0,
            drop_requests: 0,
            forced_drops: 0,
            failed_wakeups: 0,
            checks: 0,
        }
    }

    /// Factor on Python work (free-threaded overhead).
    pub fn py_slowdown(&self) -> f64 {
        match self.kind {
            Kind::None { slowdown } => slowdown,
            _ => 1.0,
        }
    }

    /// Old GIL: Python work between periodic checks (0 otherwise).
    pub fn old_check_work(&self) -> u64 {
        match self.kind {
            Kind::Old { check_work, .. } => check_work,
            _ => 0,
        }
    }

    fn exists(&self) -> bool {
        !matches!(self.kind, Kind::None { .. })
    }

    pub fn report(&self) -> GilReport {
        GilReport {
            name: self.name.clone(),
            process: self.process,
            model: self.model,
            switches: self.switch_number,
            acquisitions: self.acquisitions,
            drop_requests: self.drop_requests,
            forced_drops: self.forced_drops,
            failed_wakeups: self.failed_wakeups,
            checks: self.checks,
        }
    }

    /// Removes the waiter a release wakes: the OS's choice among the live
    /// entries (`live` tells whether an entry's wait is still current).
    fn pick_waiter(&mut self, live: impl Fn(ThreadId, u64) -> bool) -> Option<ThreadId> {
        loop {
            let entry = match self.choice {
                WaiterChoice::Fifo => self.waiters.pop_front()?,
                WaiterChoice::Random => {
                    if self.waiters.is_empty() {
                        return None;
                    }
                    let u: f64 = rand_distr::StandardUniform.sample(&mut self.rng);
                    let i = ((u * self.waiters.len() as f64) as usize).min(self.waiters.len() - 1);
                    self.waiters.remove(i)?
                }
            };
            if live(entry.0, entry.1) {
                self.live_waiters -= 1;
                return Some(entry.0);
            }
        }
    }

    /// True if a thread waits on the condition.
    pub fn has_waiters(&self) -> bool {
        self.live_waiters > 0
    }
}

impl<S: TraceSink> Sim<'_, S> {
    fn gil_of(&self, t: ThreadId) -> usize {
        self.threads[t.index()].interp.index()
    }

    /// `take_gil`: take the GIL if free, otherwise wait on its condition.
    pub(crate) fn take_gil(&mut self, t: ThreadId) {
        let g = self.gil_of(t);
        if !self.gils[g].exists() || self.threads[t.index()].holds_gil {
            self.note_back_on_core(t);
            return;
        }
        if self.threads[t.index()].timed_out {
            self.threads[t.index()].timed_out = false;
            self.drop_request_if_no_switch(t);
        }
        if !self.gils[g].locked {
            self.acquire_gil(t);
            return;
        }
        if self.threads[t.index()].gil_woken {
            // Signalled, but someone else took the GIL first.
            self.threads[t.index()].gil_woken = false;
            let gil = &mut self.gils[g];
            gil.inflight -= 1;
            gil.failed_wakeups += 1;
            self.threads[t.index()].report.failed_wakeups += 1;
        }
        self.wait_for_gil(t);
    }

    /// Blocks `t` on the GIL's condition, with a fresh interval under the new GIL.
    fn wait_for_gil(&mut self, t: ThreadId) {
        let g = self.gil_of(t);
        let gil = &mut self.gils[g];
        gil.tickets += 1;
        let ticket = gil.tickets;
        gil.waiters.push_back((t, ticket));
        gil.live_waiters += 1;
        let sw = gil.switch_number;
        let kind = gil.kind;
        let th = &mut self.threads[t.index()];
        th.gil_ticket = ticket;
        th.saved_switch = sw;
        th.micro.push_front(Micro::TakeGil);
        self.block(t, Wait::Gil);
        if let Kind::New { interval, .. } = kind {
            let gen = self.threads[t.index()].wait_gen;
            let at = self.now + interval + self.timer_lateness(t);
            self.queue.push(at, Event::Timer(t, gen));
        }
        let gil = &self.gils[g];
        if gil.waiters.len() > 2 * gil.live_waiters + 16 {
            self.drop_stale_waiters(g);
        }
        self.old_gil_waiter_arrived(g);
    }

    /// Rule 1.2 step 4.4: the interval elapsed with no switch, so ask the holder to drop.
    fn drop_request_if_no_switch(&mut self, t: ThreadId) {
        let g = self.gil_of(t);
        let saved = self.threads[t.index()].saved_switch;
        let gil = &mut self.gils[g];
        if gil.locked && gil.switch_number == saved && !gil.drop_request {
            gil.drop_request = true;
            gil.drop_requests += 1;
            self.threads[t.index()].report.drop_requests += 1;
            if let Some(h) = self.gils[g].holder {
                self.schedule_eval_breaker_check(h);
            }
        }
    }

    /// The GIL is free: `t` takes it.
    fn acquire_gil(&mut self, t: ThreadId) {
        let g = self.gil_of(t);
        let now = self.now;
        let gil = &mut self.gils[g];
        gil.locked = true;
        gil.holder = Some(t);
        gil.acquisitions += 1;
        gil.drop_request = false;
        let switched = gil.last_holder != Some(t);
        let from = gil.last_holder;
        if switched {
            gil.last_holder = Some(t);
            gil.switch_number += 1;
        }
        let th = &mut self.threads[t.index()];
        if th.gil_woken {
            th.gil_woken = false;
            gil.inflight -= 1;
        }
        th.holds_gil = true;
        th.report.gil_acquisitions += 1;
        if switched {
            self.sink
                .handoff(self.threads[t.index()].interp, now, from, t);
        }
        // Wake the forced dropper(s) waiting for exactly this.
        let waiting = std::mem::take(&mut self.gils[g].switch_waiters);
        if !waiting.is_empty() {
            let cost = self.cfg.machine.os.signal_cost.0;
            self.threads[t.index()]
                .micro
                .push_front(Micro::Run(BurstKind::Sys, cost));
            for w in waiting {
                self.wake(w);
            }
        }
        self.note_back_on_core(t);
    }

    /// The thread is back on a core able to run Python: an I/O return's latency ends.
    fn note_back_on_core(&mut self, t: ThreadId) {
        let now = self.now;
        let th = &mut self.threads[t.index()];
        if let Some(ret) = th.io_return.take() {
            th.report.gil_wait_after_io.record(now - ret);
        }
    }

    /// Timed-out waits leave stale entries; drop them when they outnumber the
    /// live ones, so the list stays as long as the waiters are many.
    fn drop_stale_waiters(&mut self, g: usize) {
        let threads = &self.threads;
        self.gils[g].waiters.retain(|&(w, ticket)| {
            let th = &threads[w.index()];
            th.gil_ticket == ticket && th.run == Run::Blocked(Wait::Gil)
        });
    }

    /// `drop_gil`, as a micro-operation of the running thread.
    pub(crate) fn drop_gil(&mut self, t: ThreadId, forced: bool, check: bool) {
        let g = self.gil_of(t);
        if !self.threads[t.index()].holds_gil || !self.gils[g].exists() {
            return;
        }
        if forced {
            self.gils[g].forced_drops += 1;
            self.threads[t.index()].report.forced_drops += 1;
        }
        if check {
            self.gils[g].checks += 1;
        }
        if matches!(self.gils[g].kind, Kind::New { .. }) {
            self.threads[t.index()].micro.push_front(Micro::Handshake);
        }
        let woke = self.release_gil(t);
        if !woke {
            if let Kind::Old { gap, .. } = self.gils[g].kind {
                if check && gap.0 > 0 {
                    self.threads[t.index()]
                        .micro
                        .push_front(Micro::Run(BurstKind::Sys, gap.0));
                }
            }
        }
    }

    /// `locked = 0` and signal one waiter, paying the futex wake in system
    /// time (the GIL is free meanwhile). Returns whether a waiter was woken.
    ///
    /// The waiter's wake-up runs from the start of the signal, beside the
    /// signaller's system call: the measured hop (`wake_latency_us`) is timed
    /// from before the waker's system call, so its wake part already holds the
    /// waker's share of the wake (the IPI to the idle CPU).
    pub(crate) fn release_gil(&mut self, t: ThreadId) -> bool {
        let g = self.gil_of(t);
        let gil = &mut self.gils[g];
        gil.locked = false;
        gil.holder = None;
        self.threads[t.index()].holds_gil = false;
        let threads = &self.threads;
        let live = |w: ThreadId, ticket: u64| {
            let th = &threads[w.index()];
            th.gil_ticket == ticket && th.run == Run::Blocked(Wait::Gil)
        };
        match self.gils[g].pick_waiter(live) {
            Some(w) => {
                self.gils[g].inflight += 1;
                self.threads[w.index()].gil_woken = true;
                self.wake(w);
                let cost = self.cfg.machine.os.signal_cost.0;
                if cost > 0 {
                    self.threads[t.index()]
                        .micro
                        .push_front(Micro::Run(BurstKind::Sys, cost));
                }
                true
            }
            None => false,
        }
    }

    /// FORCE_SWITCHING: after a drop with a request pending, wait until
    /// another thread has taken the GIL.
    pub(crate) fn handshake(&mut self, t: ThreadId) {
        let g = self.gil_of(t);
        let gil = &mut self.gils[g];
        if gil.drop_request && gil.last_holder == Some(t) {
            gil.drop_request = false;
            gil.switch_waiters.push(t);
            self.block(t, Wait::GilSwitch);
        }
    }

    /// A timed wait on the GIL expired: the waiter needs a core to act on it.
    pub(crate) fn gil_wait_timed_out(&mut self, t: ThreadId) {
        let g = self.gil_of(t);
        // Its entry in the waiters goes stale: this wait is over.
        self.threads[t.index()].gil_ticket = 0;
        self.gils[g].live_waiters -= 1;
        self.threads[t.index()].timed_out = true;
        self.wake_by_timer(t);
    }

    /// At the start of a Python burst or when a request appears: when will the
    /// holder `h` next reach an eval-breaker check that matters?
    pub(crate) fn schedule_eval_breaker_check(&mut self, h: ThreadId) {
        let g = self.gil_of(h);
        let th = &self.threads[h.index()];
        let Some(b) = th.burst else { return };
        if b.kind != BurstKind::Py
            || th.check_scheduled
            || !th.holds_gil
            || !matches!(th.run, Run::Running(_))
        {
            return;
        }
        let done = crate::kernel::cpu::work_done(&b, self.now);
        let offset = match self.gils[g].kind {
            Kind::New { check_period, .. } => {
                if !self.gils[g].drop_request {
                    return;
                }
                done.div_ceil(check_period)
                    .max(1)
                    .saturating_mul(check_period)
            }
            Kind::Old { .. } => {
                let gil = &self.gils[g];
                if !gil.has_waiters() && gil.inflight == 0 {
                    return;
                }
                let (left, cw) = (th.ticks_left, th.tick_period.max(1));
                if done < left {
                    left
                } else {
                    // The ticker wrapped while nobody waited: checks happened unobserved.
                    left + ((done - left) / cw + 1) * cw
                }
            }
            Kind::None { .. } => return,
        };
        if offset >= b.work {
            return; // the check falls at or after the burst's end: the next burst handles it
        }
        let at = b.started + crate::kernel::cpu::time_for(offset, b.speed);
        let gen = th.cpu_gen;
        self.threads[h.index()].check_scheduled = true;
        self.queue.push(at.max(self.now), Event::Check(h, gen));
    }

    /// Old GIL: a new waiter makes the holder's periodic checks matter.
    fn old_gil_waiter_arrived(&mut self, g: usize) {
        if let (Kind::Old { .. }, Some(h)) = (self.gils[g].kind, self.gils[g].holder) {
            self.schedule_eval_breaker_check(h);
        }
    }

    /// The holder reached the check: honour the drop request (new GIL) or do
    /// the periodic release and re-acquire (old GIL).
    pub(crate) fn eval_breaker_check(&mut self, t: ThreadId) {
        let g = self.gil_of(t);
        self.pause_burst(t);
        let (forced, check) = match self.gils[g].kind {
            Kind::New { .. } => {
                if !self.gils[g].drop_request {
                    return;
                }
                (true, false)
            }
            Kind::Old { check_work, .. } => {
                self.threads[t.index()].ticks_left = check_work;
                (false, true)
            }
            Kind::None { .. } => return,
        };
        let m = &mut self.threads[t.index()].micro;
        m.push_front(Micro::TakeGil);
        m.push_front(Micro::DropGil { forced, check });
    }
}
