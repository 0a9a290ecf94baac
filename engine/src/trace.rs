//! Traces: what each thread was doing, interval by interval, which core it
//! ran on, and GIL hand-offs.
//!
//! The engine pushes records into a [`TraceSink`] as they complete, so a caller
//! can stream a long trace to disk; [`VecTrace`] keeps them in memory and
//! [`NoTrace`] discards them at no cost.

use crate::ids::{CoreId, InterpId, ProcessId, ThreadId};
use crate::time::SimTime;

/// What a thread is doing (the timeline's colours).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ThreadState {
    /// On a core, running Python bytecode (holds the GIL unless there is none).
    Python,
    /// On a core, in native code that holds the GIL.
    NativeHoldingGil,
    /// On a core, in native code or a system call with the GIL released.
    NativeReleasedGil,
    /// Blocked waiting to take the GIL (or for another thread to take it, after a forced drop).
    WaitingGil,
    /// Ready to run but without a core (including the context switch onto one).
    Runnable,
    /// Blocked on I/O, a sleep, a lock, a queue or a join.
    Blocked,
}

impl ThreadState {
    /// All states, in timeline legend order.
    pub const ALL: [ThreadState; 6] = [
        ThreadState::Python,
        ThreadState::NativeHoldingGil,
        ThreadState::NativeReleasedGil,
        ThreadState::WaitingGil,
        ThreadState::Runnable,
        ThreadState::Blocked,
    ];
    /// A short snake_case name for tables and traces.
    pub fn name(self) -> &'static str {
        match self {
            ThreadState::Python => "python",
            ThreadState::NativeHoldingGil => "native_holding_gil",
            ThreadState::NativeReleasedGil => "native_released_gil",
            ThreadState::WaitingGil => "waiting_gil",
            ThreadState::Runnable => "runnable",
            ThreadState::Blocked => "blocked",
        }
    }
    /// A human label for legends.
    pub fn label(self) -> &'static str {
        match self {
            ThreadState::Python => "running Python",
            ThreadState::NativeHoldingGil => "running C, GIL held",
            ThreadState::NativeReleasedGil => "running C, GIL released",
            ThreadState::WaitingGil => "waiting for the GIL",
            ThreadState::Runnable => "runnable, no core",
            ThreadState::Blocked => "blocked (I/O, sleep, sync)",
        }
    }
}

/// Receives trace records in time order of their end.
pub trait TraceSink {
    /// `thread` was in `state` from `start` to `end` (never empty).
    fn interval(&mut self, thread: ThreadId, state: ThreadState, start: SimTime, end: SimTime);
    /// The GIL of `interp` passed from `from` (its last holder, if any) to `to`.
    fn handoff(&mut self, interp: InterpId, time: SimTime, from: Option<ThreadId>, to: ThreadId);
    /// `thread`, named `name`, of process `process` (named `process_name`) starts at `time`;
    /// called before any record of that thread.
    fn thread_started(
        &mut self,
        time: SimTime,
        thread: ThreadId,
        name: &str,
        process: ProcessId,
        process_name: &str,
    ) {
        let _ = (time, thread, name, process, process_name);
    }
    /// `thread` ran on `core` from `start` to `end` (never empty): from the
    /// moment the core finished switching to it until it left the core
    /// (blocked, was preempted, finished) or the run ended. A core's
    /// intervals never overlap. Observation only: ignoring it changes nothing.
    fn on_core(&mut self, core: CoreId, thread: ThreadId, start: SimTime, end: SimTime) {
        let _ = (core, thread, start, end);
    }
}

/// Discards everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTrace;

impl TraceSink for NoTrace {
    #[inline]
    fn interval(&mut self, _: ThreadId, _: ThreadState, _: SimTime, _: SimTime) {}
    #[inline]
    fn handoff(&mut self, _: InterpId, _: SimTime, _: Option<ThreadId>, _: ThreadId) {}
}

/// One state interval of a thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    /// The thread.
    pub thread: ThreadId,
    /// What it did.
    pub state: ThreadState,
    /// From.
    pub start: SimTime,
    /// To (exclusive).
    pub end: SimTime,
}

/// One GIL hand-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handoff {
    /// Whose GIL.
    pub interp: InterpId,
    /// When it was taken.
    pub time: SimTime,
    /// The previous holder.
    pub from: Option<ThreadId>,
    /// The new holder.
    pub to: ThreadId,
}

/// One interval during which a thread ran on a core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreInterval {
    /// The core.
    pub core: CoreId,
    /// The thread on it.
    pub thread: ThreadId,
    /// From.
    pub start: SimTime,
    /// To (exclusive).
    pub end: SimTime,
}

/// Keeps the whole trace in memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VecTrace {
    /// Intervals in the order they ended.
    pub intervals: Vec<Interval>,
    /// Hand-offs in time order.
    pub handoffs: Vec<Handoff>,
    /// Who ran on which core, in the order the intervals ended.
    pub cores: Vec<CoreInterval>,
}

impl TraceSink for VecTrace {
    fn interval(&mut self, thread: ThreadId, state: ThreadState, start: SimTime, end: SimTime) {
        self.intervals.push(Interval {
            thread,
            state,
            start,
            end,
        });
    }
    fn handoff(&mut self, interp: InterpId, time: SimTime, from: Option<ThreadId>, to: ThreadId) {
        self.handoffs.push(Handoff {
            interp,
            time,
            from,
            to,
        });
    }
    fn on_core(&mut self, core: CoreId, thread: ThreadId, start: SimTime, end: SimTime) {
        self.cores.push(CoreInterval {
            core,
            thread,
            start,
            end,
        });
    }
}

/// Keeps only what falls inside a time window (intervals clipped to it), so a
/// timeline of a long run needs memory for the window only.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowTrace {
    /// Start of the window.
    pub from: SimTime,
    /// End of the window (exclusive).
    pub to: SimTime,
    /// The clipped intervals.
    pub trace: VecTrace,
}

impl WindowTrace {
    /// An empty trace of `[from, to)`.
    pub fn new(from: SimTime, to: SimTime) -> Self {
        WindowTrace {
            from,
            to,
            trace: VecTrace::default(),
        }
    }
}

impl TraceSink for WindowTrace {
    fn interval(&mut self, thread: ThreadId, state: ThreadState, start: SimTime, end: SimTime) {
        let (s, e) = (start.max(self.from), end.min(self.to));
        if s < e {
            self.trace.interval(thread, state, s, e);
        }
    }
    fn handoff(&mut self, interp: InterpId, time: SimTime, from: Option<ThreadId>, to: ThreadId) {
        if time >= self.from && time < self.to {
            self.trace.handoff(interp, time, from, to);
        }
    }
    fn on_core(&mut self, core: CoreId, thread: ThreadId, start: SimTime, end: SimTime) {
        let (s, e) = (start.max(self.from), end.min(self.to));
        if s < e {
            self.trace.on_core(core, thread, s, e);
        }
    }
}

/// Sends every record to two sinks (e.g. a file and a window for a figure).
pub struct Tee<'a, A: TraceSink, B: TraceSink>(pub &'a mut A, pub &'a mut B);

impl<A: TraceSink, B: TraceSink> TraceSink for Tee<'_, A, B> {
    fn interval(&mut self, thread: ThreadId, state: ThreadState, start: SimTime, end: SimTime) {
        self.0.interval(thread, state, start, end);
        self.1.interval(thread, state, start, end);
    }
    fn handoff(&mut self, interp: InterpId, time: SimTime, from: Option<ThreadId>, to: ThreadId) {
        self.0.handoff(interp, time, from, to);
        self.1.handoff(interp, time, from, to);
    }
    fn thread_started(
        &mut self,
        time: SimTime,
        thread: ThreadId,
        name: &str,
        process: ProcessId,
        process_name: &str,
    ) {
        self.0
            .thread_started(time, thread, name, process, process_name);
        self.1
            .thread_started(time, thread, name, process, process_name);
    }
    fn on_core(&mut self, core: CoreId, thread: ThreadId, start: SimTime, end: SimTime) {
        self.0.on_core(core, thread, start, end);
        self.1.on_core(core, thread, start, end);
    }
}

impl<T: TraceSink + ?Sized> TraceSink for &mut T {
    fn interval(&mut self, thread: ThreadId, state: ThreadState, start: SimTime, end: SimTime) {
        (**self).interval(thread, state, start, end);
    }
    fn handoff(&mut self, interp: InterpId, time: SimTime, from: Option<ThreadId>, to: ThreadId) {
        (**self).handoff(interp, time, from, to);
    }
    fn thread_started(
        &mut self,
        time: SimTime,
        thread: ThreadId,
        name: &str,
        process: ProcessId,
        process_name: &str,
    ) {
        (**self).thread_started(time, thread, name, process, process_name);
    }
    fn on_core(&mut self, core: CoreId, thread: ThreadId, start: SimTime, end: SimTime) {
        (**self).on_core(core, thread, start, end);
    }
}

/// An optional sink: `None` discards, so a fan-out of optional sinks needs no
/// `if let` per record.
impl<T: TraceSink> TraceSink for Option<T> {
    fn interval(&mut self, thread: ThreadId, state: ThreadState, start: SimTime, end: SimTime) {
        if let Some(s) = self {
            s.interval(thread, state, start, end);
        }
    }
    fn handoff(&mut self, interp: InterpId, time: SimTime, from: Option<ThreadId>, to: ThreadId) {
        if let Some(s) = self {
            s.handoff(interp, time, from, to);
        }
    }
    fn thread_started(
        &mut self,
        time: SimTime,
        thread: ThreadId,
        name: &str,
        process: ProcessId,
        process_name: &str,
    ) {
        if let Some(s) = self {
            s.thread_started(time, thread, name, process, process_name);
        }
    }
    fn on_core(&mut self, core: CoreId, thread: ThreadId, start: SimTime, end: SimTime) {
        if let Some(s) = self {
            s.on_core(core, thread, start, end);
        }
    }
}
