//! The event loop through its door alone.

use super::*;

type Loop = EventLoop<&'static str, u32>;

fn at(ns: u64) -> SimTime {
    SimTime(ns)
}

fn body(k: u32) -> Body {
    Body::Coroutine(k)
}

/// One iteration's callbacks, in the order they run.
fn iteration(l: &mut Loop, now: SimTime) -> Vec<Handle> {
    l.collect(now);
    std::iter::from_fn(|| l.next()).collect()
}

#[test]
fn ready_callbacks_run_first_in_first_out_and_new_ones_wait_for_the_next_iteration() {
    let mut l = Loop::new(false);
    let (a, b) = (l.spawn(body(0), at(0)), l.spawn(body(1), at(0)));
    assert_eq!(l.select(), Select::Poll);
    l.collect(at(0));
    assert_eq!(l.next(), Some(Handle::Step(a)));
    l.call_soon(a); // a yields (`await asyncio.sleep(0)`) during this iteration
    assert_eq!(l.next(), Some(Handle::Step(b)));
    assert_eq!(l.next(), None, "a's new step waits for the next iteration");
    assert_eq!(iteration(&mut l, at(0)), [Handle::Step(a)]);
}

#[test]
fn io_events_join_the_ready_queue_before_due_timers() {
    let mut l = Loop::new(false);
    let (a, b) = (l.spawn(body(0), at(0)), l.spawn(body(1), at(0)));
    iteration(&mut l, at(0));
    l.call_at(at(5), a);
    l.completed(b);
    assert_eq!(l.select(), Select::Poll, "an event waits to be read");
    assert_eq!(
        iteration(&mut l, at(10)),
        [Handle::Wakeup(b), Handle::Wakeup(a)]
    );
}

#[test]
fn select_blocks_until_the_earliest_timer_or_for_ever() {
    let mut l = Loop::new(false);
    let a = l.spawn(body(0), at(0));
    let b = l.spawn(body(1), at(0));
    iteration(&mut l, at(0));
    assert_eq!(l.select(), Select::Block(None));
    l.call_at(at(30), a);
    l.call_at(at(20), b);
    assert_eq!(l.select(), Select::Block(Some(at(20))));
    assert_eq!(
        iteration(&mut l, at(25)),
        [Handle::Wakeup(b)],
        "a is not due"
    );
    l.call_soon(b);
    assert_eq!(l.select(), Select::Poll);
}

#[test]
fn timers_with_equal_deadlines_fire_in_the_order_they_were_set() {
    let mut l = Loop::new(false);
    let ids: Vec<TaskId> = (0..5).map(|k| l.spawn(body(k), at(0))).collect();
    iteration(&mut l, at(0));
    for &t in ids.iter().rev() {
        l.call_at(at(7), t);
    }
    let want: Vec<Handle> = ids.iter().rev().map(|&t| Handle::Wakeup(t)).collect();
    assert_eq!(iteration(&mut l, at(7)), want);
}

#[test]
fn a_readable_listener_is_one_accept_callback_until_it_runs() {
    let mut l = Loop::new(true);
    l.readable();
    l.readable();
    assert_eq!(iteration(&mut l, at(0)), [Handle::Accept]);
    l.readable();
    assert_eq!(iteration(&mut l, at(0)), [Handle::Accept]);
    assert!(!l.finished(), "a serving loop never finishes");
}

#[test]
fn a_task_keeps_its_continuation_while_it_awaits_and_its_slot_is_reused() {
    let mut l = Loop::new(false);
    let a = l.spawn(body(3), at(0));
    assert_eq!(l.resume(a), Some((body(3), None)));
    l.suspend(a, "after the first await");
    assert_eq!(l.resume(a), Some((body(3), Some("after the first await"))));
    assert_eq!(l.done(a, at(10)), Some(body(3)));
    assert!(l.finished());
    assert_eq!(l.resume(a), None);
    assert_eq!(l.spawn(body(4), at(10)), a, "the slot is reused");
    assert_eq!(l.tasks_done(), 1);
}

#[test]
fn executor_jobs_go_to_the_longest_idle_worker_in_order() {
    let mut l = Loop::new(false);
    let (a, b) = (l.spawn(body(0), at(0)), l.spawn(body(1), at(0)));
    l.worker_idle(ThreadId(8));
    assert_eq!(l.submit(a, 1), Some(ThreadId(8)));
    assert_eq!(l.submit(b, 2), None, "no other worker is idle");
    assert_eq!(
        [l.next_job(), l.next_job(), l.next_job()],
        [Some((a, 1)), Some((b, 2)), None]
    );
}

#[test]
fn task_seconds_integrate_the_live_tasks() {
    let mut l = Loop::new(false);
    let a = l.spawn(body(0), at(0));
    let b = l.spawn(body(1), at(1_000_000_000));
    l.done(a, at(2_000_000_000));
    l.done(b, at(3_000_000_000));
    // a lives 2 s, b 2 s.
    assert!((l.task_seconds(at(4_000_000_000)) - 4.0).abs() < 1e-9);
    assert_eq!(l.iterations(), 0);
}
