"""One run of one program (programs.py), as `python -m gilsim.trace` traces it:

    python -m gilsim.trace -o NAME.json -- calibration/programs/run_program.py NAME
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import programs  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: run_program.py NAME (one of: %s)" % ", ".join(programs.PROGRAMS))
    programs.main(sys.argv[1])
