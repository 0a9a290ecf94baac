//! The `script-time` limit: wall-clock time a script spends in its own
//! operations.
//!
//! The operations limit does not bound time on its own: Rhai clones a value
//! when a variable is read and re-measures a whole array or map (nested ones
//! included) after each change when size limits are set, so one operation on
//! a large or deeply nested value costs time proportional to its size. A loop
//! like `let a = []; loop { a = [a]; }` is quadratic and would run for hours
//! within the operations limit. This clock, advanced from Rhai's progress
//! callback, stops such a script.
//!
//! Time spent waiting for sweeps (whose points are timed by their own
//! workers) and in the `machine.run` of a sweep point (bounded by the
//! `events` limit) is not counted, so long sweeps are not affected; a
//! `machine.run` outside a sweep is, so an endless loop of simulations
//! stops. The clock is summed over the threads that evaluate the script
//! (the main one and the sweep workers).

use rhai::{Engine, EvalAltResult, OptimizationLevel, Position, Scope, Token, AST};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The clock is read every this many operations.
const SAMPLE_OPS: u64 = 4;

/// Longest time counted between two readings: a backstop against counting a
/// thread's idle time (a sweep worker between two sweeps) as script time.
/// Long enough that operations made slow by huge values (each taking
/// seconds, `loop { a = [a]; }`) are counted in full.
const MAX_GAP: Duration = Duration::from_secs(60);

/// The token of the `ErrorTerminated` that the clock raises.
pub const TOKEN: &str = "gilsim: script-time limit";

thread_local! {
    /// This thread's last reading: when, and the operations count then.
    static LAST: Cell<Option<(Instant, u64)>> = const { Cell::new(None) };
    /// Time this thread spent in untimed host calls since its last reading.
    static UNTIMED: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// Script time used by one run, summed over its threads.
#[derive(Debug)]
pub struct ScriptClock {
    limit: Duration,
    spent_ns: AtomicU64,
}

impl ScriptClock {
    /// A clock that stops the script after `limit_s` seconds.
    pub fn new(limit_s: u64) -> Self {
        ScriptClock {
            limit: Duration::from_secs(limit_s),
            spent_ns: AtomicU64::new(0),
        }
    }

    /// Called at each operation (`ops` is Rhai's count); true once the limit
    /// is exceeded.
    pub fn tick(&self, ops: u64) -> bool {
        if ops % SAMPLE_OPS != 0 {
            return false;
        }
        let now = Instant::now();
        let untimed = UNTIMED.with(|u| u.replace(Duration::ZERO));
        let prev = LAST.with(|l| l.replace(Some((now, ops))));
        // A lower count: a new evaluation (a sweep point) began on this thread.
        let Some((then, _)) = prev.filter(|(_, o)| *o < ops) else {
            return false;
        };
        let gap = now
            .saturating_duration_since(then)
            .saturating_sub(untimed)
            .min(MAX_GAP);
        let gap_ns = u64::try_from(gap.as_nanos()).unwrap_or(u64::MAX);
        let spent = self
            .spent_ns
            .fetch_add(gap_ns, Ordering::Relaxed)
            .saturating_add(gap_ns);
        Duration::from_nanos(spent) > self.limit
    }

    /// Script time used so far.
    fn spent(&self) -> Duration {
        Duration::from_nanos(self.spent_ns.load(Ordering::Relaxed))
    }

    /// Counts `took` as script time.
    fn add(&self, took: Duration) {
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.spent_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Whether the time used so far plus `more` is over the limit.
    fn over_with(&self, more: Duration) -> bool {
        self.spent().saturating_add(more) > self.limit
    }
}

/// While it lives, this thread's time is not script time (a simulation, a
/// sweep waiting for its points).
#[must_use = "the time until it is dropped is not counted"]
pub struct Untimed(Instant);

impl Untimed {
    /// Stops counting this thread's time until the value is dropped.
    pub fn start() -> Self {
        Untimed(Instant::now())
    }
}

impl Drop for Untimed {
    fn drop(&mut self) {
        let took = self.0.elapsed();
        UNTIMED.with(|u| u.set(u.get().saturating_add(took)));
    }
}

/// Forgets this thread's last reading (a sweep point starts on a worker).
pub fn restart_thread() {
    LAST.with(|l| l.set(None));
    UNTIMED.with(|u| u.set(Duration::ZERO));
}

/// The token of the error raised when compiling a source runs past the
/// `script-time` limit.
pub const COMPILE_TOKEN: &str = "gilsim: script-time limit while compiling";

/// The clock is read every this many tokens while a source compiles.
const SAMPLE_TOKENS: u64 = 64;

/// Sources of more tokens than this are not optimised: Rhai's optimiser
/// looks constants up in a list, so its time grows with the square of the
/// source (about half a second at this size), and the watchdog below cannot
/// stop it. Optimising changes no result, only the speed of a script.
pub const OPTIMIZE_MAX_TOKENS: u64 = 100_000;

/// One compile on this thread, as the token watchdog sees it.
struct Compiling {
    start: Instant,
    tokens: u64,
    /// Where the watchdog stopped the parser.
    stopped: Option<Position>,
}

thread_local! {
    /// The compile in progress on this thread ([`compile`]).
    static COMPILING: RefCell<Option<Compiling>> = const { RefCell::new(None) };
    /// Tokens read on this thread outside [`compile`] (`eval` in a script).
    static EVAL_TOKENS: Cell<u64> = const { Cell::new(0) };
}

/// The token that stops the parser: a lexer error it reports at once.
fn stop_token() -> Token {
    Token::LexError(Box::new(rhai::LexError::Runtime(COMPILE_TOKEN.into())))
}

/// The watchdog of compile time, called by Rhai for every token the parser
/// reads (`Engine::on_parse_token`).
///
/// Rhai's parser looks every variable up in a list of the variables and
/// functions declared before it, so its time grows with the square of the
/// source: 40 000 `let`s take half a minute, a 4 MiB source of functions
/// many minutes, and no operation is counted while it runs. Compiling counts
/// as script time: when the time spent so far plus this compile's passes the
/// `script-time` limit, every further token is a lexer error, which ends the
/// parse at the current token; [`compile`] turns it into the limit's error.
pub fn watch_token(clock: &ScriptClock, token: Token, pos: Position) -> Token {
    let verdict = COMPILING.with(|c| {
        let mut c = c.borrow_mut();
        let st = c.as_mut()?;
        if st.stopped.is_some() {
            return Some(true);
        }
        st.tokens += 1;
        if st.tokens % SAMPLE_TOKENS == 0 && clock.over_with(st.start.elapsed()) {
            st.stopped = Some(pos);
            return Some(true);
        }
        Some(false)
    });
    let stop = match verdict {
        Some(stop) => stop,
        // `eval` of a string while the script runs: the time since the last
        // operation counts.
        None => {
            let n = EVAL_TOKENS.with(|t| {
                t.set(t.get().wrapping_add(1));
                t.get()
            });
            n % SAMPLE_TOKENS == 0 && {
                let since = LAST.with(|l| l.get()).map_or(Duration::ZERO, |(then, _)| {
                    then.elapsed().saturating_sub(UNTIMED.with(Cell::get))
                });
                clock.over_with(since)
            }
        }
    };
    if stop {
        stop_token()
    } else {
        token
    }
}

/// Compiles `text` under the `script-time` limit: the time it takes counts
/// as script time (also while the script runs, for a module it imports),
/// and a compile that would pass the limit stops with
/// `ErrorTerminated(COMPILE_TOKEN)` at the token it reached. The AST is
/// optimised as Rhai would, unless the source is larger than
/// [`OPTIMIZE_MAX_TOKENS`].
pub fn compile(
    engine: &Engine,
    clock: Option<&ScriptClock>,
    text: &str,
) -> Result<AST, Box<EvalAltResult>> {
    let start = Instant::now();
    let outer = COMPILING.with(|c| {
        c.replace(Some(Compiling {
            start,
            tokens: 0,
            stopped: None,
        }))
    });
    let result = engine.compile_with_scope(&Scope::new(), text);
    let this = COMPILING.with(|c| c.replace(outer));
    let took = start.elapsed();
    // Counted here in full, so not again by the next operation's reading.
    if let Some(clock) = clock {
        clock.add(took);
    }
    UNTIMED.with(|u| u.set(u.get().saturating_add(took)));
    let (tokens, stopped) = this.map_or((0, None), |c| (c.tokens, c.stopped));
    if let Some(pos) = stopped {
        return Err(EvalAltResult::ErrorTerminated(COMPILE_TOKEN.into(), pos).into());
    }
    let ast = result.map_err(|e| Box::new(EvalAltResult::from(e)))?;
    Ok(if tokens <= OPTIMIZE_MAX_TOKENS {
        engine.optimize_ast(&Scope::new(), ast, OptimizationLevel::Simple)
    } else {
        ast
    })
}

/// Whether the token of an `ErrorTerminated` is the compile watchdog's.
pub fn is_compile_token(token: &rhai::Dynamic) -> bool {
    token
        .clone()
        .into_immutable_string()
        .is_ok_and(|s| s.as_str() == COMPILE_TOKEN)
}

/// The token of the `ErrorTerminated` raised at the `memory` limit.
pub const MEMORY_TOKEN: &str = "gilsim: memory limit";

/// Whether the token of an `ErrorTerminated` is the memory limit's.
pub fn is_memory_token(token: &rhai::Dynamic) -> bool {
    token
        .clone()
        .into_immutable_string()
        .is_ok_and(|s| s.as_str() == MEMORY_TOKEN)
}

/// Whether the token of an `ErrorTerminated` is this clock's.
pub fn is_token(token: &rhai::Dynamic) -> bool {
    token
        .clone()
        .into_immutable_string()
        .is_ok_and(|s| s.as_str() == TOKEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_time_counts_operations_but_not_untimed_calls() {
        restart_thread();
        let clock = ScriptClock::new(1);
        assert!(!clock.tick(4));
        let untimed = Untimed::start();
        std::thread::sleep(Duration::from_millis(1200));
        drop(untimed);
        assert!(!clock.tick(8), "untimed time was counted");
        std::thread::sleep(Duration::from_millis(600));
        assert!(!clock.tick(12));
        std::thread::sleep(Duration::from_millis(600));
        assert!(clock.tick(16), "1.2 s of script time not over a 1 s limit");
    }

    #[test]
    fn a_new_evaluation_on_a_thread_does_not_count_the_time_before_it() {
        restart_thread();
        let clock = ScriptClock::new(1);
        assert!(!clock.tick(400));
        std::thread::sleep(Duration::from_millis(1100));
        // A sweep point starts again from the count of the sweep's caller.
        assert!(!clock.tick(100));
        assert!(!clock.tick(104));
    }
}
