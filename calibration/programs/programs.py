"""The programs of the own-programs validation (gilsim issue 17, point 4).

Each program is one function, `copy()`, that runs a fixed amount of work of a
real program nobody here wrote (a pyperformance benchmark's own workload
function, called directly a fixed number of times, not through pyperf's
runner) or of one of two stdlib programs written here (an http.client against
http.server pair, a gzip file compressor). `load(name)` imports what the
program needs and returns its `copy`; `main(name)` is one whole run: load,
then one copy. run_program.py (what is traced) and batch.py (what is timed)
both go through `main`, so the traced and the timed code are the same.

Standard library only, plus the `pyperformance` package (its benchmark
sources, which import `pyperf`), pinned in ../requirements-programs.txt.
"""

import importlib.util
import os
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (character, what one copy runs). The counts make one copy take
# about 0.5-2 s on the reference VM (2 vCPUs, CPython 3.11); they are fixed,
# never tuned to a result. A program must be safe to run as concurrent copies
# in threads of one process: bm_richards is not (its scheduler's task list is
# a module global; four copies in threads corrupt it and one never ends), so
# it was replaced by bm_raytrace.
PROGRAMS = {
    "nbody": ("pure Python", "bm_nbody: bench_nbody(1, 'sun', 100000)"),
    "raytrace": ("pure Python", "bm_raytrace: bench_raytrace(2, 100, 100, None)"),
    "chaos": ("pure Python", "bm_chaos: create_image_chaos(256, 256, 5000), 5 times"),
    "regex_dna": ("C holding the GIL", "bm_regex_dna: bench_regex_dna(2, seq of 100000)"),
    "json_dumps": ("C holding the GIL", "bm_json_dumps: bench_json_dumps(all cases), 40 times"),
    "pickle_dict": ("C holding the GIL", "bm_pickle: bench_pickle_dict(3000, pickle)"),
    "pidigits": ("C holding the GIL", "bm_pidigits: calc_ndigits(5000)"),
    "sqlite_synth": ("C releasing the GIL", "bm_sqlite_synth: bench_sqlite(150000)"),
    "concurrent_imap": ("blocking (a thread pool)", "bm_concurrent_imap: bench_thread_pool(2, 1000, 10), 150 times"),
    "http_pair": ("blocking (sockets)", "http_pair.py: 1500 GETs of 64 KiB from an http.server child"),
    "gzip_file": ("C releasing the GIL (zlib)", "gzip_file.py: gzip 32 MiB of text to a file"),
}


def _benchmark(name):
    """The module bm_<name>/run_benchmark.py of the installed pyperformance."""
    import pyperformance

    path = (Path(pyperformance.__file__).resolve().parent / "data-files" / "benchmarks"
            / ("bm_" + name) / "run_benchmark.py")
    mod_name = "bm_" + name
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = mod
    spec.loader.exec_module(mod)
    return mod


def _times(n, f, *args):
    def copy():
        for _ in range(n):
            f(*args)
    return copy


_LOADING = threading.Lock()


def load(name):
    """Imports program `name` and returns its copy() (a zero-argument function).
    Threads that load at once wait for the first (one import, as in a real
    program whose threads share its modules)."""
    with _LOADING:
        return _load(name)


def _load(name):
    if name == "nbody":
        bm = _benchmark("nbody")
        return lambda: bm.bench_nbody(1, "sun", 100000)
    if name == "raytrace":
        bm = _benchmark("raytrace")
        return lambda: bm.bench_raytrace(2, 100, 100, None)
    if name == "chaos":
        bm = _benchmark("chaos")
        GV, Spline = bm.GVector, bm.Spline
        splines = [
            Spline([GV(1.597350, 3.304460, 0.0), GV(1.575810, 4.123260, 0.0),
                    GV(1.313210, 5.288350, 0.0), GV(1.618900, 5.329910, 0.0),
                    GV(2.889940, 5.502700, 0.0), GV(2.373060, 4.381830, 0.0),
                    GV(1.662000, 4.360280, 0.0)], 3, [0, 0, 0, 1, 1, 1, 2, 2, 2]),
            Spline([GV(2.804500, 4.017350, 0.0), GV(2.550500, 3.525230, 0.0),
                    GV(1.979010, 2.620360, 0.0), GV(1.979010, 2.620360, 0.0)],
                   3, [0, 0, 0, 1, 1, 1]),
            Spline([GV(2.001670, 4.011320, 0.0), GV(2.335040, 3.312830, 0.0),
                    GV(2.366800, 3.233460, 0.0), GV(2.366800, 3.233460, 0.0)],
                   3, [0, 0, 0, 1, 1, 1]),
        ]

        def copy():
            for _ in range(5):
                game = bm.Chaosgame(splines, bm.DEFAULT_THICKNESS)
                game.create_image_chaos(256, 256, 5000, None, bm.DEFAULT_RNG_SEED)
        return copy
    if name == "regex_dna":
        bm = _benchmark("regex_dna")

        def copy():
            seq = bm.init_benchmarks(100000, bm.DEFAULT_RNG_SEED)
            bm.bench_regex_dna(2, seq, ([6, 26, 86, 58, 113, 31, 31, 32, 43],
                                        1016745, 1000000, 1336326))
        return copy
    if name == "json_dumps":
        bm = _benchmark("json_dumps")
        data = [(obj, range(count)) for obj, count in (bm.EMPTY, bm.SIMPLE, bm.NESTED, bm.HUGE)]
        return _times(40, bm.bench_json_dumps, data)
    if name == "pickle_dict":
        bm = _benchmark("pickle")
        import pickle

        class Options:
            protocol = pickle.HIGHEST_PROTOCOL
        return lambda: bm.bench_pickle_dict(3000, pickle, Options)
    if name == "pidigits":
        bm = _benchmark("pidigits")
        return lambda: bm.calc_ndigits(5000)
    if name == "sqlite_synth":
        bm = _benchmark("sqlite_synth")
        return lambda: bm.bench_sqlite(150000)
    if name == "concurrent_imap":
        bm = _benchmark("concurrent_imap")
        return _times(150, bm.bench_thread_pool, 2, 1000, 10)
    if name == "http_pair":
        sys.path.insert(0, str(HERE))
        import http_pair
        return lambda: http_pair.run(1500)
    if name == "gzip_file":
        sys.path.insert(0, str(HERE))
        import gzip_file
        return gzip_file.run
    raise SystemExit("unknown program %r; known: %s" % (name, ", ".join(PROGRAMS)))


def main(name):
    """One whole run of program `name`: its imports, then one copy."""
    load(name)()
