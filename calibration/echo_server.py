"""Loopback TCP echo server for the calibration scripts (stdlib only).

Run as a separate process (so it is not under the measuring interpreter's GIL):

    python3 calibration/echo_server.py [--lifetime SECONDS]

Binds 127.0.0.1 on an ephemeral port, prints the port on stdout, then serves one
connection at a time: `data = conn.recv(4096); conn.sendall(data)` until the client
closes. TCP_NODELAY is set; the sockets are in Python blocking mode with kernel-level
SO_RCVTIMEO/SO_SNDTIMEO, so each recv/send is one system call.

It exits when its lifetime ends, when its parent process dies, or on SIGTERM.
A connection idle for 10 s is closed.
"""

import os
import socket
import struct
import sys
import time


def main():
    lifetime = 900.0
    if "--lifetime" in sys.argv:
        lifetime = float(sys.argv[sys.argv.index("--lifetime") + 1])
    deadline = time.monotonic() + lifetime
    parent = os.getppid()

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    ls.settimeout(1.0)
    print(ls.getsockname()[1], flush=True)

    idle = struct.pack("ll", 10, 0)
    while time.monotonic() < deadline and os.getppid() == parent:
        try:
            conn, _ = ls.accept()
        except socket.timeout:
            continue
        conn.settimeout(None)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, idle)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, idle)
        recv, sendall = conn.recv, conn.sendall
        try:
            while True:
                data = recv(4096)
                if not data:
                    break
                sendall(data)
        except OSError:
            pass
        finally:
            conn.close()
    ls.close()


if __name__ == "__main__":
    main()
