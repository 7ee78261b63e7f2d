"""Files that hold a secret (the first admin's password, the dashboard's cookie secret,
signing keys): readable by their owner only from the moment they exist, written whole,
and made once when processes that start together need the same one (:func:`locked`)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


@contextlib.contextmanager
def locked(lock: Path):
    """Hold an exclusive ``flock`` of the file ``lock`` (made 0600 if missing): the other
    processes making the same secret wait, then find it made."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing lets the lock go


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600 whatever the umask), replacing any file
    there: written under another name first, then renamed, so that nobody ever reads
    half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file left by an earlier crash keeps its old mode otherwise
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(partial, path)
