//! The old GIL's lock on Linux: a POSIX semaphore, and what its `sem_post`
//! does when the holder releases it every check interval.
//!
//! Sources, read for this model:
//! - CPython 2.7 `Python/ceval.c` (`PyEval_EvalFrameEx`): when
//!   `--_Py_Ticker < 0` the holder resets the ticker, runs pending calls, then
//!   `PyThread_release_lock(interpreter_lock)` and at once
//!   `PyThread_acquire_lock(interpreter_lock, 1)` ("Other threads may run
//!   now"); nothing hands the lock to anyone (research/wake-path.md §6).
//! - CPython 2.7 `Python/thread_pthread.h` with `USE_SEMAPHORES` (glibc
//!   defines `_POSIX_SEMAPHORES`): release is `sem_post`, a blocking acquire
//!   `sem_wait`. Checked on the installed 2.7.18: `libpython2.7.so`'s
//!   `PyThread_release_lock` is a call to `sem_post`, `PyThread_acquire_lock`
//!   calls `sem_trywait`/`sem_wait`, and the library imports no
//!   `pthread_cond_*` for it.
//! - glibc 2.36 (the reference host's), 64-bit atomics: `nptl/sem_post.c`
//!   `__new_sem_post` adds the token with a CAS and then, "if there is any
//!   potentially blocked waiter" (`d >> SEM_NWAITERS_SHIFT > 0`), calls
//!   `futex_wake(…, 1)`: the token is free during that system call.
//!   `nptl/sem_waitcommon.c`: `__new_sem_wait_fast` takes a token with a CAS;
//!   `__new_sem_wait_slow64` first adds itself to `nwaiters`
//!   (`atomic_fetch_add … 1 << SEM_NWAITERS_SHIFT`) and stays counted until
//!   its CAS takes a token *and* leaves `nwaiters` in one step; in between it
//!   loops: no token → `do_futex_wait` (sleep; an `EAGAIN` if the value
//!   changed is a retry), woken → reload and try the CAS again.
//!
//! - Linux `kernel/futex/waitwake.c` `futex_wait_setup`: the word is read
//!   under the hash-bucket lock and the call returns `EWOULDBLOCK` (glibc's
//!   `EAGAIN`) instead of sleeping if it no longer holds the expected value
//!   (research notes §2).
//!
//! Hence the rules (derived, research notes §6 [D]):
//! - A waiter is counted in `nwaiters` whether it sleeps in the futex or is
//!   awake on its way to its CAS, so every release while any waiter exists
//!   makes the `futex_wake` system call — one that wakes nobody when all the
//!   waiters are already awake.
//! - The token is free from the post until the holder's own `sem_wait` CAS,
//!   i.e. for the `futex_wake` call; with no waiter counted, only for the few
//!   instructions between the two lock calls (the GIL's `release_gap`).
//! - A woken waiter wins only if its CAS comes inside such a window: before
//!   the holder's retake after the wake, or inside a later release's
//!   `futex_wake` while it is still awake. Otherwise the wake was futile: it
//!   makes its `futex_wait` call (a system call on its core, awake and
//!   counted, `OsConfig::syscall` in the model), wins if a release put the
//!   token back meanwhile, and otherwise sleeps (still counted) until the
//!   next release wakes it. A thread whose first CAS fails does the same.

/// What one `sem_post` does after putting the token back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Post {
    /// A waiter sleeps in the futex: `futex_wake` wakes the oldest.
    WakeOne,
    /// Waiters are counted but all awake: `futex_wake` wakes nobody, yet
    /// the call is made, and the token stays free while it runs.
    WakeNobody,
    /// `nwaiters` is zero: no system call.
    NoCall,
}

/// `__new_sem_post`'s choice, from the waiters asleep in the futex and those
/// woken and not yet back to their CAS (together glibc's `nwaiters`).
pub(super) fn sem_post(asleep: usize, awake: u32) -> Post {
    if asleep > 0 {
        Post::WakeOne
    } else if awake > 0 {
        Post::WakeNobody
    } else {
        Post::NoCall
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_calls_futex_wake_while_any_waiter_is_counted() {
        for (asleep, awake, want) in [
            (0, 0, Post::NoCall),
            (1, 0, Post::WakeOne),
            (2, 1, Post::WakeOne),
            (0, 1, Post::WakeNobody),
            (0, 3, Post::WakeNobody),
        ] {
            assert_eq!(
                sem_post(asleep, awake),
                want,
                "{asleep} asleep, {awake} awake"
            );
        }
    }
}
