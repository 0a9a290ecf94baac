//! Processes, start methods, IPC and pools (engine `kernel/process.rs`), and native
//! code that releases the GIL.
mod common;
use common::*;

/// Processes pay their start cost: spawn is much slower than fork.
#[test]
fn processes_pay_their_start_cost() {
    let mut makespans = Vec::new();
    for method in [
        StartMethod::Fork,
        StartMethod::Forkserver,
        StartMethod::Spawn,
    ] {
        let mut c = machine(2, GilModel::new_gil());
        let (p, i) = c.add_process("child", method, GilModel::new_gil());
        c.add_thread("work", i, vec![Step::py(ms(1))]);
        c.add_thread(
            "main",
            InterpId(0),
            vec![Step::StartProcess(p), Step::JoinProcess(p)],
        );
        let r = run(&c).unwrap();
        let cost = c.costs.start_cost(method);
        let floor = cost.parent + cost.child + ms(1);
        assert!(
            r.makespan >= floor && ratio(r.makespan, floor) < 1.05,
            "{method:?}: {} vs {floor}",
            r.makespan
        );
        makespans.push(r.makespan);
    }
    assert!(
        makespans[0] < makespans[1] && makespans[1] < makespans[2],
        "{makespans:?}"
    );
}

/// CPU-bound work: processes scale with cores, threads do not.
#[test]
fn processes_scale_where_threads_do_not() {
    let work = ms(200);
    let mut c = machine(2, GilModel::new_gil());
    cpu(&mut c, "a", work);
    cpu(&mut c, "b", work);
    let threads = run(&c).unwrap().makespan;
    let mut c = machine(2, GilModel::new_gil());
    let mut steps = Vec::new();
    for name in ["p1", "p2"] {
        let (p, i) = c.add_process(name, StartMethod::Fork, GilModel::new_gil());
        c.add_thread(name, i, vec![Step::py(work)]);
        steps.push(Step::StartProcess(p));
    }
    steps.extend([
        Step::JoinProcess(ProcessId(1)),
        Step::JoinProcess(ProcessId(2)),
    ]);
    c.add_thread("main", InterpId(0), steps);
    let procs = run(&c).unwrap().makespan;
    assert!(ratio(threads, work * 2) >= 0.99, "threads {threads}");
    assert!(ratio(procs, work * 2) <= 0.55, "processes {procs}");
}

/// Native code that releases the GIL scales with cores; GIL-holding native code does not.
#[test]
fn gil_releasing_c_scales_with_cores() {
    for (releases, max_speedup, min_speedup) in [(true, 2.01, 1.9), (false, 1.01, 0.9)] {
        let mut c = machine(2, GilModel::new_gil());
        for i in 0..2 {
            c.add_thread(
                &format!("t{i}"),
                InterpId(0),
                vec![Step::Repeat {
                    times: 100,
                    body: vec![Step::py(us(5)), Step::c(ms(1), releases)],
                }],
            );
        }
        let r = run(&c).unwrap();
        let speedup = ratio(ms(200) + us(1000), r.makespan);
        assert!(
            (min_speedup..max_speedup).contains(&speedup),
            "releases={releases}: {speedup}"
        );
    }
}

/// A main thread maps `n` tasks of `task` Python each over a 4-worker pool of
/// `kind`, with `bytes` = (argument, result) pickled sizes; every task runs once.
fn map_pool(
    c: &mut SimConfig,
    kind: PoolKind,
    n: u32,
    task: SimDuration,
    bytes: (u64, u64),
) -> Report {
    let tasks = (0..n)
        .map(|_| TaskConfig {
            steps: vec![Step::py(task)],
            arg_bytes: bytes.0,
            result_bytes: bytes.1,
        })
        .collect();
    c.pools.push(PoolConfig {
        name: "pool".into(),
        kind,
        workers: 4,
        tasks,
        worker_gil: GilModel::new_gil(),
        options: Default::default(),
    });
    c.add_thread("main", InterpId(0), vec![Step::MapPool(PoolId(0))]);
    let r = run(c).unwrap();
    let done: u64 = r.threads.iter().map(|t| t.tasks).sum();
    assert_eq!(done, u64::from(n), "{kind:?}: every task ran once");
    r
}

/// Thread pool and process pool: all tasks run; processes pay pickling, pipes and
/// start-up, so small tasks favour threads and big CPU-bound tasks favour processes.
#[test]
fn pools_small_tasks_favour_threads_big_tasks_processes() {
    let pool_makespan = |kind: PoolKind, task: SimDuration| {
        let mut c = machine(4, GilModel::new_gil());
        map_pool(&mut c, kind, 40, task, (10_000, 1_000)).makespan
    };
    let small = us(20);
    assert!(
        pool_makespan(PoolKind::Threads, small)
            < pool_makespan(PoolKind::Processes(StartMethod::Fork), small)
    );
    let big = ms(20);
    let threads = pool_makespan(PoolKind::Threads, big);
    let procs = pool_makespan(PoolKind::Processes(StartMethod::Fork), big);
    assert!(ratio(threads, big * 40) >= 0.99, "threads {threads}");
    assert!(ratio(procs, big * 10) < 1.2, "processes {procs}");
}

/// Tiny tasks are paced by the executor, not by the task: a thread pool's
/// per-task bookkeeping (submit, run, collect) is Python under one GIL, so N
/// tasks take at least N × its sum; a process pool's caller pays one message
/// out and one back per task (each `ipc_message` plus pickling).
#[test]
fn tiny_tasks_cost_the_executors_bookkeeping() {
    let n = 500u32;
    let makespan = |kind: PoolKind, overhead: bool| {
        let mut c = machine(4, GilModel::new_gil());
        if !overhead {
            c.costs.executor_submit = SimDuration::ZERO;
            c.costs.executor_run = SimDuration::ZERO;
            c.costs.executor_collect = SimDuration::ZERO;
            c.costs.ipc_message = SimDuration::ZERO;
        }
        let r = map_pool(&mut c, kind, n, SimDuration::ns(100), (64, 64));
        (r.makespan, c.costs)
    };
    // Threads: everything is Python under the caller's GIL.
    let (with, costs) = makespan(PoolKind::Threads, true);
    let (without, _) = makespan(PoolKind::Threads, false);
    let per_task = costs.executor_submit + costs.executor_run + costs.executor_collect;
    let added = with - without;
    assert!(
        added >= per_task * u64::from(n) && ratio(added, per_task * u64::from(n)) < 1.1,
        "threads: {added} added for {n} tasks of {per_task}"
    );
    // Processes: the caller sends and receives one message per task, and sets
    // the pace (a little of it overlaps what the caller waited for anyway).
    let (with, costs) = makespan(PoolKind::Processes(StartMethod::Fork), true);
    let (without, _) = makespan(PoolKind::Processes(StartMethod::Fork), false);
    let caller = costs.ipc_message * 2 * u64::from(n);
    assert!(
        (0.9..1.2).contains(&ratio(with - without, caller)),
        "processes: {} added, the caller's messages {caller}",
        with - without
    );
}

/// IPC queue: pickling costs Python time in the sender and the receiver,
/// proportional to the bytes.
#[test]
fn ipc_queue_costs_pickling_on_both_sides() {
    let mut c = machine(2, GilModel::new_gil());
    c.queues.push(QueueConfig {
        name: "q".into(),
        ipc: true,
    });
    let (p, i) = c.add_process("consumer", StartMethod::Fork, GilModel::new_gil());
    c.add_thread(
        "consumer",
        i,
        vec![Step::Repeat {
            times: 10,
            body: vec![Step::Get(QueueId(0))],
        }],
    );
    c.add_thread(
        "producer",
        InterpId(0),
        vec![
            Step::StartProcess(p),
            Step::Repeat {
                times: 10,
                body: vec![Step::Put {
                    queue: QueueId(0),
                    bytes: 2_000_000,
                }],
            },
            Step::JoinProcess(p),
        ],
    );
    let r = run(&c).unwrap();
    let pickle = c.costs.pickle_time(2_000_000) * 10;
    let child = c.costs.fork.child;
    assert!(ratio(r.thread("producer").unwrap().times.python, pickle) > 0.999);
    assert!(ratio(r.thread("consumer").unwrap().times.python, pickle + child) > 0.999);
}
