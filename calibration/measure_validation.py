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


SCENARIOS = [cpu_split, io_next_to_cpu, sleep_under_contention, io_threads_scaling,
             native_in_threads, pool_small_tasks]


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

    def run(self, scenario, configs, run_one, metrics, reps):
        samples = C.collect(configs, run_one, reps, self.extra, self.thr, self.time_left, C.log)
        rows = []
        for i, p in enumerate(configs):
            for metric, unit in metrics:
                if not any(metric in s.values for s in samples[i]):
                    continue
                st = C.stats_from_samples(samples[i], reps, metric, unit)
                row = {"scenario": scenario, "params": p, "metric": metric, "unit": unit}
                row.update(st)
                rows.append(row)
                C.log("  %-22s %-60s %s" % (metric, short(p), C.fmt_stats(st)))
        return rows


def short(p):
    skip = {"client", "peer", "payload_bytes", "buffer_bytes", "zlib_level", "start_method",
            "n_total", "work_s_nominal", "units_per_thread", "sleep_s"}
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
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 1 sample per config, 1/5 windows and work, no waiting")
    args = ap.parse_args()

    t_start = perf_counter()
    faulthandler.dump_traceback_later(1200, exit=True)  # last-resort hang guard
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
            faulthandler.dump_traceback_later(600, exit=True)
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
