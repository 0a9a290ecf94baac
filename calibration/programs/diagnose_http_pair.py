"""Diagnostic (not part of the validation): where the CPU of one http_pair copy
goes. Runs http_pair.run(1500) once and prints its wall time, the client's
CPU time (this process) and the server child's CPU time (RUSAGE_CHILDREN),
which a trace of the client cannot see. Run through /tmp/measure-quietly.sh."""

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_pair  # noqa: E402

if __name__ == "__main__":
    for _ in range(3):
        c0 = resource.getrusage(resource.RUSAGE_SELF)
        s0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        http_pair.run(1500)
        wall = time.perf_counter() - t0
        c1 = resource.getrusage(resource.RUSAGE_SELF)
        s1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = lambda a, b: (b.ru_utime + b.ru_stime) - (a.ru_utime + a.ru_stime)
        print(json.dumps({"wall_s": round(wall, 3), "client_cpu_s": round(cpu(c0, c1), 3),
                          "server_cpu_s": round(cpu(s0, s1), 3)}))
