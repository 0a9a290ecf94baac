"""Does the tracer inflate the C and blocked times, or only the Python time?

A program of known composition (the tracer's unit-test program: a Python
loop, zlib.compress (releases the GIL), time.sleep (blocked), sum over a
range and sorted (hold the GIL), plus many small C calls (len in a loop) and
many small Python calls), each part timed untraced (median of 5) and then
traced as a whole; per part, the traced category time against the untraced
wall time. Run through /tmp/measure-quietly.sh, with PYTHONPATH=python:
    python3 calibration/programs/diagnose_categories.py
(calibration/README.md, "Own programs", quotes its output.)"""
import json
import os
import random
import statistics
import sys
import time
import zlib

from gilsim import trace as gtrace

DATA = (bytes(range(256)) * 4096 + os.urandom(1 << 18)) * 3 + bytes(1 << 20)
BIG = list(range(200_000))
random.Random(5).shuffle(BIG)
ROUNDS = 3


def pyloop(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


def f(x):
    return x + 1


def part_py():
    pyloop(150_000)


def part_pycalls():
    s = 0
    for i in range(20_000):
        s += f(i)


def part_smallc():
    t = (1, 2)
    s = 0
    for _ in range(20_000):
        s += len(t)


def part_zlib():
    zlib.compress(DATA, 6)


def part_sleep():
    time.sleep(0.03)


def part_sum():
    sum(range(1_500_000))


def part_sorted():
    sorted(BIG)


PARTS = [part_py, part_pycalls, part_smallc, part_zlib, part_sleep, part_sum, part_sorted]


def program():
    for _ in range(ROUNDS):
        for p in PARTS:
            p()


def main():
    untraced = {}
    for p in PARTS:
        xs = []
        for _ in range(5):
            t0 = time.perf_counter_ns()
            p()
            xs.append(time.perf_counter_ns() - t0)
        untraced[p.__name__] = statistics.median(xs)
    t0 = time.perf_counter_ns()
    program()
    whole = time.perf_counter_ns() - t0
    with gtrace.tracing(untraced_ns=whole) as t:
        program()
    th = next(x for x in t.result["threads"] if x["main"])

    def c_site(callee):
        s = next(s for s in th["c_sites"] if s["callee"] == callee)
        return sum(d["total_ns"] for d in s["by_category"].values()) / ROUNDS, s["category"]

    def py_site(fn):
        return next(s for s in th["python_sites"] if s["function"] == fn)["self"]["total_ns"] / ROUNDS

    rec = t.result["overhead"]["reconciliation"]
    raw_f = rec["python_factor"] if rec["applied"] else 1.0
    rows = {
        "part_zlib": c_site("zlib.compress"),
        "part_sleep": c_site("time.sleep"),
        "part_sum": c_site("sum"),
        "part_sorted": c_site("sorted"),
        "part_smallc": (c_site("len")[0] + py_site("part_smallc") / raw_f, "c_hold + python (raw)"),
        "part_py": (py_site("pyloop") / raw_f, "python (raw)"),
        "part_pycalls": ((py_site("part_pycalls") + py_site("f")) / raw_f, "python (raw)"),
    }
    out = {"python": sys.version.split()[0], "backend": t.result["tracer"]["backend"],
           "reconciliation": rec, "parts": {}}
    for name, (traced_ns, cat) in rows.items():
        out["parts"][name] = {"category": cat, "untraced_ns": int(untraced[name]), "traced_ns": int(traced_ns),
                              "traced_over_untraced": round(traced_ns / untraced[name], 3)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
