//! Errors of the engine: an invalid config, a deadlock, a runaway run.

use crate::time::SimTime;
use thiserror::Error;

/// A config value that is not allowed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("invalid {field} = {value}: {allowed}")]
pub struct ConfigError {
    /// Where in the config, e.g. `threads[2].program[0].py`.
    pub field: String,
    /// The offending value as written.
    pub value: String,
    /// What is allowed instead.
    pub allowed: String,
}

impl ConfigError {
    /// Builds an error for `field`.
    pub fn new(field: impl Into<String>, value: impl ToString, allowed: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }
}

/// What a thread was waiting for when the run deadlocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockedThread {
    /// The thread's name.
    pub thread: String,
    /// What it waits for, e.g. `lock "db"` or `thread "worker"`.
    pub waits_for: String,
}

/// Why a run failed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EngineError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Every unfinished thread is blocked and nothing is pending.
    #[error("deadlock at {time}: {}", describe(.blocked))]
    Deadlock {
        /// When it was detected.
        time: SimTime,
        /// Every blocked thread and what it waits for.
        blocked: Vec<BlockedThread>,
    },
    /// The run processed `limit` events without finishing.
    #[error("the run stopped after max_events = {limit} events at {time}; raise max_events or give the run a stop time")]
    EventLimit {
        /// The limit.
        limit: u64,
        /// When it was hit.
        time: SimTime,
    },
    /// A thread sent more requests than it received replies for, past the bound.
    #[error("thread \"{thread}\" has {limit} requests whose replies it never received (at {time}): a send() without a recv()?")]
    UnansweredRequests {
        /// The thread.
        thread: String,
        /// When the bound was reached.
        time: SimTime,
        /// The bound ([`crate::MAX_PENDING_REPLIES`]).
        limit: usize,
    },
    /// Virtual time would pass its end: 2⁶⁴ ns, about 584 years. The run
    /// fails rather than reporting a saturated (wrong) time.
    #[error("virtual time overflow at {time}: {what} would end after the last instant the simulation can represent (2^64 ns, about 584 years); shorten the durations, or give the run a stop time")]
    TimeOverflow {
        /// The last instant simulated.
        time: SimTime,
        /// What overflowed: the thread and its step (`thread "t", step
        /// program[1]: py(1.26e10 s)`), a queue, a pool or a core.
        what: String,
    },
    /// The caller asked the run to stop (`run_cancellable`).
    #[error("the run was cancelled at {time}")]
    Cancelled {
        /// Virtual time when it stopped.
        time: SimTime,
    },
}

fn describe(blocked: &[BlockedThread]) -> String {
    blocked
        .iter()
        .map(|b| format!("thread \"{}\" waits for {}", b.thread, b.waits_for))
        .collect::<Vec<_>>()
        .join("; ")
}
