"""Karvdash's hello-kubernetes: a web page that shows MESSAGE and the pod that served it.

Written for this project with Python's standard library. It is NOT Paul Bouwer's
hello-kubernetes (a Node.js app); it only carries that image's name so that the catalogue's
template runs unchanged, and honours the same variables: MESSAGE, PORT (default 8080),
KUBERNETES_NAMESPACE, KUBERNETES_POD_NAME, KUBERNETES_NODE_NAME, CONTAINER_IMAGE.
"""

import html
import os
import platform
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Hello Kubernetes!</title>
<style>body{{font-family:sans-serif;margin:3em;background:#f4f6fb;color:#223}}
h1{{color:#326ce5}}table{{border-collapse:collapse}}td{{padding:.2em 1em .2em 0}}</style>
</head><body><h1>{message}</h1><table>
<tr><td>namespace</td><td>{namespace}</td></tr>
<tr><td>pod</td><td>{pod}</td></tr>
<tr><td>node</td><td>{node}</td></tr>
<tr><td>image</td><td>{image}</td></tr>
<tr><td>server</td><td>Python {python} on {system}</td></tr>
</table></body></html>
"""


def page() -> bytes:
    env = os.environ.get
    values = {
        "message": env("MESSAGE", "Hello world!"),
        "namespace": env("KUBERNETES_NAMESPACE", "-"),
        "pod": env("KUBERNETES_POD_NAME", socket.gethostname()),
        "node": env("KUBERNETES_NODE_NAME", "-"),
        "image": env("CONTAINER_IMAGE", "paulbouwer/hello-kubernetes:1.10 (Karvdash's own)"),
        "python": platform.python_version(),
        "system": platform.system(),
    }
    return PAGE.format(**{k: html.escape(v) for k, v in values.items()}).encode()


class Handler(BaseHTTPRequestHandler):
    server_version = "hello-kubernetes"

    def do_GET(self):
        body = page()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, fmt, *args):
        print(f"{self.address_string()} {fmt % args}", file=sys.stderr, flush=True)


class Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self):
        # one socket for IPv4 and IPv6
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main() -> None:
    port = int(os.environ.get("PORT", "8080"))
    try:
        server = Server(("::", port), Handler)
    except OSError:  # no IPv6 in this network namespace
        server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    # as PID 1 the process gets no default signal handling: stop on SIGTERM and SIGINT
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"hello-kubernetes listening on port {port}", file=sys.stderr, flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
