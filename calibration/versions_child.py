"""The workload side of measure_versions.py: runs under the interpreter being
measured (CPython 2.7 and 3.6+), so it is written for both: stdlib only, no
f-strings, no perf_counter on 2.7 (time.time there, whose resolution is ample
for runs of a tenth of a second and more).

    python versions_child.py SCENARIO 'JSON params'

prints one JSON object on its last line of stdout. The workloads are the same
code as measure_validation.py's (countdown, a 1 ms sleep loop next to spinning
threads), so the model's predictors apply unchanged; only the interpreter and
its GIL differ.
"""
import json
import sys
import threading
import time

clock = getattr(time, "perf_counter", time.time)
PY2 = sys.version_info[0] == 2


def countdown(n):
    while n > 0:
        n -= 1


def median(xs):
    xs = sorted(xs)
    k = len(xs)
    return xs[k // 2] if k % 2 else 0.5 * (xs[k // 2 - 1] + xs[k // 2])


def set_interval(p):
    """The row's GIL setting: sys.setcheckinterval(ticks) on 2.7, else
    sys.setswitchinterval(seconds)."""
    if PY2:
        sys.setcheckinterval(int(p.get("check_interval", 100)))
    else:
        sys.setswitchinterval(float(p.get("switch_interval_s", 0.005)))


def loop_ns_per_iter(n, reps):
    """Single-thread speed of countdown: the median of `reps` timed runs."""
    out = []
    for _ in range(reps):
        t0 = clock()
        countdown(n)
        out.append((clock() - t0) / n * 1e9)
    return out


def ticks_per_iter(n):
    """2.7 only: how many ticks one countdown iteration consumes, read from
    CPython's own `_Py_Ticker` (ceval.c decrements it once per opcode that does
    not jump to fast_next_opcode), with the check interval set so large that it
    never wraps during the loop."""
    import ctypes
    ticker = ctypes.c_int.in_dll(ctypes.pythonapi, "_Py_Ticker")
    old = sys.getcheckinterval()
    sys.setcheckinterval(1 << 30)  # also resets the ticker (2.7)
    try:
        a = ticker.value
        countdown(n)
        b = ticker.value
    finally:
        sys.setcheckinterval(old)
    return float(a - b) / n


def thread_start_us(reps):
    out = []
    for _ in range(reps):
        t0 = clock()
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
        out.append((clock() - t0) * 1e6)
    return out


def probe(p):
    n = int(p["n"])
    r = {"py_loop_ns_per_iter": loop_ns_per_iter(n, int(p.get("reps", 7))),
         "thread_start_us": thread_start_us(200),
         "version": "%d.%d.%d" % sys.version_info[:3]}
    if PY2:
        r["py_ticks_per_iter"] = ticks_per_iter(n)
    return r


def cpu_split(p):
    """W threads each run countdown(n_per_worker), started then joined by
    the main thread (measure_validation.py's cpu_split, threads)."""
    set_interval(p)
    w, n = int(p["workers"]), int(p["n_per_worker"])
    out = []
    for _ in range(int(p["reps"])):
        t0 = clock()
        ts = [threading.Thread(target=countdown, args=(n,)) for _ in range(w)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        out.append(clock() - t0)
    return {"wall_s": out}


def sleep_under_contention(p):
    """The main thread sleeps 1 ms in a loop for window_s next to C spinning
    threads (measure_validation.py's sleep_under_contention)."""
    set_interval(p)
    flag = [True]

    def spin():
        n = 0
        while flag[0]:
            n += 1

    durs = []
    for _ in range(int(p["reps"])):
        flag[0] = True
        ts = [threading.Thread(target=spin) for _ in range(int(p["cpu_threads"]))]
        for t in ts:
            t.daemon = True
            t.start()
        end = clock() + float(p["window_s"])
        d = float(p["sleep_s"])
        while True:
            t0 = clock()
            time.sleep(d)
            t1 = clock()
            durs.append((t1 - t0) * 1e3)
            if t1 >= end:
                break
        flag[0] = False
        for t in ts:
            t.join()
    return {"sleep_actual_ms": durs}


# countdown as a function, as in the main interpreter: top-level code would
# read and write `n` as a global, about twice as slow as a local.
SUB_CODE = "def countdown(n):\n    while n > 0:\n        n -= 1\ncountdown(%d)\n"


def subinterp_split(p):
    """W threads, each running countdown(n_per_worker) in its own isolated
    subinterpreter (PEP 684: its own GIL), created before the clock starts.
    The baseline is W = 1: the same kind of thread and interpreter."""
    try:
        import _interpreters as interps  # 3.13
        run = getattr(interps, "exec")
    except ImportError:
        import _xxsubinterpreters as interps  # 3.12: create() is isolated by default
        run = interps.run_string
    w, n = int(p["workers"]), int(p["n_per_worker"])
    out = []
    for _ in range(int(p["reps"])):
        ids = [interps.create() for _ in range(w)]
        code = SUB_CODE % n
        ts = [threading.Thread(target=run, args=(i, code)) for i in ids]
        t0 = clock()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        out.append(clock() - t0)
        for i in ids:
            interps.destroy(i)
    return {"wall_s": out}


SCENARIOS = {"probe": probe, "cpu_split": cpu_split,
             "sleep_under_contention": sleep_under_contention,
             "subinterp_split": subinterp_split}

# The speed probe around each row: timed countdowns of PROBE_N iterations
# just before and just after the row's samples, in the same child, so a row
# is predicted at the loop speed the host ran at while it was measured. The
# probe runs in a worker thread, like the rows' countdowns: on this host 3.x
# runs a countdown ~10% faster in a worker thread than in the main thread
# (2.7 does not), so a main-thread probe would mispredict every row.
PROBE_N, PROBE_REPS = 1000000, 3


def probe_in_thread():
    out = []
    t = threading.Thread(target=lambda: out.extend(loop_ns_per_iter(PROBE_N, PROBE_REPS)))
    t.start()
    t.join()
    return out

if __name__ == "__main__":
    scenario, params = sys.argv[1], json.loads(sys.argv[2])
    if scenario == "probe":
        result = probe(params)
    else:
        before = probe_in_thread()
        result = SCENARIOS[scenario](params)
        result["row_probe_ns_per_iter"] = before + probe_in_thread()
    sys.stdout.write(json.dumps(result) + "\n")
