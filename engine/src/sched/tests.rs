//! The run queue through its door alone.

use super::*;

fn t(i: u32) -> ThreadId {
    ThreadId(i)
}

fn drain(s: &mut Scheduler) -> Vec<ThreadId> {
    std::iter::from_fn(|| s.pop_next()).collect()
}

#[test]
fn fair_runs_the_least_virtual_runtime_first_and_ties_in_arrival_order() {
    let mut s = Scheduler::new(Policy::fair());
    for (i, vr) in [(1, 300), (2, 100), (3, 200), (4, 100)] {
        s.enqueue(t(i), vr);
    }
    assert_eq!(s.leftmost_vruntime(), Some(100));
    assert_eq!(drain(&mut s), [t(2), t(4), t(3), t(1)]);
    assert!(s.is_empty());
}

#[test]
fn round_robin_runs_in_arrival_order_whatever_the_runtime() {
    let mut s = Scheduler::new(Policy::round_robin(SimDuration::ms(10)));
    for (i, vr) in [(1, 300), (2, 100), (3, 200)] {
        s.enqueue(t(i), vr);
    }
    assert_eq!(s.leftmost_vruntime(), None, "no virtual runtime order");
    assert_eq!(s.wakeup_granularity(), None, "no wake-up preemption");
    assert_eq!(s.slice(), SimDuration::ms(10));
    assert_eq!(drain(&mut s), [t(1), t(2), t(3)]);
}

#[test]
fn the_policy_sets_the_slice_and_the_wakeup_granularity() {
    let s = Scheduler::new(Policy::fair());
    let Policy::Fair {
        slice,
        wakeup_granularity,
    } = Policy::fair()
    else {
        unreachable!()
    };
    assert!(s.is_fair());
    assert_eq!(s.slice(), slice);
    assert_eq!(s.wakeup_granularity(), Some(wakeup_granularity));
}
