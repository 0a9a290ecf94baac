//! A pool's bookkeeping through its door alone.

use super::*;
use crate::config::StartMethod;

fn t(i: u32) -> ThreadId {
    ThreadId(i)
}

fn everyone_waits(_: ThreadId) -> bool {
    true
}

#[test]
fn workers_take_tasks_in_delivery_order_then_shut_down_together() {
    let mut p = Pool::new("ex".into(), PoolKind::Threads, 2);
    assert!(p.map(t(0)));
    assert!(!p.map(t(0)), "a second map does nothing");
    assert!(!p.task_ready(), "nothing delivered yet");
    assert_eq!(p.next_task(), NextTask::Wait);
    p.wait_for_task(t(1));
    p.wait_for_task(t(2));
    assert_eq!(
        p.deliver(0, |w| w != t(1)),
        Some(t(2)),
        "an idle worker that still waits"
    );
    assert_eq!(p.deliver(1, everyone_waits), None, "nobody idle is left");
    assert_eq!(p.next_task(), NextTask::Task(0));
    assert_eq!(p.next_task(), NextTask::Task(1));
    p.wait_for_task(t(3));
    assert!(p.task_ready(), "all delivered: a worker asking now exits");
    assert_eq!(p.next_task(), NextTask::Shutdown(vec![t(3)]));
}

#[test]
fn a_thread_pool_caller_waits_for_every_result() {
    let mut p = Pool::new("ex".into(), PoolKind::Threads, 2);
    p.map(t(0));
    assert_eq!(p.result_delivered(), Some(t(0)));
    assert!(!p.results_ready());
    p.result_delivered();
    assert!(p.results_ready());
    assert_eq!(p.collect(), None, "results are handed over in memory");
}

#[test]
fn a_process_pool_caller_unpickles_results_one_at_a_time() {
    let mut p = Pool::new("mp".into(), PoolKind::Processes(StartMethod::Fork), 2);
    p.add_worker(t(1), Some(ProcessId(1)));
    assert_eq!(p.worker_processes(), [ProcessId(1)]);
    p.map(t(0));
    p.result_sent(100);
    p.result_sent(200);
    assert!(!p.results_ready(), "sent, not yet through the pipe");
    p.result_delivered();
    assert!(p.results_ready());
    assert_eq!(p.collect(), Some(100));
    assert!(!p.results_ready());
    p.result_delivered();
    assert_eq!(p.collect(), Some(200));
}
