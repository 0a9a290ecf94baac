"""gilsim for Python: the ``gilsim`` command and its results as Python data.

Installing this package (``pip install gilsim`` from a clone or a wheel) puts
the ``gilsim`` command on the PATH of the environment: the same Rust program
as ``cargo install``, shipped inside the wheel. This module adds:

- :func:`load` — a run's output folder as a :class:`Run`: each table as a
  pandas DataFrame when pandas is installed (a list of dicts otherwise), and
  the manifest (seed, parameters, gilsim version, file hashes, findings);
- :func:`find_gilsim_bin` — the path of the ``gilsim`` command of this
  package, and ``python -m gilsim ...``, which runs it;
- ``__version__`` — the crate's version (maturin takes it from Cargo.toml,
  the single source of truth).

and, as a module of its own (standard library only, CPython 3.8+),
``gilsim.trace``: a tracer for your own program. ``python -m gilsim.trace
-o trace.json -- script.py args...`` (or ``with gilsim.trace.tracing(path):``)
measures how its threads split their time between Python, C code that holds
the GIL, C code that releases it, and blocking calls, per call site, with
distributions; see docs/trace-format.md.
"""

from ._binary import find_gilsim_bin
from ._version import __version__
from .results import Run, RunError, load

__all__ = ["Run", "RunError", "__version__", "find_gilsim_bin", "load"]
