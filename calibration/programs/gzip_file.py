"""A gzip file compressor: `run()` compresses a 32 MiB text file (made once,
deterministically, by `ensure_input()`, in the system's temporary folder) with
`gzip` at level 6 into a file of its own, reading 1 MiB at a time, then
deletes the output. zlib releases the GIL while it compresses a buffer."""

import gzip
import os
import random
import tempfile
import threading

SIZE = 32 << 20
CHUNK = 1 << 20
INPUT = os.path.join(tempfile.gettempdir(), "gilsim-programs-gzip-input-v2.txt")


def ensure_input():
    """The input file: words of 2-10 lowercase letters from a 2000-word vocabulary
    (random.Random(12345)), space-separated, 32 MiB. Made once."""
    if os.path.exists(INPUT) and os.path.getsize(INPUT) == SIZE:
        return INPUT
    r = random.Random(12345)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(r.choice(letters) for _ in range(r.randint(2, 10))) for _ in range(2000)]
    block = " ".join(r.choice(vocab) for _ in range(200000)).encode("ascii")
    data = bytearray()
    while len(data) < SIZE:
        data += block[: SIZE - len(data)]
    tmp = INPUT + ".%d.tmp" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, INPUT)
    return INPUT


def run():
    src = ensure_input()
    out = os.path.join(tempfile.gettempdir(),
                       "gilsim-programs-gzip-%d-%d.gz" % (os.getpid(), threading.get_ident()))
    try:
        with open(src, "rb") as f, gzip.open(out, "wb", compresslevel=6) as g:
            while True:
                chunk = f.read(CHUNK)
                if not chunk:
                    break
                g.write(chunk)
    finally:
        os.remove(out)
