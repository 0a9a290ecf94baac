"""The server half of http_pair.py: a single-threaded `http.server` on
127.0.0.1 (an ephemeral port, printed on the first line of stdout) that
answers every GET with the same 64 KiB body, HTTP/1.0 (one connection per
request). Stdlib only. Runs until stdin closes or it is killed."""

import http.server
import sys
import threading

BODY = bytes(range(256)) * 256  # 64 KiB


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


def main():
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)

    def stop_on_eof():
        sys.stdin.read()
        server.shutdown()
    threading.Thread(target=stop_on_eof, daemon=True).start()
    server.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
