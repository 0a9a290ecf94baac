#!/usr/bin/env python3
"""Own-programs validation (gilsim issue 17, point 4): real programs nobody here
wrote, traced once single-threaded and run for real as k = 1, 2, 4 copies in
threads and in processes. Standard library only (CPython 3.11); the programs
themselves (programs/programs.py: pyperformance benchmarks plus an http.client /
http.server pair and a gzip compressor) run in a venv that has the pinned
`pyperformance` (requirements-programs.txt), made under --cache if missing.

For each program:
  1. trace: `python -m gilsim.trace -o traces/programs/NAME.json
     -- programs/run_program.py NAME` (one cold run, single-threaded, imports
     included like in the timed batches). The tracer first runs the program
     untraced in a fresh interpreter, UNTRACED_RUNS times (its default,
     --measure-slowdown, with --untraced-runs: cold imports like the traced
     run) and reconciles the trace's Python time with their median wall time (docs/trace-format.md, "Reconciliation"); the
     untraced wall time is also a check of the host against the timed
     one-copy batch;
  2. time: `programs/batch.py NAME LAYOUT K` for LAYOUT in threads, processes and
     K in 1, 2, 4, --reps times each (rounds interleave the configurations, so a
     drift of the host's speed hits every configuration alike); each batch is a
     fresh interpreter, timed from before the program's import to the end of its
     last copy. The load of other processes is recorded around every sample
     (_common.py's quiet-machine checks).

Writes (merging by program into an existing file) measured/programs.json
("gilsim-programs/1") and the traces. Run every timing through
/tmp/measure-quietly.sh; --only splits the programs into groups of < 10 min.

    python3 calibration/measure_programs.py --only nbody,richards --reps 3
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "programs"))
import _common as C  # noqa: E402
from programs import PROGRAMS  # noqa: E402  (names and characters only: imports nothing else)

SCHEMA = "gilsim-programs/1"
LAYOUTS = ("threads", "processes")
KS = (1, 2, 4)
QUIET_CORES = 0.2
MAX_SITES = 40
# Untraced runs the tracer makes before tracing (their median is the trace's
# reference): one run on this VM varies by ~10 % from run to run, the timed
# batches are medians of --reps samples.
UNTRACED_RUNS = 3


def venv_python(cache):
    """The venv's interpreter, the venv made and the requirements installed if missing."""
    venv = Path(cache) / "venv"
    py = venv / "bin" / "python"
    if not py.exists():
        C.log("making %s (pip install -r requirements-programs.txt)" % venv)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    probe = subprocess.run([str(py), "-c", "import pyperformance, pyperf"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(py), "-m", "pip", "install", "-q", "-r",
                        str(HERE / "requirements-programs.txt")], check=True)
    return str(py)


def env_with_tracer():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "python") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def trace(py, name, out_dir):
    out = Path(out_dir) / ("%s.json" % name)
    out.parent.mkdir(parents=True, exist_ok=True)
    # The host's speed just before (a CPU-bound countdown, ns per iteration): the
    # untraced run is the trace's reference, so a slow spell shows here.
    spin_share, spin_ns = C.spin_check(0.3)
    t0 = time.time()
    s0 = C.Snapshot()
    # The tracer's own cap on sites written per thread and kind (the rest summed
    # into "(other)"), lowered to keep the committed traces small.
    cmd = [py, "-c", "import sys, gilsim.trace as t; t.MAX_SITES = %d; sys.exit(t.main(sys.argv[1:]))"
           % MAX_SITES, "-o", str(out), "--untraced-runs", str(UNTRACED_RUNS), "--",
           str(HERE / "programs" / "run_program.py"), name]
    r = subprocess.run(cmd,
                       env=env_with_tracer(), capture_output=True, text=True)
    s1 = C.Snapshot()
    if r.returncode != 0:
        raise SystemExit("tracing %s failed:\n%s" % (name, r.stderr))
    C.log("  traced %s in %.1f s: %s" % (name, time.time() - t0, r.stderr.strip()))
    rec = json.loads(out.read_text())["overhead"].get("reconciliation")
    return {"file": str(out.relative_to(ROOT)) if out.resolve().is_relative_to(ROOT) else str(out),
            "other_load_cores": C.other_load(s0, s1), "summary": r.stderr.strip(), "max_sites": MAX_SITES,
            "traced_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)),
            "spin_before": {"cpu_share": round(spin_share, 4), "ns_per_iter": round(spin_ns, 3)},
            "untraced_wall_ns": rec["untraced_wall_ns"] if rec else None,
            "untraced_samples_ns": rec.get("untraced_samples_ns") if rec else None,
            "python_factor": rec["python_factor"] if rec else None}


def one_batch(py, name, layout, k):
    s0 = C.Snapshot()
    r = subprocess.run([py, str(HERE / "programs" / "batch.py"), name, layout, str(k)],
                       capture_output=True, text=True)
    s1 = C.Snapshot()
    if r.returncode != 0:
        raise SystemExit("%s %s k=%d failed:\n%s" % (name, layout, k, r.stderr))
    wall = json.loads(r.stdout.strip().splitlines()[-1])["wall_s"]
    other, niced = C.other_loads(s0, s1)
    return {"wall_s": wall, "other_load_cores": other, "other_nice_cores": niced,
            "quiet": other is None or other <= QUIET_CORES}


def measure(py, name, reps):
    samples = {(lay, k): [] for lay in LAYOUTS for k in KS}
    for rep in range(reps):
        for lay in LAYOUTS:
            for k in KS:
                s = one_batch(py, name, lay, k)
                s["probe_ns_per_iter"] = C.speed_probe()
                samples[(lay, k)].append(s)
    rows = []
    for (lay, k), ss in samples.items():
        walls = [s["wall_s"] for s in ss]
        st = C.summarize(walls, "s")
        loads = [s["other_load_cores"] for s in ss if s["other_load_cores"] is not None]
        rows.append({
            "program": name, "character": PROGRAMS[name][0], "runs": PROGRAMS[name][1],
            "layout": lay, "k": k, "wall_s": st, "samples_s": walls,
            "quiet": all(s["quiet"] for s in ss),
            "other_load_cores_max": max(loads) if loads else None,
            "probe_ns_per_iter": [s["probe_ns_per_iter"] for s in ss],
        })
        C.log("  %-16s %-9s k=%d  median %.3f s (p10 %.3f, p90 %.3f) quiet=%s others<=%s" % (
            name, lay, k, st["median"], st["p10"], st["p90"], rows[-1]["quiet"],
            C._f(rows[-1]["other_load_cores_max"])))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(PROGRAMS), help="comma-separated programs (default: all)")
    ap.add_argument("--reps", type=int, default=3, help="samples per configuration (default 3)")
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/gilsim-programs"),
                    help="where the venv with pyperformance lives")
    ap.add_argument("--out", default=str(HERE / "measured" / "programs.json"))
    ap.add_argument("--traces", default=str(HERE / "traces" / "programs"))
    ap.add_argument("--no-trace", action="store_true", help="time only (keep the traces there are)")
    ap.add_argument("--trace-only", action="store_true", help="trace only (keep the timed rows there are)")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = [n for n in names if n not in PROGRAMS]
    if unknown:
        ap.error("unknown programs %s; known: %s" % (unknown, ", ".join(PROGRAMS)))
    py = venv_python(args.cache)
    # The gzip program's input file is made once, untimed.
    subprocess.run([py, "-c", "import sys; sys.path.insert(0, %r); import gzip_file; gzip_file.ensure_input()"
                    % str(HERE / "programs")], check=True)
    started = C.host_info()
    start = C.wait_for_quiet(60, QUIET_CORES, C.log)
    pyver = subprocess.run([py, "-c", "import platform, pyperformance, pyperf; print(platform.python_version(), "
                            "pyperformance.__version__, pyperf.__version__)"],
                           capture_output=True, text=True, check=True).stdout.split()
    out = Path(args.out)
    doc = json.loads(out.read_text()) if out.exists() else {"schema": SCHEMA, "groups": [], "rows": [],
                                                             "traces": {}}
    if doc.get("schema") != SCHEMA:
        raise SystemExit("%s is not a %s file" % (out, SCHEMA))
    rows = [r for r in doc["rows"] if r["program"] not in names]
    traces = {k: v for k, v in doc["traces"].items() if k not in names}
    t0 = time.time()
    for name in names:
        C.log("%s (%s)" % (name, PROGRAMS[name][0]))
        if not args.no_trace:
            traces[name] = trace(py, name, args.traces)
        if args.trace_only:
            rows.extend(r for r in doc["rows"] if r["program"] == name)
        else:
            rows.extend(measure(py, name, args.reps))
    order = list(PROGRAMS)
    rows.sort(key=lambda r: (order.index(r["program"]), LAYOUTS.index(r["layout"]), r["k"]))
    doc["groups"].append({
        "programs": names, "host": started, "reps": 0 if args.trace_only else args.reps,
        "traced": not args.no_trace, "timed": not args.trace_only,
        "interpreter": {"python": pyver[0], "pyperformance": pyver[1], "pyperf": pyver[2]},
        "conditions": {"quiet_threshold_cores": QUIET_CORES, "start": start,
                       "end": C.conditions_now(), "seconds": time.time() - t0},
    })
    doc["rows"] = rows
    doc["traces"] = {k: traces[k] for k in order if k in traces}
    C.write_json(out, doc)
    C.log("wrote %s (%d rows) in %.0f s" % (out, len(rows), time.time() - t0))


if __name__ == "__main__":
    main()
