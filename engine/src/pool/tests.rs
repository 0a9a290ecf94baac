//! A pool's bookkeeping through its door alone.

use super::*;
use crate::config::{ProcessPoolApi, StartMethod};

fn t(i: u32) -> ThreadId {
    ThreadId(i)
}

fn everyone_waits(_: ThreadId) -> bool {
    true
}

fn opts(chunksize: u32, warm: bool, maps: u32) -> PoolOptions {
    PoolOptions {
        process_api: ProcessPoolApi::MultiprocessingPool,
        chunksize,
        warm,
        maps,
    }
}

#[test]
fn workers_take_tasks_in_delivery_order_then_shut_down_together() {
    let mut p = Pool::new("ex".into(), PoolKind::Threads, 2, PoolOptions::default());
    assert_eq!(p.map(t(0)), Some(MapStart { construct: true }));
    assert_eq!(p.map(t(0)), None, "a second map does nothing");
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
    let mut p = Pool::new("ex".into(), PoolKind::Threads, 2, PoolOptions::default());
    p.map(t(0));
    assert_eq!(p.result_delivered(), Some(t(0)));
    assert!(!p.results_ready());
    p.result_delivered();
    assert!(p.results_ready());
    assert_eq!(p.collect(), None, "results are handed over in memory");
}

#[test]
fn a_process_pool_caller_unpickles_results_one_at_a_time() {
    let fork = PoolKind::Processes(StartMethod::Fork);
    let mut p = Pool::new("mp".into(), fork, 2, PoolOptions::default());
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

/// Tasks go out in chunks of `chunksize`, the last one shorter.
#[test]
fn tasks_are_cut_into_chunks() {
    let fork = PoolKind::Processes(StartMethod::Fork);
    for (tasks, chunksize, chunks, last) in [
        (10, 1, 10, 9..10),
        (10, 3, 4, 9..10),
        (10, 5, 2, 5..10),
        (10, 64, 1, 0..10),
        (0, 4, 0, 0..0),
    ] {
        let p = Pool::new("mp".into(), fork, tasks, opts(chunksize, false, 1));
        assert_eq!(p.chunks(), chunks, "{tasks} tasks by {chunksize}");
        if chunks > 0 {
            assert_eq!(p.chunk_tasks(chunks - 1), last, "{tasks} by {chunksize}");
        }
    }
}

/// A pool serving several maps: only the first constructs it (and none of a
/// warm pool's); between maps idle workers wait, after the last they exit.
#[test]
fn a_reused_pool_waits_between_maps_and_shuts_down_after_the_last() {
    for warm in [false, true] {
        let mut p = Pool::new("ex".into(), PoolKind::Threads, 1, opts(1, warm, 2));
        p.add_worker(t(1), None);
        assert_eq!(p.start_all().len(), usize::from(!warm), "warm: started");
        assert_eq!(p.map(t(0)), Some(MapStart { construct: !warm }));
        p.deliver(0, everyone_waits);
        assert_eq!(p.next_task(), NextTask::Task(0));
        assert_eq!(p.next_task(), NextTask::Wait, "a second map is to come");
        p.wait_for_task(t(1));
        assert!(p.idle_at_shutdown().is_empty());
        p.result_delivered();
        assert!(p.results_ready());
        assert_eq!(p.map(t(0)), Some(MapStart { construct: false }));
        assert!(!p.results_ready(), "a new map's results are not back yet");
        assert_eq!(p.deliver(0, everyone_waits), Some(t(1)));
        assert_eq!(p.next_task(), NextTask::Task(0));
        assert_eq!(p.next_task(), NextTask::Shutdown(vec![]));
        assert_eq!(p.map(t(0)), None, "served its two maps");
    }
}

/// A `ProcessPoolExecutor` starts a worker per submit while none is idle, up
/// to its size; a result makes one idle, and the next submit takes it.
#[test]
fn an_executor_grows_on_demand() {
    let spawn = PoolKind::Processes(StartMethod::Spawn);
    let mut p = Pool::new("ppe".into(), spawn, 4, opts(1, false, 1));
    for i in 1..=2 {
        p.add_worker(t(i), Some(ProcessId(i)));
    }
    p.map(t(0));
    assert_eq!(p.start_on_demand(), Some(0));
    p.result_delivered();
    assert_eq!(p.start_on_demand(), None, "an idle worker takes it");
    assert_eq!(p.start_on_demand(), Some(1));
    assert_eq!(p.start_on_demand(), None, "all started");
    assert!(p.start_all().is_empty());
}

/// A warm pool's last map without tasks wakes its idle workers to exit.
#[test]
fn a_warm_pool_with_nothing_to_do_lets_its_workers_exit() {
    let mut p = Pool::new("ex".into(), PoolKind::Threads, 0, opts(1, true, 1));
    p.add_worker(t(1), None);
    p.wait_for_task(t(1));
    assert!(p.idle_at_shutdown().is_empty(), "not mapped yet");
    p.map(t(0));
    assert_eq!(p.idle_at_shutdown(), vec![t(1)]);
}
