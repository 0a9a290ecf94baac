//! Cores, dispatch and preemption: the kernel's CPU side.
//!
//! A woken thread takes an idle core (paying the wake-up latency of a core
//! leaving idle, shallow or deep, spread as measured) or waits in the run
//! queue (`sched.rs`), preempting a thread far ahead in virtual runtime under
//! the fair policy; a running thread keeps its core for a slice while others
//! wait (`kernel/sched/fair.c`, `research/wake-path.md` §1–§3).

use crate::config::WakeSpread;
use crate::ids::CoreId;
use crate::ids::ThreadId;
use crate::time::SimDuration;

/// What made a blocked thread runnable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Another thread, a device or thread start (the waker enqueues it at once).
    Remote,
    /// Its timed wait expired (the timer fires on the core it blocked on).
    Timer,
}
use super::{Burst, BurstKind, Event, Run, Sim};
use crate::time::SimTime;
use crate::trace::{ThreadState, TraceSink};
use rand_distr::Distribution;

impl<S: TraceSink> Sim<'_, S> {
    /// A woken `t` wants a core: take an idle one (waking it costs the wake
    /// latency), or wait in the run queue, preempting a thread that is far
    /// ahead in virtual runtime under the fair policy.
    ///
    /// While a core leaves idle for a timer that fired on it, Linux still sees
    /// it idle (`idle_cpu()`: nothing is enqueued there until the core runs the
    /// interrupt), so `select_idle_sibling` places a thread woken meanwhile on
    /// that core, behind the timer's thread, rather than preempting a busy one
    /// (`kernel/sched/fair.c`, `kernel/sched/core.c`).
    pub(crate) fn make_runnable(&mut self, t: ThreadId, how: Wake) {
        self.threads[t.index()].run = Run::Ready;
        if self.sched.is_fair() {
            self.place_sleeper(t);
        }
        if let Some(c) = self.idle_core_for(t) {
            let delay = self.wake_latency(t, c);
            self.dispatch(c, t, delay);
            self.cores[c.index()].timer_wake_pending = how == Wake::Timer && delay.0 > 0;
            return;
        }
        if !self.timer_wake_in_progress() {
            if let Some(c) = self.wakeup_preemption_victim(t) {
                let victim = self.preempt(c);
                self.dispatch(c, t, SimDuration::ZERO);
                if let Some(v) = victim {
                    self.enqueue_runnable(v);
                }
                return;
            }
        }
        self.enqueue_runnable(t);
    }

    /// Some core is still leaving idle for a timer (see [`make_runnable`](Self::make_runnable)).
    fn timer_wake_in_progress(&self) -> bool {
        self.cores
            .iter()
            .any(|c| c.timer_wake_pending && c.thread.is_some() && !c.running)
    }

    /// Puts `t` in the run queue; running threads now have competition, so
    /// their slices start to matter.
    fn enqueue_runnable(&mut self, t: ThreadId) {
        let vr = self.threads[t.index()].vruntime;
        self.sched.enqueue(t, vr);
        for i in 0..self.cores.len() {
            self.arm_slice(CoreId(i as u32));
        }
    }

    /// Times the end of the current slice of the thread on `c`, at the next
    /// slice boundary since it got the core. Slices are only timed while the
    /// run queue is non-empty: with nobody waiting, a slice end changes nothing.
    fn arm_slice(&mut self, c: CoreId) {
        let core = &self.cores[c.index()];
        let (Some(t), true, false) = (core.thread, core.running, core.slice_armed) else {
            return;
        };
        let slice = self.sched.slice().0.max(1);
        let ran = (self.now - self.threads[t.index()].run_start).0;
        // The next slice boundary; mostly the first (no division needed).
        let next = if ran < slice {
            slice
        } else {
            (ran / slice + 1) * slice
        };
        let at = self.threads[t.index()].run_start + SimDuration(next);
        let core = &mut self.cores[c.index()];
        core.slice_armed = true;
        core.slice_due = at;
        self.schedule_slice_event(c);
    }

    /// Makes the core's one slice event fire no later than its slice end.
    fn schedule_slice_event(&mut self, c: CoreId) {
        let core = &mut self.cores[c.index()];
        let at = core.slice_due;
        if core.slice_event.is_some_and(|pending| pending <= at) {
            return; // it fires first and re-schedules itself
        }
        core.slice_gen = core.slice_gen.wrapping_add(1);
        core.slice_event = Some(at);
        let gen = core.slice_gen;
        self.queue.push(at, Event::SliceEnd(c, gen));
    }

    /// The core's slice event fired: end the slice if one is due now, or
    /// wait for the slice end now due later. Returns whether a slice ended
    /// (a firing that only waits on is bookkeeping, not a model event).
    pub(crate) fn slice_timer_fired(&mut self, c: CoreId) -> bool {
        let core = &mut self.cores[c.index()];
        core.slice_event = None;
        if !core.slice_armed {
            return false;
        }
        if core.slice_due > self.now {
            self.schedule_slice_event(c);
            return false;
        }
        self.slice_end(c);
        true
    }

    /// CFS places a waking sleeper at most one slice behind `min_vruntime`, so
    /// long sleepers get a bounded credit.
    pub(crate) fn place_sleeper(&mut self, t: ThreadId) {
        let mut min = self.sched.leftmost_vruntime().unwrap_or(u64::MAX);
        for c in &self.cores {
            if let (Some(x), true) = (c.thread, c.running) {
                min = min.min(self.current_vruntime(x));
            }
        }
        if min != u64::MAX {
            self.sched.min_vruntime = self.sched.min_vruntime.max(min);
        }
        let floor = self.sched.min_vruntime.saturating_sub(self.sched.slice().0);
        let th = &mut self.threads[t.index()];
        th.vruntime = th.vruntime.max(floor);
    }

    pub(crate) fn current_vruntime(&self, t: ThreadId) -> u64 {
        let th = &self.threads[t.index()];
        match th.run {
            Run::Running(_) => th.vruntime + (self.now - th.run_start).0,
            _ => th.vruntime,
        }
    }

    pub(crate) fn idle_core_for(&self, t: ThreadId) -> Option<CoreId> {
        if let Some(c) = self.threads[t.index()].last_core {
            if self.cores[c.index()].thread.is_none() {
                return Some(c);
            }
        }
        self.cores
            .iter()
            .position(|c| c.thread.is_none())
            .map(|i| CoreId(i as u32))
    }

    /// The running thread with the largest virtual runtime, if `t` is behind
    /// it by more than the wake-up granularity.
    fn wakeup_preemption_victim(&self, t: ThreadId) -> Option<CoreId> {
        let gran = self.sched.wakeup_granularity()?;
        let vt = self.threads[t.index()].vruntime;
        let mut best: Option<(u64, CoreId)> = None;
        for (i, c) in self.cores.iter().enumerate() {
            if let (Some(x), true) = (c.thread, c.running) {
                let v = self.current_vruntime(x);
                if best.is_none_or(|(bv, _)| v > bv) {
                    best = Some((v, CoreId(i as u32)));
                }
            }
        }
        best.filter(|(v, _)| *v > vt.saturating_add(gran.0))
            .map(|(_, c)| c)
    }

    /// Delay before idle core `c` runs a thread it was woken for: short if
    /// the core went idle only recently (still in a shallow C-state).
    pub(crate) fn wake_latency(&mut self, t: ThreadId, c: CoreId) -> SimDuration {
        let os = &self.cfg.machine.os;
        let idle = self.now - self.cores[c.index()].idle_since;
        let (base, spread) = if self.now > SimTime::ZERO && idle < os.shallow_idle {
            (
                os.shallow_wake_latency.min(os.wake_latency),
                os.shallow_wake_spread,
            )
        } else {
            (os.wake_latency, os.wake_spread)
        };
        let rng = &mut self.threads[t.index()].rng_wake;
        match spread {
            _ if base.0 == 0 => base,
            WakeSpread::Uniform(0.0) => base,
            WakeSpread::Uniform(j) => {
                let u: f64 = rand_distr::StandardUniform.sample(rng);
                base.mul_f64(1.0 - j + 2.0 * j * u)
            }
            WakeSpread::LogNormal(s) => {
                // Beyond 4σ (1 draw in 16 000) a VM's wake-up is another
                // story (preemption by the host): clamp there.
                let z: f64 = rand_distr::StandardNormal.sample(rng);
                base.mul_f64((s * z.clamp(-4.0, 4.0)).exp())
            }
        }
    }

    /// Core `c` starts switching to `t`; it runs after `extra` plus a context
    /// switch if the core last ran another thread. The core is busy from the
    /// start of the switch, so a switch cut short by the end of the run (or by
    /// the thread leaving the core) counts only the part that elapsed.
    fn dispatch(&mut self, c: CoreId, t: ThreadId, extra: SimDuration) {
        let due = self.begin_dispatch(c, t, extra);
        let gen = self.cores[c.index()].gen;
        self.queue.push(due, Event::CoreReady(c, gen));
    }

    /// [`dispatch`](Self::dispatch) but for its `CoreReady` event: returns
    /// when the core will run `t` (the caller schedules it, or fuses it).
    pub(crate) fn begin_dispatch(&mut self, c: CoreId, t: ThreadId, extra: SimDuration) -> SimTime {
        let switch = {
            let now = self.now;
            let core = &mut self.cores[c.index()];
            core.thread = Some(t);
            core.running = false;
            core.slice_armed = false;
            core.gen = core.gen.wrapping_add(1);
            core.busy_since = Some(now + extra);
            if core.last_thread.is_some_and(|l| l != t) {
                core.context_switches += 1;
                self.cfg.machine.os.ctx_switch
            } else {
                SimDuration::ZERO
            }
        };
        self.threads[t.index()].run = Run::Dispatching(c);
        self.now + extra + switch
    }

    /// Core `c` now runs its thread.
    pub(crate) fn core_ready(&mut self, c: CoreId) {
        let Some(t) = self.cores[c.index()].thread else {
            return;
        };
        let core = &mut self.cores[c.index()];
        core.running = true;
        core.timer_wake_pending = false;
        core.slice_armed = false;
        core.last_thread = Some(t);
        core.busy_since.get_or_insert(self.now);
        let th = &mut self.threads[t.index()];
        th.run = Run::Running(c);
        th.run_start = self.now;
        th.last_core = Some(c);
        if !self.sched.is_empty() {
            self.arm_slice(c);
        }
        if self.cfg.fusion && self.retry_only_waits(t) {
            // A GIL waiter back only to wait again (`kernel/gil.rs`).
            self.wait_again(t);
            return;
        }
        // Continue the interrupted burst or the next micro-operations.
        self.run_thread(t);
    }

    /// The slice of the thread on `c` expired: preempt it if another thread
    /// should run (fair: one with less virtual runtime; rr: anyone waiting).
    pub(crate) fn slice_end(&mut self, c: CoreId) {
        let Some(t) = self.cores[c.index()].thread else {
            return;
        };
        let preempt = match self.sched.leftmost_vruntime() {
            Some(v) => v < self.current_vruntime(t),
            None => !self.sched.is_empty(),
        };
        self.cores[c.index()].slice_armed = false;
        if preempt {
            self.preempt(c);
            let vr = self.threads[t.index()].vruntime;
            self.sched.enqueue(t, vr);
            if let Some(n) = self.sched.pop_next() {
                self.dispatch(c, n, SimDuration::ZERO);
            }
            for i in 0..self.cores.len() {
                if !self.sched.is_empty() {
                    self.arm_slice(CoreId(i as u32));
                }
            }
        } else if !self.sched.is_empty() {
            self.arm_slice(c);
        }
    }

    /// Takes the running thread off core `c`, saving its burst progress; the
    /// caller decides where the thread and the core go next.
    fn preempt(&mut self, c: CoreId) -> Option<ThreadId> {
        let t = self.cores[c.index()].thread?;
        self.pause_burst(t);
        self.set_state(t, ThreadState::Runnable);
        self.release_core(t);
        self.threads[t.index()].run = Run::Ready;
        Some(t)
    }

    /// Saves the progress of `t`'s burst and puts the rest back in front.
    pub(crate) fn pause_burst(&mut self, t: ThreadId) {
        let now = self.now;
        let th = &mut self.threads[t.index()];
        th.cpu_gen = th.cpu_gen.wrapping_add(1);
        th.check_scheduled = false;
        if let Some(b) = th.burst.take() {
            let done = work_done(&b, now);
            let left = b.work.saturating_sub(done);
            if left > 0 {
                th.micro.push_front(super::Micro::Run(b.kind, left));
            }
            self.account_work(t, &b, done);
        }
    }

    /// `t` gives up its core (blocks, finishes): the core takes the next
    /// runnable thread or goes idle.
    pub(crate) fn leave_core(&mut self, t: ThreadId) {
        if let Some(c) = self.release_core(t) {
            if let Some(n) = self.sched.pop_next() {
                self.dispatch(c, n, SimDuration::ZERO);
            }
        }
    }

    /// Detaches `t` from its core (if any) and closes the core's busy time.
    fn release_core(&mut self, t: ThreadId) -> Option<CoreId> {
        let c = match self.threads[t.index()].run {
            Run::Running(c) | Run::Dispatching(c) => c,
            _ => return None,
        };
        let now = self.now;
        let th = &mut self.threads[t.index()];
        if matches!(th.run, Run::Running(_)) {
            th.vruntime += (now - th.run_start).0;
            let since = th.run_start;
            self.ran_on_core(c, t, since);
        }
        let core = &mut self.cores[c.index()];
        if let Some(s) = core.busy_since.take() {
            core.busy += now - s;
        }
        core.thread = None;
        core.idle_since = now;
        core.running = false;
        core.slice_armed = false;
        core.gen = core.gen.wrapping_add(1);
        Some(c)
    }

    /// Reports to the trace that `t` ran on `c` from `since` until now.
    pub(crate) fn ran_on_core(&mut self, c: CoreId, t: ThreadId, since: SimTime) {
        if self.now > since {
            self.sink.on_core(c, t, since, self.now);
        }
    }

    /// `t` starts burning `work` reference nanoseconds on its core.
    pub(crate) fn start_burst(&mut self, t: ThreadId, kind: BurstKind, work: u64) {
        let Run::Running(c) = self.threads[t.index()].run else {
            return;
        };
        let holds = self.holds_gil(t);
        let state = match kind {
            BurstKind::Py => ThreadState::Python,
            BurstKind::CHold => ThreadState::NativeHoldingGil,
            BurstKind::CFree => ThreadState::NativeReleasedGil,
            BurstKind::Sys if holds => ThreadState::NativeHoldingGil,
            BurstKind::Sys => ThreadState::NativeReleasedGil,
        };
        self.set_state(t, state);
        let speed = self.cores[c.index()].speed;
        let th = &mut self.threads[t.index()];
        th.cpu_gen = th.cpu_gen.wrapping_add(1);
        th.check_scheduled = false;
        th.burst = Some(Burst {
            kind,
            work,
            started: self.now,
            speed,
        });
        let gen = th.cpu_gen;
        let end = self.now + time_for(work, speed);
        self.queue.push(end, Event::BurstDone(t, gen));
        if kind == BurstKind::Py {
            self.schedule_eval_breaker_check(t);
        }
    }

    /// The burst of `t` completed.
    pub(crate) fn burst_done(&mut self, t: ThreadId) {
        let th = &mut self.threads[t.index()];
        th.check_scheduled = false;
        if let Some(b) = th.burst.take() {
            self.account_work(t, &b, b.work);
        }
    }

    /// `done` work of burst `b` counts: Python work advances the old GIL's ticker.
    fn account_work(&mut self, t: ThreadId, b: &Burst, done: u64) {
        if b.kind == BurstKind::Py {
            let th = &mut self.threads[t.index()];
            th.report.py_work += SimDuration(done);
            let g = th.interp.index();
            self.gils[g].python_ran(t, done);
        }
    }
}

/// Wall time for `work` reference nanoseconds on a core of `speed`.
pub(crate) fn time_for(work: u64, speed: f64) -> SimDuration {
    if speed == 1.0 {
        SimDuration(work)
    } else {
        SimDuration((work as f64 / speed).ceil() as u64)
    }
}

/// Work of burst `b` done by `now`.
pub(crate) fn work_done(b: &Burst, now: SimTime) -> u64 {
    let el = (now - b.started).0;
    let w = if b.speed == 1.0 {
        el
    } else {
        (el as f64 * b.speed).floor() as u64
    };
    w.min(b.work)
}
