"""gilsim.trace: measure how a Python program splits its time, for gilsim.

Run a program under the tracer (single-threaded programs are the target)::

    python -m gilsim.trace [-o trace.json] -- script.py args...
    python -m gilsim.trace [-o trace.json] -m package.module args...

or trace a block or a function::

    with gilsim.trace.tracing("out.json"):
        work()

    @gilsim.trace.traced("out.json")
    def main(): ...

The trace (a versioned JSON file, see docs/trace-format.md) holds, per thread
and per call site: the time running Python (self time per function), the time
in C calls that hold the GIL, in C calls that release it, and blocked (sleep,
I/O, lock and queue waits), each with a count and a distribution (a
quarter-octave histogram, quantiles and 16 empirical points); the stretches of
GIL-held time between two GIL releases; the process's start-up time and peak
memory; and the tracer's own overhead, calibrated at start-up.

The tracer's cost lies between events, so the calibration cannot remove it
exactly. The command line therefore first runs the program untraced in a fresh
interpreter (``--untraced-runs N`` times, their median; ``--no-measure-slowdown``
skips it) and reconciles the trace with that wall time: the C and blocked calls
keep their measured times, the Python time is rescaled so that the main
thread's total is the untraced run's (the raw values and the factor are kept;
format 1.1, docs/trace-format.md "Reconciliation").

Whether a C call releases the GIL is *measured*: a probe thread, blocked on a
lock, is woken when a sampled C call starts; it can take the GIL only if the
caller releases it (C code holding the GIL never checks the eval breaker), so
if the probe ran during the call -- promptly, or while the caller still
computed in the call afterwards (its CPU clock, read by the probe), not because
a switch-interval drop request forced the caller out just after the call -- the
call released the GIL. Whether a call was blocked or computing is told by the
caller's thread CPU time (``time.thread_time_ns``) against the call's wall
time. The rules, thresholds and the overhead bound: docs/trace-format.md.

Standard library only; CPython 3.8 or newer. ``sys.monitoring`` (PEP 669) on
3.12+, ``sys.setprofile`` before.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import platform
import runpy
import subprocess
import sys
import threading
import time
import types

__all__ = ["FORMAT", "MINOR_VERSION", "VERSION", "Dist", "Tracer", "dumps", "main", "measure_startup", "summary",
           "traced", "tracing", "write_trace"]

FORMAT = "gilsim-trace"
VERSION = 1
# 1.1: the untraced run and the reconciliation (overhead.reconciliation, totals_raw_ns);
# a reader of 1.0 ignores them (docs/trace-format.md).
MINOR_VERSION = 1

# Categories of a C call.
C_HOLD, C_RELEASE, BLOCKED = 0, 1, 2
CATEGORY_NAMES = ("c_hold", "c_release", "blocked")

# Probe and classification parameters (documented in docs/trace-format.md).
PROBE_FIRST = 16            # the first calls of every C call site are probed,
PROBE_EVERY = 32            # then every 32nd call,
PROBE_LONG_NS = 200_000     # and every call after one that took >= 200 us.
HOLD_EVIDENCE_NS = 500_000  # a probed call the probe did not see counts as "holds" from 0.5 ms on
BLOCKED_CPU_SHARE = 0.25    # without run-queue data: thread CPU / wall below this is blocked
BLOCKED_BUSY_SHARE = 0.5    # with it (Linux): (thread CPU + run-queue wait) / wall below this
BLOCKED_MIN_NS = 20_000     # ... for calls of at least 20 us
LATE_CPU_NS = 200_000       # a late probe: the caller still computed >= 0.2 ms of the call afterwards
FORCED_GAP_NS = 300_000     # probe ran < 0.3 ms before the return after a long wait: a forced drop
BYTECODE_SCALE_MIN = 1.15   # a measured bytecode slowdown below this is taken as noise (no scaling)
RECONCILE_MIN, RECONCILE_MAX = 0.05, 20.0   # a Python-time factor outside these is not applied
FOLD_AFTER = 2000           # 3.12+: a C call site with 2000 calls, 99 % of them < 5 us, that never
FOLD_MAX_NS = 5_000         # released the GIL stops being watched (its time counts as Python time)
MAX_SITES = 300             # sites written per thread and kind; the rest are summed into "(other)"
EMPIRICAL_POINTS = 16

_now = time.perf_counter_ns
_cpu_now = time.thread_time_ns


# --------------------------------------------------------------------------
# Distributions: count, sum, min, max and a quarter-octave histogram.

def _bucket_of(d):
    """The histogram bucket of a duration (as Dist.add computes it)."""
    b = d.bit_length()
    return (b << 2) | ((d >> (b - 3)) & 3) if b > 3 else d


class Dist:
    """Durations in ns: exact count, total, min, max; a log histogram with 4
    buckets per octave (bucket width <= 25 % of its lower bound)."""

    __slots__ = ("n", "total", "lo", "hi", "buckets")

    def __init__(self):
        self.n = 0
        self.total = 0
        self.lo = -1
        self.hi = 0
        self.buckets = {}

    def add(self, d):
        if d < 0:
            d = 0
        self.n += 1
        self.total += d
        if d > self.hi:
            self.hi = d
        if d < self.lo or self.lo < 0:
            self.lo = d
        b = d.bit_length()
        k = (b << 2) | ((d >> (b - 3)) & 3) if b > 3 else d
        buckets = self.buckets
        buckets[k] = buckets.get(k, 0) + 1

    def merge(self, other):
        if other.n == 0:
            return
        self.n += other.n
        self.total += other.total
        self.hi = max(self.hi, other.hi)
        self.lo = other.lo if self.lo < 0 else min(self.lo, other.lo)
        for k, c in other.buckets.items():
            self.buckets[k] = self.buckets.get(k, 0) + c

    def scaled(self, f):
        """The distribution of f times each duration: count kept, total, min and
        max exact up to rounding, each bucket's samples moved to the bucket of
        its scaled midpoint (the histogram keeps its 25 % resolution)."""
        out = Dist()
        if self.n == 0:
            return out
        out.n = self.n
        out.total = int(round(self.total * f))
        out.lo = int(round(self.lo * f))
        out.hi = int(round(self.hi * f))
        k_lo, k_hi = _bucket_of(self.lo), _bucket_of(self.hi)
        if k_lo == k_hi:
            # One bucket: the minimum's sample at the scaled minimum, the rest at
            # the scaled maximum (the two may fall in different buckets now).
            for d, c in ((out.lo, 1), (out.hi, self.n - 1)):
                if c:
                    k2 = _bucket_of(d)
                    out.buckets[k2] = out.buckets.get(k2, 0) + c
            return out
        for k, c in self.buckets.items():
            # The buckets of the minimum and the maximum hold their scaled values
            # (so min and max stay in the first and last bucket).
            if k == k_lo:
                d = out.lo
            elif k == k_hi:
                d = out.hi
            else:
                lo, hi = self.bucket_bounds(k)
                d = min(max(int((lo + hi - 1) / 2 * f), out.lo), out.hi)
            k2 = _bucket_of(d)
            out.buckets[k2] = out.buckets.get(k2, 0) + c
        return out

    @staticmethod
    def bucket_bounds(k):
        if k < 16:
            return k, k + 1
        b, sub = k >> 2, k & 3
        return (4 + sub) << (b - 3), (5 + sub) << (b - 3)

    def quantile(self, q):
        if self.n == 0:
            return 0
        target = q * self.n
        seen = 0
        for k in sorted(self.buckets):
            c = self.buckets[k]
            if seen + c >= target:
                lo, hi = self.bucket_bounds(k)
                frac = (target - seen) / c if c else 0.0
                v = lo + (hi - lo) * frac
                return int(round(min(max(v, self.lo), self.hi)))
            seen += c
        return self.hi

    def to_json(self):
        if self.n == 0:
            return {"count": 0, "total_ns": 0}
        qs = {"p0": self.lo}
        for name, q in (("p10", 0.10), ("p25", 0.25), ("p50", 0.50), ("p75", 0.75),
                        ("p90", 0.90), ("p99", 0.99)):
            qs[name] = self.quantile(q)
        qs["p100"] = self.hi
        return {
            "count": self.n,
            "total_ns": self.total,
            "mean_ns": int(round(self.total / self.n)),
            "min_ns": self.lo,
            "max_ns": self.hi,
            "quantiles_ns": qs,
            "empirical_ns": [self.quantile((i + 0.5) / EMPIRICAL_POINTS) for i in range(EMPIRICAL_POINTS)],
            "histogram": [[*self.bucket_bounds(k), self.buckets[k]] for k in sorted(self.buckets)],
        }


# --------------------------------------------------------------------------
# Call sites and per-thread state.

def _code_name(code):
    return getattr(code, "co_qualname", None) or code.co_name


def _callable_name(f):
    try:
        qn = getattr(f, "__qualname__", None) or getattr(f, "__name__", None)
        if not isinstance(qn, str):
            qn = type(f).__qualname__
        mod = getattr(f, "__module__", None)
        owner = getattr(f, "__self__", None)
        if owner is None or isinstance(owner, types.ModuleType):
            objclass = getattr(f, "__objclass__", None)
            if objclass is not None and mod is None:
                mod = objclass.__module__
        elif mod is None:
            cls = owner if isinstance(owner, type) else type(owner)
            mod = cls.__module__
            if "." not in qn:
                qn = cls.__qualname__ + "." + qn
        if not isinstance(mod, str):
            mod = None
        return qn if not mod or mod == "builtins" else mod + "." + qn
    except Exception:  # a callable with odd attributes
        return type(f).__qualname__


def _wait_kind(name):
    """A label for a blocking call, for people and loaders (the category
    itself is measured, not taken from this)."""
    low = name.lower()
    if low.endswith("sleep"):
        return "sleep"
    if "acquire" in low or low.endswith(".wait") or "lock" in low or "join" in low:
        return "lock"
    if "select" in low or "poll" in low or "kqueue" in low:
        return "io_wait"
    return "io"


class PySite:
    __slots__ = ("code", "dist")

    def __init__(self, code):
        self.code = code
        self.dist = Dist()


class CSite:
    __slots__ = ("code", "offset", "name", "n", "probed", "rel", "hold", "ambiguous",
                 "blocked", "cpu_ns", "wall_ns", "cat", "last_wall", "max_wall",
                 "by_cat", "undecided", "folded", "folded_at", "slow", "waitq_ns")

    def __init__(self, code, offset, fn):
        self.code = code
        self.offset = offset
        self.name = _callable_name(fn)
        self.n = 0
        self.probed = 0
        self.rel = 0
        self.hold = 0
        self.ambiguous = 0
        self.blocked = 0
        self.cpu_ns = 0
        self.wall_ns = 0
        self.cat = C_HOLD
        self.last_wall = 0
        self.max_wall = 0
        self.by_cat = [None, None, None]
        self.undecided = None
        self.folded = False
        self.folded_at = None
        self.slow = 0
        self.waitq_ns = 0

    def verdict(self):
        if self.blocked * 2 > self.probed:
            return BLOCKED
        if self.rel > 0 and self.rel >= self.hold:
            return C_RELEASE
        return C_HOLD


class ThreadState:
    __slots__ = ("ident", "name", "is_main", "stack", "last", "cb_ns", "events",
                 "c_events", "held", "bursts", "root_ns", "py_sites", "c_sites",
                 "t_first", "cpu_first", "t_end", "cpu_end", "import_depth",
                 "import_t0", "imports_ns", "clk", "sched_fd")

    def __init__(self, ident, name, t, is_main=False):
        self.ident = ident
        self.name = name
        self.is_main = is_main
        self.stack = []
        self.last = t
        self.cb_ns = 0
        self.events = 0
        self.c_events = 0
        self.held = 0
        self.bursts = Dist()
        self.root_ns = 0
        self.py_sites = {}
        self.c_sites = {}
        self.t_first = t
        self.cpu_first = _cpu_now() if is_main else None
        self.t_end = None
        self.cpu_end = None
        self.import_depth = 0
        self.import_t0 = 0
        self.imports_ns = 0
        self.clk = _cpu_clock(ident)
        self.sched_fd = _open_schedstat()


class _Probe:
    """A thread blocked on a lock; a sampled C call releases the lock, and the
    probe then needs the GIL to record which sampled calls were running then
    (``active``, by the number each probed call draws, into ``hits``)."""

    def __init__(self):
        self.arm = threading.Lock()
        self.arm.acquire()
        self.pending = False
        self.active = {}
        self.hits = {}
        self.gen = 0
        self.t_arm = 0
        self.runs = 0
        self.arms = 0
        self.stop = False
        self.thread = threading.Thread(target=_probe_loop, args=(self,), name="gilsim-trace-probe",
                                       daemon=True)
        self.thread.start()
        self.ident = self.thread.ident
        native = getattr(self.thread, "native_id", None)
        self._stat = "/proc/self/task/%d/stat" % native if native else None
        self.starved = 0
        # Warm up: one round trip, then let it park on the lock (it needs the GIL
        # to get there; a probe still starting would be late for the first call).
        self.pending = True
        self.arm.release()
        deadline = time.monotonic() + 2.0
        while self.runs == 0 and time.monotonic() < deadline:
            time.sleep(0.0002)
        time.sleep(0.002)
        self.runs = 0

    def runnable(self):
        """Whether the probe thread is runnable but not running (Linux: its
        state in /proc is R): then a missed call is no evidence the GIL was held."""
        if self._stat is None:
            return False
        try:
            with open(self._stat, "rb") as f:
                text = f.read()
        except OSError:
            self._stat = None
            return False
        state = text[text.rfind(b")") + 2:text.rfind(b")") + 3]
        if state == b"R":
            self.starved += 1
            return True
        return False

    def close(self):
        self.stop = True
        if not self.pending:
            self.pending = True
            self.arm.release()
        self.thread.join(5.0)


def _probe_loop(p):
    acquire = p.arm.acquire
    now = time.perf_counter_ns
    gettime = getattr(time, "clock_gettime_ns", None)
    while True:
        acquire()
        t = now()
        ta = p.t_arm
        hits = p.hits
        for g, clk in list(p.active.items()):
            # The calling thread's CPU time now: if it still computes in the call
            # afterwards, the probe got in during the call (not after it).
            try:
                c = gettime(clk) if clk is not None else None
            except OSError:
                c = None
            hits[g] = (t, ta, c)
        p.runs += 1
        p.pending = False
        if p.stop:
            return


try:
    _FIND_AND_LOAD = sys.modules["_frozen_importlib"]._find_and_load.__code__
except (KeyError, AttributeError):  # not CPython
    _FIND_AND_LOAD = None

_FunctionType = types.FunctionType
_MethodType = types.MethodType


# --------------------------------------------------------------------------
# The tracer.

class Tracer:
    """Traces the calling thread (and threads it starts) between start() and stop().

    probe: measure GIL release with the probe thread (True), or classify C
    calls only as blocked / not blocked (False). calibrate: measure the
    per-event cost first (about 0.1 s). startup: measure the interpreter's
    start-up (3 runs of ``python -c pass``, about 0.1 s)."""

    def __init__(self, probe=True, calibrate=True, startup=False, backend=None, fold=True):
        if backend is None:
            backend = "sys.monitoring" if hasattr(sys, "monitoring") else "sys.setprofile"
        if backend not in ("sys.monitoring", "sys.setprofile"):
            raise ValueError("backend must be 'sys.monitoring' or 'sys.setprofile'")
        if backend == "sys.monitoring" and not hasattr(sys, "monitoring"):
            raise ValueError("sys.monitoring needs Python 3.12 or newer")
        self.backend = backend
        gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
        self.gil_enabled = gil_enabled
        self.want_probe = probe and gil_enabled
        self.want_calibrate = calibrate
        self.want_startup = startup
        self.fold = fold and backend == "sys.monitoring"
        self.hidden_py_ns = 0
        self.python_time_scale = 1.0
        self.hidden_c_ns = 0
        self.calibration = None
        self.startup = None
        self.states = {}
        self.all_states = []
        self.probe = None
        self.active = False
        self.stopped = False
        self.result = None
        self.untraced_ns = None
        self.untraced_samples = None
        self.untraced_how = None
        self.python_factor = 1.0
        self._probe_stats = None
        self._ru = None
        self.program = {"kind": "block"}
        self._tool = None
        self._t_start = None
        self._t_stop = None
        self._wall_start_iso = None

    # ---- the event operations, built as closures for speed -------------------

    def _build(self, Hp, Hc, probe, fold, BF=1.0):
        """The callbacks. Hp, Hc: hidden cost per Python / C event (ns); BF:
        the factor Python time between events is multiplied by (1 / the
        bytecode slowdown the hooks cause)."""
        now = _now
        cpu_now = _cpu_now
        get_ident = threading.get_ident
        states = self.states
        tracer = self
        FIND = _FIND_AND_LOAD
        interval_half = int(sys.getswitchinterval() * 1e9) // 2
        DISABLE = sys.monitoring.DISABLE if hasattr(sys, "monitoring") else None
        FT, MT = _FunctionType, _MethodType
        probe_runnable = probe.runnable if probe is not None else None
        pread = getattr(os, "pread", None)

        def runq_wait(st):
            try:
                return int(pread(st.sched_fd, 128, 0).split()[1])
            except (OSError, ValueError, IndexError, TypeError):
                _close_schedstat(st)
                return 0

        def py_push(st, code, t):
            stack = st.stack
            site = st.py_sites.get(code)
            if site is None:
                site = st.py_sites[code] = PySite(code)
            if stack:
                top = stack[-1]
                if top[0]:
                    top[6] = True
                    if top[4]:
                        probe.active.pop(top[4], None)
            stack.append([0, site, 0])
            if code is FIND:
                if st.import_depth == 0:
                    st.import_t0 = t
                st.import_depth += 1

        def py_pop(st, code, t):
            stack = st.stack
            if not stack:
                return
            top = stack[-1]
            if top[0] or top[1].code is not code:
                # Unmatched: find the frame further down (a missed event), or ignore.
                for i in range(len(stack) - 1, -1, -1):
                    e = stack[i]
                    if not e[0] and e[1].code is code:
                        break
                else:
                    return
                while len(stack) - 1 > i:
                    tracer._flush_entry(st, stack.pop())
                top = stack[-1]
            stack.pop()
            top[1].dist.add(top[2])
            if code is FIND and st.import_depth > 0:
                st.import_depth -= 1
                if st.import_depth == 0:
                    st.imports_ns += t - st.import_t0
            if stack and probe is not None:
                new = stack[-1]
                if new[0] and new[4]:
                    probe.active[new[4]] = st.clk

        def c_push(st, code, offset, fn):
            if st.name is None:
                st.name = _thread_name(st.ident)
            sites = st.c_sites.get(code)
            if sites is None:
                sites = st.c_sites[code] = {}
            site = sites.get(offset)
            if site is None:
                site = sites[offset] = CSite(code, offset, fn)
            if site.folded:
                return None
            e = [1, site, 0, 0, 0, 0, False, None]
            if probe is not None and (
                site.probed < PROBE_FIRST or site.n % PROBE_EVERY == 0 or site.last_wall >= PROBE_LONG_NS
            ):
                if st.sched_fd is not None:
                    # Before the call is active: pread releases the GIL (the probe would get in).
                    e[7] = runq_wait(st)
                probe.gen += 1
                g = probe.gen
                e[4] = g
                probe.active[g] = st.clk
                if not probe.pending:
                    probe.pending = True
                    probe.arms += 1
                    probe.t_arm = now()
                    probe.arm.release()
                e[5] = cpu_now()
            st.stack.append(e)
            return e

        def c_pop(st, t):
            """Returns True when the site should stop being watched."""
            stack = st.stack
            if not stack or not stack[-1][0]:
                return False
            e = stack.pop()
            site = e[1]
            site.n += 1
            wall = t - e[3]
            g = e[4]
            if g:
                c_end = cpu_now()
                cpu = c_end - e[5]
                probe.active.pop(g, None)
                hit = probe.hits.pop(g, None)
                # Time runnable but waiting for a CPU (Linux schedstat): not blocked.
                # (Read after the call is no longer active: pread releases the GIL.)
                waitq = runq_wait(st) - e[7] if e[7] is not None else 0
                if waitq < 0:
                    waitq = 0
                site.waitq_ns += waitq
                site.probed += 1
                site.cpu_ns += cpu
                site.wall_ns += wall
                # Blocked: asleep (neither computing nor waiting for a CPU) most of the call.
                if e[7] is not None:
                    blocked = wall >= BLOCKED_MIN_NS and cpu + waitq < BLOCKED_BUSY_SHARE * wall
                else:
                    blocked = wall >= BLOCKED_MIN_NS and cpu < BLOCKED_CPU_SHARE * wall
                released = None
                if hit is not None:
                    if hit[0] - hit[1] < interval_half:
                        released = True
                    elif e[6]:
                        pass   # Python ran inside the call: a forced drop there says nothing
                    elif hit[2] is not None:
                        if c_end - hit[2] >= LATE_CPU_NS:
                            released = True   # the caller computed on in the call after the probe ran
                        elif not blocked:
                            released = False  # the probe got in at the call's end: a forced drop
                    elif t - hit[0] < FORCED_GAP_NS:
                        # The probe got the GIL by a forced drop after the call: held,
                        # unless the thread was off the CPU (then the probe was late).
                        released = None if blocked else False
                    elif hit[0] - e[3] < interval_half:
                        # A probe still waiting from an earlier arm got in early in
                        # this call, well before its end: this call let it in.
                        released = True
                elif wall >= HOLD_EVIDENCE_NS and not probe_runnable():
                    # Not let in during a long call, and waiting (not starved of a CPU).
                    released = False
                if released is True:
                    site.rel += 1
                elif released is False:
                    site.hold += 1
                else:
                    site.ambiguous += 1
                if blocked and released is not False:
                    site.blocked += 1
                site.cat = site.verdict()
                if blocked and released is not False:
                    cat = BLOCKED
                elif released is True:
                    cat = C_RELEASE
                elif released is False:
                    cat = C_HOLD
                else:
                    cat = -1
            else:
                cat = -1
            site.last_wall = wall
            if wall > site.max_wall:
                site.max_wall = wall
            if wall >= FOLD_MAX_NS:
                site.slow += 1
            self_ns = e[2]
            if cat < 0:
                # No evidence of its own: the site's final verdict decides (at the end).
                d = site.undecided
                if d is None:
                    d = site.undecided = Dist()
                cat = site.cat
            else:
                d = site.by_cat[cat]
                if d is None:
                    d = site.by_cat[cat] = Dist()
            d.add(self_ns)
            if cat == C_HOLD:
                st.held += self_ns
            else:
                st.bursts.add(st.held)
                st.held = 0
            if (fold and not g and site.n >= FOLD_AFTER and site.slow * 100 <= site.n
                    and site.rel == 0 and site.cat == C_HOLD):
                site.folded = True
                site.folded_at = site.n
                return True
            return False

        if self.backend == "sys.setprofile":
            def hook(frame, event, arg):
                t = now()
                st = states.get(get_ident())
                if st is None:
                    st = tracer._new_state(t)
                    if st is None:
                        return
                dt = t - st.last - (Hp if (event == "call" or event == "return") else Hc)
                if dt > 0:
                    stack = st.stack
                    if stack:
                        top = stack[-1]
                        if top[0]:
                            top[2] += dt
                        else:
                            dt = int(dt * BF)
                            top[2] += dt
                            st.held += dt
                    else:
                        dt = int(dt * BF)
                        st.root_ns += dt
                        st.held += dt
                if event == "call":
                    py_push(st, frame.f_code, t)
                elif event == "return":
                    py_pop(st, frame.f_code, t)
                elif event == "c_call":
                    e = c_push(st, frame.f_code, frame.f_lasti, arg)
                    t2 = now()
                    st.events += 1
                    st.c_events += 1
                    st.cb_ns += t2 - t
                    st.last = t2
                    if e is not None:
                        e[3] = t2
                    return
                else:
                    c_pop(st, t)
                    st.c_events += 1
                st.events += 1
                t2 = now()
                st.cb_ns += t2 - t
                st.last = t2

            return {"hook": hook}

        def m_py_start(code, offset):
            t = now()
            st = states.get(get_ident())
            if st is None:
                st = tracer._new_state(t)
                if st is None:
                    return
            dt = t - st.last - Hp
            if dt > 0:
                stack = st.stack
                if stack:
                    top = stack[-1]
                    if top[0]:
                        top[2] += dt
                    else:
                        dt = int(dt * BF)
                        top[2] += dt
                        st.held += dt
                else:
                    dt = int(dt * BF)
                    st.root_ns += dt
                    st.held += dt
            py_push(st, code, t)
            st.events += 1
            t2 = now()
            st.cb_ns += t2 - t
            st.last = t2

        def m_py_return(code, offset, value):
            t = now()
            st = states.get(get_ident())
            if st is None:
                st = tracer._new_state(t)
                if st is None:
                    return
            dt = t - st.last - Hp
            if dt > 0:
                stack = st.stack
                if stack:
                    top = stack[-1]
                    if top[0]:
                        top[2] += dt
                    else:
                        dt = int(dt * BF)
                        top[2] += dt
                        st.held += dt
                else:
                    dt = int(dt * BF)
                    st.root_ns += dt
                    st.held += dt
            py_pop(st, code, t)
            st.events += 1
            t2 = now()
            st.cb_ns += t2 - t
            st.last = t2

        def m_call(code, offset, fn, arg0):
            tf = type(fn)
            if tf is FT or (tf is MT and type(fn.__func__) is FT):
                # A Python function: PY_START/PY_RETURN time it; stop watching this site.
                return DISABLE
            t = now()
            st = states.get(get_ident())
            if st is None:
                st = tracer._new_state(t)
                if st is None:
                    return DISABLE   # the probe thread (or after the stop)
            dt = t - st.last - Hc
            if dt > 0:
                stack = st.stack
                if stack:
                    top = stack[-1]
                    if top[0]:
                        top[2] += dt
                    else:
                        dt = int(dt * BF)
                        top[2] += dt
                        st.held += dt
                else:
                    dt = int(dt * BF)
                    st.root_ns += dt
                    st.held += dt
            e = c_push(st, code, offset, fn)
            st.events += 1
            st.c_events += 1
            t2 = now()
            st.cb_ns += t2 - t
            st.last = t2
            if e is None:
                return DISABLE
            e[3] = t2

        def m_c_return(code, offset, fn, arg0):
            t = now()
            st = states.get(get_ident())
            if st is None:
                st = tracer._new_state(t)
                if st is None:
                    return
            dt = t - st.last - Hc
            if dt > 0:
                stack = st.stack
                if stack:
                    top = stack[-1]
                    if top[0]:
                        top[2] += dt
                    else:
                        dt = int(dt * BF)
                        top[2] += dt
                        st.held += dt
                else:
                    dt = int(dt * BF)
                    st.root_ns += dt
                    st.held += dt
            c_pop(st, t)   # a folded site is disabled at its next CALL (C_RETURN cannot be)
            st.events += 1
            st.c_events += 1
            t2 = now()
            st.cb_ns += t2 - t
            st.last = t2

        return {"py_start": m_py_start, "py_return": m_py_return, "call": m_call,
                "c_return": m_c_return}

    def _new_state(self, t):
        if not self.active:
            if self.backend == "sys.setprofile":
                sys.setprofile(None)
            return None
        ident = threading.get_ident()
        if self.probe is not None and ident == self.probe.ident:
            return None   # sys.monitoring is process-wide: the probe's own events are not traced
        # Not threading.current_thread(): in a thread's bootstrap it would
        # register a _DummyThread. The name is looked up again later.
        st = ThreadState(ident, _thread_name(ident), t)
        self.states[ident] = st
        self.all_states.append(st)
        return st

    @staticmethod
    def _flush_entry(st, e):
        if e[0]:
            site = e[1]
            site.n += 1
            if site.undecided is None:
                site.undecided = Dist()
            site.undecided.add(e[2])
        else:
            e[1].dist.add(e[2])

    # ---- installing and removing the hooks ----------------------------------

    def _install(self, ops):
        if self.backend == "sys.setprofile":
            threading.setprofile(ops["hook"])
            sys.setprofile(ops["hook"])
            return
        mon = sys.monitoring
        if self._tool is None:
            for tid in [mon.PROFILER_ID] + [i for i in range(6) if i != mon.PROFILER_ID]:
                if mon.get_tool(tid) is None:
                    mon.use_tool_id(tid, "gilsim.trace")
                    self._tool = tid
                    break
            else:
                raise RuntimeError("gilsim.trace: every sys.monitoring tool id is in use")
        E = mon.events
        tid = self._tool
        mon.register_callback(tid, E.PY_START, ops["py_start"])
        mon.register_callback(tid, E.PY_RESUME, ops["py_start"])
        mon.register_callback(tid, E.PY_THROW, ops["py_start"])
        mon.register_callback(tid, E.PY_RETURN, ops["py_return"])
        mon.register_callback(tid, E.PY_YIELD, ops["py_return"])
        mon.register_callback(tid, E.PY_UNWIND, ops["py_return"])
        mon.register_callback(tid, E.CALL, ops["call"])
        mon.register_callback(tid, E.C_RETURN, ops["c_return"])
        mon.register_callback(tid, E.C_RAISE, ops["c_return"])
        mon.set_events(tid, E.PY_START | E.PY_RESUME | E.PY_THROW | E.PY_RETURN | E.PY_YIELD
                       | E.PY_UNWIND | E.CALL | E.C_RETURN | E.C_RAISE)

    def _uninstall(self):
        if self.backend == "sys.setprofile":
            sys.setprofile(None)
            threading.setprofile(None)
            return
        mon = sys.monitoring
        if self._tool is not None:
            mon.set_events(self._tool, 0)
            for ev in (mon.events.PY_START, mon.events.PY_RESUME, mon.events.PY_THROW,
                       mon.events.PY_RETURN, mon.events.PY_YIELD, mon.events.PY_UNWIND,
                       mon.events.CALL, mon.events.C_RETURN, mon.events.C_RAISE):
                mon.register_callback(self._tool, ev, None)
            mon.restart_events()

    def _release_tool(self):
        if self.backend == "sys.monitoring" and self._tool is not None:
            sys.monitoring.free_tool_id(self._tool)
            self._tool = None

    # ---- calibration ---------------------------------------------------------

    def _calibrate(self, n=20000, rounds=5):
        """Per-event cost, for Python-call events and C-call events apart: a
        loop of Python calls and a loop of C calls, each untraced and traced
        (the best of `rounds`). The part of the cost the callbacks do not see
        themselves (event dispatch, argument set-up) is subtracted from every
        interval between two events: `hidden_py_ns` after a Python event,
        `hidden_c_ns` after a C event."""
        ops = self._build(0, 0, None, False)
        ident = threading.get_ident()
        out = {"loop_iterations": n}
        for kind, work in (("python", _cal_py_work), ("c", _cal_c_work)):
            best0 = None
            for _ in range(rounds):
                t0 = _now()
                work(n)
                dt = _now() - t0
                best0 = dt if best0 is None else min(best0, dt)
            runs = []
            for _ in range(rounds):
                self.states.clear()
                self.active = True
                st = ThreadState(ident, "calibration", _now())
                self.states[ident] = st
                self._install(ops)
                t0 = _now()
                work(n)
                dt = _now() - t0
                self._uninstall()
                self.active = False
                _close_schedstat(st)
                runs.append((dt, st.events, st.cb_ns))
            self.states.clear()
            dt, events, cb = min(runs)
            events = max(events, 1)
            per_event = max(0.0, (dt - best0) / events)
            in_cb = cb / events
            hidden = int(max(0.0, per_event - in_cb))
            out[kind] = {"untraced_ns": best0, "traced_ns": dt, "events": events,
                         "per_event_ns": int(round(per_event)),
                         "in_callback_per_event_ns": int(round(in_cb)),
                         "hidden_per_event_ns": hidden}
        # Does the hook slow bytecode itself? (3.11 with a profile function runs
        # every instruction through its tracing dispatch, unspecialized: ~2x.)
        loops = 100_000
        best0 = best1 = None
        for _ in range(rounds):
            t0 = _now()
            _cal_loop(loops)
            dt = _now() - t0
            best0 = dt if best0 is None else min(best0, dt)
        for _ in range(rounds):
            self.states.clear()
            self.active = True
            st = self.states[ident] = ThreadState(ident, "calibration", _now())
            self._install(ops)
            t0 = _now()
            _cal_loop(loops)
            dt = _now() - t0
            self._uninstall()
            self.active = False
            _close_schedstat(st)
            best1 = dt if best1 is None else min(best1, dt)
        self.states.clear()
        factor = best1 / max(best0, 1)
        self.python_time_scale = factor if factor >= BYTECODE_SCALE_MIN else 1.0
        out["bytecode"] = {"loop_iterations": loops, "untraced_ns": best0, "traced_ns": best1,
                           "slowdown": round(factor, 4), "python_time_scale": round(self.python_time_scale, 4)}
        # The event loops' own bytecode ran slower by that factor too: not an event cost.
        for kind in ("python", "c"):
            k = out[kind]
            per_event = max(0.0, (k["traced_ns"] - k["untraced_ns"] * self.python_time_scale) / k["events"])
            k["per_event_ns"] = int(round(per_event))
            k["hidden_per_event_ns"] = int(max(0.0, per_event - k["in_callback_per_event_ns"]))
        self.hidden_py_ns = out["python"]["hidden_per_event_ns"]
        self.hidden_c_ns = out["c"]["hidden_per_event_ns"]
        self.calibration = out

    # ---- start and stop ----------------------------------------------------

    def start(self):
        if self.active or self.stopped:
            raise RuntimeError("a Tracer traces once")
        if self.want_startup:
            self.startup = measure_startup()
        if self.backend == "sys.setprofile" and sys.getprofile() is not None:
            raise RuntimeError("gilsim.trace: another profiler (sys.setprofile) is active")
        if self.want_calibrate:
            self._calibrate()
        if self.want_probe:
            self.probe = _Probe()
        ops = self._build(self.hidden_py_ns, self.hidden_c_ns, self.probe, self.fold,
                          1.0 / self.python_time_scale)
        t = _now()
        self._t_start = t
        self._wall_start_iso = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.active = True
        main = ThreadState(threading.get_ident(), threading.current_thread().name, t, is_main=True)
        self.states[main.ident] = main
        self.all_states.append(main)
        self._main = main
        self._install(ops)
        return self

    def stop(self):
        if not self.active:
            return self.result
        self._uninstall()
        t = _now()
        self.active = False
        self.stopped = True
        self._t_stop = t
        self.states.clear()
        main = self._main
        main.t_end = t
        main.cpu_end = _cpu_now()
        # The stretch since the main thread's last event.
        dt = t - main.last - self.hidden_py_ns
        if dt > 0:
            if main.stack and main.stack[-1][0]:
                main.stack[-1][2] += dt
            else:
                dt = int(dt / self.python_time_scale)
                main.held += dt
                if main.stack:
                    main.stack[-1][2] += dt
                else:
                    main.root_ns += dt
        for i, st in enumerate(self.all_states):
            if st.name is None:
                st.name = _thread_name(st.ident) or "thread-%d" % i
            if st.t_end is None:
                st.t_end = st.last
            while st.stack:
                self._flush_entry(st, st.stack.pop())
            if st.held or st.bursts.n:
                st.bursts.add(st.held)
                st.held = 0
        probe_stats = None
        if self.probe is not None:
            self.probe.close()
            probe_stats = {"arms": self.probe.arms, "runs": self.probe.runs,
                           "probed_calls": self.probe.gen, "starved": self.probe.starved}
        self._release_tool()
        for st in self.all_states:
            _close_schedstat(st)
        self._probe_stats = probe_stats
        self._ru = None
        self.result = self._report(probe_stats)
        return self.result

    def reconcile(self, untraced_ns, how="given"):
        """Reconciles the stopped trace with the wall time of the same work run
        untraced (`untraced_ns`, or a list of such runs' times: their median is
        used; `how` says how they were measured: "subprocess", "in_process" or
        "given"), and returns the new trace.

        The tracer inflates the time between events (its per-event dispatch and
        accounting, and on 3.11 bytecode run through the tracing dispatch) -- the
        Python time -- while the C calls and the blocked calls are timed from
        inside an event to the next, wall-clock, and are barely touched (tiny C
        calls carry some: their excess is then taken from Python time). So the
        main thread's Python time is rescaled to what the untraced run leaves
        after its measured C and blocked times: factor = (untraced wall - c_hold
        - c_release - blocked) / traced Python time. The same factor is applied
        to every thread's Python time (the tracer's cost per event is the same);
        the raw totals stay in each thread's `totals_raw_ns`."""
        if not self.stopped:
            raise RuntimeError("reconcile() needs a stopped tracer (call stop() first)")
        samples = sorted(int(x) for x in (untraced_ns if isinstance(untraced_ns, (list, tuple)) else [untraced_ns]))
        if not samples:
            raise ValueError("reconcile() needs at least one untraced time")
        self.untraced_samples = samples
        n = len(samples)
        median = samples[n // 2] if n % 2 else (samples[n // 2 - 1] + samples[n // 2]) // 2
        self.untraced_ns = max(median, 1)
        self.untraced_how = how
        self.result = self._report(self._probe_stats)
        return self.result

    def _main_raw(self):
        """The main thread's raw totals: Python, and C + blocked."""
        main = self._main
        py = main.root_ns + sum(s.dist.total for s in main.py_sites.values())
        other = sum(d.total for sites in main.c_sites.values() for s in sites.values()
                    for d in _final_by_cat(s))
        return py, other

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # ---- the report ---------------------------------------------------------

    def _reconciliation(self, wall):
        """The factor applied to Python time (1.0 without an untraced run) and
        the `overhead.reconciliation` object (None without one)."""
        if self.untraced_ns is None:
            return 1.0, None
        py, other = self._main_raw()
        target = self.untraced_ns - other
        factor = target / py if py > 0 else None
        applied = factor is not None and RECONCILE_MIN <= factor <= RECONCILE_MAX
        if not applied:
            reason = ("no Python time traced" if py <= 0 else
                      "the measured C and blocked time exceeds the untraced run" if target <= 0 else
                      "factor outside [%g, %g]" % (RECONCILE_MIN, RECONCILE_MAX))
        f = factor if applied else 1.0
        return f, {
            "untraced_wall_ns": self.untraced_ns,
            "untraced_samples_ns": self.untraced_samples,
            "untraced_run": self.untraced_how,
            "traced_wall_ns": wall,
            "python_raw_ns": py,
            "c_and_blocked_ns": other,
            "python_ns": int(round(py * f)),
            "python_factor": round(factor, 4) if factor is not None else None,
            "applied": applied,
            "not_applied_because": None if applied else reason,
        }

    def _report(self, probe_stats):
        wall = self._t_stop - self._t_start
        self.python_factor, reconciliation = self._reconciliation(wall)
        events = sum(st.events for st in self.all_states)
        cb = sum(st.cb_ns for st in self.all_states)
        hidden_total = sum(self._hidden_total(st) for st in self.all_states)
        est = cb + hidden_total
        # The program's own time is what the threads' categories add up to (the
        # main thread's, for a single-threaded program); wall / that is the slowdown.
        main = self._main
        own = main.root_ns + sum(s.dist.total for s in main.py_sites.values())
        own += sum(d.total for sites in main.c_sites.values() for s in sites.values()
                   for d in _final_by_cat(s))
        untraced = max(own, 1)
        if self._ru is None:
            self._ru = _rusage()   # at the stop (a later reconcile() keeps it)
        ru = self._ru
        threads = [self._thread_json(i, st) for i, st in enumerate(self.all_states)]
        imports = sum(st.imports_ns for st in self.all_states)
        startup = dict(self.startup) if self.startup else {"interpreter_ns": None}
        startup["imports_ns"] = imports
        return {
            "format": FORMAT,
            "version": VERSION,
            "minor_version": MINOR_VERSION,
            "units": {"time": "ns", "memory": "bytes"},
            "created": self._wall_start_iso,
            "tracer": {
                "name": "gilsim.trace",
                "gilsim_version": _gilsim_version(),
                "backend": self.backend,
                "probe": self.probe is not None,
                "folding": self.fold,
                "parameters": {
                    "probe_first": PROBE_FIRST, "probe_every": PROBE_EVERY,
                    "probe_long_ns": PROBE_LONG_NS, "hold_evidence_ns": HOLD_EVIDENCE_NS,
                    "blocked_cpu_share": BLOCKED_CPU_SHARE, "blocked_busy_share": BLOCKED_BUSY_SHARE,
                    "blocked_min_ns": BLOCKED_MIN_NS,
                    "forced_gap_ns": FORCED_GAP_NS, "late_cpu_ns": LATE_CPU_NS, "fold_after": FOLD_AFTER,
                    "fold_max_ns": FOLD_MAX_NS, "max_sites": MAX_SITES,
                    "bytecode_scale_min": BYTECODE_SCALE_MIN,
                },
            },
            "python": {
                "implementation": sys.implementation.name,
                "version": platform.python_version(),
                "executable": sys.executable,
                "gil_enabled": self.gil_enabled,
                "switch_interval_ns": int(round(sys.getswitchinterval() * 1e9)),
            },
            "host": {
                "system": platform.system(),
                "machine": platform.machine(),
                "cpu_count": os.cpu_count(),
            },
            "program": self.program,
            "process": {
                "wall_ns": wall,
                "cpu_ns": ru["cpu_ns"],
                "peak_rss_bytes": ru["peak_rss_bytes"],
                "startup": startup,
            },
            "overhead": {
                "events": events,
                "calibration": self.calibration,
                "hidden_python_event_ns": self.hidden_py_ns,
                "hidden_c_event_ns": self.hidden_c_ns,
                "python_time_scale": round(self.python_time_scale, 4),
                "in_callback_ns": cb,
                "estimated_ns": est,
                "estimated_slowdown": round(min(wall / untraced, 1000.0), 4),
                "overhead_share": round(min(1.0, est / wall), 4) if wall else 0.0,
                "probe": probe_stats,
                **({} if reconciliation is None else {
                    "untraced_wall_ns": self.untraced_ns,
                    "measured_slowdown": round(wall / self.untraced_ns, 4),
                    "reconciliation": reconciliation,
                }),
            },
            "threads": threads,
        }

    def _hidden_total(self, st):
        return (st.events - st.c_events) * self.hidden_py_ns + st.c_events * self.hidden_c_ns

    def _thread_json(self, index, st):
        f = self.python_factor
        py_raw = st.root_ns + sum(s.dist.total for s in st.py_sites.values())
        py_total = int(round(py_raw * f))
        wall = st.t_end - st.t_first
        cpu = (st.cpu_end - st.cpu_first) if (st.cpu_end is not None and st.cpu_first is not None) else None
        tracer = st.cb_ns + self._hidden_total(st)
        py_sites = sorted(st.py_sites.values(), key=lambda s: -s.dist.total)
        py_json = [_py_site_json(s, f) for s in py_sites[:MAX_SITES] if s.dist.n]
        if len(py_sites) > MAX_SITES:
            other = Dist()
            for s in py_sites[MAX_SITES:]:
                other.merge(s.dist)
            py_json.append({"function": "(other)", "file": None, "line": None,
                            "self": (other if f == 1.0 else other.scaled(f)).to_json()})
        c_sites = [s for sites in st.c_sites.values() for s in sites.values() if s.n]
        final = {id(s): _final_by_cat(s) for s in c_sites}
        cat_ns = [0, 0, 0]
        cat_n = [0, 0, 0]
        for s in c_sites:
            for i, d in enumerate(final[id(s)]):
                cat_ns[i] += d.total
                cat_n[i] += d.n
        c_sites.sort(key=lambda s: -sum(d.total for d in final[id(s)]))
        c_json = [_c_site_json(s, final[id(s)]) for s in c_sites[:MAX_SITES]]
        if len(c_sites) > MAX_SITES:
            other = [Dist(), Dist(), Dist()]
            for s in c_sites[MAX_SITES:]:
                for i, d in enumerate(final[id(s)]):
                    other[i].merge(d)
            c_json.append({"callee": "(other)", "caller": None, "file": None, "line": None,
                           "category": "c_hold",
                           "calls": sum(d.n for d in other),
                           "by_category": {CATEGORY_NAMES[i]: d.to_json() for i, d in enumerate(other) if d.n},
                           "evidence": None, "wait_kind": None, "folded_after": None})
        totals = {
            "python": py_total,
            "c_hold": cat_ns[C_HOLD],
            "c_release": cat_ns[C_RELEASE],
            "blocked": cat_ns[BLOCKED],
            "tracer": tracer,
        }
        bursts = st.bursts
        if f != 1.0 and bursts.total:
            # The GIL-held stretches hold the Python time and the c_hold calls:
            # scaled to the reconciled sum of the two.
            bursts = bursts.scaled((py_total + cat_ns[C_HOLD]) / max(py_raw + cat_ns[C_HOLD], 1))
        raw = {} if self.untraced_ns is None else {"totals_raw_ns": dict(totals, python=py_raw)}
        return {
            "index": index,
            "name": st.name,
            "main": st.is_main,
            "wall_ns": wall,
            "cpu_ns": cpu,
            "totals_ns": totals,
            **raw,
            "counts": {
                "python_calls": sum(s.dist.n for s in st.py_sites.values()),
                "c_hold": cat_n[C_HOLD],
                "c_release": cat_n[C_RELEASE],
                "blocked": cat_n[BLOCKED],
                "events": st.events,
            },
            "gil_held_bursts": bursts.to_json(),
            "python_sites": py_json,
            "c_sites": c_json,
        }


def _open_schedstat():
    """A descriptor on this thread's /proc schedstat (Linux; read with pread),
    whose second field is the time it spent runnable, waiting for a CPU."""
    if not hasattr(os, "pread"):
        return None
    try:
        native = threading.get_native_id()
        return os.open("/proc/self/task/%d/schedstat" % native, os.O_RDONLY)
    except (AttributeError, OSError):
        return None


def _close_schedstat(st):
    if st.sched_fd is not None:
        try:
            os.close(st.sched_fd)
        except OSError:
            pass
        st.sched_fd = None


def _cpu_clock(ident):
    """The CPU-time clock of a thread (Unix), or None."""
    try:
        return time.pthread_getcpuclockid(ident)
    except (AttributeError, OSError, OverflowError):
        return None


def _thread_name(ident):
    th = threading._active.get(ident)
    return th.name if th is not None else None


def _cal_f():
    pass


def _cal_py_work(n):
    f = _cal_f
    for _ in range(n):
        f()


def _cal_loop(n):
    s = 0
    for i in range(n):
        s += i
    return s


def _cal_c_work(n):
    ln = len
    t = ()
    for _ in range(n):
        ln(t)


def _line_of(code, offset):
    try:
        if hasattr(code, "co_lines"):
            for start, end, line in code.co_lines():
                if start <= offset < end:
                    return line
        import dis
        line = code.co_firstlineno
        for off, ln in dis.findlinestarts(code):
            if off > offset:
                break
            if ln is not None:
                line = ln
        return line
    except Exception:
        return code.co_firstlineno


def _py_site_json(s, f=1.0):
    code = s.code
    return {"function": _code_name(code), "file": code.co_filename, "line": code.co_firstlineno,
            "self": (s.dist if f == 1.0 else s.dist.scaled(f)).to_json()}


def _final_by_cat(s):
    """The site's calls by category: those with evidence of their own, plus
    the others under the site's final verdict."""
    out = [Dist(), Dist(), Dist()]
    for i, d in enumerate(s.by_cat):
        if d is not None:
            out[i].merge(d)
    if s.undecided is not None:
        out[s.cat].merge(s.undecided)
    return out


def _c_site_json(s, final):
    code = s.code
    by_cat = {CATEGORY_NAMES[i]: d.to_json() for i, d in enumerate(final) if d.n}
    cat = CATEGORY_NAMES[s.cat]
    return {
        "callee": s.name,
        "caller": _code_name(code),
        "file": code.co_filename,
        "line": _line_of(code, s.offset),
        "category": cat,
        "calls": s.n,
        "by_category": by_cat,
        "evidence": {
            "probed": s.probed,
            "released": s.rel,
            "held": s.hold,
            "inconclusive": s.ambiguous,
            "blocked": s.blocked,
            "cpu_share": round(s.cpu_ns / s.wall_ns, 4) if s.wall_ns else None,
            "runqueue_share": round(s.waitq_ns / s.wall_ns, 4) if s.wall_ns else None,
        },
        "wait_kind": _wait_kind(s.name) if s.cat == BLOCKED else None,
        "folded_after": s.folded_at,
    }


def _rusage():
    try:
        import resource
        ru = resource.getrusage(resource.RUSAGE_SELF)
        scale = 1 if sys.platform == "darwin" else 1024
        return {"peak_rss_bytes": ru.ru_maxrss * scale,
                "cpu_ns": int((ru.ru_utime + ru.ru_stime) * 1e9)}
    except ImportError:  # Windows
        return {"peak_rss_bytes": None, "cpu_ns": int(time.process_time() * 1e9)}


def measure_startup(runs=3):
    """The interpreter's start-up: `python -c pass` (the median of `runs`),
    and its peak RSS (the largest child's, from getrusage(RUSAGE_CHILDREN))."""
    samples = []
    for _ in range(runs):
        t0 = _now()
        subprocess.run([sys.executable, "-c", "pass"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(_now() - t0)
    samples.sort()
    rss = None
    try:
        import resource
        scale = 1 if sys.platform == "darwin" else 1024
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    except ImportError:
        pass
    return {"interpreter_ns": samples[len(samples) // 2], "interpreter_samples_ns": samples,
            "interpreter_peak_rss_bytes": rss}


def _gilsim_version():
    try:
        from ._version import __version__
        return __version__
    except Exception:
        return None


# --------------------------------------------------------------------------
# Public helpers.

def write_trace(result, path):
    """Writes a trace (the dict a Tracer returns) as JSON, atomically."""
    path = os.fspath(path)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(dumps(result))
        f.write("\n")
    os.replace(tmp, path)


def dumps(obj, level=0, compact_from=4):
    """JSON text: indented down to `compact_from` levels, each deeper value on
    one line (a site, a distribution), so traces stay small and diffable."""
    if level >= compact_from or not isinstance(obj, (dict, list)) or not obj:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    pad = " " * (level + 1)
    end = " " * level
    if isinstance(obj, dict):
        items = ["%s%s: %s" % (pad, json.dumps(str(k), ensure_ascii=False), dumps(v, level + 1, compact_from))
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    items = [pad + dumps(v, level + 1, compact_from) for v in obj]
    return "[\n" + ",\n".join(items) + "\n" + end + "]"


class tracing:
    """Context manager: ``with tracing("out.json") as t: ...``; the trace is
    ``t.result`` (a dict) and, when a path is given, written there.
    `untraced_ns`: the block's wall time measured untraced (by the caller); the
    trace is then reconciled with it (``Tracer.reconcile``)."""

    def __init__(self, path=None, untraced_ns=None, **options):
        self.path = path
        self.untraced_ns = untraced_ns
        self.tracer = Tracer(**options)

    def __enter__(self):
        self.tracer.start()
        return self.tracer

    def __exit__(self, *exc):
        result = self.tracer.stop()
        if self.untraced_ns is not None:
            result = self.tracer.reconcile(self.untraced_ns, "given")
        if self.path is not None:
            write_trace(result, self.path)
        return False


def traced(path=None, measure_slowdown=False, **options):
    """Decorator: every call of the function is traced (the last call's
    trace is written to `path`). measure_slowdown: each call first runs the
    function once untraced, in this process (it must be safe to run twice;
    its second run finds warm caches and imports), and the trace is
    reconciled with that run's wall time."""

    def wrap(func):
        @functools.wraps(func)
        def inner(*args, **kwargs):
            untraced = None
            if measure_slowdown:
                t0 = _now()
                func(*args, **kwargs)
                untraced = _now() - t0
            with tracing(path, **options) as t:
                t.program = {"kind": "function",
                             "function": getattr(func, "__qualname__", repr(func))}
                result = func(*args, **kwargs)
            if untraced is not None:
                t.reconcile(untraced, "in_process")
                if path is not None:
                    write_trace(t.result, path)
            return result
        return inner

    return wrap


# The untraced run of the CLI: a fresh interpreter, like the traced one (cold
# imports, the same sys.argv and sys.path[0]), timing only the program itself.
_UNTRACED_RUN = r"""
import os, runpy, sys, time
out, kind, target = sys.argv[1], sys.argv[2], sys.argv[3]
sys.argv = sys.argv[3:]
if kind == "script":
    sys.path[0] = os.path.dirname(os.path.abspath(target))
t0 = time.perf_counter_ns()
try:
    if kind == "script":
        runpy.run_path(target, run_name="__main__")
    else:
        runpy.run_module(target, run_name="__main__", alter_sys=True)
except SystemExit:
    pass
finally:
    dt = time.perf_counter_ns() - t0
    with open(out, "w") as f:
        f.write(str(dt))
"""


def measure_untraced(kind, target, args, runs=1):
    """The wall times (ns) of `runs` untraced runs of a script (kind "script")
    or a module ("module") with `args`, each in a fresh interpreter; a run
    that did not say (it crashed before the end) is left out."""
    out = []
    for _ in range(runs):
        t = _untraced_once(kind, target, args)
        if t is not None:
            out.append(t)
    return out


def _untraced_once(kind, target, args):
    import tempfile
    fd, out = tempfile.mkstemp(prefix="gilsim-untraced-", suffix=".txt")
    os.close(fd)
    try:
        subprocess.run([sys.executable, "-c", _UNTRACED_RUN, out, kind, target] + list(args), check=False)
        with open(out) as f:
            text = f.read().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None
    finally:
        try:
            os.unlink(out)
        except OSError:
            pass


def summary(result):
    """One line: where the main thread's time went."""
    th = next((t for t in result["threads"] if t["main"]), result["threads"][0])
    tot = th["totals_ns"]
    busy = sum(v for k, v in tot.items() if k != "tracer") or 1
    parts = ", ".join("%s %.0f%%" % (k.replace("_", " "), 100.0 * tot[k] / busy)
                      for k in ("python", "c_hold", "c_release", "blocked"))
    o = result["overhead"]
    measured = ("; measured %.2fx" % o["measured_slowdown"]) if "measured_slowdown" in o else ""
    rec = o.get("reconciliation")
    if rec is not None:
        measured += ("; Python time x%.3f to match the untraced run" % rec["python_factor"] if rec["applied"]
                     else "; not reconciled: %s" % rec["not_applied_because"])
    return "%.3f s traced; %s; estimated tracer slowdown %.2fx%s" % (
        result["process"]["wall_ns"] / 1e9, parts, o["estimated_slowdown"], measured)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m gilsim.trace",
        description="Run a Python program under the gilsim tracer and write a trace (JSON) "
                    "for gilsim: time in Python, in C holding or releasing the GIL, blocked.",
        usage="python -m gilsim.trace [-o TRACE.json] [options] -- script.py [args...]\n"
              "       python -m gilsim.trace [-o TRACE.json] [options] -m module [args...]")
    ap.add_argument("-o", "--output", default="trace.json", help="the trace file (default trace.json)")
    ap.add_argument("-m", dest="module", default=None, help="run a module (like python -m)")
    ap.add_argument("--no-probe", action="store_true", help="do not measure GIL release (no probe thread)")
    ap.add_argument("--no-startup", action="store_true", help="do not measure the interpreter's start-up")
    ap.add_argument("--no-calibrate", action="store_true", help="do not calibrate the per-event cost")
    ap.add_argument("--backend", choices=["sys.monitoring", "sys.setprofile"], default=None,
                    help="the event source (default: sys.monitoring on 3.12+, else sys.setprofile)")
    ap.add_argument("--measure-slowdown", dest="measure_slowdown", action="store_true", default=True,
                    help="(the default) run the program once untraced first, in a fresh interpreter, "
                         "record its wall time and reconcile the trace's Python time with it "
                         "(the program runs twice)")
    ap.add_argument("--no-measure-slowdown", dest="measure_slowdown", action="store_false",
                    help="run the program once only (traced): for programs that must not run twice; "
                         "the Python time then rests on the calibration alone")
    ap.add_argument("--untraced-runs", type=int, default=1, metavar="N",
                    help="untraced runs before tracing (default 1); the median is the reference")
    ap.add_argument("-q", "--quiet", action="store_true", help="no summary line on stderr")
    ap.add_argument("args", nargs=argparse.REMAINDER, help="the script and its arguments")
    argv = list(sys.argv[1:] if argv is None else argv)
    # Everything after "-m MODULE" belongs to the module (its own options too).
    prog_args = None
    for i, a in enumerate(argv):
        if a == "--":
            break
        if a == "-m" and i + 1 < len(argv):
            argv, prog_args = argv[:i + 2], argv[i + 2:]
            break
    ns = ap.parse_args(argv)
    rest = list(ns.args) if prog_args is None else prog_args
    if rest and rest[0] == "--":
        rest = rest[1:]
    if ns.module is None and not rest:
        ap.error("name a script (after --) or a module (-m)")
    if ns.untraced_runs < 1:
        ap.error("--untraced-runs must be at least 1")
    tracer = Tracer(probe=not ns.no_probe, calibrate=not ns.no_calibrate,
                    startup=not ns.no_startup, backend=ns.backend)
    if ns.module is not None:
        sys.argv = [ns.module] + rest
        tracer.program = {"kind": "module", "module": ns.module, "argv": sys.argv[:]}
        target = functools.partial(runpy.run_module, ns.module, run_name="__main__", alter_sys=True)
    else:
        script = rest[0]
        if not os.path.exists(script):
            ap.error("no such script: %s" % script)
        sys.argv = rest[:]
        sys.path[0] = os.path.dirname(os.path.abspath(script))
        tracer.program = {"kind": "script", "script": script, "argv": rest[:]}
        target = functools.partial(runpy.run_path, script, run_name="__main__")
    status = 0
    untraced_ns = None
    if ns.measure_slowdown:
        if ns.module is not None:
            untraced_ns = measure_untraced("module", ns.module, rest, ns.untraced_runs)
        else:
            untraced_ns = measure_untraced("script", rest[0], rest[1:], ns.untraced_runs)
        untraced_ns = untraced_ns or None
    tracer.start()
    try:
        target()
    except SystemExit as e:
        code = e.code
        status = code if isinstance(code, int) else (0 if code is None else 1)
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
    except BaseException:
        tracer.stop()
        tracer.program["exit_status"] = 1
        write_trace(tracer.result, ns.output)
        raise
    tracer.stop()
    if untraced_ns is not None:
        tracer.reconcile(untraced_ns, "subprocess")
    result = tracer.result
    result["program"]["exit_status"] = status
    write_trace(result, ns.output)
    if not ns.quiet:
        print("gilsim.trace: wrote %s: %s" % (ns.output, summary(result)), file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
