"""Measure real Python servers under open-loop load for gilsim's services set (issue 16).

    python3 calibration/measure_services.py --profile calibration/profiles/services.json \\
            [--out calibration/measured/services.json] [--reps 2] [--duration 3]

Four servers of `services_servers.py` run on localhost, each in its own process group:
a `ThreadingTCPServer` (a thread per connection), a prefork server (4 workers forked
after `listen`, all accepting on the shared socket), an `asyncio` streams server, and an
asyncio front handing each request's CPU work to a `ThreadPoolExecutor(4)`. Every
request does `countdown(K)` (~1 ms of Python), `zlib.compress` of B bytes (~0.5 ms,
GIL released) and a 3 ms sleep standing for a database call, on a new connection.

The load generator (`services_load.py`, another process) sends Poisson arrivals (seeded)
at fixed rates, one connection per request, never waiting for replies, and records
each request's latency from its scheduled send time. Rates: 7 steps per server, fractions
0.2 to 1.1 of the server's capacity *estimated from the single-threaded inputs below*
(the bottleneck of the measured costs; the model is not consulted). Each rate runs
`--reps` times (round-robin over all configurations, noisy samples re-run while the
budget lasts); latencies are pooled over the samples used.

Single-threaded inputs, measured first in the same sitting, go into the profile given
by `--profile` (a `measure_profile.py` profile of the same sitting) as
`measurements.services`: the request's Python (`countdown(K)`), its zlib call and its
sleep, each timed alone in this process's main thread; and for each server, with empty
requests (`0 0 0`): the server's CPU per request when it serves one request at a time
(`light`, 50 requests/s) and back to back (`busy`, requests arriving faster than it
serves them), the empty request's latency at light load, and the generator's CPU per
request. A server's CPU is its `time.process_time()` (asked over a connection: the
line `cpu`), for prefork the sum of the workers' `/proc/PID/schedstat`.

Rows (`measured/services.json`, schema gilsim-measured/1): scenario `services`, params
{server, workers, step, rate_per_s, ...}, metrics `throughput_per_s` (replies / time
from the first scheduled send to the last reply), `latency_p50_ms`, `latency_p99_ms`;
each row also records the achieved send rate and the send lag (the generator keeping
up), errors, and the server's and the generator's CPU per request.
"""

import argparse
import faulthandler
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

perf_counter = time.perf_counter
HERE = C.HERE

SERVERS = [("threaded", 0), ("prefork", 4), ("asyncio", 0), ("asyncio_pool", 4)]
FRACTIONS = [0.2, 0.4, 0.6, 0.75, 0.85, 0.95, 1.1]
PY_TARGET_US = 1000.0
ZLIB_TARGET_US = 500.0
DB_SLEEP_US = 3000
ARRIVALS = "poisson"
CORES = os.cpu_count() or 1


class Server:
    def __init__(self, kind, workers):
        self.kind, self.workers = kind, workers
        args = [sys.executable, str(HERE / "services_servers.py"), kind, "--lifetime", "1800"]
        if workers:
            args += ["--workers", str(workers)]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     start_new_session=True)
        line = self.proc.stdout.readline().split()
        if not line:
            self.close()
            raise RuntimeError("%s server did not start" % kind)
        self.port = int(line[0])
        self.pids = [int(x) for x in line[1:]]

    def cpu_s(self):
        """CPU seconds the server's processes have used so far."""
        if self.kind == "prefork":
            total = 0
            for pid in self.pids:
                with open("/proc/%d/schedstat" % pid) as f:
                    total += int(f.read().split()[0])
            return total / 1e9
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"cpu\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(64)
                if not chunk:
                    break
                buf += chunk
        return float(buf)

    def close(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()


def load(server, rate, duration, seed, request, arrivals=ARRIVALS):
    """One run of the generator; returns its JSON plus the server's CPU over it."""
    cpu0 = server.cpu_s()
    out = subprocess.run([sys.executable, str(HERE / "services_load.py"), str(server.port),
                          repr(rate), repr(duration), str(seed), arrivals, request],
                         stdin=subprocess.DEVNULL, capture_output=True, check=True,
                         timeout=duration + 60)
    r = json.loads(out.stdout)
    r["server_cpu_s"] = server.cpu_s() - cpu0
    return r


def quantile(xs, q):
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else None


def median_of(f, n):
    return statistics.median(f() for _ in range(n))


def timed(f):
    t0 = perf_counter()
    f()
    return (perf_counter() - t0) * 1e6


def request_inputs(text):
    """K and B for the targets, and the request's parts timed alone (µs)."""
    ns = statistics.median(C.speed_probe() for _ in range(9))
    k = int(PY_TARGET_US * 1e3 / ns)
    py = [timed(lambda: C.countdown(k)) for _ in range(200)]
    probe = median_of(lambda: timed(lambda: zlib.compress(text[:65536], 6)), 21)
    b = max(1024, int(ZLIB_TARGET_US / probe * 65536) // 1024 * 1024)
    zl = [timed(lambda: zlib.compress(text[:b], 6)) for _ in range(200)]
    sl = [timed(lambda: time.sleep(DB_SLEEP_US / 1e6)) for _ in range(100)]
    return k, b, {
        "py_iters": k, "zlib_bytes": b, "db_sleep_us": DB_SLEEP_US,
        "py_us": C.summarize(py, "us"), "zlib_us": C.summarize(zl, "us"),
        "db_sleep_actual_us": C.summarize(sl, "us"),
    }


def server_inputs(server, quick):
    """Empty requests: the server's CPU per request one at a time and back to back, the
    light-load latency, the generator's CPU per request."""
    light = load(server, 50.0, 0.5 if quick else 3.0, 7, "0 0 0", "periodic")
    # Back to back: requests arrive faster than an empty one is served, so the server
    # keeps finding the next connection waiting.
    busy = load(server, 2000.0 if quick else 4000.0, 0.2 if quick else 1.0, 8, "0 0 0",
                "periodic")
    per = lambda r, k: r[k] / max(1, r["completed"]) * 1e6  # noqa: E731
    return {
        "light_cpu_us": per(light, "server_cpu_s"),
        "busy_cpu_us": per(busy, "server_cpu_s"),
        "busy_completed": busy["completed"], "busy_span_s": busy["span_s"],
        "busy_send_lag_p99_ms": busy["send_lag_p99_ms"],
        "empty_latency_us": C.summarize([x * 1e3 for x in light["latency_ms"]], "us"),
        "generator_cpu_us": per(light, "generator_cpu_s"),
        "generator_busy_cpu_us": per(busy, "generator_cpu_s"),
    }


def capacity(kind, workers, req, srv):
    """Requests/s the server can take, from the single-threaded inputs: the bottleneck of
    its GIL(s), its cores and (prefork) its sync workers. Used only to place the rates."""
    py, zl = req["py_us"]["median"], req["zlib_us"]["median"]
    db = req["db_sleep_actual_us"]["median"]
    over = srv["busy_cpu_us"]
    cores = CORES / (py + zl + over + srv["generator_cpu_us"]) * 1e6
    if kind == "threaded":
        return min(1e6 / (py + over), cores)
    if kind == "prefork":
        return min(workers / (py + zl + over + db) * 1e6, cores)
    if kind == "asyncio":
        return min(1e6 / (py + zl + over), cores)
    return min(1e6 / (py + over), workers / (py + zl) * 1e6, cores)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", required=True,
                    help="profile of this sitting (measure_profile.py) to add the inputs to")
    ap.add_argument("--out", default=str(HERE / "measured" / "services.json"))
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--duration", type=float, default=3.0, help="seconds of sending per sample")
    ap.add_argument("--quiet-threshold", type=float, default=0.2)
    ap.add_argument("--max-wait", type=float, default=30.0)
    ap.add_argument("--budget", type=float, default=480.0,
                    help="no re-runs of noisy samples after this many seconds")
    ap.add_argument("--quick", action="store_true", help="smoke test: 1 sample, 0.5 s each")
    args = ap.parse_args()
    faulthandler.dump_traceback_later(1200, exit=True)
    t_start = perf_counter()
    reps = 1 if args.quick else args.reps
    duration = 0.5 if args.quick else args.duration
    info = C.host_info()
    C.log("gilsim services -> %s (profile %s)" % (args.out, args.profile))
    start_cond = C.wait_for_quiet(0.0 if args.quick else args.max_wait, args.quiet_threshold,
                                  C.log)
    C.log("  start: " + C.fmt_cond(start_cond))
    text = C.make_text_data(1 << 20)
    k, b, req = request_inputs(text)
    C.log("  request: countdown(%d) %.0f us, zlib %d B %.0f us, sleep %d us -> %.0f us"
          % (k, req["py_us"]["median"], b, req["zlib_us"]["median"], DB_SLEEP_US,
             req["db_sleep_actual_us"]["median"]))
    servers = {}
    inputs = {}
    try:
        for kind, workers in SERVERS:
            servers[kind] = Server(kind, workers)
        for kind, workers in SERVERS:
            inputs[kind] = server_inputs(servers[kind], args.quick)
            inputs[kind]["workers"] = workers
            inputs[kind]["capacity_estimate_per_s"] = capacity(kind, workers, req, inputs[kind])
            C.log("  %s: light %.0f us, busy %.0f us CPU/request, empty latency %.0f us, "
                  "capacity ~%.0f/s" % (kind, inputs[kind]["light_cpu_us"],
                                        inputs[kind]["busy_cpu_us"],
                                        inputs[kind]["empty_latency_us"]["median"],
                                        inputs[kind]["capacity_estimate_per_s"]))
        configs = []
        for kind, workers in SERVERS:
            cap = inputs[kind]["capacity_estimate_per_s"]
            for step, frac in enumerate(FRACTIONS):
                configs.append({"server": kind, "workers": workers, "step": step,
                                "rate_per_s": round(cap * frac, 1), "seeds": []})
        request = "%d %d %d" % (k, b, DB_SLEEP_US)

        def run_one(cfg):
            seed = 1000 * configs.index(cfg) + len(cfg["seeds"])
            cfg["seeds"].append(seed)
            r = load(servers[cfg["server"]], cfg["rate_per_s"], duration, seed, request)
            C.log("  %-12s %7.1f/s: %d/%d done, p50 %.2f p99 %.2f ms, lag p99 %.2f ms"
                  % (cfg["server"], cfg["rate_per_s"], r["completed"], r["sent"],
                     quantile(r["latency_ms"], 0.5) or -1, quantile(r["latency_ms"], 0.99) or -1,
                     r["send_lag_p99_ms"] or -1))
            return r

        budget_end = t_start + args.budget
        samples = C.collect(configs, run_one, reps, 0 if args.quick else 2,
                            args.quiet_threshold, lambda: budget_end - perf_counter(), C.log)
    finally:
        for s in servers.values():
            s.close()

    rows = []
    for i, cfg in enumerate(configs):
        used, quiet = C.select_samples(samples[i], reps)
        rs = [s.values for s in used]
        lat = [x for r in rs for x in r["latency_ms"]]
        done = sum(r["completed"] for r in rs)
        params = {"server": cfg["server"], "workers": cfg["workers"], "step": cfg["step"],
                  "rate_per_s": cfg["rate_per_s"], "arrivals": ARRIVALS,
                  "duration_s": duration, "py_iters": k, "zlib_bytes": b,
                  "db_sleep_us": DB_SLEEP_US}
        extra = {
            "quiet": quiet,
            "other_load_cores": statistics.fmean(s.other_load for s in used
                                                 if s.other_load is not None)
            if any(s.other_load is not None for s in used) else None,
            "probe_ns_per_iter": statistics.median(s.probe for s in used),
            "samples_run": len(samples[i]), "samples_used": len(used),
            "seeds": [cfg["seeds"][samples[i].index(s)] for s in used],
            "sent": sum(r["sent"] for r in rs), "completed": done,
            "errors": sum(r["errors"] + r["unanswered"] for r in rs),
            "achieved_send_rate": statistics.fmean(r["achieved_send_rate"] or 0 for r in rs),
            "send_lag_p99_ms": max(r["send_lag_p99_ms"] or 0 for r in rs),
            "send_lag_max_ms": max(r["send_lag_max_ms"] or 0 for r in rs),
            "server_cpu_us_per_request": sum(r["server_cpu_s"] for r in rs) / max(1, done) * 1e6,
            "generator_cpu_us_per_request":
                sum(r["generator_cpu_s"] for r in rs) / max(1, done) * 1e6,
        }
        metrics = [
            ("throughput_per_s", "1/s",
             statistics.fmean(r["completed"] / r["span_s"] for r in rs)),
            ("latency_p50_ms", "ms", quantile(lat, 0.5)),
            ("latency_p99_ms", "ms", quantile(lat, 0.99)),
        ]
        for metric, unit, value in metrics:
            rows.append({"scenario": "services", "params": params, "metric": metric,
                         "unit": unit, "median": value, "n": len(lat), **extra})

    end_cond = C.conditions_now()
    end_cond["quiet"] = C.is_quiet(end_cond, args.quiet_threshold)
    prof_path = Path(args.profile)
    prof = json.loads(prof_path.read_text())
    prof.setdefault("measurements", {})["services"] = {
        "request": req,
        "servers": inputs,
        "doc": "measure_services.py: the request's parts timed alone; per server, empty "
               "requests: CPU per request one at a time (light) and back to back (busy), "
               "latency at light load, the generator's CPU per request",
    }
    C.write_json(prof_path, prof)
    doc = {
        "schema": C.SCHEMA_MEASURED,
        "name": "services",
        "quick": args.quick,
        "host": info,
        "cpu_count": info["cpu_count"],
        "conditions": {
            "quiet_threshold_cores": args.quiet_threshold,
            "all_quiet": all(r["quiet"] for r in rows),
            "start": start_cond, "end": end_cond,
            "speed_probe_ns_per_iter": C.summarize(C.PROBES, "ns"),
        },
        "profile": str(prof_path.name),
        "inputs": {"request": req, "servers": inputs},
        "reps": reps,
        "rows": rows,
        "duration_s": perf_counter() - t_start,
    }
    C.write_json(args.out, doc)
    C.log("wrote %s: %d rows in %.1f s (all quiet: %s)"
          % (args.out, len(rows), doc["duration_s"], doc["conditions"]["all_quiet"]))
    faulthandler.cancel_dump_traceback_later()


if __name__ == "__main__":
    main()
