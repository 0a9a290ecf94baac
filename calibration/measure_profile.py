#!/usr/bin/env python3
"""Measure gilsim's single-thread model inputs on this host; write a calibration profile.

    python3 calibration/measure_profile.py [--out FILE | --name NAME] [--quick]

Default output: calibration/profiles/<hostname>.json. Stdlib only; ~1-2 minutes.
See calibration/README.md for the JSON schema and the caveats.

Every measurement is taken in "blocks" of repeated samples. Rounds run every block
`reps` times; a block during which other processes used more than --quiet-threshold
cores is "noisy" and is re-run (bounded by --budget). The statistics use only the quiet
blocks if there are `reps` of them, else all blocks, and say so ("quiet": false).
"""

import argparse
import faulthandler
import gc
import hashlib
import multiprocessing
import pickle
import sys
import threading
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

perf_counter = time.perf_counter

LOOP_N = 2_000_000  # iterations per countdown sample (~50 ms at 25 ns/iter)

NOTES = {
    "py_loop_ns_per_iter":
        "Wall time of countdown(n) = `while n > 0: n -= 1` with n = %d, divided by n; "
        "main thread, no other Python threads. This is the unit of CPU-bound Python work."
        % LOOP_N,
    "cpu_spin_ns_per_iter":
        "Cost per iteration of the CPU-bound thread of measure_validation.py "
        "(`while flag[0]: n += 1`, run in a worker thread for ~0.1 s while the main "
        "thread sleeps): seconds the loop ran / iterations.",
    "cpu_spin_per_py_loop":
        "cpu_spin_ns_per_iter / py_loop_ns_per_iter measured as pairs: each spin sample "
        "(0.1 s) divided by the mean of two countdown(300000) probes taken right before "
        "and after it. Robust to the host's speed changes, which last seconds.",
    "sleep_overshoot_us":
        "time.sleep(d) actual (perf_counter around the call) minus d, for d = 50 us and "
        "1 ms, main thread, no other Python threads (so no GIL wait is included).",
    "loopback_rtt_us":
        "One 1-byte echo round trip over 127.0.0.1 TCP: sendall(b'x') then recv(16), "
        "TCP_NODELAY on both ends, blocking sockets (kernel SO_RCVTIMEO only), the peer "
        "is calibration/echo_server.py in another process. 200 warm-up round trips per "
        "connection, then each round trip is timed individually.",
    "loopback_send_us":
        "The sendall(b'x') call alone within the loopback round trip above (the system "
        "call runs the TCP stack and wakes the peer; CPython releases the GIL around it).",
    "zlib_bytes_per_sec":
        "zlib.compress(buf, 6) of a 4 MiB deterministic pseudo-text buffer "
        "(_common.make_text_data: words of 2-10 random lowercase letters from a 2000-word "
        "vocabulary, space separated; compresses ~2.75x); input bytes / wall seconds. "
        "zlib releases the GIL around deflate().",
    "sha256_bytes_per_sec":
        "hashlib.sha256(buf).digest() of a 4 MiB random buffer; bytes / wall seconds. "
        "OpenSSL sha256 releases the GIL for inputs >= 2048 bytes.",
    "thread_start_us":
        "threading.Thread(target=noop) .start() + .join(), wall time, main thread.",
    "process_start_ms":
        "multiprocessing.get_context(method).Process(target=noop) .start() + .join(), "
        "wall time. forkserver: measured after the fork server is already running "
        "(its first start, including starting the server, is reported separately as "
        "'forkserver_first_incl_server', n = 1). spawn re-imports this script's "
        "module-level imports in the child.",
    "executor_task_us":
        "concurrent.futures.ThreadPoolExecutor(4) bookkeeping per task, one Python thread "
        "active: the 4 workers are parked on a threading.Event (holding no GIL) while the "
        "main thread times, per task of square(i): 'submit' = ex.submit(square, i); 'run' "
        "= the work queue's get_nowait() and the _WorkItem.run() done by the main thread (as "
        "a worker would), minus a bare square(i) call; 'collect' = Future.result() of the finished future. "
        "%d tasks per sample." % 1000,
    "ipc_message_us":
        "One multiprocessing (fork context) SimpleQueue put + get of a small task tuple "
        "(1, 2, 'square', (7,), {}) in one process (the queue's pipe, its lock, "
        "Connection.send_bytes/recv_bytes and the pickling of ~60 bytes), per message; "
        "multiprocessing.Pool sends one such message per task each way.",
    "pickle_bytes_per_sec":
        "pickle.loads(pickle.dumps(obj)) with the default protocol; pickled bytes / "
        "wall seconds of dumps+loads. 'objects': a list of 10000 dicts "
        "{'id': i, 'name': 'item-<i>', 'value': i*0.5, 'tags': ('a', i % 7)} "
        "(_common.make_pickle_objects); 'bytes_blob': a 4 MiB bytes object. "
        "pickle holds the GIL throughout.",
}


def repeat(sample, min_count, min_s):
    """Call sample() (returns one value) at least min_count times and for >= min_s s."""
    out = []
    t0 = perf_counter()
    while len(out) < min_count or perf_counter() - t0 < min_s:
        out.append(sample())
    return out


def measure_py_loop(min_count, min_s):
    C.countdown(LOOP_N // 10)  # warm-up

    def one():
        t0 = perf_counter()
        C.countdown(LOOP_N)
        return (perf_counter() - t0) / LOOP_N * 1e9
    return repeat(one, min_count, min_s)


def measure_spin(min_count, min_s, window=0.1):
    def one():
        flag, res = [True], [None]
        t = threading.Thread(target=C.spin, args=(flag, res, 0), daemon=True)
        t.start()
        try:
            time.sleep(window)
        finally:
            flag[0] = False
        t.join(10)
        n, dt = res[0]
        return dt / n * 1e9
    return repeat(one, min_count, min_s)


def measure_spin_rel(min_count, min_s, window=0.1):
    """Per sample: spin ns/iter divided by the mean of countdown probes taken right
    before and right after it (same host speed state)."""
    def one():
        p0 = C.speed_probe()
        v = measure_spin(1, 0.0, window)[0]
        p1 = C.speed_probe()
        return v / ((p0 + p1) / 2)
    return repeat(one, min_count, min_s)


def measure_sleep(d, min_count, min_s):
    sleep = time.sleep

    def one():
        t0 = perf_counter()
        sleep(d)
        return (perf_counter() - t0 - d) * 1e6
    return repeat(one, min_count, min_s)


def measure_rtt(server, min_count, min_s, part="rtt"):
    """One echo round trip in us ('rtt'), or only its sendall() call ('send')."""
    s = server.connect()
    try:
        sendall, recv = s.sendall, s.recv
        for _ in range(200):
            sendall(b"x")
            if not recv(16):
                raise RuntimeError("echo server closed the connection")

        def one():
            t0 = perf_counter()
            sendall(b"x")
            t1 = perf_counter()
            data = recv(16)
            dt = perf_counter() - t0
            if not data:
                raise RuntimeError("echo server closed the connection")
            return (t1 - t0 if part == "send" else dt) * 1e6
        return repeat(one, min_count, min_s)
    finally:
        s.close()


def measure_rate(fn, nbytes, min_count, min_s):
    def one():
        t0 = perf_counter()
        fn()
        return nbytes / (perf_counter() - t0)
    return repeat(one, min_count, min_s)


def measure_thread_start(min_count, min_s):
    def one():
        t0 = perf_counter()
        t = threading.Thread(target=C.noop)
        t.start()
        t.join(10)
        return (perf_counter() - t0) * 1e6
    return repeat(one, min_count, min_s)


def square(x):
    return x * x


def measure_executor(min_count, min_s, n=1000):
    """Per-task bookkeeping of a ThreadPoolExecutor, as {part: list of us}."""
    from concurrent.futures import ThreadPoolExecutor
    parts = {"submit": [], "run": [], "collect": []}
    t_begin = perf_counter()
    while len(parts["submit"]) < min_count or perf_counter() - t_begin < min_s:
        ex = ThreadPoolExecutor(4)
        gate = threading.Event()
        for _ in range(4):
            ex.submit(gate.wait)
        # Wait until the four workers are parked in gate.wait (queue drained).
        deadline = perf_counter() + 5
        while not ex._work_queue.empty() and perf_counter() < deadline:
            time.sleep(0.001)
        time.sleep(0.01)
        try:
            t0 = perf_counter()
            futs = [ex.submit(square, i) for i in range(n)]
            t1 = perf_counter()
            items = [ex._work_queue.get_nowait() for _ in range(n)]
            t2 = perf_counter()
            for w in items:
                w.run()
            t3 = perf_counter()
            for i in range(n):
                square(i)
            t4 = perf_counter()
            for f in futs:
                f.result()
            t5 = perf_counter()
        finally:
            gate.set()
            ex.shutdown()
        parts["submit"].append((t1 - t0) / n * 1e6)
        # A worker's share: its queue get plus _WorkItem.run, minus the task itself.
        parts["run"].append(((t2 - t1) + (t3 - t2) - (t4 - t3)) / n * 1e6)
        parts["collect"].append((t5 - t4) / n * 1e6)
    return parts


def measure_ipc_message(min_count, min_s, n=1000):
    q = multiprocessing.get_context("fork").SimpleQueue()
    task = (1, 2, "square", (7,), {})
    try:
        def one():
            t0 = perf_counter()
            for _ in range(n):
                q.put(task)
                q.get()
            return (perf_counter() - t0) / n * 1e6
        return repeat(one, min_count, min_s)
    finally:
        q.close()


def start_join(ctx):
    t0 = perf_counter()
    p = ctx.Process(target=C.noop)
    p.start()
    p.join(30)
    dt = perf_counter() - t0
    if p.is_alive():
        p.terminate()
        p.join(5)
        if p.is_alive():
            p.kill()
            p.join(5)
        raise RuntimeError("trivial process did not exit within 30 s")
    return dt * 1e3


def measure_process_start(ctx, min_count, min_s):
    return repeat(lambda: start_join(ctx), min_count, min_s)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="output file (default calibration/profiles/<name>.json)")
    ap.add_argument("--name", help="profile name (default: hostname)")
    ap.add_argument("--max-wait", type=float, default=30.0,
                    help="seconds to wait for a quiet machine at start (default 30)")
    ap.add_argument("--quiet-threshold", type=float, default=0.2,
                    help="max cores used by other processes to count as quiet (default 0.2)")
    ap.add_argument("--budget", type=float, default=110.0,
                    help="no retries of noisy blocks after this many seconds (default 110)")
    ap.add_argument("--reps", type=int, default=6, help="blocks per measurement (default 6)")
    ap.add_argument("--block-s", type=float, default=0.5,
                    help="minimum seconds per block (default 0.5)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 1 block of >= 0.05 s each, no waiting, no retries")
    args = ap.parse_args()

    faulthandler.dump_traceback_later(600, exit=True)  # last-resort hang guard
    t_start = perf_counter()
    info = C.host_info()
    name = args.name or info["hostname"]
    out_path = Path(args.out) if args.out else C.HERE / "profiles" / ("%s.json" % name)
    thr = args.quiet_threshold
    quick = args.quick
    reps = 1 if quick else args.reps
    extra = 0 if quick else 3
    if quick:
        args.block_s = 0.05

    def time_left():
        return args.budget - (perf_counter() - t_start)

    C.log("gilsim profile '%s' -> %s" % (name, out_path))
    start_cond = C.wait_for_quiet(0.0 if quick else args.max_wait, thr, C.log)
    C.log("  start: " + C.fmt_cond(start_cond))

    M = {}

    def run(label, unit, fn, r=reps, configs=None):
        """fn(cfg) -> list of values. Returns Stats (or {cfg_key: Stats})."""
        t0 = perf_counter()
        cfgs = configs if configs is not None else [None]
        samples = C.collect(cfgs, lambda c: {"v": fn(c)}, r, extra, thr, time_left, C.log)
        res = {i: C.stats_from_samples(samples[i], r, "v", unit) for i in samples}
        for i, st in res.items():
            tag = label if configs is None else "%s[%s]" % (label, cfgs[i][0])
            C.log("  %-34s %s  (%.1fs)" % (tag, C.fmt_stats(st), perf_counter() - t0))
        if configs is None:
            return res[0]
        return {cfgs[i][0]: res[i] for i in res}

    B = args.block_s  # minimum seconds per block

    gc_was = gc.isenabled()
    gc.disable()  # no cyclic garbage is created; avoids GC pauses inside timings
    try:
        M["py_loop_ns_per_iter"] = run("py_loop_ns_per_iter", "ns",
                                       lambda c: measure_py_loop(3, B))
        M["cpu_spin_ns_per_iter"] = run("cpu_spin_ns_per_iter", "ns",
                                        lambda c: measure_spin(3, B))
        M["cpu_spin_per_py_loop"] = run("cpu_spin_per_py_loop", "ratio",
                                        lambda c: measure_spin_rel(3, B))
        M["sleep_overshoot_us"] = run(
            "sleep_overshoot_us", "us",
            lambda c: measure_sleep(c[1], 20, B),
            configs=[("50us", 50e-6), ("1ms", 1e-3)])

        with C.EchoServer(lifetime_s=300) as server:
            M["loopback_rtt_us"] = run("loopback_rtt_us", "us",
                                       lambda c: measure_rtt(server, 200, B))
            M["loopback_send_us"] = run("loopback_send_us", "us",
                                        lambda c: measure_rtt(server, 200, B, "send"))

        text = C.make_text_data()
        comp_len = len(zlib.compress(text, C.ZLIB_LEVEL))
        M["zlib_bytes_per_sec"] = run(
            "zlib_bytes_per_sec", "B/s",
            lambda c: measure_rate(lambda: zlib.compress(text, C.ZLIB_LEVEL), len(text), 2, B))
        rnd = C.make_random_data()
        M["sha256_bytes_per_sec"] = run(
            "sha256_bytes_per_sec", "B/s",
            lambda c: measure_rate(lambda: hashlib.sha256(rnd).digest(), len(rnd), 3, B))

        objs = C.make_pickle_objects()
        obj_pickled = len(pickle.dumps(objs))
        blob_pickled = len(pickle.dumps(rnd))
        M["pickle_bytes_per_sec"] = run(
            "pickle_bytes_per_sec", "B/s",
            lambda c: measure_rate(c[1], c[2], 3, B),
            configs=[("objects", lambda: pickle.loads(pickle.dumps(objs)), obj_pickled),
                     ("bytes_blob", lambda: pickle.loads(pickle.dumps(rnd)), blob_pickled)])

        M["thread_start_us"] = run("thread_start_us", "us",
                                   lambda c: measure_thread_start(20, B))
        M["executor_task_us"] = run(
            "executor_task_us", "us",
            lambda c: measure_executor(3, B)[c[0]],
            configs=[("submit", None), ("run", None), ("collect", None)])
        M["ipc_message_us"] = run("ipc_message_us", "us",
                                  lambda c: measure_ipc_message(3, B))
    finally:
        if gc_was:
            gc.enable()

    ps = {}
    try:  # start multiprocessing's resource tracker now so spawn blocks don't pay for it
        from multiprocessing import resource_tracker
        resource_tracker.ensure_running()
    except Exception:
        pass
    C.track_mp_helpers()
    ps.update(run("process_start_ms", "ms",
                  lambda c: measure_process_start(multiprocessing.get_context(c[0]), c[1], B),
                  configs=[("fork", 5), ("spawn", 2)]))
    fs = multiprocessing.get_context("forkserver")
    t0s = C.Snapshot()
    first = start_join(fs)
    C.track_mp_helpers()  # the fork server now exists; count its CPU time as ours
    time.sleep(max(0.0, C.MIN_OBSERVE_S - (perf_counter() - t0s.wall)))
    t1s = C.Snapshot()
    ol = C.other_load(t0s, t1s)
    ps["forkserver_first_incl_server"] = C.summarize(
        [first], "ms", {"quiet": ol is None or ol <= thr, "other_load_cores": ol,
                        "samples_run": 1, "samples_used": 1})
    ps.update(run("process_start_ms", "ms",
                  lambda c: measure_process_start(fs, c[1], B),
                  configs=[("forkserver", 5)]))
    M["process_start_ms"] = {k: ps[k] for k in ("fork", "spawn", "forkserver",
                                                "forkserver_first_incl_server")}

    end_cond = C.conditions_now()
    end_cond["quiet"] = C.is_quiet(end_cond, thr)

    def all_quiet(d):
        if "median" in d:
            return bool(d.get("quiet"))
        return all(all_quiet(v) for v in d.values())

    notes = dict(NOTES)
    notes["zlib_compression_ratio"] = len(text) / comp_len
    notes["pickle_objects_pickled_bytes"] = obj_pickled
    notes["pickle_objects_count"] = len(objs)
    notes["pickle_bytes_blob_pickled_bytes"] = blob_pickled
    notes["pickle_protocol"] = pickle.DEFAULT_PROTOCOL
    notes["buffer_bytes"] = C.BUFFER_BYTES

    duration = perf_counter() - t_start
    profile = {
        "schema": C.SCHEMA_PROFILE,
        "name": name,
        "quick": quick,
        "host": info,
        "switch_interval_s": sys.getswitchinterval(),
        "cpu_count": info["cpu_count"],
        "conditions": {
            "quiet_threshold_cores": thr,
            "all_quiet": all_quiet(M),
            "start": start_cond,
            "end": end_cond,
            "speed_probe_ns_per_iter": C.summarize(C.PROBES, "ns"),
        },
        "measurements": M,
        "notes": notes,
        "reps": reps,
        "block_s": args.block_s,
        "duration_s": duration,
    }
    p = C.write_json(out_path, profile)
    C.log("wrote %s in %.1f s (all quiet: %s)" % (p, duration, profile["conditions"]["all_quiet"]))
    faulthandler.cancel_dump_traceback_later()


if __name__ == "__main__":
    main()
