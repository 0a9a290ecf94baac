"""Open-loop load generator of the services set (gilsim issue 16), stdlib only.

    python3 calibration/services_load.py PORT RATE DURATION_S SEED ARRIVALS REQUEST

Sends one request per new connection to 127.0.0.1:PORT at RATE requests per second for
DURATION_S seconds, at times fixed in advance: ARRIVALS `poisson` (exponential gaps from
`random.Random(SEED)`) or `periodic`. It never waits for a reply before sending the next
request: one thread runs a `selectors` loop (epoll) over non-blocking sockets, so any
number of requests can be outstanding. Each request: `connect` (non-blocking), then
`REQUEST + "\\n"` when the socket is writable, then the reply line; the socket is closed
with SO_LINGER 0 (no TIME_WAIT on this side, so ports are not exhausted).

A request's latency runs from its *scheduled* send time to the end of its reply line (no
coordinated omission: a generator that falls behind still charges the wait). The
generator checks it keeps up: `send_lag` is how late each connect started after its
scheduled time. After the last send it waits up to 30 s for the outstanding replies.

Prints one JSON object on stdout: the latencies (ms, in send order of completion), the
send lags' p50/p99/max (ms), sent/completed/errors, the span from the first scheduled
send to the last reply, the achieved send rate and the generator's own CPU time.
"""

import errno
import json
import random
import selectors
import socket
import struct
import sys
import time

perf_counter = time.perf_counter
LINGER0 = struct.pack("ii", 1, 0)


def schedule(rate, duration, seed, arrivals):
    rng = random.Random(seed)
    t, out = 0.0, []
    while True:
        t += rng.expovariate(rate) if arrivals == "poisson" else (1.0 / rate if out else 0.0)
        if t >= duration:
            return out
        out.append(t)


def quantile(xs, q):
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def main():
    port, rate, duration, seed, arrivals, request = sys.argv[1:7]
    rate, duration, seed = float(rate), float(duration), int(seed)
    payload = (request + "\n").encode()
    times = schedule(rate, duration, seed, arrivals)
    sel = selectors.DefaultSelector()
    addr = ("127.0.0.1", int(port))
    lat, lags, sends = [], [], []
    errors = 0
    outstanding = 0
    cpu0 = time.process_time()
    t0 = perf_counter() + 0.05
    i, n = 0, len(times)
    last_reply = t0

    def finish(sock, key_data, ok):
        nonlocal outstanding, errors, last_reply
        sel.unregister(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        sock.close()
        outstanding -= 1
        if ok:
            now = perf_counter()
            lat.append((now - key_data[0]) * 1e3)
            last_reply = now
        else:
            errors += 1

    deadline = None
    while i < n or outstanding:
        now = perf_counter()
        while i < n and t0 + times[i] <= now:
            due = t0 + times[i]
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sent_at = perf_counter()
            lags.append((sent_at - due) * 1e3)
            sends.append(sent_at)
            rc = s.connect_ex(addr)
            if rc not in (0, errno.EINPROGRESS):
                s.close()
                errors += 1
            else:
                sel.register(s, selectors.EVENT_WRITE, [due, b""])
                outstanding += 1
            i += 1
            now = perf_counter()
        if i >= n and deadline is None:
            deadline = now + 30.0
        if deadline is not None and now > deadline:
            break
        timeout = max(0.0, t0 + times[i] - now) if i < n else 0.5
        for key, mask in sel.select(timeout):
            s, data = key.fileobj, key.data
            if mask & selectors.EVENT_WRITE:
                try:
                    s.send(payload)
                except OSError:
                    finish(s, data, False)
                    continue
                sel.modify(s, selectors.EVENT_READ, data)
            elif mask & selectors.EVENT_READ:
                try:
                    chunk = s.recv(64)
                except OSError:
                    finish(s, data, False)
                    continue
                data[1] += chunk
                if chunk.endswith(b"\n"):
                    finish(s, data, True)
                elif not chunk:
                    finish(s, data, False)
    cpu = time.process_time() - cpu0
    span = last_reply - t0
    json.dump({
        "sent": n,
        "completed": len(lat),
        "errors": errors,
        "unanswered": outstanding,
        "span_s": span,
        "send_window_s": duration,
        "achieved_send_rate": ((len(sends) - 1) / (sends[-1] - sends[0])
                               if len(sends) > 1 and sends[-1] > sends[0] else None),
        "send_lag_p50_ms": quantile(lags, 0.5),
        "send_lag_p99_ms": quantile(lags, 0.99),
        "send_lag_max_ms": max(lags) if lags else None,
        "generator_cpu_s": cpu,
        "latency_ms": lat,
    }, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
