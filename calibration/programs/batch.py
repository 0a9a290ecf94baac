"""One timed batch: k copies of one program (programs.py) at once, in threads
or in spawned processes; prints one JSON line with the batch's wall time.

    python batch.py NAME threads|processes K

Like with like: k = 1 runs in a thread (or a process) too. Each batch is a
fresh interpreter, so every batch starts as cold as the traced run: the
clock starts before the program is imported (threads: the first thread
imports it, the others wait for that import; processes: each child imports
it after its interpreter started) and stops when the last copy has ended.
"""

import json
import multiprocessing
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import programs  # noqa: E402


def in_threads(name, k):
    t0 = time.perf_counter()
    threads = [threading.Thread(target=programs.main, args=(name,)) for _ in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def in_processes(name, k):
    ctx = multiprocessing.get_context("spawn")
    t0 = time.perf_counter()
    procs = [ctx.Process(target=programs.main, args=(name,)) for _ in range(k)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise SystemExit("a copy failed: exit codes %s" % bad)
    return wall


def main():
    name, layout, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if layout == "threads":
        wall = in_threads(name, k)
    elif layout == "processes":
        wall = in_processes(name, k)
    else:
        raise SystemExit("layout is threads or processes, not %r" % layout)
    print(json.dumps({"program": name, "layout": layout, "k": k, "wall_s": wall}))


if __name__ == "__main__":
    main()
