//! Pool start-up (engine `kernel/process.rs`, `pool.rs`): executor
//! construction, a fork whose cost grows with the parent's resident memory,
//! `ProcessPoolExecutor` starting workers on demand against
//! `multiprocessing.Pool` starting them all, `chunksize`, warm and reused pools.
mod common;
use common::*;

const FORK: PoolKind = PoolKind::Processes(StartMethod::Fork);
const SPAWN: PoolKind = PoolKind::Processes(StartMethod::Spawn);
const MIB: u64 = 1 << 20;

/// `n` tasks of `task` Python each, `bytes` pickled each way.
fn tasks(n: u32, task: SimDuration, bytes: u64) -> Vec<TaskConfig> {
    (0..n)
        .map(|_| TaskConfig {
            steps: vec![Step::py(task)],
            arg_bytes: bytes,
            result_bytes: bytes,
        })
        .collect()
}

/// A pool of `kind` with `workers`, `options` and `tasks`, mapped `maps`
/// times by the main thread (after `before` of Python).
fn pool_run(
    c: &mut SimConfig,
    kind: PoolKind,
    workers: u32,
    options: PoolOptions,
    tasks: Vec<TaskConfig>,
    maps: usize,
) -> Report {
    c.pools.push(PoolConfig {
        name: "pool".into(),
        kind,
        workers,
        tasks,
        worker_gil: GilModel::new_gil(),
        options,
    });
    c.add_thread("main", InterpId(0), vec![Step::MapPool(PoolId(0)); maps]);
    run(c).unwrap()
}

fn options(api: ProcessPoolApi, chunksize: u32, warm: bool, maps: u32) -> PoolOptions {
    PoolOptions {
        process_api: api,
        chunksize,
        warm,
        maps,
    }
}

/// Worker threads of the report that ever started.
fn started_workers(r: &Report) -> usize {
    r.threads
        .iter()
        .filter(|t| t.name.starts_with("pool-worker") && t.started.is_some())
        .count()
}

/// The parent's side of a fork copies the page tables of its resident
/// memory: start + join of a child from a parent of each size costs the
/// base fork plus `fork_per_gib` per GiB; spawn does not copy them.
#[test]
fn fork_cost_grows_with_the_parents_resident_memory() {
    let per_gib = ms(4);
    for (method, rss_mib, extra) in [
        (StartMethod::Fork, 0, SimDuration::ZERO),
        (StartMethod::Fork, 256, ms(1)),
        (StartMethod::Fork, 1024, ms(4)),
        (StartMethod::Fork, 4096, ms(16)),
        (StartMethod::Spawn, 1024, SimDuration::ZERO),
        (StartMethod::Forkserver, 1024, SimDuration::ZERO),
    ] {
        let mut c = machine(2, GilModel::new_gil());
        c.costs.fork_per_gib = per_gib;
        c.processes[0].rss_bytes = rss_mib * MIB;
        let (p, i) = c.add_process("child", method, GilModel::new_gil());
        c.add_thread("work", i, vec![Step::py(ms(1))]);
        let main = c.add_thread(
            "main",
            InterpId(0),
            vec![Step::StartProcess(p), Step::JoinProcess(p)],
        );
        let r = run(&c).unwrap();
        let cost = c.costs.start_cost(method);
        assert_eq!(
            c.costs.parent_start(method, rss_mib * MIB),
            cost.parent + extra
        );
        let floor = cost.parent + extra + cost.child + ms(1);
        assert!(
            r.makespan >= floor && ratio(r.makespan, floor) < 1.05,
            "{method:?} from {rss_mib} MiB: {} vs {floor}",
            r.makespan
        );
        // The parent holds its GIL through the fork: native time in main.
        let held = r.threads[main.index()].times.native_holding_gil;
        assert_eq!(held, cost.parent + extra, "{method:?} {rss_mib} MiB");
    }
}

/// A pool's workers are forked by the caller's process: the bigger it is,
/// the later the pool starts.
#[test]
fn a_big_parent_starts_its_pool_later() {
    let makespan = |rss_mib: u64| {
        let mut c = machine(4, GilModel::new_gil());
        c.costs.fork_per_gib = ms(4);
        c.processes[0].rss_bytes = rss_mib * MIB;
        let o = options(ProcessPoolApi::MultiprocessingPool, 1, false, 1);
        pool_run(&mut c, FORK, 4, o, tasks(4, ms(1), 64), 1).makespan
    };
    let (small, big) = (makespan(0), makespan(1024));
    // Four forks, each 4 ms longer, one after the other in the caller.
    let added = big - small;
    assert!(
        added >= ms(15) && added <= ms(17),
        "4 forks from 1 GiB added {added}"
    );
}

/// Constructing the executor is Python in the caller before any worker
/// starts; a warm pool (started before the run) pays neither construction
/// nor start-up, for every kind of pool.
#[test]
fn a_warm_pool_pays_no_start_up() {
    use ProcessPoolApi::*;
    for (kind, api) in [
        (PoolKind::Threads, MultiprocessingPool),
        (FORK, MultiprocessingPool),
        (FORK, Executor),
        (SPAWN, Executor),
    ] {
        let run_one = |warm: bool| {
            let mut c = machine(8, GilModel::new_gil());
            c.costs.thread_executor_construct = ms(1);
            c.costs.process_executor_construct = ms(2);
            c.costs.pool_construct = ms(3);
            let o = options(api, 1, warm, 1);
            let r = pool_run(&mut c, kind, 4, o, tasks(8, ms(1), 64), 1);
            let main = r.thread("main").unwrap().clone();
            (r.makespan, main, c.costs)
        };
        let (cold, cold_main, costs) = run_one(false);
        let (warm, warm_main, _) = run_one(true);
        let construct = match (kind, api) {
            (PoolKind::Threads, _) => costs.thread_executor_construct,
            (_, MultiprocessingPool) => costs.pool_construct,
            (_, Executor) => costs.process_executor_construct,
        };
        let what = format!("{kind:?} {api:?}");
        assert_eq!(
            cold_main.times.python - warm_main.times.python,
            construct,
            "{what}: construction is the caller's Python"
        );
        assert!(
            warm_main.times.native_holding_gil.0 == 0,
            "{what}: a warm pool starts no worker"
        );
        assert!(
            cold_main.times.native_holding_gil.0 > 0,
            "{what}: a cold pool starts its workers"
        );
        // 8 tasks of 1 ms on 4 workers and 8 cores: 2 ms of work in
        // processes, 8 ms under one GIL in threads, plus the bookkeeping.
        let work = if kind == PoolKind::Threads {
            ms(8)
        } else {
            ms(2)
        };
        assert!(
            warm >= work && warm < work + ms(1),
            "{what}: warm pool ran in {warm}"
        );
        assert!(cold > warm + construct, "{what}: cold {cold}, warm {warm}");
    }
}

/// `multiprocessing.Pool` starts every worker in its constructor; a
/// `ProcessPoolExecutor` starts them at its first submit: all of them with
/// `fork`, else one per submit while none is idle, up to `max_workers`.
#[test]
fn an_executor_starts_workers_on_demand_a_pool_all_at_construction() {
    use ProcessPoolApi::*;
    for (kind, api, n_tasks, started) in [
        (FORK, MultiprocessingPool, 1, 4),
        (SPAWN, MultiprocessingPool, 1, 4),
        (FORK, Executor, 1, 4),
        (SPAWN, Executor, 1, 1),
        (SPAWN, Executor, 2, 2),
        (SPAWN, Executor, 16, 4),
        (FORK, Executor, 0, 0),
        (FORK, MultiprocessingPool, 0, 4),
    ] {
        let mut c = machine(8, GilModel::new_gil());
        let o = options(api, 1, false, 1);
        let r = pool_run(&mut c, kind, 4, o, tasks(n_tasks, us(10), 64), 1);
        assert_eq!(
            started_workers(&r),
            started,
            "{kind:?} {api:?} with {n_tasks} tasks"
        );
        let done: u64 = r.threads.iter().map(|t| t.tasks).sum();
        assert_eq!(
            done,
            u64::from(n_tasks),
            "{kind:?} {api:?}: every task ran once"
        );
    }
}

/// The executor's first submit also starts its management thread: the
/// caller's native time is each fork's parent side plus one thread start.
#[test]
fn an_executor_starts_its_management_thread_at_the_first_submit() {
    let mut c = machine(8, GilModel::new_gil());
    let o = options(ProcessPoolApi::Executor, 1, false, 1);
    let r = pool_run(&mut c, FORK, 3, o, tasks(3, us(10), 64), 1);
    let held = r.thread("main").unwrap().times.native_holding_gil;
    assert_eq!(held, c.costs.fork.parent * 3 + c.costs.thread_start);
}

/// With `chunksize` k, `n` tasks travel in ceil(n / k) messages each way:
/// the caller's Python is one message out and one back per chunk.
#[test]
fn chunksize_reduces_messages() {
    use ProcessPoolApi::*;
    let n = 100u32;
    for (api, chunksize) in [
        (MultiprocessingPool, 1),
        (MultiprocessingPool, 7),
        (MultiprocessingPool, 25),
        (MultiprocessingPool, 100),
        (Executor, 10),
    ] {
        let mut c = machine(4, GilModel::new_gil());
        c.costs.ipc_message = us(20);
        c.costs.executor_submit = SimDuration::ZERO;
        c.costs.executor_collect = SimDuration::ZERO;
        let o = options(api, chunksize, true, 1);
        // No pickled bytes: a message costs `ipc_message` at each end.
        let r = pool_run(&mut c, FORK, 4, o, tasks(n, us(50), 0), 1);
        let chunks = u64::from(n.div_ceil(chunksize));
        let caller = r.thread("main").unwrap().times.python;
        assert_eq!(
            caller,
            c.costs.ipc_message * 2 * chunks,
            "{api:?} by {chunksize}"
        );
        let workers: SimDuration = r
            .threads
            .iter()
            .filter(|t| t.name.starts_with("pool-worker"))
            .fold(SimDuration::ZERO, |a, t| a + t.times.python);
        assert_eq!(
            workers,
            us(50) * u64::from(n) + c.costs.ipc_message * 2 * chunks,
            "{api:?} by {chunksize}: the tasks plus a message in and out per chunk"
        );
        let done: u64 = r.threads.iter().map(|t| t.tasks).sum();
        assert_eq!(done, u64::from(n), "every task ran once");
    }
}

/// A pool reused across maps is constructed and started once; its workers
/// wait between maps and exit after the last one. A map beyond `maps` does
/// nothing.
#[test]
fn a_reused_pool_starts_once() {
    for (kind, maps, mapped) in [
        (PoolKind::Threads, 3, 3),
        (FORK, 3, 3),
        (FORK, 2, 3),
        (SPAWN, 1, 1),
    ] {
        let mut c = machine(4, GilModel::new_gil());
        c.costs.pool_construct = ms(1);
        c.costs.thread_executor_construct = ms(1);
        let o = options(ProcessPoolApi::MultiprocessingPool, 1, false, maps);
        let r = pool_run(&mut c, kind, 2, o, tasks(4, us(100), 64), mapped);
        let main = r.thread("main").unwrap();
        let done: u64 = r.threads.iter().map(|t| t.tasks).sum();
        assert_eq!(done, 4 * u64::from(maps.min(mapped as u32)), "{kind:?}");
        let starts = match kind {
            PoolKind::Threads => c.costs.thread_start * 2,
            PoolKind::Processes(m) => c.costs.start_cost(m).parent * 2,
        };
        assert_eq!(
            main.times.native_holding_gil, starts,
            "{kind:?}: the workers start once"
        );
        assert!(
            r.threads.iter().all(|t| t.finished.is_some()),
            "{kind:?}: every worker exits after the last map"
        );
    }
}

/// Bad pool options are refused, naming the field and what is allowed.
#[test]
fn bad_pool_options_are_refused() {
    for (kind, o, want) in [
        (
            FORK,
            options(ProcessPoolApi::Executor, 0, false, 1),
            "options.chunksize",
        ),
        (
            FORK,
            options(ProcessPoolApi::Executor, 1, false, 0),
            "options.maps",
        ),
        (
            PoolKind::Threads,
            options(ProcessPoolApi::MultiprocessingPool, 4, false, 1),
            "ThreadPoolExecutor.map ignores chunksize",
        ),
    ] {
        let mut c = machine(2, GilModel::new_gil());
        c.pools.push(PoolConfig {
            name: "pool".into(),
            kind,
            workers: 2,
            tasks: tasks(2, us(10), 0),
            worker_gil: GilModel::new_gil(),
            options: o,
        });
        c.add_thread("main", InterpId(0), vec![Step::MapPool(PoolId(0))]);
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
}
