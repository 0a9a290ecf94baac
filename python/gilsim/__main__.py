"""``python -m gilsim ARGS``: runs the ``gilsim`` command with ARGS."""

from __future__ import annotations

import os
import subprocess
import sys

from ._binary import find_gilsim_bin


def main() -> int:
    gilsim = find_gilsim_bin()
    if sys.platform == "win32":
        return subprocess.run([gilsim, *sys.argv[1:]]).returncode
    os.execvp(gilsim, [gilsim, *sys.argv[1:]])
    return 1  # not reached: execvp replaces this process


if __name__ == "__main__":
    sys.exit(main())
