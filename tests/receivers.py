"""A webhook receiver for tests: an HTTP server on a loopback address that records what reaches it."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Records every request (method, path, body, arrival time) and answers ``status`` (with ``location``), after
    ``delay`` seconds (a receiver that hangs)."""

    def __init__(self, host="127.0.0.1", status=200, location=None, delay=0.0):
        self.requests, self.arrivals = [], []
        self.status, self.location, self.delay = status, location, delay
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self):
                receiver.arrivals.append(time.monotonic())
                length = int(self.headers.get("Content-Length") or 0)
                receiver.requests.append((self.command, self.path, self.rfile.read(length)))
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _record  # noqa: N815 (the names http.server calls)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
