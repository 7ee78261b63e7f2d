"""The API server as pods of the real node reach it: ``https://kubernetes.default.svc``.

The control plane listens on loopback only. This forwarder listens on the node's address
(:data:`.nodeconfig.NODE_IP`, the pod network's gateway, on the host) and relays each
connection, bytes only (TLS stays end to end), to the API server; the ``kubernetes``
Service's EndpointSlice (:func:`.nodeconfig.kubernetes_endpoint_objects`) points there,
so that in-cluster clients (a hub pod with its ServiceAccount, kubectl in a notebook)
work as in any cluster. The API server's certificate names 10.96.0.1 and
``kubernetes.default.svc``.

    python -m karvdash_localcluster.apiforward --listen 10.244.0.1:PORT --to 127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys

#: Linux's IP_FREEBIND: bind the node's address before its bridge exists (the first pod
#: makes it)
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()


async def serve(listen: tuple[str, int], target: tuple[str, int]) -> None:
    async def relay(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
    sock.bind(listen)
    server = await asyncio.start_server(relay, sock=sock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def start(cluster) -> None:
    """Start the forwarder as one of ``cluster``'s processes (the real node's)."""
    from .nodeconfig import NODE_IP

    port = cluster.ports["apiserver"]
    args = [f"--listen={NODE_IP}:{port}", f"--to=127.0.0.1:{port}"]
    cluster._spawn(
        "apiserver-forward", [sys.executable, "-m", "karvdash_localcluster.apiforward", *args]
    )


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=_address, required=True)
    parser.add_argument("--to", type=_address, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.listen, args.to))


if __name__ == "__main__":
    main()
