"""The four real servers of the services set (gilsim issue 16), stdlib only.

    python3 calibration/services_servers.py KIND [--workers N] [--lifetime S]

KIND is one of

* `threaded`  -- `socketserver.ThreadingTCPServer` (ThreadingMixIn: a new thread per
  connection, `daemon_threads`), handler a `StreamRequestHandler`;
* `prefork`   -- a listening socket opened by the parent, then `os.fork()` of N workers
  (default 4), each a single-threaded loop of blocking `accept()` on the shared socket
  (Linux wakes one exclusive waiter of the socket's wait queue per connection);
* `asyncio`   -- `asyncio.start_server`, all the request's work on the loop thread;
* `asyncio_pool` -- the same front, the request's CPU work (Python and zlib) handed to a
  `ThreadPoolExecutor(max_workers=N)` (default 4) with `loop.run_in_executor`.

Protocol: one connection per request. The client sends one line `K B D\\n`: the server
runs `countdown(K)` (Python), `zlib.compress(TEXT[:B], 6)` (native, releases the GIL)
and sleeps D microseconds (`time.sleep` in the threaded and prefork servers,
`await asyncio.sleep` in the asyncio ones) standing for a database call, then replies
`ok\\n` and closes the connection. The line `cpu\\n` is answered with the serving
process's `time.process_time()` (all its threads, exited ones included): the driver reads
the server's CPU that way (prefork workers are read from /proc instead).

Binds 127.0.0.1 on an ephemeral port (listen backlog 4096) and prints `PORT PID...`
(the pids of the serving processes) on stdout. Runs in its own session; it exits after
--lifetime seconds (SIGALRM) or on SIGTERM (the prefork parent then ends its workers).
"""

import asyncio
import os
import signal
import socket
import socketserver
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import countdown, make_text_data  # noqa: E402

TEXT = make_text_data(1 << 20)
BACKLOG = 4096
LIFETIME = [1800]


def parse(line):
    """(K, B, D seconds) of a request line, or None for the `cpu` query."""
    parts = line.split()
    if parts == [b"cpu"]:
        return None
    k, b, d = (int(x) for x in parts)
    return k, b, d / 1e6


def cpu_work(k, b):
    countdown(k)
    if b:
        zlib.compress(TEXT[:b], 6)


def reply_cpu():
    return ("%.9f\n" % time.process_time()).encode()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        req = parse(self.rfile.readline())
        if req is None:
            self.wfile.write(reply_cpu())
            return
        k, b, d = req
        cpu_work(k, b)
        if d:
            time.sleep(d)
        self.wfile.write(b"ok\n")


class ThreadingServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = BACKLOG


def serve_threaded(_workers):
    srv = ThreadingServer(("127.0.0.1", 0), Handler)
    print(srv.server_address[1], os.getpid(), flush=True)
    srv.serve_forever()


def handle_blocking(conn):
    f = conn.makefile("rb")
    req = parse(f.readline())
    f.close()
    if req is None:
        conn.sendall(reply_cpu())
    else:
        k, b, d = req
        cpu_work(k, b)
        if d:
            time.sleep(d)
        conn.sendall(b"ok\n")
    conn.close()


def serve_prefork(workers):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(BACKLOG)
    pids = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.alarm(LIFETIME[0])  # a fork does not inherit the parent's alarm
            while True:
                conn, _ = ls.accept()
                handle_blocking(conn)
        pids.append(pid)

    def stop(*_):
        for p in pids:
            try:
                os.kill(p, signal.SIGTERM)
            except OSError:
                pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, stop)
    print(ls.getsockname()[1], *pids, flush=True)
    while True:
        signal.pause()


def serve_asyncio(workers, pool):
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor(max_workers=workers) if pool else None

    async def handle(reader, writer):
        req = parse(await reader.readline())
        if req is None:
            writer.write(reply_cpu())
        else:
            k, b, d = req
            if executor is not None:
                await asyncio.get_running_loop().run_in_executor(executor, cpu_work, k, b)
            else:
                cpu_work(k, b)
            if d:
                await asyncio.sleep(d)
            writer.write(b"ok\n")
        await writer.drain()
        writer.close()

    async def main():
        srv = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=BACKLOG)
        print(srv.sockets[0].getsockname()[1], os.getpid(), flush=True)
        async with srv:
            await srv.serve_forever()

    asyncio.run(main())


def main():
    kind = sys.argv[1]
    workers = 4
    lifetime = 1800
    if "--workers" in sys.argv:
        workers = int(sys.argv[sys.argv.index("--workers") + 1])
    if "--lifetime" in sys.argv:
        lifetime = int(sys.argv[sys.argv.index("--lifetime") + 1])
    LIFETIME[0] = lifetime
    signal.alarm(lifetime)
    if kind == "threaded":
        serve_threaded(workers)
    elif kind == "prefork":
        serve_prefork(workers)
    elif kind == "asyncio":
        serve_asyncio(workers, pool=False)
    elif kind == "asyncio_pool":
        serve_asyncio(workers, pool=True)
    else:
        sys.exit("unknown server kind %r" % kind)


if __name__ == "__main__":
    main()
