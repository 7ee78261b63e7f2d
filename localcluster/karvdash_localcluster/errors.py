"""What every part of the launcher shares: its error, and its log line on stderr."""

from __future__ import annotations

import sys


class ClusterError(RuntimeError):
    """The local control plane could not be built or started; the message says why."""


def log(message: str) -> None:
    print(f"[localcluster] {message}", file=sys.stderr, flush=True)
