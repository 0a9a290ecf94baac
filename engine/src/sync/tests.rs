//! Locks and queues through their doors alone.

use super::*;
use crate::config::QueueConfig;

fn t(i: u32) -> ThreadId {
    ThreadId(i)
}

fn everyone_waits(_: ThreadId) -> bool {
    true
}

#[test]
fn a_lock_is_not_handed_over_the_woken_waiter_must_retry() {
    let mut l = Lock::default();
    assert!(l.try_acquire(t(1)));
    assert!(!l.try_acquire(t(2)), "held: the try fails");
    l.wait(t(2));
    assert_eq!(l.release(everyone_waits), Some(t(2)));
    assert!(
        l.is_free(),
        "free after the release, not owned by the woken waiter"
    );
    assert!(l.try_acquire(t(3)), "so a running thread may barge in");
    assert!(!l.try_acquire(t(2)), "and the woken waiter's retry fails");
}

#[test]
fn a_release_wakes_waiters_in_arrival_order_skipping_those_gone() {
    let mut l = Lock::default();
    assert!(l.try_acquire(t(1)));
    for w in [2, 3, 4] {
        l.wait(t(w));
    }
    assert_eq!(
        l.release(|w| w != t(2)),
        Some(t(3)),
        "thread 2 no longer waits"
    );
    assert!(l.try_acquire(t(3)));
    assert_eq!(l.release(everyone_waits), Some(t(4)));
    assert_eq!(l.release(everyone_waits), None);
}

#[test]
fn a_queue_delivers_in_order_and_wakes_one_getter_per_item() {
    let cfg = QueueConfig {
        name: "q".into(),
        ipc: true,
    };
    let mut q = Queue::new(&cfg);
    assert!(q.is_ipc());
    assert!(!q.has_items());
    q.wait(t(1));
    q.wait(t(2));
    assert_eq!(q.deliver(10, everyone_waits), Some(t(1)));
    assert_eq!(q.deliver(20, everyone_waits), Some(t(2)));
    assert_eq!(q.deliver(30, everyone_waits), None, "nobody left waiting");
    assert_eq!(
        [q.take(), q.take(), q.take(), q.take()],
        [Some(10), Some(20), Some(30), None]
    );
}
