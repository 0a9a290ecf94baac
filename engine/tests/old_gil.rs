//! The old GIL's semaphore race (engine `gil/old_lock.rs`; CPython 2.7
//! `ceval.c` and `thread_pthread.h`, glibc `sem_post`/`sem_wait`): every
//! check interval the holder releases and at once re-takes the lock; the GIL
//! is free only while its `sem_post` runs `futex_wake` (made whenever a waiter
//! is counted, asleep or awake). A woken waiter wins only if it reaches its
//! CAS inside such a window; otherwise its wake was futile and it sleeps again.
//!
//! Wake-ups here are exact (no spread, no context-switch cost), so each case's
//! timeline can be worked out by hand: the holder's release at a check, the
//! waiter's wake `latency` from the start of that release, the holder's
//! retake after its `futex_wake` (`signal` when it wakes a sleeper, `syscall`
//! when every waiter is awake), a loser's `futex_wait` call (`syscall`)
//! before it sleeps.
mod common;
use common::*;

struct Case {
    what: &'static str,
    cores: u32,
    /// Python between two checks (check interval × tick).
    period: SimDuration,
    latency: SimDuration,
    signal: SimDuration,
    syscall: SimDuration,
    /// Hand-offs at checks, per check: allowed range.
    switches: (f64, f64),
    /// Futile wakes per check, allowed range.
    futile: (f64, f64),
}

fn ns(n: u64) -> SimDuration {
    SimDuration::ns(n)
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            what: "woken inside the window it opened (latency < the signal call): it wins every time",
            cores: 2,
            period: us(10),
            latency: us(1),
            signal: us(3),
            syscall: us(2),
            switches: (0.95, 1.0),
            futile: (0.0, 0.0),
        },
        Case {
            what: "woken after the holder's retake, asleep again before the next release: every wake is futile",
            cores: 2,
            period: us(10),
            latency: us(5),
            signal: us(3),
            syscall: us(2),
            switches: (0.0, 0.001),
            futile: (0.95, 1.0),
        },
        Case {
            what: "still awake at the next release: it catches the futex_wake that wakes nobody; \
                   the loser, awake in its futex_wait call, catches the next one (EAGAIN)",
            cores: 2,
            period: us(1),
            latency: ns(5_500),
            signal: us(3),
            syscall: us(2),
            switches: (0.9, 1.0),
            futile: (0.0, 0.0),
        },
        Case {
            what: "the same, but futex calls take no time: no window while it is awake, \
                   every third check wakes it in vain",
            cores: 2,
            period: us(1),
            latency: ns(5_500),
            signal: us(3),
            syscall: SimDuration::ZERO,
            switches: (0.0, 0.001),
            futile: (0.3, 0.5),
        },
    ]
}

/// Two CPU-bound threads of `work` each under the old GIL of `case`.
fn battle(case: &Case, work: SimDuration) -> Report {
    let tick = ns(10);
    let mut c = machine(
        case.cores,
        GilModel::Old {
            check_interval: (case.period.as_nanos() / tick.as_nanos()) as u32,
            tick,
            release_gap: ns(200),
            waiter_choice: WaiterChoice::Fifo,
        },
    );
    let os = &mut c.machine.os;
    os.shallow_wake_latency = case.latency;
    os.wake_latency = case.latency;
    os.shallow_wake_spread = WakeSpread::Uniform(0.0);
    os.wake_spread = WakeSpread::Uniform(0.0);
    os.ctx_switch = SimDuration::ZERO;
    os.signal_cost = case.signal;
    os.syscall = case.syscall;
    cpu(&mut c, "a", work);
    cpu(&mut c, "b", work);
    run(&c).unwrap()
}

#[test]
fn a_woken_waiter_wins_only_inside_a_release_window() {
    for case in cases() {
        let r = battle(&case, ms(20));
        let g = &r.gils[0];
        let checks = g.checks as f64;
        let per_check = |n: u64| n as f64 / checks;
        // Not counted: the first take and the hand-off when a thread finishes.
        let at_checks = g.switches.saturating_sub(2);
        let (switches, futile) = (per_check(at_checks), per_check(g.failed_wakeups));
        assert!(g.checks > 1000, "{}: {g:?}", case.what);
        assert!(
            (case.switches.0..=case.switches.1).contains(&switches),
            "{}: {switches} hand-offs per check, want {:?} ({g:?})",
            case.what,
            case.switches
        );
        assert!(
            (case.futile.0..=case.futile.1).contains(&futile),
            "{}: {futile} futile wakes per check, want {:?} ({g:?})",
            case.what,
            case.futile
        );
    }
}

/// Each release that wakes the sleeping waiter costs the holder the futex
/// wake; each futile wake costs the waiter its `futex_wait` call. Alone, a
/// thread's releases make no system call.
#[test]
fn the_holder_pays_a_futex_wake_per_release_and_the_loser_its_futex_wait() {
    let case = &cases()[1];
    let r = battle(case, ms(20));
    let g = &r.gils[0];
    let sys_per_check = |name: &str| {
        let t = r.thread(name).unwrap();
        t.times.native_released_gil.as_nanos() as f64 / g.checks as f64
    };
    for (name, want) in [("a", case.signal), ("b", case.syscall)] {
        let got = sys_per_check(name);
        let want = want.as_nanos() as f64;
        assert!(
            (got - want).abs() < 0.05 * want,
            "{name}: {got} ns of system time per check, want {want}"
        );
    }
    let mut c = machine(2, GilModel::old_gil());
    cpu(&mut c, "a", ms(20));
    let alone = run(&c).unwrap();
    assert_eq!(
        alone.threads[0].times.native_released_gil,
        SimDuration::ZERO
    );
}
