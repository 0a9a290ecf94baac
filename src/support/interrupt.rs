//! Stopping a run on Ctrl-C (SIGINT), SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 or SIGALRM.
//!
//! The signal handler only stores the signal's number in an atomic
//! ([`Interrupt`]); everything else happens on ordinary threads that look at
//! it: the script engine checks it between operations (Rhai's progress
//! callback) and stops the script, a sweep starts no new point, and the
//! thread waiting for the script then writes the manifest of an interrupted
//! run (see `commands/run.rs`). A second signal while that happens stops waiting for
//! the run in progress.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// SIGINT, as on every Unix.
pub const SIGINT: i32 = 2;
/// SIGTERM, as on every Unix.
pub const SIGTERM: i32 = 15;

/// The signals that stop a run cleanly: their default action would end the
/// process at once, leaving temporary files (SIGHUP when a terminal closes,
/// SIGUSR1/2 and SIGALRM sent by scripts and job runners).
#[cfg(unix)]
pub const HANDLED: &[i32] = &[
    SIGINT,
    SIGTERM,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGUSR1,
    signal_hook::consts::SIGUSR2,
    signal_hook::consts::SIGALRM,
];

/// A flag set by a signal (or by [`Interrupt::request`]): the number of the
/// first signal received.
#[derive(Clone, Debug, Default)]
pub struct Interrupt {
    /// The signal of the first request (0: none).
    first: Arc<AtomicUsize>,
    /// The last signal received (0: none, or none since [`Interrupt::acknowledge`]).
    latest: Arc<AtomicUsize>,
}

impl Interrupt {
    /// A flag that no signal sets (until [`Interrupt::install`] or
    /// [`Interrupt::request`]).
    pub fn new() -> Self {
        Interrupt::default()
    }

    /// A flag set by SIGINT, SIGTERM and the other [`HANDLED`] signals, which
    /// then no longer end the process by themselves. Fails only if the
    /// handlers cannot be installed.
    #[cfg(unix)]
    pub fn install() -> std::io::Result<Self> {
        let flag = Interrupt::new();
        for &sig in HANDLED {
            signal_hook::flag::register_usize(sig, flag.latest.clone(), sig as usize)?;
        }
        Ok(flag)
    }

    /// Without Unix signals: a flag nothing sets.
    #[cfg(not(unix))]
    pub fn install() -> std::io::Result<Self> {
        Ok(Interrupt::new())
    }

    /// Requests a stop as if `signal` had arrived.
    pub fn request(&self, signal: i32) {
        self.latest.store(signal as usize, Ordering::SeqCst);
    }

    /// The signal that asked the run to stop, if one did. Cheap: the script
    /// engine calls it between operations.
    pub fn signal(&self) -> Option<i32> {
        let first = self.first.load(Ordering::Relaxed);
        if first != 0 {
            return Some(first as i32);
        }
        let latest = self.latest.load(Ordering::Relaxed);
        if latest == 0 {
            return None;
        }
        let _ = self
            .first
            .compare_exchange(0, latest, Ordering::SeqCst, Ordering::SeqCst);
        Some(self.first.load(Ordering::SeqCst) as i32)
    }

    /// Whether a stop was requested.
    pub fn is_set(&self) -> bool {
        self.signal().is_some()
    }

    /// Called once by the thread that handles the stop, when it first sees
    /// it: from now on [`Interrupt::again`] tells whether another signal came.
    pub fn acknowledge(&self) {
        let _ = self.signal();
        self.latest.store(0, Ordering::SeqCst);
    }

    /// Whether a signal arrived after [`Interrupt::acknowledge`] (the user insists).
    pub fn again(&self) -> bool {
        self.first.load(Ordering::SeqCst) != 0 && self.latest.load(Ordering::SeqCst) != 0
    }
}

/// The conventional exit status of a process stopped by `signal`: 128 + its number.
pub fn exit_status(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(1)
}

/// `SIGINT`, `SIGTERM`, `SIGHUP`, ... or `signal N`.
pub fn signal_name(signal: i32) -> String {
    match signal {
        SIGINT => "SIGINT".into(),
        SIGTERM => "SIGTERM".into(),
        1 => "SIGHUP".into(),
        n if n == libc::SIGUSR1 => "SIGUSR1".into(),
        n if n == libc::SIGUSR2 => "SIGUSR2".into(),
        n if n == libc::SIGALRM => "SIGALRM".into(),
        n => format!("signal {n}"),
    }
}
