"""Where the ``gilsim`` command of this package is (as ruff and py-spy do)."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path


def find_gilsim_bin() -> str:
    """The path of the ``gilsim`` executable installed with this package.

    Looks in the scripts folder of the environment this module is installed
    in (also for ``pip install --user`` and ``--target``), then on PATH.
    Raises FileNotFoundError naming the places searched.
    """
    exe = "gilsim" + (sysconfig.get_config_var("EXE") or "")
    candidates = [Path(sysconfig.get_path("scripts")) / exe]
    user = sysconfig.get_preferred_scheme("user") if sys.version_info >= (3, 10) else (
        "nt_user" if os.name == "nt" else "posix_user"
    )
    candidates.append(Path(sysconfig.get_path("scripts", scheme=user)) / exe)
    # pip install --target DIR: DIR/gilsim/ is this package, DIR/bin/ the command.
    candidates.append(Path(__file__).resolve().parents[1] / "bin" / exe)
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    on_path = shutil.which(exe)
    if on_path:
        return on_path
    searched = ", ".join(str(p) for p in candidates)
    raise FileNotFoundError(f"the gilsim command is not installed (searched {searched} and PATH)")
