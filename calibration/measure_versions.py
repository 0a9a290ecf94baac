#!/usr/bin/env python3
"""Every GIL model on a real interpreter (gilsim issue 13, point 3).

Runs the same workloads (versions_child.py) under each CPython found in
~/.pyenv/versions (2.7, 3.9, 3.11, 3.12, 3.13 by default), each config in a
fresh child process of the interpreter being measured, while this driver
(3.11) watches the machine's load with _common's quiet test. Writes:

- measured/versions.json: rows of the scenarios the model already predicts
  (cpu_split with threads, sleep_under_contention) plus subinterp_split (two
  isolated subinterpreters, PEP 684, on 3.12/3.13); every row carries
  params.python (the version) and its GIL setting (check_interval on 2.7,
  switch_interval_s on 3.x);
- profiles/versions/<X.Y>.json: one profile per version: the base profile
  (--base, a measure_profile.py run of this session, 3.11) with the keys the
  version changes replaced by that version's own single-thread measurement:
  py_loop_ns_per_iter, thread_start_us, and on 2.7 py_ticks_per_iter (read
  from CPython's `_Py_Ticker`). The file says which keys are the version's.

    python3 calibration/measure_versions.py --base calibration/profiles/servers.json
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import _common as C

HERE = Path(__file__).resolve().parent
CHILD = str(HERE / "versions_child.py")
VERSIONS = ("2.7", "3.9", "3.11", "3.12", "3.13")


def interpreter(minor):
    """The newest pyenv build of X.Y, or None."""
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/%s.*/bin/python" % minor)),
                   key=lambda p: [int(x) for x in p.split("/")[-3].split(".")])
    return found[-1] if found else None


def child(python, scenario, params, timeout=600):
    out = subprocess.run([python, CHILD, scenario, json.dumps(params)], capture_output=True,
                         text=True, timeout=timeout, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measured_once(python, scenario, params, metric, unit, args, log):
    """One row: the child runs params.reps samples; the machine must be quiet
    before (waiting up to --max-wait s) and stay quiet during (other load <=
    --threshold cores)."""
    threshold = args.threshold
    obs = C.wait_for_quiet(args.max_wait, threshold, log)
    s0 = C.Snapshot()
    out = child(python, scenario, params)
    values = out[metric]
    s1 = C.Snapshot()
    other, niced = C.other_loads(s0, s1)
    st = C.summarize(values, unit)
    row = {"scenario": scenario, "params": params, "metric": metric, "unit": unit}
    row.update(st)
    row.update({"quiet": bool(obs.get("quiet")) and (other is None or other <= threshold),
                "other_load_cores": other, "other_nice_cores": niced,
                # The row's own speed: countdowns in the same child around its samples.
                "row_probe_ns_per_iter": C.summarize(out["row_probe_ns_per_iter"], "ns")["median"]})
    log("  %s %s: %s = %.4g %s (other load %.2f)" % (
        scenario, json.dumps(params), metric, st["median"], unit, other or 0.0))
    return row


def measured(python, scenario, params, metric, unit, args, log, tries=3):
    """One row, measured again (up to `tries` times) while it is not quiet."""
    for _ in range(tries):
        row = measured_once(python, scenario, params, metric, unit, args, log)
        if row["quiet"]:
            break
        log("  not quiet: measured again")
    return row


def gil_setting(minor, variant):
    return {"check_interval": variant} if minor == "2.7" else {"switch_interval_s": variant}


def measure_version(minor, python, args, log):
    probe = child(python, "probe", {"n": 2000000, "reps": 9})
    loop_ns = C.summarize(probe["py_loop_ns_per_iter"], "ns")["median"]
    log("%s (%s): countdown %.1f ns/iter%s" % (
        minor, probe["version"], loop_ns,
        ", %.3f ticks/iter" % probe["py_ticks_per_iter"] if "py_ticks_per_iter" in probe else ""))
    # The same work in every version: about args.seconds sequential at its own speed.
    n_total = int(args.seconds * 1e9 / loop_ns) // 4 * 4
    variants = (100, 1000) if minor == "2.7" else (0.005,)
    rows = []
    for v in variants:
        for w in (1, 2, 4):
            p = {"python": probe["version"], "mode": "threads", "workers": w,
                 "n_total": n_total, "n_per_worker": n_total // w, "reps": args.reps}
            p.update(gil_setting(minor, v))
            rows.append(measured(python, "cpu_split", p, "wall_s", "s", args, log))
        for k in (0, 1, 2):
            p = {"python": probe["version"], "sleep_s": 0.001, "cpu_threads": k,
                 "window_s": 0.5, "reps": args.reps_io}
            p.update(gil_setting(minor, v))
            rows.append(measured(python, "sleep_under_contention", p, "sleep_actual_ms", "ms",
                                 args, log))
    if minor in ("3.12", "3.13"):
        for w in (1, 2, 4):
            p = {"python": probe["version"], "workers": w, "n_total": n_total,
                 "n_per_worker": n_total // w, "reps": args.reps, "switch_interval_s": 0.005}
            rows.append(measured(python, "subinterp_split", p, "wall_s", "s", args, log))
    return probe, rows


def version_profile(base, minor, probe, name):
    """The base profile with this version's own single-thread inputs."""
    prof = json.loads(json.dumps(base))
    prof["name"] = name
    m = prof["measurements"]
    own = {"py_loop_ns_per_iter": C.summarize(probe["py_loop_ns_per_iter"], "ns"),
           "thread_start_us": C.summarize(probe["thread_start_us"], "us")}
    if "py_ticks_per_iter" in probe:
        own["py_ticks_per_iter"] = {"median": probe["py_ticks_per_iter"], "unit": "ticks"}
    m.update(own)
    prof["version"] = {"python": probe["version"], "own_keys": sorted(own),
                       "other_keys_from": base.get("name")}
    return prof


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="profile of this host and session (3.11)")
    ap.add_argument("--versions", default=",".join(VERSIONS))
    ap.add_argument("--seconds", type=float, default=0.4,
                    help="sequential length of the CPU work at each version's own speed")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--reps-io", type=int, default=3)
    ap.add_argument("--threshold", type=float, default=0.2,
                    help="most cores other processes may use for a row to count as quiet")
    ap.add_argument("--max-wait", type=float, default=60.0,
                    help="seconds to wait for a quiet machine before each row")
    ap.add_argument("--out", default=str(HERE / "measured" / "versions.json"))
    ap.add_argument("--profiles", default=str(HERE / "profiles" / "versions"))
    args = ap.parse_args()

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    base = json.loads(Path(args.base).read_text())
    t0 = time.time()
    rows, probes = [], {}
    for minor in args.versions.split(","):
        python = interpreter(minor)
        if python is None:
            log("%s: not installed, skipped" % minor)
            continue
        probe, r = measure_version(minor, python, args, log)
        probes[minor] = probe
        rows.extend(r)
        C.write_json(Path(args.profiles) / ("%s.json" % minor),
                     version_profile(base, minor, probe, "python-%s" % minor))
    C.write_json(args.out, {
        "schema": C.SCHEMA_MEASURED, "name": "versions", "host": C.host_info(),
        "cpu_count": os.cpu_count(), "base_profile": base.get("name"),
        "interpreters": {k: v["version"] for k, v in probes.items()},
        "rows": rows, "duration_s": time.time() - t0})
    log("wrote %s (%d rows, %.0f s)" % (args.out, len(rows), time.time() - t0))


if __name__ == "__main__":
    main()
