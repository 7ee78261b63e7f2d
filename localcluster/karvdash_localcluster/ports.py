"""Free loopback ports, for the control plane and for the tests' own servers."""

from __future__ import annotations

import json
import socket
from pathlib import Path


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (held open together while chosen, so that
    the system cannot hand out the same one twice)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def free_port() -> int:
    return free_ports(1)[0]


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now: as servers do (Go's among them), with
    SO_REUSEADDR, so that connections of a stopped server in TIME_WAIT do not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def choose_ports(state_dir: Path, names: tuple[str, ...]) -> dict[str, int]:
    """Free loopback ports for ``names``; those of the previous start (``ports.json`` in
    ``state_dir``) when they are still free, so that a restarted cluster keeps its
    address (and etcd its peer URL)."""
    saved_file = state_dir / "ports.json"
    try:
        saved = json.loads(saved_file.read_text())
    except (FileNotFoundError, ValueError):
        saved = {}
    fresh = iter(free_ports(len(names)))
    ports: dict[str, int] = {}
    for name in names:
        port = saved.get(name)
        if not (isinstance(port, int) and port_is_free(port)) or port in ports.values():
            port = next(fresh)
            while port in ports.values() or port in saved.values():
                port = free_port()
        ports[name] = port
    saved_file.write_text(json.dumps(ports))
    return ports
