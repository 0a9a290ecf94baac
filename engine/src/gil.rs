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
//! Old GIL (§2): every `check_interval` ticks of Python the holder releases
//! and immediately re-acquires; the waiter, woken on another core, usually
//! finds it taken again (a failed wake-up, Beazley's "GIL battle"). On Linux
//! the lock is a `sem_t` (`gil/old_lock.rs`, from 2.7's `thread_pthread.h`
//! and glibc's `sem_post`/`sem_wait`): a release calls `futex_wake` whenever
//! any waiter is counted in glibc's `nwaiters` — asleep, or woken and not yet
//! back to its CAS — and the GIL is free during that call (or `release_gap`
//! when no waiter is counted). A woken waiter wins only if it reaches its CAS
//! inside such a window.

//! **The door.** A [`Gil`] owns its state and its threads' side of it (a
//! [`Seat`] each: holding, the ticket and saved `switch_number` of a wait,
//! the old GIL's tick count). The kernel asks it [`Gil::request`],
//! [`Gil::drop`], [`Gil::release`], [`Gil::handshake`], [`Gil::timed_out`]
//! and [`Gil::at_check`]; it answers with [`Effect`]s, in the order the kernel
//! must apply them (wake this thread, block that one with a timeout, pay a
//! futex wake, schedule the holder's eval-breaker check). It never sees
//! threads, cores, the clock or the event queue, so its rules are tested
//! alone (`gil/tests.rs`).

use crate::config::{GilModel, WaiterChoice};
use crate::ids::{ProcessId, ThreadId};
use crate::report::GilReport;
use crate::rng::StreamRng;
use crate::time::SimDuration;
use rand_distr::Distribution;
use std::collections::VecDeque;

mod old_lock;
#[cfg(test)]
mod tests;

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

/// What the kernel must do after the GIL answered, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// The thread goes on running with the GIL it needs (held, or none to
    /// take): a GIL wait after an I/O return ends here.
    BackOnCore(ThreadId),
    /// The holder's next eval-breaker check now matters (a drop request, or
    /// an old-GIL waiter arrived): schedule it within its Python burst.
    ScheduleCheck(ThreadId),
    /// The GIL changed hands (for the trace).
    Handoff {
        from: Option<ThreadId>,
        to: ThreadId,
    },
    /// The thread pays one futex wake in system time before its next
    /// operation; `even_if_free`: also a zero-length one when the signal
    /// costs nothing (the handshake's wake).
    PaySignal {
        thread: ThreadId,
        even_if_free: bool,
    },
    /// Wake a thread blocked on one of the GIL's conditions.
    Wake(ThreadId),
    /// A timed wait expired: the waiter needs a core to act on it.
    WakeByTimer(ThreadId),
    /// Block the thread on `gil->cond`, to take the GIL again when woken;
    /// the new GIL's wait times out after `timeout`.
    WaitOnCond {
        thread: ThreadId,
        timeout: Option<SimDuration>,
    },
    /// FORCE_SWITCHING: block the thread on `switch_cond`.
    WaitForSwitch(ThreadId),
    /// After the release: the forced-switch handshake comes next (new GIL).
    Handshake(ThreadId),
    /// Old GIL: the periodic release keeps the GIL free for `gap` of system time.
    ReleaseGap { thread: ThreadId, gap: SimDuration },
    /// Old GIL: `sem_post` with waiters counted but all awake calls
    /// `futex_wake` for nobody: the thread pays one short system call
    /// (`OsConfig::syscall`) before its next operation, the GIL free meanwhile.
    FutexWakeNobody(ThreadId),
    /// Old GIL: the thread's CAS failed; it makes the `futex_wait` system
    /// call (`OsConfig::syscall`), GIL not held, then asks again.
    FutexWaitCall(ThreadId),
}

/// Per-thread counts kept by the GIL, for the thread's report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SeatCounts {
    pub acquisitions: u64,
    pub forced_drops: u64,
    pub drop_requests: u64,
    pub failed_wakeups: u64,
}

/// One thread's side of a GIL: what CPython keeps in the thread state and on
/// the waiter's stack in `take_gil`.
#[derive(Clone, Debug)]
struct Seat {
    holds: bool,
    /// `switch_number` when the current wait began.
    saved_switch: u64,
    /// Ticket of the current wait on the condition (0: none).
    ticket: u64,
    /// The last wait ended by its timeout.
    timed_out: bool,
    /// Woken by a release and not yet back to try.
    woken: bool,
    /// Old GIL: its CAS failed and it is in the `futex_wait` call, counted in
    /// `nwaiters` but not yet asleep (`gil/old_lock.rs`).
    entering_wait: bool,
    /// Old GIL: Python work left until the next periodic check.
    ticks_left: u64,
    /// Old GIL: Python work between periodic checks.
    tick_period: u64,
    counts: SeatCounts,
}

impl Seat {
    fn new(ticks: u64) -> Self {
        Seat {
            holds: false,
            saved_switch: 0,
            ticket: 0,
            timed_out: false,
            woken: false,
            entering_wait: false,
            ticks_left: ticks,
            tick_period: ticks,
            counts: SeatCounts::default(),
        }
    }
}

/// One interpreter's GIL.
pub(crate) struct Gil {
    /// Its interpreter's name and process, for the report.
    name: String,
    process: ProcessId,
    model: &'static str,
    kind: Kind,
    choice: WaiterChoice,
    locked: bool,
    holder: Option<ThreadId>,
    last_holder: Option<ThreadId>,
    switch_number: u64,
    drop_request: bool,
    /// Threads blocked on `gil->cond`, longest first, with the ticket of
    /// their wait; an entry whose ticket is no longer the thread's current one
    /// is stale (that wait ended by its timeout) and is skipped.
    waiters: VecDeque<(ThreadId, u64)>,
    /// Tickets handed out to waits.
    tickets: u64,
    /// Entries of `waiters` whose wait is still current.
    live_waiters: usize,
    /// The forced dropper waiting on `switch_cond`.
    switch_waiters: Vec<ThreadId>,
    /// Woken waiters on their way back to try.
    inflight: u32,
    /// Old GIL: waiters inside their `futex_wait` call, not yet asleep.
    entering: u32,
    /// Indexed by thread; created when a thread first meets this GIL.
    seats: Vec<Seat>,
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
            entering: 0,
            seats: Vec::new(),
            rng,
            acquisitions: 0,
            drop_requests: 0,
            forced_drops: 0,
            failed_wakeups: 0,
            checks: 0,
        }
    }

    // ----- questions --------------------------------------------------------

    /// Factor on Python work (free-threaded overhead).
    pub fn py_slowdown(&self) -> f64 {
        match self.kind {
            Kind::None { slowdown } => slowdown,
            _ => 1.0,
        }
    }

    fn exists(&self) -> bool {
        !matches!(self.kind, Kind::None { .. })
    }

    /// True if `t` holds this GIL.
    pub fn holds(&self, t: ThreadId) -> bool {
        self.seats.get(t.index()).is_some_and(|s| s.holds)
    }

    /// What this GIL counted for thread `t`.
    pub fn counts(&self, t: ThreadId) -> SeatCounts {
        self.seats
            .get(t.index())
            .map(|s| s.counts)
            .unwrap_or_default()
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

    fn old_check_work(&self) -> u64 {
        match self.kind {
            Kind::Old { check_work, .. } => check_work,
            _ => 0,
        }
    }

    fn seat(&mut self, t: ThreadId) -> &mut Seat {
        let i = t.index();
        if i >= self.seats.len() {
            let ticks = self.old_check_work();
            self.seats.resize_with(i + 1, || Seat::new(ticks));
        }
        &mut self.seats[i]
    }

    /// `t` joins this interpreter afresh (a thread-pool worker when mapped):
    /// its old-GIL tick count starts a new period.
    pub fn seat_thread(&mut self, t: ThreadId) {
        let ticks = self.old_check_work();
        let s = self.seat(t);
        s.ticks_left = ticks;
        s.tick_period = ticks;
    }

    /// `t` ran `work` of Python: the old GIL's tick count advances (the
    /// ticker wraps around while nobody waits: checks happen unobserved).
    pub fn python_ran(&mut self, t: ThreadId, work: u64) {
        let s = self.seat(t);
        let cw = s.tick_period.max(1);
        s.ticks_left = if work < s.ticks_left {
            s.ticks_left - work
        } else {
            cw - (work - s.ticks_left) % cw
        };
    }

    // ----- take_gil ---------------------------------------------------------

    /// `take_gil`: take the GIL if free, otherwise wait on its condition.
    pub fn request(&mut self, t: ThreadId, fx: &mut Vec<Effect>) {
        if !self.exists() || self.seat(t).holds {
            fx.push(Effect::BackOnCore(t));
            return;
        }
        if std::mem::take(&mut self.seat(t).timed_out) {
            self.drop_request_if_no_switch(t, fx);
        }
        if !self.locked {
            self.acquire(t, fx);
            return;
        }
        if std::mem::take(&mut self.seat(t).woken) {
            // Signalled, but someone else took the GIL first.
            self.inflight -= 1;
            self.failed_wakeups += 1;
            self.seat(t).counts.failed_wakeups += 1;
        }
        if matches!(self.kind, Kind::Old { .. }) && self.enter_futex_wait(t, fx) {
            return;
        }
        self.wait_on_cond(t, fx);
    }

    /// Old GIL: a failed CAS leads into `do_futex_wait`, a system call during
    /// which the waiter is awake and counted; the kernel sleeps it only if the
    /// token is still gone at the end (else `EAGAIN`: it tries again). Returns
    /// true when `t` is now making that call, false when it has made it.
    fn enter_futex_wait(&mut self, t: ThreadId, fx: &mut Vec<Effect>) -> bool {
        if std::mem::take(&mut self.seat(t).entering_wait) {
            self.entering -= 1;
            return false;
        }
        self.seat(t).entering_wait = true;
        self.entering += 1;
        fx.push(Effect::FutexWaitCall(t));
        if let Some(h) = self.holder {
            fx.push(Effect::ScheduleCheck(h));
        }
        true
    }

    /// Rule 1.2 step 4.4: the interval elapsed with no switch, so ask the holder to drop.
    fn drop_request_if_no_switch(&mut self, t: ThreadId, fx: &mut Vec<Effect>) {
        let saved = self.seat(t).saved_switch;
        if self.locked && self.switch_number == saved && !self.drop_request {
            self.drop_request = true;
            self.drop_requests += 1;
            self.seat(t).counts.drop_requests += 1;
            if let Some(h) = self.holder {
                fx.push(Effect::ScheduleCheck(h));
            }
        }
    }

    /// The GIL is free: `t` takes it. Taking it from another thread bumps
    /// `switch_number` and wakes the forced dropper waiting for exactly this.
    fn acquire(&mut self, t: ThreadId, fx: &mut Vec<Effect>) {
        self.locked = true;
        self.holder = Some(t);
        self.acquisitions += 1;
        self.drop_request = false;
        let from = self.last_holder;
        let switched = from != Some(t);
        if switched {
            self.last_holder = Some(t);
            self.switch_number += 1;
        }
        if std::mem::take(&mut self.seat(t).woken) {
            self.inflight -= 1;
        }
        if std::mem::take(&mut self.seat(t).entering_wait) {
            self.entering -= 1;
        }
        let s = self.seat(t);
        s.holds = true;
        s.counts.acquisitions += 1;
        if switched {
            fx.push(Effect::Handoff { from, to: t });
        }
        if !self.switch_waiters.is_empty() {
            fx.push(Effect::PaySignal {
                thread: t,
                even_if_free: true,
            });
            fx.extend(self.switch_waiters.drain(..).map(Effect::Wake));
        }
        fx.push(Effect::BackOnCore(t));
    }

    /// Blocks `t` on the condition, with a fresh interval under the new GIL.
    fn wait_on_cond(&mut self, t: ThreadId, fx: &mut Vec<Effect>) {
        self.enqueue_waiter(t);
        let timeout = match self.kind {
            Kind::New { interval, .. } => Some(interval),
            _ => None,
        };
        fx.push(Effect::WaitOnCond { thread: t, timeout });
        // Old GIL: a new waiter makes the holder's periodic checks matter.
        if let (Kind::Old { .. }, Some(h)) = (self.kind, self.holder) {
            fx.push(Effect::ScheduleCheck(h));
        }
    }

    /// Timed-out waits leave stale entries; drop them when they outnumber the
    /// live ones, so the list stays as long as the waiters are many.
    fn drop_stale_waiters(&mut self) {
        let seats = &self.seats;
        self.waiters
            .retain(|&(w, ticket)| seats[w.index()].ticket == ticket);
    }

    /// A timed wait on the condition expired: the waiter needs a core to act on it.
    pub fn timed_out(&mut self, t: ThreadId, fx: &mut Vec<Effect>) {
        // Its entry in the waiters goes stale: this wait is over.
        let s = self.seat(t);
        s.ticket = 0;
        s.timed_out = true;
        self.live_waiters -= 1;
        fx.push(Effect::WakeByTimer(t));
    }

    // ----- exact fusion of no-op expiries ----------------------------------

    /// Would `t`'s timed-out wait, retried now, change nothing but `t`'s own
    /// wait? True when the GIL is held, `t` was not signalled, and the retry
    /// sets no drop request: a switch happened during the wait
    /// (`switch_number` moved) or a request is already pending. The retry
    /// then only waits again, as the newest waiter (the kernel's fusion of
    /// such an expiry, `kernel/gil.rs`).
    pub fn expiry_is_noop(&self, t: ThreadId) -> bool {
        self.seats.get(t.index()).is_some_and(|s| {
            self.locked
                && !s.holds
                && !s.woken
                && (self.switch_number != s.saved_switch || self.drop_request)
        }) && matches!(self.kind, Kind::New { .. })
    }

    /// Would [`request`](Self::request) by `t` now only make it wait on the
    /// condition (new GIL, held by another, `t` not signalled, and no drop
    /// request from a timeout)? Then [`retry_noop`](Self::retry_noop) does it.
    pub fn request_only_waits(&self, t: ThreadId) -> bool {
        self.seats.get(t.index()).is_some_and(|s| {
            self.locked
                && !s.holds
                && !s.woken
                && (!s.timed_out || self.switch_number != s.saved_switch || self.drop_request)
        }) && matches!(self.kind, Kind::New { .. })
    }

    /// [`timed_out`](Self::timed_out) without its effect: the kernel wakes
    /// the waiter itself.
    pub fn expire(&mut self, t: ThreadId) {
        let s = self.seat(t);
        s.ticket = 0;
        s.timed_out = true;
        self.live_waiters -= 1;
    }

    /// A request that only waits ([`request_only_waits`](Self::request_only_waits)):
    /// what [`request`](Self::request) does then, without its effects — a
    /// timeout is consumed, no drop request results, and `t` waits again with
    /// a fresh ticket and the current `switch_number`.
    pub fn retry_noop(&mut self, t: ThreadId) {
        debug_assert!(self.request_only_waits(t));
        self.seat(t).timed_out = false;
        self.enqueue_waiter(t);
    }

    /// `t` joins the condition's waiters with a fresh ticket and the current
    /// `switch_number`.
    fn enqueue_waiter(&mut self, t: ThreadId) {
        self.tickets += 1;
        let ticket = self.tickets;
        self.waiters.push_back((t, ticket));
        self.live_waiters += 1;
        let sw = self.switch_number;
        let s = self.seat(t);
        s.ticket = ticket;
        s.saved_switch = sw;
        if self.waiters.len() > 2 * self.live_waiters + 16 {
            self.drop_stale_waiters();
        }
    }

    /// The new GIL's timed wait, if this GIL has one.
    pub fn wait_timeout(&self) -> Option<SimDuration> {
        match self.kind {
            Kind::New { interval, .. } => Some(interval),
            _ => None,
        }
    }

    // ----- drop_gil ---------------------------------------------------------

    /// `drop_gil`, as a micro-operation of the running holder `t`: `forced`
    /// when honouring a drop request, `check` for the old GIL's periodic release.
    pub fn drop(&mut self, t: ThreadId, forced: bool, check: bool, fx: &mut Vec<Effect>) {
        if !self.exists() || !self.holds(t) {
            return;
        }
        if forced {
            self.forced_drops += 1;
            self.seat(t).counts.forced_drops += 1;
        }
        if check {
            self.checks += 1;
        }
        if matches!(self.kind, Kind::New { .. }) {
            fx.push(Effect::Handshake(t));
        }
        let woke = self.release(t, fx);
        if let Kind::Old { gap, .. } = self.kind {
            if !woke && check && gap.0 > 0 {
                fx.push(Effect::ReleaseGap { thread: t, gap });
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
    pub fn release(&mut self, t: ThreadId, fx: &mut Vec<Effect>) -> bool {
        self.locked = false;
        self.holder = None;
        self.seat(t).holds = false;
        if matches!(self.kind, Kind::Old { .. }) {
            return self.sem_post(t, fx);
        }
        self.signal_one(t, fx)
    }

    /// Wakes the waiter the OS picks, the signaller paying the futex wake.
    fn signal_one(&mut self, t: ThreadId, fx: &mut Vec<Effect>) -> bool {
        match self.pick_waiter() {
            Some(w) => {
                self.inflight += 1;
                self.seat(w).woken = true;
                fx.push(Effect::Wake(w));
                fx.push(Effect::PaySignal {
                    thread: t,
                    even_if_free: false,
                });
                true
            }
            None => false,
        }
    }

    /// Old GIL: glibc's `sem_post` after the token is back: `futex_wake`
    /// while any waiter is counted, waking the oldest one asleep if there is
    /// one (`gil/old_lock.rs`). Returns whether it made the call.
    fn sem_post(&mut self, t: ThreadId, fx: &mut Vec<Effect>) -> bool {
        match old_lock::sem_post(self.live_waiters, self.inflight + self.entering) {
            old_lock::Post::WakeOne => self.signal_one(t, fx),
            old_lock::Post::WakeNobody => {
                fx.push(Effect::FutexWakeNobody(t));
                true
            }
            old_lock::Post::NoCall => false,
        }
    }

    /// Removes the waiter a release wakes: the OS's choice among the live entries.
    fn pick_waiter(&mut self) -> Option<ThreadId> {
        loop {
            let (w, ticket) = match self.choice {
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
            if self.seats[w.index()].ticket == ticket {
                self.live_waiters -= 1;
                return Some(w);
            }
        }
    }

    /// FORCE_SWITCHING: after a drop with a request pending, wait until
    /// another thread has taken the GIL.
    pub fn handshake(&mut self, t: ThreadId, fx: &mut Vec<Effect>) {
        if self.drop_request && self.last_holder == Some(t) {
            self.drop_request = false;
            self.switch_waiters.push(t);
            fx.push(Effect::WaitForSwitch(t));
        }
    }

    // ----- the eval breaker -------------------------------------------------

    /// The holder `t` has done `done` work of its current Python burst: how
    /// far into the burst is its next eval-breaker check that matters
    /// (`None`: none does)?
    pub fn next_check(&self, t: ThreadId, done: u64) -> Option<u64> {
        match self.kind {
            Kind::New { check_period, .. } => self.drop_request.then(|| {
                done.div_ceil(check_period)
                    .max(1)
                    .saturating_mul(check_period)
            }),
            Kind::Old { .. } => {
                if self.live_waiters == 0 && self.inflight == 0 && self.entering == 0 {
                    return None;
                }
                let s = &self.seats[t.index()];
                let (left, cw) = (s.ticks_left, s.tick_period.max(1));
                Some(if done < left {
                    left
                } else {
                    // The ticker wrapped while nobody waited: checks happened unobserved.
                    left + ((done - left) / cw + 1) * cw
                })
            }
            Kind::None { .. } => None,
        }
    }

    /// The holder reached the check: `Some((forced, check))` when it must
    /// drop the GIL and take it again — honouring a drop request (new GIL) or
    /// the periodic release (old GIL, which starts a new tick period).
    pub fn at_check(&mut self, t: ThreadId) -> Option<(bool, bool)> {
        match self.kind {
            Kind::New { .. } => self.drop_request.then_some((true, false)),
            Kind::Old { check_work, .. } => {
                self.seat(t).ticks_left = check_work;
                Some((false, true))
            }
            Kind::None { .. } => None,
        }
    }
}
