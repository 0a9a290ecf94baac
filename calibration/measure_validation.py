#!/usr/bin/env python3
"""Measure multi-thread outcomes on the real interpreter, for validating gilsim.

    python3 calibration/measure_validation.py [--out FILE | --name NAME] [--quick]
                                              [--only SCENARIO[,SCENARIO...]]

Default output: calibration/measured/<hostname>.json. Stdlib only; ~2-5 minutes.
See calibration/README.md for the JSON schema and the caveats.

Each scenario's docstring states its exact workload so the simulator can reproduce it.
Within a scenario the configurations run round-robin (rep 1 of every config, then rep 2,
...), so slow drifts of the machine's load spread evenly over the configurations. A
sample during which other processes used more than --quiet-threshold cores is "noisy";
configurations with fewer than `reps` quiet samples are re-run (bounded by --budget).

Work sizes that depend on the host's speed (N for ~1 s of countdown, K for ~20 us, the
number of zlib/sha256 buffers) are derived at start-up from a short calibration and are
recorded exactly in each row's "params".
"""

import argparse
import faulthandler
import hashlib
import inspect
import multiprocessing
import pickle
import statistics
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

perf_counter = time.perf_counter
JOIN_TIMEOUT = 120.0


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def join_all(threads, timeout=JOIN_TIMEOUT):
    deadline = perf_counter() + timeout
    for t in threads:
        t.join(max(0.0, deadline - perf_counter()))
    if any(t.is_alive() for t in threads):
        raise RuntimeError("thread did not finish within %.0f s" % timeout)


def join_procs(procs, timeout=JOIN_TIMEOUT):
    deadline = perf_counter() + timeout
    for p in procs:
        p.join(max(0.0, deadline - perf_counter()))
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        p.terminate()
        p.join(5)
        if p.is_alive():
            p.kill()
            p.join(5)
    if alive:
        raise RuntimeError("process did not finish within %.0f s" % timeout)
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise RuntimeError("worker process exit codes %s" % bad)


class Spinners:
    """k CPU-bound threads running _common.spin (`while flag[0]: n += 1`)."""

    def __init__(self, k):
        self.flag = [True]
        self.res = [None] * k
        self.threads = [threading.Thread(target=C.spin, args=(self.flag, self.res, i),
                                         daemon=True, name="spin%d" % i) for i in range(k)]

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.flag[0] = False
        join_all(self.threads, 30.0)

    def iter_per_s(self):
        return sum(n / dt for n, dt in self.res if dt > 0)


def _spin_process(conn):
    """Body of a CPU-bound competitor *process* (fork): the same loop as the CPU-bound
    threads (_common.spin, `while flag[0]: n += 1`), stopped by SIGTERM (a Python signal
    handler clears the flag); sends (iterations, seconds) back."""
    import signal

    flag, out = [True], [None]

    def stop(signum, frame):
        flag[0] = False

    signal.signal(signal.SIGTERM, stop)
    conn.send("ready")
    C.spin(flag, out, 0)
    conn.send(out[0])
    conn.close()


class SpinProcs:
    """k CPU-bound processes (fork start method) running _spin_process."""

    def __init__(self, k):
        fork = multiprocessing.get_context("fork")
        self.pipes = [fork.Pipe(duplex=False) for _ in range(k)]
        self.procs = [fork.Process(target=_spin_process, args=(w,), daemon=True)
                      for (r, w) in self.pipes]
        self.res = [None] * k

    def start(self):
        for p in self.procs:
            p.start()
        for r, w in self.pipes:
            w.close()
            if not r.poll(30) or r.recv() != "ready":
                raise RuntimeError("CPU-bound process did not start")

    def stop(self):
        for p in self.procs:
            if p.is_alive():
                p.terminate()  # SIGTERM -> the handler clears the flag
        for i, (r, w) in enumerate(self.pipes):
            if r.poll(10):
                self.res[i] = r.recv()
            r.close()
        join_procs(self.procs, 30.0)

    def iter_per_s(self):
        return sum(n / dt for n, dt in self.res if dt > 0)


def quantile(values, q):
    """q-th percentile (0-100) of `values`, linear interpolation between order
    statistics ('inclusive' method, as statistics.quantiles(method='inclusive'))."""
    v = sorted(values)
    if len(v) == 1:
        return v[0]
    pos = (len(v) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def run_in_thread(fn, timeout):
    """Run fn() in a new threading.Thread while this (main) thread waits in join();
    re-raise its exception here."""
    err = []

    def body():
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            err.append(e)

    t = threading.Thread(target=body, daemon=True, name="client")
    t.start()
    join_all([t], timeout)
    if err:
        raise err[0]


# ---------------------------------------------------------------------------
# scenarios
# ---------------------------------------------------------------------------


def cpu_split(ctx):
    """Fixed CPU work split over threads or processes.

    Work: countdown(n) = `while n > 0: n -= 1` with a total of N iterations
    (params.n_total, chosen for ~1 s sequential on this host, a multiple of 4),
    split evenly: each of W workers runs countdown(N / W) (params.n_per_worker).
    mode "threads": W threading.Thread started then joined by the main thread,
    which does nothing else (it waits in join). mode "processes": W
    multiprocessing Processes, start method fork, started then joined.
    W in {1, 2, 4}. Metric wall_s: perf_counter from before the first start()
    to after the last join(), i.e. including thread/process start and join.
    Default switch interval (5 ms).
    """
    N = ctx.n_for(1.0, multiple=4)
    fork = multiprocessing.get_context("fork")
    configs = []
    for mode in ("threads", "processes"):
        for w in (1, 2, 4):
            p = {"mode": mode, "workers": w, "n_total": N, "n_per_worker": N // w,
                 "switch_interval_s": sys.getswitchinterval()}
            if mode == "processes":
                p["start_method"] = "fork"
            configs.append(p)

    def run_one(p):
        w, n = p["workers"], p["n_per_worker"]
        t0 = perf_counter()
        if p["mode"] == "threads":
            ts = [threading.Thread(target=C.countdown, args=(n,), daemon=True) for _ in range(w)]
            for t in ts:
                t.start()
            join_all(ts)
        else:
            ps = [fork.Process(target=C.countdown, args=(n,), daemon=True) for _ in range(w)]
            for q in ps:
                q.start()
            join_procs(ps)
        return {"wall_s": perf_counter() - t0}

    return ctx.run("cpu_split", configs, run_one, [("wall_s", "s")], reps=ctx.reps)


def io_next_to_cpu(ctx):
    """An I/O thread's request rate next to CPU-bound threads (the convoy effect).

    Peer: calibration/echo_server.py in another process (not under this GIL), one
    connection per sample, 127.0.0.1 TCP, TCP_NODELAY both ends. Client socket in
    Python blocking mode (no settimeout; kernel SO_RCVTIMEO/SO_SNDTIMEO = 5 s as a
    hang guard), so each sendall/recv is one system call and one GIL release +
    re-acquire. Client = the main thread: 50 warm-up round trips before the CPU
    threads start, then sys.setswitchinterval(params.switch_interval_s), then start C
    CPU threads (params.cpu_threads; each runs `while flag[0]: n += 1`), then loop
    { sendall(b'x'); recv(16); count += 1 } until params.window_s has elapsed (checked
    after each round trip); then stop and join the CPU threads, restore the interval.
    Metric requests_per_s = count / elapsed window. Metric cpu_iter_per_s = sum over
    the CPU threads of (their iterations / their own running time); their running time
    starts when each thread starts (up to a few switch intervals before the client
    window) and ends when they see the stop flag.
    C in {0, 1, 2}; switch interval in {0.1, 1, 5, 20} ms.
    """
    configs = []
    for si in (1e-4, 1e-3, 5e-3, 2e-2):
        for k in (0, 1, 2):
            configs.append({"switch_interval_s": si, "cpu_threads": k,
                            "window_s": ctx.window(1.0), "payload_bytes": 1,
                            "client": "main thread", "peer": "echo_server.py process"})
    server = ctx.server

    def run_one(p):
        sock = server.connect()
        sp = Spinners(p["cpu_threads"])
        old = sys.getswitchinterval()
        try:
            sendall, recv = sock.sendall, sock.recv
            for _ in range(50):
                sendall(b"x")
                if not recv(16):
                    raise RuntimeError("echo server closed the connection")
            sys.setswitchinterval(p["switch_interval_s"])
            sp.start()
            count = 0
            t0 = perf_counter()
            deadline = t0 + p["window_s"]
            while True:
                sendall(b"x")
                if not recv(16):
                    raise RuntimeError("echo server closed the connection")
                count += 1
                now = perf_counter()
                if now >= deadline:
                    break
            elapsed = now - t0
        finally:
            sp.stop()
            sys.setswitchinterval(old)
            sock.close()
        out = {"requests_per_s": count / elapsed}
        if p["cpu_threads"]:
            out["cpu_iter_per_s"] = sp.iter_per_s()
        return out

    return ctx.run("io_next_to_cpu", configs, run_one,
                   [("requests_per_s", "1/s"), ("cpu_iter_per_s", "1/s")], reps=ctx.reps_io)


def sleep_under_contention(ctx):
    """Wake-up overshoot of a sleeping thread under GIL contention.

    The main thread loops { t0 = perf_counter(); time.sleep(0.001); record
    perf_counter() - t0 } for params.window_s, next to C CPU-bound threads
    (`while flag[0]: n += 1`, started before the loop, stopped after), at switch
    interval 5 ms. The duration includes re-acquiring the GIL after the sleep.
    C in {0, 1, 2}. Metric sleep_actual_ms: statistics over the individual sleeps
    pooled from all samples (n = number of sleeps); see p90 for the tail.
    """
    configs = [{"sleep_s": 0.001, "cpu_threads": k, "switch_interval_s": 5e-3,
                "window_s": ctx.window(1.0)} for k in (0, 1, 2)]

    def run_one(p):
        sp = Spinners(p["cpu_threads"])
        old = sys.getswitchinterval()
        durs = []
        sleep, d = time.sleep, p["sleep_s"]
        try:
            sys.setswitchinterval(p["switch_interval_s"])
            sp.start()
            end = perf_counter() + p["window_s"]
            while True:
                t0 = perf_counter()
                sleep(d)
                t1 = perf_counter()
                durs.append((t1 - t0) * 1e3)
                if t1 >= end:
                    break
        finally:
            sp.stop()
            sys.setswitchinterval(old)
        return {"sleep_actual_ms": durs}

    return ctx.run("sleep_under_contention", configs, run_one,
                   [("sleep_actual_ms", "ms")], reps=ctx.reps_io)


def io_threads_scaling(ctx):
    """I/O-bound threads scaling.

    T threads (T in {1, 2, 4, 8}) each loop { time.sleep(0.001); countdown(K);
    ops += 1; stop if perf_counter() >= start + params.window_s }, where
    countdown(K) = `while n > 0: n -= 1` with K = params.work_iters (~20 us on this
    host). All threads start together (threading.Barrier; the start time is taken when
    the last thread arrives); the main thread waits in join(). Default switch interval.
    Metric ops_per_s = total ops of all threads / (last thread's finish - start).
    """
    K = ctx.n_for(20e-6)
    configs = [{"threads": t, "sleep_s": 0.001, "work_iters": K,
                "work_s_nominal": K * ctx.ns_per_iter * 1e-9,
                "window_s": ctx.window(1.0),
                "switch_interval_s": sys.getswitchinterval()} for t in (1, 2, 4, 8)]

    def run_one(p):
        T, k, win, d = p["threads"], p["work_iters"], p["window_s"], p["sleep_s"]
        start = [0.0]
        ops = [0] * T
        ends = [0.0] * T

        def at_start():
            start[0] = perf_counter()

        barrier = threading.Barrier(T, action=at_start, timeout=30)

        def worker(i):
            barrier.wait()
            deadline = start[0] + win
            sleep, countdown = time.sleep, C.countdown
            n = 0
            while True:
                sleep(d)
                countdown(k)
                n += 1
                if perf_counter() >= deadline:
                    break
            ops[i] = n
            ends[i] = perf_counter()

        ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(T)]
        for t in ts:
            t.start()
        join_all(ts, win + 60)
        return {"ops_per_s": sum(ops) / (max(ends) - start[0])}

    return ctx.run("io_threads_scaling", configs, run_one, [("ops_per_s", "1/s")],
                   reps=ctx.reps_io)


def native_in_threads(ctx):
    """GIL-releasing C work (zlib, sha256) vs pure Python, in 1 and 2 threads.

    Fixed total work, split evenly over W threads (W in {1, 2}; the main thread only
    starts and joins them). Work kinds:
      zlib:   params.units calls of zlib.compress(buf, 6), buf = the 4 MiB pseudo-text
              of _common.make_text_data() (same buffer as the profile's
              zlib_bytes_per_sec); zlib releases the GIL around deflate().
      sha256: params.units calls of hashlib.sha256(buf).digest(), buf = the 4 MiB
              random buffer of _common.make_random_data() (OpenSSL; releases the GIL).
      py_countdown: countdown(params.units / W) per thread (pure Python, holds the GIL).
    units is chosen for ~0.8 s single-threaded on this host (even, so the split is
    exact); each thread does units / W of them. Default switch interval.
    Metric wall_s: perf_counter from before the first start() to after the last join().
    """
    text, rnd = ctx.text, ctx.rnd
    zlib_units = max(2, 2 * round(ctx.window(0.8) * ctx.zlib_Bps / len(text) / 2))
    sha_units = max(2, 2 * round(ctx.window(0.8) * ctx.sha_Bps / len(rnd) / 2))
    py_units = ctx.n_for(0.8, multiple=2)
    configs = []
    for kind, units in (("zlib", zlib_units), ("sha256", sha_units),
                        ("py_countdown", py_units)):
        for w in (1, 2):
            p = {"kind": kind, "threads": w, "units": units, "units_per_thread": units // w,
                 "switch_interval_s": sys.getswitchinterval()}
            if kind != "py_countdown":
                p["buffer_bytes"] = C.BUFFER_BYTES
            if kind == "zlib":
                p["zlib_level"] = C.ZLIB_LEVEL
            configs.append(p)

    def z(n):
        for _ in range(n):
            zlib.compress(text, C.ZLIB_LEVEL)

    def h(n):
        for _ in range(n):
            hashlib.sha256(rnd).digest()

    fns = {"zlib": z, "sha256": h, "py_countdown": C.countdown}

    def run_one(p):
        fn, n = fns[p["kind"]], p["units_per_thread"]
        t0 = perf_counter()
        ts = [threading.Thread(target=fn, args=(n,), daemon=True) for _ in range(p["threads"])]
        for t in ts:
            t.start()
        join_all(ts)
        return {"wall_s": perf_counter() - t0}

    return ctx.run("native_in_threads", configs, run_one, [("wall_s", "s")], reps=ctx.reps)


def pool_small_tasks(ctx):
    """Thread pool vs process pool on small and larger tasks.

    pool "thread": `with ThreadPoolExecutor(4) as ex: list(ex.map(f, items))`
      (one future per item; workers are created lazily on submit; the `with` exit
      waits for shutdown).
    pool "process": multiprocessing.get_context("fork").Pool(4);
      pool.map_async(f, items).get(); pool.close(); pool.join(). Pool.map's default
      chunksize = ceil(len(items) / (4 * 4)) -> params.chunksize (tiny: 125 -> 16
      pickled messages each way; countdown: 2).
    pool "process_chunksize1": the same with map_async(f, items, chunksize=1), i.e. one
      pickled task message and one result message per item (like submit() per task).
    tasks "tiny": f = square (return x * x), items = range(2000).
    tasks "countdown": f = countdown_task (countdown(K); return K), 20 items each
      K = params.task_iters (~20 ms of countdown on this host).
    Metric wall_s: from before creating the pool to after it is shut down / joined
    (pool creation and teardown included). Default switch interval.
    """
    K = ctx.n_for(20e-3)
    fork = multiprocessing.get_context("fork")
    tasks = {"tiny": (C.square, list(range(2000))),
             "countdown": (C.countdown_task, [K] * 20)}
    configs = []
    for kind in ("tiny", "countdown"):
        for pool in ("thread", "process", "process_chunksize1"):
            n_items = len(tasks[kind][1])
            p = {"pool": pool, "workers": 4, "tasks": kind, "n_tasks": n_items,
                 "switch_interval_s": sys.getswitchinterval()}
            if kind == "countdown":
                p["task_iters"] = K
            if pool == "process":
                p["start_method"] = "fork"
                cs, extra = divmod(n_items, 4 * 4)
                p["chunksize"] = cs + (1 if extra else 0)
            elif pool == "process_chunksize1":
                p["start_method"] = "fork"
                p["chunksize"] = 1
            configs.append(p)

    def run_one(p):
        f, items = tasks[p["tasks"]]
        t0 = perf_counter()
        if p["pool"] == "thread":
            with ThreadPoolExecutor(4) as ex:
                res = list(ex.map(f, items, timeout=JOIN_TIMEOUT))
        else:
            pool = fork.Pool(4)
            try:
                res = pool.map_async(f, items, chunksize=p["chunksize"]).get(JOIN_TIMEOUT)
                pool.close()
                pool.join()
            except BaseException:
                pool.terminate()
                raise
        dt = perf_counter() - t0
        if len(res) != len(items):
            raise RuntimeError("pool returned %d results" % len(res))
        return {"wall_s": dt}

    return ctx.run("pool_small_tasks", configs, run_one, [("wall_s", "s")], reps=ctx.reps)


def _make_pool(kind, workers):
    """A pool of `kind` ("thread", "pool", "executor"; fork context) and its map."""
    from concurrent.futures import ProcessPoolExecutor
    fork = multiprocessing.get_context("fork")
    if kind == "thread":
        ex = ThreadPoolExecutor(workers)
        return ex, (lambda f, items, cs: list(ex.map(f, items, timeout=JOIN_TIMEOUT))), \
            ex.shutdown
    if kind == "executor":
        ex = ProcessPoolExecutor(workers, mp_context=fork)
        return ex, (lambda f, items, cs: list(ex.map(f, items, timeout=JOIN_TIMEOUT,
                                                     chunksize=cs))), ex.shutdown
    pool = fork.Pool(workers)

    def shut():
        pool.close()
        pool.join()
    return pool, (lambda f, items, cs: pool.map_async(f, items, chunksize=cs)
                  .get(JOIN_TIMEOUT)), shut


def _warm_up(mapper, workers):
    """Every worker of a pool has started and run a task."""
    mapper(C.square, range(4 * workers), 1)


def pool_startup(ctx):
    """Pool start-up: cold pools (constructed on the clock) and warm ones.

    pool "thread": ThreadPoolExecutor(W); map = list(ex.map(f, items)); shutdown =
      ex.shutdown() (chunksize has no effect on a thread pool and is always 1 here).
    pool "pool": multiprocessing.get_context("fork").Pool(W); map =
      pool.map_async(f, items, chunksize=params.chunksize).get(); shutdown = pool.close();
      pool.join().
    pool "executor": concurrent.futures.ProcessPoolExecutor(W, mp_context=fork context);
      map = list(ex.map(f, items, chunksize=params.chunksize)); shutdown = ex.shutdown().
    start "cold": the clock covers construct + map + shutdown; tasks "tiny" =
      square over range(n_tasks) with n_tasks = 4 * W (every worker can get one);
      chunksize 1; W = 1, 2, 4, 8.
    start "warm": the pool is constructed and every worker warmed up (a map of 4 * W
      tiny tasks, chunksize 1) before the clock; the clock covers one map only
      (shutdown after the clock). tasks "tiny" = square over range(n_tasks = 2000);
      tasks "countdown" = countdown_task over [K] * n_tasks (n_tasks = 16, K =
      params.task_iters, ~10 ms of countdown on this host); chunksize 1 and a larger
      one (params.chunksize; pools "pool" and "executor" only); W = 4.
    The tasks' arguments and results are small ints; params arg_bytes and
    result_bytes are their pickled size per task, measured as one list (the
    pickle of a chunk of them, over its length: a chunk's message beyond its
    fixed part).
    Metric wall_s. Default switch interval.
    """
    K = ctx.n_for(10e-3)
    configs = []
    for kind in ("thread", "pool", "executor"):
        for w in (1, 2, 4, 8):
            configs.append({"pool": kind, "start": "cold", "workers": w, "tasks": "tiny",
                            "n_tasks": 4 * w, "chunksize": 1, "start_method": "fork",
                            "switch_interval_s": sys.getswitchinterval()})
    for kind in ("thread", "pool", "executor"):
        for tasks, n, big in (("tiny", 2000, 125), ("countdown", 16, 4)):
            for cs in ((1,) if kind == "thread" else (1, big)):
                p = {"pool": kind, "start": "warm", "workers": 4, "tasks": tasks,
                     "n_tasks": n, "chunksize": cs, "start_method": "fork",
                     "switch_interval_s": sys.getswitchinterval()}
                if tasks == "countdown":
                    p["task_iters"] = K
                configs.append(p)

    def items_of(p):
        if p["tasks"] == "tiny":
            return C.square, list(range(p["n_tasks"]))
        return C.countdown_task, [p["task_iters"]] * p["n_tasks"]

    for p in configs:
        f, items = items_of(p)
        p["arg_bytes"] = round(len(pickle.dumps(items)) / len(items), 2)
        p["result_bytes"] = round(len(pickle.dumps([f(x) for x in items[:64]])) / min(64, len(items)), 2)

    def run_one(p):
        f, items = items_of(p)
        if p["start"] == "cold":
            t0 = perf_counter()
            _, mapper, shut = _make_pool(p["pool"], p["workers"])
            try:
                res = mapper(f, items, p["chunksize"])
            finally:
                shut()
            dt = perf_counter() - t0
        else:
            _, mapper, shut = _make_pool(p["pool"], p["workers"])
            try:
                _warm_up(mapper, p["workers"])
                t0 = perf_counter()
                res = mapper(f, items, p["chunksize"])
                dt = perf_counter() - t0
            finally:
                shut()
        if len(res) != len(items):
            raise RuntimeError("pool returned %d results" % len(res))
        return {"wall_s": dt}

    return ctx.run("pool_startup", configs, run_one, [("wall_s", "s")], reps=ctx.reps)


MSG16 = b"0123456789abcdef"


def _echo_window(si, k_threads):
    """Window for echo_rtt: long enough for >= ~200 round trips where feasible."""
    if k_threads == 0 or si <= 1e-3:
        return 1.0
    if si <= 5e-3:
        return 2.0 if k_threads == 1 else 3.0
    return 5.0 if k_threads == 1 else 6.0


def echo_rtt(ctx):
    """Round-trip latency of an echo client next to CPU-bound threads or processes.

    Peer: calibration/selectors_echo_server.py in another process: one thread, a
    selectors.DefaultSelector (epoll) loop, non-blocking sockets; per request it wakes
    in epoll_wait, recv(4096)s and send()s the bytes back. 127.0.0.1 TCP, TCP_NODELAY
    both ends; one new connection per sample. Client socket in Python blocking mode (no
    settimeout; kernel SO_RCVTIMEO/SO_SNDTIMEO = 5 s as a hang guard), so each
    sendall/recv is one system call with one GIL release + re-acquire.
    One op (params.payload_bytes = 16): t0 = perf_counter(); sendall(16 bytes); recv(16)
    repeated until 16 bytes arrived (in practice one recv); t1 = perf_counter(); RTT =
    t1 - t0.
    Client placement (params.client): "main thread" = the loop runs in the main thread;
    "worker thread" = it runs in a threading.Thread started by the main thread, which
    then waits in join() (blocked, not holding the GIL) -- everything below is done by
    the client thread in both placements.
    Competition: params.cpu_threads C CPU-bound threads of this process (`while flag[0]:
    n += 1`, _common.spin) or params.cpu_processes P CPU-bound processes (fork start
    method, the same loop, stopped by SIGTERM); C in {0, 1, 2}, P in {1, 2}, never both.
    Sequence per sample: start the P processes (main thread, before the client thread
    exists; they spin from then on; the sample waits until each reported "ready");
    connect; client: 50 untimed warm-up round trips, sys.setswitchinterval(
    params.switch_interval_s), start the C threads, then timed round trips until
    params.window_s has elapsed (checked after each op; the window starts right after
    the C threads' start() calls returned); then stop and join threads/processes,
    restore the interval, close. Switch interval in {0.1, 0.5, 1, 5, 20} ms for every
    placement and competition (it is irrelevant for C = 0 and for processes but run
    anyway). Window (params.window_s): 1 s, except next to CPU threads at 5 ms (2 s for
    C = 1, 3 s for C = 2) and 20 ms (5 s / 6 s), to collect >= ~200 ops where feasible
    (at 20 ms next to 2 threads ~75-150 ops per sample are expected).
    Metrics per sample: requests_per_s = ops / (t1 of the last op - window start);
    rtt_p50_ms and rtt_p99_ms = the 50th / 99th percentile of that sample's RTTs (linear
    interpolation, 'inclusive' method); cpu_iter_per_s = sum over the CPU threads or
    processes of (their iterations / their own running time, which starts before the
    window -- warm-up and process start for processes -- and ends at the stop flag).
    Each row's Stats are over samples (the row median of rtt_p99_ms is the median of the
    per-sample p99s); quantile rows also carry "pooled" = the same percentile over all
    ops of the used samples, and every row carries "ops_total" and
    "ops_per_sample_min" / "ops_per_sample_median" of the used samples.
    """
    configs = []
    for client in ("worker thread", "main thread"):
        for si in (1e-4, 5e-4, 1e-3, 5e-3, 2e-2):
            for kt, kp in ((0, 0), (1, 0), (2, 0), (0, 1), (0, 2)):
                configs.append({"client": client, "switch_interval_s": si,
                                "cpu_threads": kt, "cpu_processes": kp,
                                "window_s": ctx.window(_echo_window(si, kt)),
                                "payload_bytes": len(MSG16), "warmup_ops": 50,
                                "peer": "selectors_echo_server.py process"})
    server = C.EchoServer(lifetime_s=3600, script="selectors_echo_server.py")
    pc = perf_counter

    def run_one(p):
        procs = SpinProcs(p["cpu_processes"])
        procs.start()  # before connecting: the forked children must not hold the socket
        sp = Spinners(p["cpu_threads"])
        old = sys.getswitchinterval()
        res = {}
        sock = None

        def client():
            sendall, recv = sock.sendall, sock.recv
            for _ in range(p["warmup_ops"]):
                sendall(MSG16)
                d = recv(16)
                if len(d) < 16:
                    d = C.recv_rest(recv, d, 16)
            sys.setswitchinterval(p["switch_interval_s"])
            sp.start()
            rtts = []
            t_start = pc()
            deadline = t_start + p["window_s"]
            while True:
                t0 = pc()
                sendall(MSG16)
                d = recv(16)
                if len(d) < 16:
                    d = C.recv_rest(recv, d, 16)
                t1 = pc()
                rtts.append(t1 - t0)
                if t1 >= deadline:
                    break
            res["elapsed"] = t1 - t_start
            res["rtts"] = rtts

        try:
            sock = server.connect()
            if p["client"] == "main thread":
                client()
            else:
                run_in_thread(client, p["window_s"] + 60)
        finally:
            sp.stop()
            procs.stop()
            sys.setswitchinterval(old)
            if sock is not None:
                sock.close()
        rtts_ms = [x * 1e3 for x in res["rtts"]]
        out = {"requests_per_s": len(rtts_ms) / res["elapsed"],
               "rtt_p50_ms": quantile(rtts_ms, 50), "rtt_p99_ms": quantile(rtts_ms, 99),
               "_ops": len(rtts_ms), "_rtt_ms": rtts_ms}
        if p["cpu_threads"]:
            out["cpu_iter_per_s"] = sp.iter_per_s()
        if p["cpu_processes"]:
            out["cpu_iter_per_s"] = procs.iter_per_s()
        return out

    try:
        return ctx.run("echo_rtt", configs, run_one,
                       [("requests_per_s", "1/s"), ("rtt_p50_ms", "ms"),
                        ("rtt_p99_ms", "ms"), ("cpu_iter_per_s", "1/s")],
                       reps=ctx.reps_io,
                       pooled={"rtt_p50_ms": ("_rtt_ms", 50), "rtt_p99_ms": ("_rtt_ms", 99)})
    finally:
        server.close()


echo_rtt.guard_s = 3600


def sleep_loop(ctx):
    """Short sleeps of a worker thread next to CPU-bound threads.

    A threading.Thread (the main thread waits in join(), blocked) sets
    sys.setswitchinterval(params.switch_interval_s), starts C CPU-bound threads
    (params.cpu_threads, `while flag[0]: n += 1`), then loops { t0 = perf_counter();
    time.sleep(params.sleep_s = 100e-6); t1 = perf_counter(); record t1 - t0 } until
    params.window_s has elapsed (checked after each sleep; the window starts right after
    the C threads' start()); then the CPU threads are stopped and joined and the interval
    restored. One op = one sleep call, wall time around it (includes the timer's
    overshoot and re-acquiring the GIL). C in {0, 1, 2}; switch interval 5 ms and 1 ms;
    window 1 s for C = 0, 2 s otherwise.
    Metrics per sample: ops_per_s = ops / (t1 of the last op - window start);
    sleep_p50_ms, sleep_p99_ms = percentiles of that sample's op durations (linear
    interpolation, 'inclusive'); cpu_iter_per_s as in echo_rtt. Row Stats are over
    samples; quantile rows also carry "pooled" (over all ops of the used samples),
    and rows carry ops_total / ops_per_sample_min / ops_per_sample_median.
    """
    configs = [{"client": "worker thread", "sleep_s": 100e-6, "cpu_threads": k,
                "switch_interval_s": si, "window_s": ctx.window(1.0 if k == 0 else 2.0)}
               for si in (5e-3, 1e-3) for k in (0, 1, 2)]
    pc = perf_counter

    def run_one(p):
        sp = Spinners(p["cpu_threads"])
        old = sys.getswitchinterval()
        res = {}

        def loop():
            sleep, d = time.sleep, p["sleep_s"]
            sys.setswitchinterval(p["switch_interval_s"])
            sp.start()
            durs = []
            t_start = pc()
            deadline = t_start + p["window_s"]
            while True:
                t0 = pc()
                sleep(d)
                t1 = pc()
                durs.append(t1 - t0)
                if t1 >= deadline:
                    break
            res["elapsed"] = t1 - t_start
            res["durs"] = durs

        try:
            run_in_thread(loop, p["window_s"] + 60)
        finally:
            sp.stop()
            sys.setswitchinterval(old)
        ms = [x * 1e3 for x in res["durs"]]
        out = {"ops_per_s": len(ms) / res["elapsed"], "sleep_p50_ms": quantile(ms, 50),
               "sleep_p99_ms": quantile(ms, 99), "_ops": len(ms), "_ms": ms}
        if p["cpu_threads"]:
            out["cpu_iter_per_s"] = sp.iter_per_s()
        return out

    return ctx.run("sleep_loop", configs, run_one,
                   [("ops_per_s", "1/s"), ("sleep_p50_ms", "ms"), ("sleep_p99_ms", "ms"),
                    ("cpu_iter_per_s", "1/s")], reps=ctx.reps_io,
                   pooled={"sleep_p50_ms": ("_ms", 50), "sleep_p99_ms": ("_ms", 99)})


def zlib_py_cycle(ctx):
    """A thread alternating ~1 ms of GIL-releasing zlib with ~1 ms of pure Python.

    A threading.Thread (the main thread waits in join(), blocked) sets
    sys.setswitchinterval(params.switch_interval_s), starts C CPU-bound threads
    (params.cpu_threads, `while flag[0]: n += 1`), then loops, until params.window_s has
    elapsed (checked after each cycle; the window starts right after the C threads'
    start()): { t0 = perf_counter(); zlib.compress(buf, 6); t1 = perf_counter();
    countdown(K); t2 = perf_counter() }. buf = the first params.zlib_bytes bytes of the
    4 MiB pseudo-text of _common.make_text_data() (sized at start-up for ~1 ms of
    compress on this host: the median of 7 compress timings of a 64 KiB prefix, scaled,
    rounded to 1 KiB; params.zlib_s_nominal). zlib.compress runs deflateInit2 and the
    output-buffer set-up with the GIL held and releases the GIL around each deflate()
    call (one or two calls for this size). countdown(K) = `while n > 0: n -= 1`, K =
    params.work_iters (~1 ms at the main-thread loop speed measured at start-up;
    params.work_s_nominal). One cycle = t2 - t0. C in {0, 1} (C = 0 is the baseline, also
    in a worker thread); switch interval 5 ms and 1 ms; window 2 s.
    Metrics per sample: cycles_per_s = cycles / (t2 of the last cycle - window start);
    cycle_p50_ms, cycle_p99_ms = percentiles of that sample's cycle times (linear
    interpolation, 'inclusive'); zlib_part_p50_ms (t1 - t0) and py_part_p50_ms (t2 - t1)
    likewise; cpu_iter_per_s as in echo_rtt. Row Stats are over samples; quantile rows
    also carry "pooled" over all cycles of the used samples, and ops_total /
    ops_per_sample_min / ops_per_sample_median (ops = cycles).
    """
    text = ctx.text
    probe = text[:65536]
    zlib.compress(probe, C.ZLIB_LEVEL)
    ts = []
    for _ in range(7):
        t0 = perf_counter()
        zlib.compress(probe, C.ZLIB_LEVEL)
        ts.append(perf_counter() - t0)
    per_byte = statistics.median(ts) / len(probe)
    nbytes = max(1024, min(len(text), int(round(1e-3 / per_byte / 1024)) * 1024))
    buf = text[:nbytes]
    K = ctx.n_for(1e-3)
    configs = [{"client": "worker thread", "cpu_threads": k, "switch_interval_s": si,
                "window_s": ctx.window(2.0), "zlib_bytes": nbytes, "zlib_level": C.ZLIB_LEVEL,
                "zlib_s_nominal": nbytes * per_byte, "work_iters": K,
                "work_s_nominal": K * ctx.ns_per_iter * 1e-9}
               for si in (5e-3, 1e-3) for k in (0, 1)]
    pc = perf_counter

    def run_one(p):
        sp = Spinners(p["cpu_threads"])
        old = sys.getswitchinterval()
        res = {}

        def loop():
            compress, countdown, lvl, k = zlib.compress, C.countdown, C.ZLIB_LEVEL, K
            sys.setswitchinterval(p["switch_interval_s"])
            sp.start()
            cyc, zp, pp = [], [], []
            t_start = pc()
            deadline = t_start + p["window_s"]
            while True:
                t0 = pc()
                compress(buf, lvl)
                t1 = pc()
                countdown(k)
                t2 = pc()
                cyc.append(t2 - t0)
                zp.append(t1 - t0)
                pp.append(t2 - t1)
                if t2 >= deadline:
                    break
            res.update(elapsed=t2 - t_start, cyc=cyc, zp=zp, pp=pp)

        try:
            run_in_thread(loop, p["window_s"] + 60)
        finally:
            sp.stop()
            sys.setswitchinterval(old)
        ms = [x * 1e3 for x in res["cyc"]]
        out = {"cycles_per_s": len(ms) / res["elapsed"], "cycle_p50_ms": quantile(ms, 50),
               "cycle_p99_ms": quantile(ms, 99),
               "zlib_part_p50_ms": quantile([x * 1e3 for x in res["zp"]], 50),
               "py_part_p50_ms": quantile([x * 1e3 for x in res["pp"]], 50),
               "_ops": len(ms), "_ms": ms}
        if p["cpu_threads"]:
            out["cpu_iter_per_s"] = sp.iter_per_s()
        return out

    return ctx.run("zlib_py_cycle", configs, run_one,
                   [("cycles_per_s", "1/s"), ("cycle_p50_ms", "ms"), ("cycle_p99_ms", "ms"),
                    ("zlib_part_p50_ms", "ms"), ("py_part_p50_ms", "ms"),
                    ("cpu_iter_per_s", "1/s")], reps=ctx.reps_io,
                   pooled={"cycle_p50_ms": ("_ms", 50), "cycle_p99_ms": ("_ms", 99)})


def _server_cpu_ns(pid):
    """CPU time of the (single-threaded) process `pid` so far, in ns (schedstat)."""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def echo_clients(ctx):
    """K client threads against one single-threaded echo server process (gilsim issue 13).

    Peer: calibration/selectors_echo_server.py in another process (as in echo_rtt): one
    thread, a selectors (epoll) loop; per readable connection it recv(4096)s and send()s
    the bytes back. 127.0.0.1 TCP, TCP_NODELAY both ends, Python blocking-mode client
    sockets (one system call per sendall/recv).
    Clients: params.clients K threads of this process (K in 1, 2, 4, 8, 16, 32, 64), each
    with its own connection (all connected one after another before the threads start),
    each doing params.warmup_ops untimed round trips, then waiting on a barrier, then
    timed round trips (t0 = perf_counter(); sendall(16 bytes); recv(16) until 16 bytes;
    t1) until params.window_s has passed since the barrier (checked after each op). The
    main thread waits in join(). Default switch interval (5 ms).
    Metrics per sample: requests_per_s = all clients' ops / window_s (the window is
    the same for every client: from the barrier to the deadline; ops that end past the
    deadline are not counted); rtt_p50_ms = the median RTT over all clients' ops;
    server_cpu_us_per_request = the server process's CPU time (/proc/PID/schedstat)
    during the window / requests; client_cpu_us_per_request = this process's CPU time
    (time.process_time(), all its threads) during the window / requests.
    """
    configs = [{"clients": k, "window_s": ctx.window(2.0), "payload_bytes": len(MSG16),
                "warmup_ops": 50, "peer": "selectors_echo_server.py process"}
               for k in (1, 2, 4, 8, 16, 32, 64)]
    server = C.EchoServer(lifetime_s=3600, script="selectors_echo_server.py")
    pc = perf_counter

    def run_one(p):
        k = p["clients"]
        socks = [server.connect() for _ in range(k)]
        barrier = threading.Barrier(k + 1)
        results = [None] * k
        window = {}

        def client(i):
            sock = socks[i]
            sendall, recv = sock.sendall, sock.recv
            for _ in range(p["warmup_ops"]):
                sendall(MSG16)
                d = recv(16)
                if len(d) < 16:
                    C.recv_rest(recv, d, 16)
            barrier.wait()
            deadline = window["end"]
            rtts = []
            while True:
                t0 = pc()
                sendall(MSG16)
                d = recv(16)
                if len(d) < 16:
                    C.recv_rest(recv, d, 16)
                t1 = pc()
                if t1 > deadline:
                    break
                rtts.append(t1 - t0)
            results[i] = rtts

        threads = [threading.Thread(target=client, args=(i,)) for i in range(k)]
        try:
            for t in threads:
                t.start()
            cpu0, own0 = _server_cpu_ns(server.proc.pid), time.process_time()
            window["end"] = pc() + p["window_s"]
            barrier.wait()
            join_all(threads, p["window_s"] + 60)
            cpu1, own1 = _server_cpu_ns(server.proc.pid), time.process_time()
        finally:
            for sock in socks:
                sock.close()
        rtts_ms = [x * 1e3 for r in results for x in r]
        n = len(rtts_ms)
        return {"requests_per_s": n / p["window_s"], "rtt_p50_ms": quantile(rtts_ms, 50),
                "server_cpu_us_per_request": (cpu1 - cpu0) / 1e3 / max(1, n),
                "client_cpu_us_per_request": (own1 - own0) * 1e6 / max(1, n), "_ops": n}

    try:
        return ctx.run("echo_clients", configs, run_one,
                       [("requests_per_s", "1/s"), ("rtt_p50_ms", "ms"),
                        ("server_cpu_us_per_request", "us"),
                        ("client_cpu_us_per_request", "us")], reps=ctx.reps_io)
    finally:
        server.close()


SCENARIOS = [cpu_split, io_next_to_cpu, sleep_under_contention, io_threads_scaling,
             native_in_threads, pool_small_tasks, echo_rtt, sleep_loop, zlib_py_cycle,
             echo_clients, pool_startup]


# ---------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------


class Ctx:
    def __init__(self, args, t_start):
        self.args = args
        self.t_start = t_start
        self.quick = args.quick
        self.reps = 1 if args.quick else args.reps
        self.reps_io = 1 if args.quick else args.reps_io
        self.extra = 0 if args.quick else 2
        self.thr = args.quiet_threshold
        self.server = None

    def window(self, s):
        return s / 5 if self.quick else s

    def n_for(self, seconds, multiple=1):
        n = max(1, round(seconds / (self.ns_per_iter * 1e-9)))
        if self.quick and seconds > 0.05:
            n //= 5
        return max(multiple, n - n % multiple)

    def time_left(self):
        return self.args.budget - (perf_counter() - self.t_start)

    def run(self, scenario, configs, run_one, metrics, reps, pooled=None):
        """Collect samples and make rows. `pooled` = {metric: (values key, percentile)}:
        such rows also get "pooled" = that percentile over the per-op values (list under
        the values key) of all used samples. If samples carry "_ops" (ops per sample),
        every row gets ops_total / ops_per_sample_min / ops_per_sample_median. Keys
        starting with "_" are never metrics."""
        samples = C.collect(configs, run_one, reps, self.extra, self.thr, self.time_left, C.log)
        rows = []
        for i, p in enumerate(configs):
            used, _ = C.select_samples(samples[i], reps)
            ops = [s.values["_ops"] for s in used if "_ops" in s.values]
            for metric, unit in metrics:
                if not any(metric in s.values for s in samples[i]):
                    continue
                st = C.stats_from_samples(samples[i], reps, metric, unit)
                row = {"scenario": scenario, "params": p, "metric": metric, "unit": unit}
                row.update(st)
                if ops:
                    row.update(ops_total=sum(ops), ops_per_sample_min=min(ops),
                               ops_per_sample_median=statistics.median(ops))
                if pooled and metric in pooled:
                    key, q = pooled[metric]
                    allv = [x for s in used for x in s.values.get(key, ())]
                    row["pooled"] = quantile(allv, q) if allv else None
                rows.append(row)
                C.log("  %-22s %-60s %s" % (metric, short(p), C.fmt_stats(st)))
            for s in samples[i]:  # drop per-op lists (memory)
                for k in [k for k in s.values if k.startswith("_") and k != "_ops"]:
                    del s.values[k]
        return rows


def short(p):
    skip = {"peer", "payload_bytes", "buffer_bytes", "zlib_level", "start_method",
            "n_total", "work_s_nominal", "units_per_thread", "sleep_s", "warmup_ops",
            "zlib_s_nominal", "zlib_bytes", "work_iters"}
    return " ".join("%s=%s" % (k, v) for k, v in p.items() if k not in skip)


def calibrate(ctx):
    """Short single-thread calibration used to size the workloads."""
    C.countdown(200000)
    n = 2_000_000
    vals = []
    for _ in range(5):
        t0 = perf_counter()
        C.countdown(n)
        vals.append((perf_counter() - t0) / n * 1e9)
    ctx.ns_per_iter = statistics.median(vals)
    ctx.text = C.make_text_data()
    ctx.rnd = C.make_random_data()
    zl = []
    for _ in range(2):
        t0 = perf_counter()
        zlib.compress(ctx.text, C.ZLIB_LEVEL)
        zl.append(len(ctx.text) / (perf_counter() - t0))
    ctx.zlib_Bps = max(zl)
    sh = []
    for _ in range(5):
        t0 = perf_counter()
        hashlib.sha256(ctx.rnd).digest()
        sh.append(len(ctx.rnd) / (perf_counter() - t0))
    ctx.sha_Bps = statistics.median(sh)
    return {"py_loop_ns_per_iter": ctx.ns_per_iter, "zlib_bytes_per_sec": ctx.zlib_Bps,
            "sha256_bytes_per_sec": ctx.sha_Bps,
            "method": "median of 5 x countdown(2000000); best of 2 zlib.compress; "
                      "median of 5 sha256 (4 MiB buffers); used only to size workloads"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="output file (default calibration/measured/<name>.json)")
    ap.add_argument("--name", help="name (default: hostname)")
    ap.add_argument("--only", help="comma-separated scenario names to run")
    ap.add_argument("--max-wait", type=float, default=30.0,
                    help="seconds to wait for a quiet machine at start (default 30)")
    ap.add_argument("--max-wait-each", type=float, default=5.0,
                    help="seconds to wait for a quiet machine before each scenario (default 5)")
    ap.add_argument("--quiet-threshold", type=float, default=0.2,
                    help="max cores used by other processes to count as quiet (default 0.2)")
    ap.add_argument("--reps", type=int, default=5,
                    help="samples per config, short scenarios (default 5)")
    ap.add_argument("--reps-io", type=int, default=5,
                    help="samples per config, windowed scenarios (default 5)")
    ap.add_argument("--budget", type=float, default=270.0,
                    help="no retries of noisy samples after this many seconds (default 270)")
    ap.add_argument("--sample-wait", type=float, default=0.0,
                    help="before a sample that follows a noisy one, wait up to S s for a "
                         "quiet moment (default 0 = off)")
    ap.add_argument("--sample-wait-total", type=float, default=300.0,
                    help="stop such waits once they add up to S s (default 300)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 1 sample per config, 1/5 windows and work, no waiting")
    args = ap.parse_args()
    C.SAMPLE_WAIT["max_s"] = 0.0 if args.quick else args.sample_wait
    C.SAMPLE_WAIT["total_max_s"] = args.sample_wait_total

    t_start = perf_counter()
    faulthandler.dump_traceback_later(3600, exit=True)  # last-resort hang guard
    info = C.host_info()
    name = args.name or info["hostname"]
    out_path = Path(args.out) if args.out else C.HERE / "measured" / ("%s.json" % name)
    scen = SCENARIOS
    if args.only:
        want = set(args.only.split(","))
        unknown = want - {f.__name__ for f in SCENARIOS}
        if unknown:
            ap.error("unknown scenario(s): %s" % ", ".join(sorted(unknown)))
        scen = [f for f in SCENARIOS if f.__name__ in want]

    ctx = Ctx(args, t_start)
    C.log("gilsim validation '%s' -> %s" % (name, out_path))
    start_cond = C.wait_for_quiet(0.0 if args.quick else args.max_wait, ctx.thr, C.log)
    C.log("  start: " + C.fmt_cond(start_cond))
    calib = calibrate(ctx)
    C.log("  calibration: %.2f ns/iter, zlib %.1f MB/s, sha256 %.0f MB/s"
          % (ctx.ns_per_iter, ctx.zlib_Bps / 1e6, ctx.sha_Bps / 1e6))

    rows = []
    per_scenario = {}
    ctx.server = C.EchoServer(lifetime_s=1800)
    try:
        for f in scen:
            faulthandler.dump_traceback_later(getattr(f, "guard_s", 600), exit=True)
            C.log("%s:" % f.__name__)
            cond = C.wait_for_quiet(0.0 if args.quick else args.max_wait_each, ctx.thr)
            C.log("  before: " + C.fmt_cond(cond))
            t0 = perf_counter()
            r = f(ctx)
            rows.extend(r)
            per_scenario[f.__name__] = {"duration_s": perf_counter() - t0, "before": cond,
                                        "rows": len(r), "all_quiet": all(x["quiet"] for x in r)}
            C.log("  (%.1f s)" % (perf_counter() - t0))
    finally:
        ctx.server.close()
    faulthandler.dump_traceback_later(120, exit=True)

    end_cond = C.conditions_now()
    end_cond["quiet"] = C.is_quiet(end_cond, ctx.thr)
    duration = perf_counter() - t_start
    doc = {
        "schema": C.SCHEMA_MEASURED,
        "name": name,
        "quick": args.quick,
        "host": info,
        "cpu_count": info["cpu_count"],
        "conditions": {
            "quiet_threshold_cores": ctx.thr,
            "all_quiet": all(x["quiet"] for x in rows),
            "start": start_cond,
            "end": end_cond,
            "per_scenario": per_scenario,
            "speed_probe_ns_per_iter": C.summarize(C.PROBES, "ns"),
            "sample_wait": {k: C.SAMPLE_WAIT[k]
                            for k in ("max_s", "total_max_s", "waited_s", "waits")},
        },
        "sizing": calib,
        "reps": ctx.reps,
        "reps_io": ctx.reps_io,
        "scenarios": {f.__name__: inspect.cleandoc(f.__doc__) for f in scen},
        "rows": rows,
        "duration_s": duration,
    }
    p = C.write_json(out_path, doc)
    C.log("wrote %s: %d rows in %.1f s (all quiet: %s)"
          % (p, len(rows), duration, doc["conditions"]["all_quiet"]))
    faulthandler.cancel_dump_traceback_later()


if __name__ == "__main__":
    main()
