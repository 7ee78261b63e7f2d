"""The common ground of the unit tests' declared stand-in HTTP servers (the client's
fault injection): a request handler that reads a body as it arrives."""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StandIn(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # an answer's head and body are separate writes

    def log_message(self, *args):
        pass

    def pieces(self):
        """The request body in pieces as it arrives (with a length, or chunked)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while size := int(self.rfile.readline().split(b";")[0], 16):
                yield from self._read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            yield from self._read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status: int, answer=None):
        """A JSON answer (no body when ``answer`` is None)."""
        data = b"" if answer is None else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status: int, reason: str, message: str | None = None, **more):
        """An error in the API's shape, once the request's body is read (the connection
        goes on)."""
        for _ in self.pieces():
            pass
        body = {"status": status, "reason": reason, "message": message or reason, **more}
        self.reply(status, body)

    def _read(self, left: int):
        while left > 0:
            piece = self.rfile.read(min(left, 1 << 16))
            if not piece:
                return
            left -= len(piece)
            yield piece


@contextlib.contextmanager
def serving(handler: type[StandIn], **state):
    """A threaded server of ``handler`` on a free loopback port, ``state`` set on it as
    attributes and ``url`` its API base; shut down on leaving."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    for name, value in state.items():
        setattr(httpd, name, value)
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/api/"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
