"""Single-threaded `selectors` loopback TCP echo server for the calibration scripts
(stdlib only).

Run as a separate process (so it is not under the measuring interpreter's GIL):

    python3 calibration/selectors_echo_server.py [--lifetime SECONDS]

Binds 127.0.0.1 on an ephemeral port, prints the port on stdout, then serves any
number of connections from one thread with selectors.DefaultSelector (epoll on Linux):
the listening socket and every connection are non-blocking and registered for
EVENT_READ; a readable connection is served by `data = conn.recv(4096)` and
`conn.send(data)`; bytes the kernel does not take at once are kept and sent when the
socket becomes writable (EVENT_WRITE), and the connection is not read meanwhile.
TCP_NODELAY is set on every connection. So one 16-byte request costs the server one
epoll_wait wake-up, one recv and one send system call.

It exits when its lifetime ends, when its parent process dies (checked at least once a
second: select() has a 1 s timeout), or on SIGTERM. A connection idle for 60 s is closed.
"""

import os
import selectors
import socket
import sys
import time


def main():
    lifetime = 900.0
    if "--lifetime" in sys.argv:
        lifetime = float(sys.argv[sys.argv.index("--lifetime") + 1])
    deadline = time.monotonic() + lifetime
    parent = os.getppid()

    sel = selectors.DefaultSelector()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ, None)
    print(ls.getsockname()[1], flush=True)

    pending = {}   # conn -> bytes not yet sent
    last = {}      # conn -> monotonic time of its last activity

    def close(conn):
        try:
            sel.unregister(conn)
        except (KeyError, ValueError):
            pass
        pending.pop(conn, None)
        last.pop(conn, None)
        conn.close()

    next_check = time.monotonic() + 1.0
    while True:
        for key, mask in sel.select(timeout=1.0):
            sock = key.fileobj
            if sock is ls:
                try:
                    conn, _ = ls.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                conn.setblocking(False)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sel.register(conn, selectors.EVENT_READ, None)
                last[conn] = time.monotonic()
                continue
            conn = sock
            try:
                if mask & selectors.EVENT_WRITE:
                    buf = pending[conn]
                    n = conn.send(buf)
                    if n < len(buf):
                        pending[conn] = buf[n:]
                    else:
                        del pending[conn]
                        sel.modify(conn, selectors.EVENT_READ, None)
                elif mask & selectors.EVENT_READ:
                    data = conn.recv(4096)
                    if not data:
                        close(conn)
                        continue
                    n = conn.send(data)
                    if n < len(data):
                        pending[conn] = data[n:]
                        sel.modify(conn, selectors.EVENT_WRITE, None)
                last[conn] = time.monotonic()
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                close(conn)
        now = time.monotonic()
        if now >= next_check:
            next_check = now + 1.0
            if now >= deadline or os.getppid() != parent:
                break
            for conn in [c for c, t in last.items() if now - t > 60.0]:
                close(conn)
    for conn in list(last):
        close(conn)
    sel.close()
    ls.close()


if __name__ == "__main__":
    main()
