"""The processes the hub starts die with it, and what a crashed run left is cleaned up.

- :func:`die_with_parent`: the kernel sends the calling process SIGTERM when its parent
  (the hub) dies, however it dies (Linux's ``PR_SET_PDEATHSIG``, kept across ``exec``).
  The dashboard and identity services call it at start (their SIGTERM handler stops them
  at once), the registry wrapper before it becomes ``docker-registry``, and
  ``python -m karvdash_hub.lifecycle COMMAND...`` wraps the proxy, which the hub starts.
- :func:`stale_processes` / :func:`clean_stale`: at the hub's start (the embedded default),
  the processes of a previous run with the same state folder that are still there (a
  ``kill -9`` of an older version, a crash before the kernel's signal could help): the
  dashboard, identity, registry and proxy of that run, found by their command and their
  ``KARVDASH_STATE_DIR``, never the local cluster's. They are stopped (SIGTERM, then
  SIGKILL after 3 s), and the hub says which, so that ports and sockets are free again.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
#: what the processes a hub starts run (their command line has one of these)
MARKERS = (
    "karvdash_hub.apps.dashboard",
    "karvdash_hub.apps.identity",
    "karvdash_hub.lifecycle",
    "configurable-http-proxy",
    "docker-registry",
    "registry.json",
)


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Have the kernel send ``sig`` when the parent dies; exit now if it is gone already
    (reparented before this call). No-op where there is no prctl (not Linux)."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent or parent == 1:
        sys.exit("karvdash: the process that started this one is gone; not starting")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def stale_processes(state_dir: Path) -> list[tuple[int, str]]:
    """(pid, command) of every process left by a hub of ``state_dir``, but this one and
    its ancestors."""
    mine = {os.getpid()}
    pid = os.getpid()
    while pid > 1:
        stat = _read(Path(f"/proc/{pid}/stat")).decode(errors="replace")
        pid = int(stat.rsplit(")", 1)[-1].split()[1]) if stat else 1
        mine.add(pid)
    wanted = f"KARVDASH_STATE_DIR={Path(state_dir).resolve()}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        command = _read(entry / "cmdline").replace(b"\0", b" ").decode(errors="replace")
        if not any(m in command for m in MARKERS):
            continue
        environ = _read(entry / "environ").split(b"\0")
        if wanted in environ:
            found.append((int(entry.name), command.strip()))
    return found


def clean_stale(state_dir: Path, say=print) -> list[int]:
    """Stop what :func:`stale_processes` finds; the pids stopped."""
    found = stale_processes(state_dir)
    for pid, command in found:
        say(f"[karvdash] stopping pid {pid}, left by a previous run: {command[:120]}")
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + 3
    for pid, _ in found:
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if Path(f"/proc/{pid}").exists():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return [pid for pid, _ in found]


def main(argv: list[str] | None = None) -> None:
    """``python -m karvdash_hub.lifecycle COMMAND [ARG...]``: run COMMAND (found on PATH)
    so that it gets SIGTERM when the process that started this one dies."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        sys.exit("usage: python -m karvdash_hub.lifecycle COMMAND [ARG...]")
    die_with_parent()
    os.execvp(args[0], args)


if __name__ == "__main__":
    main()
