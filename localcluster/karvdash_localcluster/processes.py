"""The processes of a started cluster, found again from its state folder's pid file
(``pids.json``), and stopped: each in its own process group, controllers first."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path

#: the order in which :func:`stop_pids` stops the components (others go first)
STOP_ORDER = (
    "storage",
    "kwok",
    "kube-scheduler",
    "kube-controller-manager",
    "kube-apiserver",
    "etcd",
)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, ended but not yet reaped by its parent, does
    not count: a launcher that exited leaves its processes to init, which reaps late)."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False
    except (PermissionError, OSError):
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def recorded_pids(state_dir: Path) -> dict[str, int]:
    """The processes that a cluster started from ``state_dir`` started, alive or not."""
    try:
        return json.loads((Path(state_dir) / "pids.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}


def running_pids(state_dir: Path) -> dict[str, int]:
    """The processes of a cluster started from ``state_dir`` that are still alive."""
    return {name: pid for name, pid in recorded_pids(state_dir).items() if alive(pid)}


def stop_pids(pids: dict[str, int], timeout: float = 20) -> None:
    """SIGTERM each process group (controllers first, etcd last), then SIGKILL."""
    names = sorted(pids, key=lambda n: STOP_ORDER.index(n) if n in STOP_ORDER else -1)
    for name in names:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pids[name], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # reap if it is our child
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pids[name], os.WNOHANG)
            if not alive(pids[name]):
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pids[name], signal.SIGKILL)
