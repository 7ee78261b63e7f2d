"""The common ground of the unit tests' declared stand-in HTTP servers (the client's
fault injection): a request handler that reads a body as it arrives."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler


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

    def _read(self, left: int):
        while left > 0:
            piece = self.rfile.read(min(left, 1 << 16))
            if not piece:
                return
            left -= len(piece)
            yield piece
