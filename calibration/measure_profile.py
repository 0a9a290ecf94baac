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
import os
import pickle
import socket
import struct
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
    "echo_server_busy_cpu_us":
        "That server's CPU time per request when busy: one client thread writes a 16-byte "
        "request on each of 16 connections, then reads the 16 replies, so the server finds "
        "requests waiting and serves them back to back without blocking; server CPU "
        "(/proc/PID/schedstat) / requests, one value per tenth of a block.",
    "pipe_hop_cpu_us":
        "The CPU time of one hop of the wake_latency_us ping-pong (a forked child echoes "
        "each byte; both block in read between hops): the parent's process_time plus the "
        "child's /proc/PID/schedstat over a run of round trips, divided by twice the round "
        "trips; one value per tenth of a block. Less pipe_write_read_us, it is the CPU of "
        "blocking and being woken.",
    "echo_server_rtt_us":
        "One 16-byte echo round trip (sendall, then recv until 16 bytes) over 127.0.0.1 "
        "TCP against calibration/selectors_echo_server.py (one thread, an epoll loop, "
        "non-blocking sockets) in another process, one client: the single-threaded "
        "server of gilsim's in-model servers. 200 warm-up round trips, then each is timed.",
    "echo_server_cpu_us":
        "The CPU time that server spends per request with one client (its epoll_wait "
        "wake-up, recv and send system calls and its Python): /proc/PID/schedstat of the "
        "server process before and after a run of round trips, divided by the round trips; "
        "one value per tenth of a block.",
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
    "asyncio_loop_us":
        "asyncio event loop (default selector loop, one thread), per callback: 'switch' = "
        "%d tasks each doing `await asyncio.sleep(0)` %d times, the wall time divided by "
        "the task switches (each iteration runs every task once); 'alone' = one task "
        "doing it, per iteration (one select(0) plus one callback). The model's "
        "per-callback cost is (N*switch - alone)/(N - 1), its per-iteration cost "
        "alone minus that." % (100, 200),
    "ipc_message_us":
        "One multiprocessing (fork context) SimpleQueue put + get of a small task tuple "
        "(1, 2, 'square', (7,), {}) in one process (the queue's pipe, its lock, "
        "Connection.send_bytes/recv_bytes and the pickling of ~60 bytes), per message; "
        "multiprocessing.Pool sends one such message per task each way.",
    "executor_construct_us":
        "Constructing a pool object in the main thread (perf_counter around the "
        "constructor only; shut down untimed). 'thread': ThreadPoolExecutor(4) (no thread "
        "starts before the first submit); 'process': ProcessPoolExecutor(4, "
        "mp_context=fork) (no process starts before the first submit); 'pool': "
        "multiprocessing's fork-context Pool beyond starting its workers, per sample "
        "2 * T(Pool(1)) - T(Pool(2)) with T the constructor's time (each worker's start is "
        "the difference T(Pool(2)) - T(Pool(1)); what is left is the queues, pipes and the "
        "three handler threads), each pool terminated and joined untimed.",
    "fork_rss_ms":
        "The parent's os.fork() call (perf_counter before the call to its return in the "
        "parent) from a parent holding a bytearray of N MiB with every page written "
        "(N = 0, 64, 256, 1024; --quick: 0, 16, 64); the child calls os._exit(0) at once "
        "and the parent reaps it with os.waitpid (untimed). fork() copies the parent's "
        "page tables, so the call grows with the resident memory; gilsim reads the slope "
        "(least squares over N) as Costs.fork_per_gib.",
    "executor_first_task_ms":
        "A cold ProcessPoolExecutor(4, mp_context=fork): constructor + submit(noop) + "
        ".result() of that first task, wall time in the main thread (shut down untimed). "
        "A check of the model's executor start-up (construction, 4 forks, the management "
        "thread, one message each way), not an input.",
    "wake_latency_us":
        "One-way wake-up hop between two processes (no GIL in the path): the parent "
        "(this interpreter) takes t0 = perf_counter(), then os.write(fd, b'x') on pipe A; "
        "a forked child blocked in os.read(A, 1) on the other (idle) CPU returns and takes "
        "t1 = perf_counter() (CLOCK_MONOTONIC, system-wide), then sends t1 back over pipe "
        "B; the value is t1 - t0 = the write syscall + waking the blocked reader on an idle "
        "CPU + its read returning. Pure ping-pong: the wakee's CPU was idle only for the "
        "reply's round trip (tens of us). 200 warm-up round trips per child; one child per "
        "block.",
    "wake_latency_after_idle_us":
        "Like wake_latency_us, but before each timed write the parent sleeps "
        "time.sleep(gap) (gap = 100 us, 1 ms, 5 ms), so the wakee's CPU has been idle for "
        "about the gap (the idle-state/halt depth of a vCPU can depend on how long it "
        "idled; a GIL waiter typically blocks for milliseconds).",
    "wake_latency_threads_us":
        "The same one-way hop between two threads of this process (the waker thread's "
        "os.write to the pipe the other thread is blocked on in os.read; t1 is taken by "
        "the woken thread after os.read returns, i.e. after it re-acquired the GIL). The GIL "
        "is not contended for long (the waker releases it in its own os.read right after "
        "the write), but the woken thread may find it still held and then waits on the GIL "
        "condition variable (a second wake-up), so this is the upper comparison, not the "
        "model input.",
    "pipe_write_read_us":
        "os.write(w, b'x') immediately followed by os.read(r, 1) on the same pipe in one "
        "thread (nothing blocks, nobody is woken): the cost of the two syscalls (incl. the "
        "Python calls and two uncontended GIL release/re-acquires) that wake_latency_us "
        "also contains; wake part ~= wake_latency_us - pipe_write_read_us.",
    "send_syscall_us":
        "One sock.send(16 bytes) on a connected 127.0.0.1 TCP socket (TCP_NODELAY, "
        "blocking, kernel SO_RCVTIMEO/SO_SNDTIMEO only), peer socket in the same process "
        "and thread; one timed op = t0; c.send(msg16); t1. Per op the peer then recv(16)s "
        "the message (timed, recv_ready_syscall_us), sends it back and the client recv(16)s "
        "it, so the ACK pattern is that of an echo exchange and the socket buffers stay "
        "empty. Includes the Python call and one uncontended GIL release/re-acquire; no "
        "thread is woken (the peer is not blocked).",
    "recv_ready_syscall_us":
        "One sock.recv(16) on the accepted peer socket of send_syscall_us whose 16 bytes are "
        "already queued (loopback delivers them within the sender's send call): t2; "
        "s.recv(16); t3. Blocking socket, no poll(); includes the Python call, the "
        "bytes object and one uncontended GIL release/re-acquire. Ops whose recv returned "
        "fewer than 16 bytes are not timed (counted in notes: recv_ready_short_ops).",
    "cond_signal_us":
        "threading.Condition.notify() inside `with cond:` in the main thread, timed around "
        "the notify() call only. 'waiter_blocked': another thread is blocked in "
        "cond.wait(5) (checked: one entry in cond._waiters; the main thread sleeps 2 ms "
        "first so the waiter is parked), so notify() releases the waiter's lock "
        "(sem_post -> futex wake syscall of a thread on an idle CPU) and removes it from "
        "the deque. 'no_waiter': the same with nobody waiting (also after a 2 ms sleep) -- "
        "no syscall. The difference ~= the signalling cost of one futex wake.",
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


def measure_echo_server_busy(server, min_s, conns=16):
    """The same server kept busy by one client thread: it writes a 16-byte request
    on each of `conns` connections, then reads the replies, so the server finds the
    requests waiting and serves them back to back without blocking in between.
    The server's CPU us per request, one value per tenth of the block."""
    socks = [server.connect() for _ in range(conns)]
    try:
        def burst():
            for s in socks:
                s.sendall(MSG16)
            for s in socks:
                d = s.recv(16)
                if len(d) < 16:
                    C.recv_rest(s.recv, d, 16)
        for _ in range(20):
            burst()
        out = []
        for _ in range(10):
            with open("/proc/%d/schedstat" % server.proc.pid) as f:
                cpu0 = int(f.read().split()[0])
            n, end = 0, perf_counter() + min_s / 10
            while n < 10 or perf_counter() < end:
                burst()
                n += 1
            with open("/proc/%d/schedstat" % server.proc.pid) as f:
                cpu1 = int(f.read().split()[0])
            out.append((cpu1 - cpu0) / 1e3 / (n * conns))
        return out
    finally:
        for s in socks:
            s.close()


def measure_echo_server(server, min_count, min_s, part):
    """Against selectors_echo_server.py, one client, 16-byte messages: 'rtt' = each
    round trip in us; 'cpu' = the server's CPU us per request, one value per tenth of
    the block."""
    s = server.connect()
    try:
        sendall, recv = s.sendall, s.recv

        def trip():
            sendall(MSG16)
            d = recv(16)
            if len(d) < 16:
                C.recv_rest(recv, d, 16)
        for _ in range(200):
            trip()
        if part == "rtt":
            def one():
                t0 = perf_counter()
                trip()
                return (perf_counter() - t0) * 1e6
            return repeat(one, min_count, min_s)
        out = []
        for _ in range(10):
            with open("/proc/%d/schedstat" % server.proc.pid) as f:
                cpu0 = int(f.read().split()[0])
            n, end = 0, perf_counter() + min_s / 10
            while n < min_count or perf_counter() < end:
                trip()
                n += 1
            with open("/proc/%d/schedstat" % server.proc.pid) as f:
                cpu1 = int(f.read().split()[0])
            out.append((cpu1 - cpu0) / 1e3 / n)
        return out
    finally:
        s.close()


# ---------------------------------------------------------------------------
# wake-up path: pipes between processes / threads, short syscalls, condvar signal
# ---------------------------------------------------------------------------

_T = struct.Struct("d")


def _pong_child(a_r, b_w):
    """Forked child: for each byte read on pipe A, send back perf_counter() right after
    the read returned, on pipe B. Exits on EOF."""
    read, write, pc, pack = os.read, os.write, perf_counter, _T.pack
    try:
        while True:
            d = read(a_r, 1)
            t1 = pc()
            if not d:
                break
            write(b_w, pack(t1))
    finally:
        os._exit(0)


def _read_exact(fd, n):
    buf = b""
    while len(buf) < n:
        d = os.read(fd, n - len(buf))
        if not d:
            raise RuntimeError("pipe closed")
        buf += d
    return buf


def measure_wake_procs(min_count, min_s, gap=0.0):
    """One-way hop parent -> blocked child (after `gap` s of the child's CPU idling), in us."""
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(a_w)
        os.close(b_r)
        _pong_child(a_r, b_w)
    os.close(a_r)
    os.close(b_w)
    C.track_pid(pid)
    write, pc, unpack, sleep = os.write, perf_counter, _T.unpack, time.sleep
    try:
        for _ in range(200):
            write(a_w, b"x")
            _read_exact(b_r, 8)

        def one():
            if gap:
                sleep(gap)
            t0 = pc()
            write(a_w, b"x")
            t1 = unpack(_read_exact(b_r, 8))[0]
            return (t1 - t0) * 1e6
        return repeat(one, 50 if gap else 200, min_s)
    finally:
        os.close(a_w)
        os.close(b_r)
        deadline = perf_counter() + 10
        while True:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if perf_counter() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                break
            time.sleep(0.001)
        C.untrack_pid(pid)


def measure_hop_cpu(min_count, min_s):
    """CPU time (both processes) per one-way hop of a pipe ping-pong, in us: each hop
    is a write and a read that blocked until it (one value per tenth of the block)."""
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(a_w)
        os.close(b_r)
        _pong_child(a_r, b_w)
    os.close(a_r)
    os.close(b_w)
    C.track_pid(pid)
    write = os.write

    def child_cpu_ns():
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0])
    try:
        for _ in range(200):
            write(a_w, b"x")
            _read_exact(b_r, 8)
        out = []
        for _ in range(10):
            c0, p0 = child_cpu_ns(), time.process_time_ns()
            n, end = 0, perf_counter() + min_s / 10
            while n < min_count or perf_counter() < end:
                write(a_w, b"x")
                _read_exact(b_r, 8)
                n += 1
            c1, p1 = child_cpu_ns(), time.process_time_ns()
            out.append((c1 - c0 + p1 - p0) / 1e3 / (2 * n))
        return out
    finally:
        os.close(a_w)
        os.close(b_r)
        deadline = perf_counter() + 10
        while True:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if perf_counter() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                break
            time.sleep(0.001)
        C.untrack_pid(pid)


def measure_wake_threads(min_count, min_s):
    """The same one-way hop between two threads of this process, in us."""
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    box = [0.0]

    def pong():
        read, write, pc = os.read, os.write, perf_counter
        while True:
            d = read(a_r, 1)
            box[0] = pc()
            if not d:
                break
            write(b_w, b"y")

    t = threading.Thread(target=pong, daemon=True)
    t.start()
    write, read, pc = os.write, os.read, perf_counter
    try:
        for _ in range(200):
            write(a_w, b"x")
            read(b_r, 1)

        def one():
            t0 = pc()
            write(a_w, b"x")
            read(b_r, 1)
            return (box[0] - t0) * 1e6
        return repeat(one, 200, min_s)
    finally:
        os.close(a_w)
        t.join(10)
        for fd in (a_r, b_r, b_w):
            os.close(fd)


def measure_pipe_syscalls(min_count, min_s):
    r, w = os.pipe()
    write, read, pc = os.write, os.read, perf_counter
    try:
        for _ in range(200):
            write(w, b"x")
            read(r, 1)

        def one():
            t0 = pc()
            write(w, b"x")
            read(r, 1)
            return (pc() - t0) * 1e6
        return repeat(one, 200, min_s)
    finally:
        os.close(r)
        os.close(w)


SHORT_RECVS = [0]
MSG16 = b"0123456789abcdef"


def _tcp_pair():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        c = socket.create_connection(ls.getsockname(), timeout=5.0)
        s, _ = ls.accept()
    finally:
        ls.close()
    for x in (c, s):
        x.settimeout(None)
        x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        C.set_kernel_timeouts(x, 5.0)
    return c, s


def measure_short_syscalls(min_count, min_s):
    """{'send': [us], 'recv': [us]} for 16-byte send / ready recv on loopback TCP."""
    c, s = _tcp_pair()
    out = {"send": [], "recv": []}
    pc = perf_counter
    try:
        csend, crecv, ssend, srecv = c.send, c.recv, s.send, s.recv

        def exchange(timed):
            t0 = pc()
            k = csend(MSG16)
            t1 = pc()
            d = srecv(16)
            t2 = pc()
            if k != 16:
                raise RuntimeError("short send")
            short = len(d) < 16
            if short:
                d = C.recv_rest(srecv, d, 16)
            ssend(d)
            e = crecv(16)
            if len(e) < 16:
                e = C.recv_rest(crecv, e, 16)
            if timed:
                out["send"].append((t1 - t0) * 1e6)
                if short:
                    SHORT_RECVS[0] += 1
                else:
                    out["recv"].append((t2 - t1) * 1e6)

        for _ in range(200):
            exchange(False)
        t_begin = pc()
        while len(out["send"]) < min_count or pc() - t_begin < min_s:
            exchange(True)
        return out
    finally:
        c.close()
        s.close()


def measure_cond_signal(min_count, min_s, waiter):
    cond = threading.Condition()
    stop = [False]

    def wait_loop():
        while not stop[0]:
            with cond:
                cond.wait(5)

    t = None
    if waiter:
        t = threading.Thread(target=wait_loop, daemon=True)
        t.start()
    pc, sleep = perf_counter, time.sleep
    out = []
    t_begin = pc()
    try:
        while len(out) < min_count or pc() - t_begin < min_s:
            sleep(0.002)
            with cond:
                if waiter and len(cond._waiters) != 1:
                    continue
                t0 = pc()
                cond.notify()
                t1 = pc()
            out.append((t1 - t0) * 1e6)
        return out
    finally:
        stop[0] = True
        if t is not None:
            with cond:
                cond.notify_all()
            t.join(10)


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


def measure_asyncio_loop(min_count, min_s, part, tasks=100, rounds=200):
    """Single-threaded cost of the asyncio loop in us: 'switch' = per task switch
    with `tasks` tasks yielding (`await asyncio.sleep(0)`) `rounds` times each;
    'alone' = per iteration with one task doing it."""
    import asyncio
    n = tasks if part == "switch" else 1
    count = rounds if part == "switch" else rounds * tasks

    async def yielder():
        for _ in range(count):
            await asyncio.sleep(0)

    async def main():
        t0 = perf_counter()
        await asyncio.gather(*(yielder() for _ in range(n)))
        return perf_counter() - t0

    def one():
        return asyncio.run(main()) / (n * count) * 1e6
    return repeat(one, min_count, min_s)


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


def _shut(pool):
    """Terminate and join a multiprocessing Pool (untimed)."""
    pool.terminate()
    pool.join()


def construct_time(make, shut):
    """Seconds of make() (the constructor alone); shut(obj) runs untimed."""
    t0 = perf_counter()
    obj = make()
    dt = perf_counter() - t0
    shut(obj)
    return dt


def measure_executor_construct(kind, min_count, min_s):
    """us to construct a pool object of `kind` ('thread', 'process', 'pool')."""
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
    fork = multiprocessing.get_context("fork")
    if kind == "thread":
        return repeat(lambda: construct_time(lambda: ThreadPoolExecutor(4),
                                             lambda ex: ex.shutdown()) * 1e6,
                      min_count, min_s)
    if kind == "process":
        return repeat(lambda: construct_time(lambda: ProcessPoolExecutor(4, mp_context=fork),
                                             lambda ex: ex.shutdown()) * 1e6,
                      min_count, min_s)

    def beyond_workers():
        one = construct_time(lambda: fork.Pool(1), _shut)
        two = construct_time(lambda: fork.Pool(2), _shut)
        return (2 * one - two) * 1e6
    return repeat(beyond_workers, min_count, min_s)


def fork_call_ms():
    """ms of the parent's os.fork() call; the child exits at once and is reaped."""
    t0 = perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    dt = perf_counter() - t0
    os.waitpid(pid, 0)
    return dt * 1e3


def measure_fork_rss(mib, min_count, min_s):
    """The fork call from a parent holding `mib` MiB of written memory."""
    buf = bytearray(mib << 20)
    if mib:
        buf[::4096] = b"\x01" * len(range(0, len(buf), 4096))  # write every page
    try:
        return repeat(fork_call_ms, min_count, min_s)
    finally:
        del buf


def measure_executor_first_task(min_count, min_s):
    from concurrent.futures import ProcessPoolExecutor
    fork = multiprocessing.get_context("fork")

    def one():
        t0 = perf_counter()
        ex = ProcessPoolExecutor(4, mp_context=fork)
        ex.submit(C.noop).result(30)
        dt = perf_counter() - t0
        ex.shutdown()
        return dt * 1e3
    return repeat(one, min_count, min_s)


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
    ap.add_argument("--budget", type=float, default=160.0,
                    help="no retries of noisy blocks after this many seconds (default 160)")
    ap.add_argument("--reps", type=int, default=6, help="blocks per measurement (default 6)")
    ap.add_argument("--block-s", type=float, default=0.5,
                    help="minimum seconds per block (default 0.5)")
    ap.add_argument("--sample-wait", type=float, default=0.0,
                    help="before a sample that follows a noisy one, wait up to S s for a "
                         "quiet moment (default 0 = off)")
    ap.add_argument("--sample-wait-total", type=float, default=300.0,
                    help="stop such waits once they add up to S s (default 300)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 1 block of >= 0.05 s each, no waiting, no retries")
    args = ap.parse_args()
    C.SAMPLE_WAIT["max_s"] = 0.0 if args.quick else args.sample_wait
    C.SAMPLE_WAIT["total_max_s"] = args.sample_wait_total

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

        with C.EchoServer(lifetime_s=300, script="selectors_echo_server.py") as server:
            M["echo_server_rtt_us"] = run(
                "echo_server_rtt_us", "us", lambda c: measure_echo_server(server, 200, B, "rtt"))
            M["echo_server_cpu_us"] = run(
                "echo_server_cpu_us", "us", lambda c: measure_echo_server(server, 200, B, "cpu"))
            M["echo_server_busy_cpu_us"] = run(
                "echo_server_busy_cpu_us", "us", lambda c: measure_echo_server_busy(server, B))

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
        M["asyncio_loop_us"] = run(
            "asyncio_loop_us", "us",
            lambda c: measure_asyncio_loop(3, B, c[0]),
            configs=[("switch", None), ("alone", None)])
        M["ipc_message_us"] = run("ipc_message_us", "us",
                                  lambda c: measure_ipc_message(3, B))

        # wake-up path (issue 12): pipes between processes / threads, short syscalls
        M["wake_latency_us"] = run("wake_latency_us", "us",
                                   lambda c: measure_wake_procs(200, B))
        M["wake_latency_after_idle_us"] = run(
            "wake_latency_after_idle_us", "us",
            lambda c: measure_wake_procs(50, B, c[1]),
            configs=[("100us", 100e-6), ("1ms", 1e-3), ("5ms", 5e-3)])
        M["wake_latency_threads_us"] = run("wake_latency_threads_us", "us",
                                           lambda c: measure_wake_threads(200, B))
        M["pipe_write_read_us"] = run("pipe_write_read_us", "us",
                                      lambda c: measure_pipe_syscalls(200, B))
        M["pipe_hop_cpu_us"] = run("pipe_hop_cpu_us", "us",
                                   lambda c: measure_hop_cpu(200, B))
        M["send_syscall_us"] = run("send_syscall_us", "us",
                                   lambda c: measure_short_syscalls(200, B)["send"])
        M["recv_ready_syscall_us"] = run("recv_ready_syscall_us", "us",
                                         lambda c: measure_short_syscalls(200, B)["recv"])
        M["cond_signal_us"] = run(
            "cond_signal_us", "us",
            lambda c: measure_cond_signal(50, B, c[1]),
            configs=[("waiter_blocked", True), ("no_waiter", False)])
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
    ol, on = C.other_loads(t0s, t1s)
    ps["forkserver_first_incl_server"] = C.summarize(
        [first], "ms", {"quiet": ol is None or ol <= thr, "other_load_cores": ol,
                        "other_nice_cores": on, "samples_run": 1, "samples_used": 1})
    ps.update(run("process_start_ms", "ms",
                  lambda c: measure_process_start(fs, c[1], B),
                  configs=[("forkserver", 5)]))
    M["process_start_ms"] = {k: ps[k] for k in ("fork", "spawn", "forkserver",
                                                "forkserver_first_incl_server")}

    # pool start-up (issue 13): constructors, fork against resident memory, first task
    M["executor_construct_us"] = run(
        "executor_construct_us", "us",
        lambda c: measure_executor_construct(c[0], 5, B),
        configs=[("thread", None), ("process", None), ("pool", None)])
    sizes = (0, 16, 64) if quick else (0, 64, 256, 1024)
    M["fork_rss_ms"] = run(
        "fork_rss_ms", "ms",
        lambda c: measure_fork_rss(c[1], 5, B),
        configs=[("%dMiB" % n, n) for n in sizes])
    M["executor_first_task_ms"] = run("executor_first_task_ms", "ms",
                                      lambda c: measure_executor_first_task(3, B))

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
    notes["send_recv_message_bytes"] = len(MSG16)
    notes["recv_ready_short_ops"] = SHORT_RECVS[0]
    wl, pw = M["wake_latency_us"], M["pipe_write_read_us"]
    if wl.get("median") is not None and pw.get("median") is not None:
        notes["wake_only_us_median_estimate"] = wl["median"] - pw["median"]

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
            "sample_wait": {k: C.SAMPLE_WAIT[k]
                            for k in ("max_s", "total_max_s", "waited_s", "waits")},
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
