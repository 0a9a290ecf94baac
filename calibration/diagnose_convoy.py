"""Diagnostic (not part of the calibration): who holds the GIL while an echo
client waits after its sendall(), next to two CPU-bound threads.

Each CPU-bound thread logs the stretches in which it ran (a gap of more than
100 us between two checks means it lost the GIL); the client logs its sendall()
and recv() calls against calibration/echo_server.py. Prints the request rate,
and how many CPU-thread tenures passed during each sendall() that waited more
than 1 ms: the distribution whose long tail (starvation episodes) gilsim's
waiter choice does not reproduce (docs/validation.md, io_next_to_cpu).

    python3 calibration/diagnose_convoy.py
"""
import collections
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
p = subprocess.Popen([sys.executable, str(Path(__file__).with_name("echo_server.py")), "--lifetime", "60"], stdout=subprocess.PIPE, text=True)
port = int(p.stdout.readline())
s = socket.create_connection(("127.0.0.1", port)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
pc = time.perf_counter
sys.setswitchinterval(0.005)
flag = [True]
runs = {0: [], 1: []}   # (start, end) of running stretches per CPU thread
def spin(i):
    n = 0; start = last = pc(); out = runs[i]
    while flag[0]:
        n += 1
        if n & 255 == 0:
            t = pc()
            if t - last > 100e-6:
                out.append((start, last)); start = t
            last = t
    out.append((start, last))
ts = [threading.Thread(target=spin, args=(i,)) for i in range(2)]
for t in ts: t.start()
time.sleep(0.2)
client = []
t_end = pc() + 4
while pc() < t_end:
    a = pc(); s.sendall(b"x"); b = pc(); s.recv(16); c = pc()
    client.append((a, b, c))
flag[0] = False
for t in ts: t.join()
s.close(); p.terminate()
# Holder intervals: merge
iv = [(a, b, i) for i in (0, 1) for (a, b) in runs[i] if b > a]
iv.sort()
def holder_seq(t0, t1):
    """CPU threads that ran (in order) between t0 and t1."""
    seq = []
    for a, b, i in iv:
        if b < t0 or a > t1: continue
        if not seq or seq[-1] != i: seq.append(i)
    return seq
hist = collections.Counter()
for a, b, c in client:
    if b - a > 1e-3:
        seq = holder_seq(a, b)
        hist[len(seq)] += 1
print("requests/s", len(client) / 4)
print("send waits > 1 ms:", sum(hist.values()), "of", len(client))
print("number of CPU tenures during a send wait:", sorted(hist.items()))
w = [ (b - a) * 1e3 for a, b, c in client]
print("send wait ms: median %.2f mean %.2f" % (statistics.median(w), statistics.mean(w)))
