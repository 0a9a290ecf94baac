"""A stdlib `http.client` against an `http.server` (http_server.py, started
as a child process by each run): `run(n)` starts the server, makes `n`
GET requests of its 64 KiB body, one connection each, checks every body, and
stops the server. The client's time is mostly waiting on the socket; the
server's CPU is in another process, which a trace of the client cannot see."""

import http.client
import subprocess
import sys
from pathlib import Path

SERVER = Path(__file__).resolve().parent / "http_server.py"


def run(n):
    server = subprocess.Popen([sys.executable, str(SERVER)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    try:
        port = int(server.stdout.readline())
        got = 0
        for _ in range(n):
            conn = http.client.HTTPConnection("127.0.0.1", port)
            conn.request("GET", "/data")
            body = conn.getresponse().read()
            conn.close()
            got += len(body)
        assert got == n * 65536, got
    finally:
        server.stdin.close()
        server.wait()
