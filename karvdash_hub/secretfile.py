"""Files that hold a secret (the first admin's password, the dashboard's cookie secret):
readable by their owner only from the moment they exist, and written whole."""

from __future__ import annotations

import os
from pathlib import Path


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
