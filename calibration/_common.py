"""Shared helpers for the gilsim calibration scripts (stdlib only, Python >= 3.8).

Contents:
  * workloads shared by measure_profile.py and measure_validation.py (the countdown
    loop, the CPU spinner, the zlib/sha256/pickle data) so that a profile value and a
    validation scenario always refer to exactly the same code and data;
  * statistics (median / p10 / p90 / mean / stdev / min / max);
  * a load meter that estimates how many cores *other* processes used during a
    measurement, from /proc/stat minus this process tree's own CPU time;
  * wait_for_quiet(): bounded wait for a quiet machine;
  * the sample collector with bounded retries of noisy samples;
  * the loopback echo server (a separate process, see echo_server.py).

Nothing here starts a thread that runs while a measurement runs.
"""

import datetime
import json
import os
import platform
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMA_PROFILE = "gilsim-profile/1"
SCHEMA_MEASURED = "gilsim-measured/1"

perf_counter = time.perf_counter

# ---------------------------------------------------------------------------
# Workloads (the exact code the simulator models)
# ---------------------------------------------------------------------------


def countdown(n):
    """The unit of CPU-bound Python work: one iteration = one `n -= 1` + test."""
    while n > 0:
        n -= 1


def spin(flag, out, idx):
    """The CPU-bound thread used next to I/O threads.

    Loops `while flag[0]: n += 1` until the controller sets flag[0] = False; stores
    (iterations, seconds from its first to its last iteration) in out[idx].
    """
    n = 0
    t0 = perf_counter()
    while flag[0]:
        n += 1
    out[idx] = (n, perf_counter() - t0)


def noop():
    """Target of the trivial thread / process used for start-up costs."""
    return None


def square(x):
    """The tiny pool task."""
    return x * x


def countdown_task(n):
    """The larger pool task: countdown(n), returns n."""
    countdown(n)
    return n


ZLIB_LEVEL = 6
BUFFER_BYTES = 4 * 1024 * 1024  # 4 MiB


def make_text_data(size=BUFFER_BYTES, seed=12345):
    """Deterministic pseudo-text for zlib: words of 2-10 random lowercase letters drawn
    (with replacement) from a 2000-word vocabulary built by random.Random(seed), joined
    by single spaces, truncated to `size` bytes. zlib level 6 compresses it ~2.75x."""
    import random

    r = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(r.choice(letters) for _ in range(r.randint(2, 10))) for _ in range(2000)]
    parts = []
    total = 0
    while total < size:
        w = r.choice(vocab)
        parts.append(w)
        total += len(w) + 1
    return " ".join(parts).encode("ascii")[:size]


def make_random_data(size=BUFFER_BYTES, seed=54321):
    """Deterministic incompressible bytes (random.Random(seed).randbytes)."""
    import random

    r = random.Random(seed)
    if hasattr(r, "randbytes"):
        return r.randbytes(size)
    return bytes(r.getrandbits(8) for _ in range(size))


def make_pickle_objects(count=10000):
    """A typical Python payload: a list of `count` small dicts
    {"id": i, "name": "item-<i>", "value": i * 0.5, "tags": ("a", i % 7)}."""
    return [{"id": i, "name": "item-%d" % i, "value": i * 0.5, "tags": ("a", i % 7)}
            for i in range(count)]


# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------


def recv_rest(recv, got, n):
    """Completes a short socket read: `got` (fewer than `n` bytes from
    `recv`) plus further `recv` calls until there are `n`."""
    while len(got) < n:
        more = recv(n - len(got))
        if not more:
            raise RuntimeError("the peer closed the connection")
        got += more
    return got


def summarize(values, unit, extra=None):
    """Stats object: median, p10, p90 (linear interpolation, 'inclusive' method),
    n, unit, mean, stdev (sample; 0 if n < 2), min, max, plus `extra` keys."""
    v = sorted(float(x) for x in values)
    n = len(v)
    if n == 0:
        d = {"median": None, "p10": None, "p90": None, "n": 0, "unit": unit,
             "mean": None, "stdev": None, "min": None, "max": None}
    else:
        if n >= 2:
            q = statistics.quantiles(v, n=10, method="inclusive")
            p10, p90 = q[0], q[8]
            sd = statistics.stdev(v)
        else:
            p10 = p90 = v[0]
            sd = 0.0
        d = {"median": statistics.median(v), "p10": p10, "p90": p90, "n": n, "unit": unit,
             "mean": statistics.fmean(v), "stdev": sd, "min": v[0], "max": v[-1]}
    if extra:
        d.update(extra)
    return d


def rounded(obj, digits=6):
    """Round floats to `digits` significant digits for readable JSON."""
    if isinstance(obj, float):
        if obj == 0.0 or obj != obj:
            return obj
        return float("%.*g" % (digits, obj))
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [rounded(v, digits) for v in obj]
    return obj


# ---------------------------------------------------------------------------
# Load meter: how busy is the machine apart from us?
# ---------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_TRACKED_PIDS = set()  # live children whose CPU time is ours (echo server, forkserver)


def track_pid(pid):
    if pid:
        _TRACKED_PIDS.add(int(pid))


def track_mp_helpers():
    """Count multiprocessing's long-lived helper processes (resource tracker, fork
    server) as our own CPU time. Uses private attributes; silently skips if absent."""
    try:
        from multiprocessing import resource_tracker
        track_pid(getattr(resource_tracker._resource_tracker, "_pid", None))
    except Exception:
        pass
    try:
        from multiprocessing import forkserver
        track_pid(getattr(forkserver._forkserver, "_forkserver_pid", None))
    except Exception:
        pass


def untrack_pid(pid):
    _TRACKED_PIDS.discard(pid)


def _proc_stat_busy():
    """(busy ticks, total ticks, nice ticks) summed over all CPUs; busy includes steal
    time and nice time."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    vals = [int(x) for x in fields[1:]]
    vals += [0] * (8 - len(vals))
    user, nice, system, idle, iowait, irq, softirq, steal = vals[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait, nice


def _pid_cpu_s(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return 0.0
    rest = s[s.rfind(")") + 2:].split()
    # fields after "(comm)": state=0 ... utime=11 stime=12 cutime=13 cstime=14
    return (int(rest[11]) + int(rest[12]) + int(rest[13]) + int(rest[14])) / CLK_TCK


def own_cpu_s():
    """CPU seconds of this process (precise) + reaped children + tracked live children."""
    t = os.times()
    s = time.process_time() + t.children_user + t.children_system
    for pid in list(_TRACKED_PIDS):
        s += _pid_cpu_s(pid)
    return s


def _autogroup(pid="self"):
    """(autogroup name, its nice) from /proc/<pid>/autogroup, e.g. ("/autogroup-4", 0);
    None if unreadable (no CONFIG_SCHED_AUTOGROUP, or the process exited)."""
    try:
        with open("/proc/%s/autogroup" % pid) as f:
            parts = f.read().split()
        return parts[0], int(parts[2])
    except (OSError, IndexError, ValueError):
        return None


def _autogroup_enabled():
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def _scan_procs():
    """{pid: (ppid, low, own cpu s, reaped children's cpu s)} for every process in
    /proc (utime+stime and cutime+cstime of /proc/<pid>/stat).

    `low` says the process is *effectively* low-priority relative to us: nice > 0 (field
    19) and, if autogroup scheduling is on, either in our own autogroup or in an
    autogroup whose own nice is > 0. With autogroup on (kernel.sched_autogroup_enabled
    = 1, no cpu cgroups) CFS/EEVDF first shares the CPU between autogroups (one per
    session, weight set by the autogroup's nice, default 0) and applies a task's nice
    only inside its group, so `nice -n 19 cargo build` started in another session
    competes with us at full weight: its CPU is then normal load, not `low`."""
    out = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    ag_on = _autogroup_enabled()
    my_ag = _autogroup() if ag_on else None
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                st = f.read()
        except OSError:
            continue  # exited meanwhile
        rest = st[st.rfind(b")") + 2:].split()
        low = int(rest[16]) > 0
        if low and ag_on and my_ag is not None:
            ag = _autogroup(name)
            low = ag is not None and (ag[0] == my_ag[0] or ag[1] > 0)
        out[int(name)] = (int(rest[1]), low,
                          (int(rest[11]) + int(rest[12])) / CLK_TCK,
                          (int(rest[13]) + int(rest[14])) / CLK_TCK)
    return out


def _ours(procs, me):
    """Set of pids in `procs` that are `me` or its descendants."""
    ours = {}

    def is_ours(pid):
        seen = []
        r = False
        while pid and pid in procs:
            if pid == me:
                r = True
                break
            if pid in ours:
                r = ours[pid]
                break
            seen.append(pid)
            pid = procs[pid][0]
        for q in seen:
            ours[q] = r
        return r

    return {pid for pid in procs if is_ours(pid)}


def others_cpu_s(me=None):
    """CPU seconds (cumulative) of all processes that are not this process or its
    descendants. A process that exits is reaped by its parent, whose cutime/cstime then
    carry its CPU time, so deltas of this sum stay right when processes come and go.
    (Kept for compatibility; the load meter uses others_split() on two scans.)"""
    procs = _scan_procs()
    if not procs:
        return None
    mine = _ours(procs, me or os.getpid())
    return sum(own + ch for pid, (ppid, low, own, ch) in procs.items() if pid not in mine)


def others_split(scan0, scan1, me=None):
    """(normal, niced) CPU seconds used by processes other than ours between two
    _scan_procs() results. "Niced" = effectively low-priority relative to us (`low` in
    _scan_procs: nice > 0, and not in another autogroup of nice 0).

    Per process alive in both scans: its own CPU delta counts by its class. Its
    reaped-children delta, minus the CPU that its descendants which exited meanwhile
    had already used at the first scan (their time moves into this cutime when they are
    reaped), counts as niced if any of those exited descendants was niced, else by its
    own class. A process born between the scans counts all its CPU by its class. So a
    niced job's CPU stays niced when a normal-priority shell reaps it; only a niced
    child that is born and reaped between the scans by a non-niced parent is
    misattributed (to the parent's class)."""
    me = me or os.getpid()
    mine0, mine1 = _ours(scan0, me), _ours(scan1, me)
    # exited processes (not ours): CPU at scan0, charged to their nearest ancestor that
    # is still alive at scan1
    gone = {}
    for pid, (ppid, low, own, ch) in scan0.items():
        if pid in scan1 or pid in mine0:
            continue
        anc = ppid
        while anc in scan0 and anc not in scan1:
            anc = scan0[anc][0]
        g = gone.setdefault(anc, [0.0, False])
        g[0] += own + ch
        g[1] = g[1] or low
    normal = niced = 0.0
    for pid, (ppid, low, own1, ch1) in scan1.items():
        if pid in mine1:
            continue
        prev = scan0.get(pid)
        if prev is None:
            if low:
                niced += own1 + ch1
            else:
                normal += own1 + ch1
            continue
        d_own = max(0.0, own1 - prev[2])
        if low:
            niced += d_own
        else:
            normal += d_own
        g = gone.get(pid)
        d_ch = ch1 - prev[3] - (g[0] if g else 0.0)
        if d_ch > 0:
            if (g[1] if g else low):
                niced += d_ch
            else:
                normal += d_ch
    return normal, niced


class Snapshot:
    """Wall time, a scan of all processes, /proc/stat busy and nice ticks, own CPU time."""
    __slots__ = ("wall", "scan", "busy", "nice", "own")

    def __init__(self):
        self.wall = perf_counter()
        self.scan = _scan_procs()
        ps = _proc_stat_busy()
        self.busy = ps[0] if ps else None
        self.nice = ps[2] if ps else None
        self.own = own_cpu_s()


def other_loads(s0, s1):
    """(other_load_cores, other_nice_cores): average number of cores used by processes
    other than ours between two snapshots, split into load that competes with us and
    niced load that is effectively low-priority relative to us (see _scan_procs: nice
    > 0 and not in another autogroup of nice 0).

    Primary: the per-process scan of /proc/<pid>/stat (others_split). Fallback:
    /proc/stat busy ticks minus our own CPU time, with its 'nice' column as the niced
    part if autogroup is off, else all counted as competing load (under-counts bursty
    load on a tickless kernel). (None, None) if neither is
    available. Resolution: ~one 10 ms tick per active process."""
    wall = s1.wall - s0.wall
    if wall <= 0:
        return None, None
    if s0.scan and s1.scan:
        normal, niced = others_split(s0.scan, s1.scan)
        return max(0.0, normal / wall), max(0.0, niced / wall)
    if s0.busy is None or s1.busy is None:
        return None, None
    niced = 0.0 if _autogroup_enabled() else (s1.nice - s0.nice) / CLK_TCK
    others = (s1.busy - s0.busy) / CLK_TCK - (s1.own - s0.own) - niced
    return max(0.0, others / wall), max(0.0, niced / wall)


def other_load(s0, s1):
    """Average number of cores used by other processes that compete with us (all but
    effectively-niced ones) between snapshots: the number the quiet test uses. See
    other_loads()."""
    return other_loads(s0, s1)[0]


def loadavg():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def psi_cpu_some_avg10():
    """Linux pressure-stall 'some' avg10 for CPU (% of time some task waited for a CPU)."""
    try:
        with open("/proc/pressure/cpu") as f:
            for line in f:
                if line.startswith("some"):
                    for tok in line.split():
                        if tok.startswith("avg10="):
                            return float(tok[6:])
    except OSError:
        pass
    return None


def spin_check(seconds=0.05):
    """Run countdown for ~`seconds`; return (this thread's CPU time / wall time,
    ns per countdown iteration). A share ~1.0 means a core was available to us."""
    n = 200000
    k = 0
    w0, c0 = perf_counter(), time.thread_time()
    while perf_counter() - w0 < seconds:
        countdown(n)
        k += n
    w1, c1 = perf_counter(), time.thread_time()
    return (c1 - c0) / (w1 - w0), (w1 - w0) / k * 1e9


def conditions_now(window=0.5):
    """One observation of machine conditions (takes ~window + 0.05 s)."""
    s0 = Snapshot()
    time.sleep(window)
    s1 = Snapshot()
    share, ns = spin_check()
    normal, niced = other_loads(s0, s1)
    return {
        "other_load_cores": normal,
        "other_nice_cores": niced,
        "spin_cpu_share": share,
        "spin_ns_per_iter": ns,
        "loadavg": loadavg(),
        "psi_cpu_some_avg10": psi_cpu_some_avg10(),
    }


def is_quiet(obs, threshold):
    ol = obs.get("other_load_cores")
    sp = obs.get("spin_cpu_share")
    return (ol is None or ol <= threshold) and (sp is None or sp >= 0.9)


def wait_for_quiet(max_wait, threshold, log=None):
    """Observe conditions every ~0.55 s until quiet or `max_wait` seconds passed.
    Returns the last observation plus {"quiet", "waited_s", "checks"}."""
    t0 = perf_counter()
    checks = 0
    while True:
        obs = conditions_now()
        checks += 1
        q = is_quiet(obs, threshold)
        waited = perf_counter() - t0
        if q or waited >= max_wait:
            obs.update({"quiet": q, "waited_s": waited, "checks": checks})
            if log and not q:
                log("  machine not quiet after %.1f s: %s" % (waited, fmt_cond(obs)))
            return obs
        if log and checks == 1:
            log("  waiting up to %.0f s for a quiet machine: %s" % (max_wait, fmt_cond(obs)))


# ---------------------------------------------------------------------------
# Sample collector with bounded retries of noisy samples
# ---------------------------------------------------------------------------


PROBE_ITERS = 300_000
MIN_OBSERVE_S = 0.2


PROBES = []  # every speed_probe() result of this run, for conditions.speed_probe_ns_per_iter

# --sample-wait S: before a sample that follows a noisy one, wait up to S seconds for a
# quiet 0.3 s observation (competing load <= threshold). 0 = off (the default). No more
# waiting once waited_s reaches total_max_s (--sample-wait-total).
SAMPLE_WAIT = {"max_s": 0.0, "total_max_s": 300.0, "waited_s": 0.0, "waits": 0,
               "last_noisy": False}


def wait_quiet_short(threshold, max_s, window=0.3):
    """Observe other load in `window`-second slices until one is <= threshold or max_s
    seconds passed. Returns seconds waited."""
    t0 = perf_counter()
    while True:
        s0 = Snapshot()
        time.sleep(window)
        ol = other_load(s0, Snapshot())
        if ol is None or ol <= threshold or perf_counter() - t0 >= max_s:
            return perf_counter() - t0


def speed_probe():
    """ns per iteration of countdown(300000) (~6-9 ms). On a cloud VM the host can slow
    a vCPU down without any visible load inside the guest (busy SMT sibling, other
    tenants); probing right before and after every sample records that state."""
    t0 = perf_counter()
    countdown(PROBE_ITERS)
    v = (perf_counter() - t0) / PROBE_ITERS * 1e9
    PROBES.append(v)
    return v


class Sample:
    __slots__ = ("values", "other_load", "other_nice", "quiet", "probe")

    def __init__(self, values, other_load_cores, quiet, probe, other_nice_cores=None):
        self.values = values  # {metric: float or list of floats}
        self.other_load = other_load_cores  # normal-priority other processes (quiet test)
        self.other_nice = other_nice_cores  # niced other processes (recorded only)
        self.quiet = quiet
        self.probe = probe


def collect(configs, run_one, reps, extra_rounds, threshold, time_left, log=None):
    """Run run_one(cfg) -> {metric: value | [values]} for every config, round-robin.

    Rounds 0..reps-1 run every config once. Up to `extra_rounds` more rounds re-run only
    the configs that have fewer than `reps` quiet samples, while time_left() > 0.
    A sample is quiet if other processes that compete with us used <= threshold cores
    during it (effectively-niced processes are recorded separately, not tested); the load is
    observed over at least MIN_OBSERVE_S (short samples are followed by an idle wait,
    because /proc/stat counts in 10 ms ticks). A speed probe runs right before and right
    after each sample. With SAMPLE_WAIT["max_s"] > 0, a sample that follows a noisy one
    is preceded by a bounded wait for a quiet moment. Returns {cfg_index: [Sample, ...]}.
    """
    samples = {i: [] for i in range(len(configs))}
    for rnd in range(reps + extra_rounds):
        if rnd >= reps:
            todo = [i for i in samples if sum(s.quiet for s in samples[i]) < reps]
            if not todo or time_left() <= 0:
                break
            if log:
                log("  retry round %d for %d noisy config(s)" % (rnd - reps + 1, len(todo)))
        else:
            todo = list(samples)
        for i in todo:
            if (SAMPLE_WAIT["last_noisy"] and SAMPLE_WAIT["max_s"] > 0
                    and SAMPLE_WAIT["waited_s"] < SAMPLE_WAIT["total_max_s"]):
                SAMPLE_WAIT["waited_s"] += wait_quiet_short(threshold, SAMPLE_WAIT["max_s"])
                SAMPLE_WAIT["waits"] += 1
            p0 = speed_probe()
            s0 = Snapshot()
            vals = run_one(configs[i])
            rest = MIN_OBSERVE_S - (perf_counter() - s0.wall)
            if rest > 0:
                time.sleep(rest)
            s1 = Snapshot()
            p1 = speed_probe()
            ol, on = other_loads(s0, s1)
            samples[i].append(Sample(vals, ol, ol is None or ol <= threshold, (p0 + p1) / 2,
                                     on))
            SAMPLE_WAIT["last_noisy"] = not samples[i][-1].quiet
    return samples


def select_samples(sample_list, reps):
    """Use all quiet samples if there are >= reps of them (-> quiet=True); otherwise
    the `reps` samples during which other processes used the fewest cores (best
    effort, -> quiet=False)."""
    quiet = [s for s in sample_list if s.quiet]
    if len(quiet) >= reps:
        return quiet, True
    ranked = sorted(sample_list, key=lambda s: (s.other_load is None, s.other_load or 0.0))
    return ranked[:reps], False


def stats_from_samples(sample_list, reps, metric, unit, extra=None):
    used, quiet = select_samples(sample_list, reps)
    vals = []
    for s in used:
        v = s.values.get(metric)
        if v is None:
            continue
        if isinstance(v, (list, tuple)):
            vals.extend(v)
        else:
            vals.append(v)
    loads = [s.other_load for s in used if s.other_load is not None]
    nices = [s.other_nice for s in used if s.other_nice is not None]
    e = {"quiet": quiet,
         "other_load_cores": statistics.fmean(loads) if loads else None,
         "other_nice_cores": statistics.fmean(nices) if nices else None,
         "probe_ns_per_iter": statistics.median(s.probe for s in used),
         "samples_run": len(sample_list),
         "samples_used": len(used)}
    if extra:
        e.update(extra)
    return summarize(vals, unit, e)


# ---------------------------------------------------------------------------
# Loopback echo server in another process
# ---------------------------------------------------------------------------


def set_kernel_timeouts(sock, seconds):
    """Kernel-level SO_RCVTIMEO / SO_SNDTIMEO. The Python socket stays in blocking mode
    (no settimeout(), which would add a poll() and a second GIL release per call)."""
    tv = struct.pack("ll", int(seconds), int((seconds - int(seconds)) * 1e6))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)


class EchoServer:
    """`python3 echo_server.py` (or another server script of this folder with the same
    start-up protocol: ephemeral port on stdout, --lifetime) as a child process."""

    def __init__(self, lifetime_s=900, script="echo_server.py"):
        import select

        self.script = script
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / script), "--lifetime", str(lifetime_s)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        r, _, _ = select.select([self.proc.stdout], [], [], 15.0)
        line = self.proc.stdout.readline() if r else b""
        if not line.strip():
            self.close()
            raise RuntimeError("echo server did not start")
        self.port = int(line.decode().split()[0])
        track_pid(self.proc.pid)

    def connect(self, kernel_timeout_s=5.0):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5.0)
        s.settimeout(None)  # blocking mode: one syscall per send/recv
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        set_kernel_timeouts(s, kernel_timeout_s)
        return s

    def close(self):
        p = self.proc
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        untrack_pid(p.pid)
        if p.stdout:
            p.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


# ---------------------------------------------------------------------------
# Host description and output
# ---------------------------------------------------------------------------


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


# (vendor, family, model range) -> microarchitecture; only used to label the host.
_UARCH = [
    ("AuthenticAMD", 23, range(0x00, 0x10), "Zen / Zen+ (EPYC Naples)"),
    ("AuthenticAMD", 23, range(0x30, 0x40), "Zen 2 (EPYC Rome)"),
    ("AuthenticAMD", 25, range(0x00, 0x10), "Zen 3 (EPYC Milan)"),
    ("AuthenticAMD", 25, range(0x10, 0x20), "Zen 4 (EPYC Genoa)"),
    ("AuthenticAMD", 25, range(0xA0, 0xB0), "Zen 4c (EPYC Bergamo/Siena)"),
    ("AuthenticAMD", 26, range(0x00, 0x20), "Zen 5 (EPYC Turin)"),
]


def cpu_ident():
    """First CPU of /proc/cpuinfo: model name, vendor, family, model number, stepping,
    microcode, and a microarchitecture label derived from (vendor, family, model) --
    e.g. AMD family 25 model 1 = Zen 3 (EPYC Milan), model 17 = Zen 4 (EPYC Genoa);
    the model name alone ("AMD EPYC") does not tell them apart on some VMs."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                k, _, v = line.partition(":")
                info[k.strip()] = v.strip()
    except OSError:
        pass

    def num(k):
        try:
            return int(info[k], 0) if info.get(k, "").startswith("0x") else int(info[k])
        except (KeyError, ValueError):
            return None

    vendor, fam, mod = info.get("vendor_id"), num("cpu family"), num("model")
    uarch = None
    for v, f, r, name in _UARCH:
        if vendor == v and fam == f and mod is not None and mod in r:
            uarch = name
    return {"cpu_model_name": info.get("model name"), "cpu_vendor": vendor,
            "cpu_family": fam, "cpu_model_number": mod, "cpu_stepping": num("stepping"),
            "cpu_microcode": info.get("microcode"), "cpu_uarch": uarch}


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def host_info():
    try:
        avail = len(os.sched_getaffinity(0))
    except AttributeError:
        avail = None
    try:
        with open("/sys/devices/system/clocksource/clocksource0/current_clocksource") as f:
            clocksource = f.read().strip()
    except OSError:
        clocksource = None
    import hashlib

    return {
        "hostname": socket.gethostname(),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_build": " ".join(platform.python_build()),
        "python_compiler": platform.python_compiler(),
        "gil_enabled": (sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True),
        "platform": platform.platform(),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_count_available": avail,
        "clocksource": clocksource,
        "default_switch_interval_s": sys.getswitchinterval(),
        "sha256_impl": repr(hashlib.sha256),
        "zlib_version": __import__("zlib").ZLIB_RUNTIME_VERSION,
        **cpu_ident(),
        "cpuidle_driver": _read("/sys/devices/system/cpu/cpuidle/current_driver"),
        "cpuidle_governor": _read("/sys/devices/system/cpu/cpuidle/current_governor_ro"),
        "guest_halt_poll_ns": _read("/sys/module/haltpoll/parameters/guest_halt_poll_ns"),
        "sched_autogroup_enabled": _read("/proc/sys/kernel/sched_autogroup_enabled"),
        "measuring_process_nice": os.nice(0) if hasattr(os, "nice") else None,
    }


def write_json(path, obj):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        json.dump(rounded(obj), f, indent=2, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)
    return path


def _f(x, spec="%.2f"):
    return "n/a" if x is None else spec % x


def fmt_cond(obs):
    la = obs.get("loadavg")
    return "quiet=%s others=%s cores (niced %s), spin share=%s (%s ns/iter), loadavg=%s, psi avg10=%s" % (
        obs.get("quiet", "?"), _f(obs.get("other_load_cores")), _f(obs.get("other_nice_cores")),
        _f(obs.get("spin_cpu_share")),
        _f(obs.get("spin_ns_per_iter"), "%.1f"),
        "n/a" if la is None else "/".join("%.2f" % x for x in la),
        _f(obs.get("psi_cpu_some_avg10")))


def fmt_stats(st):
    return ("median %-11.5g p10 %-11.5g p90 %-11.5g n=%-6d quiet=%-5s others=%s nice=%s "
            "probe=%s") % (
        st["median"], st["p10"], st["p90"], st["n"], st.get("quiet"),
        _f(st.get("other_load_cores")), _f(st.get("other_nice_cores")),
        _f(st.get("probe_ns_per_iter"), "%.1f"))


def log(msg):
    print(msg, file=sys.stderr, flush=True)
