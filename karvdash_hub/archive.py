"""A folder as a zip or tar.gz archive, made while it is sent (blocking: a thread).

:func:`write_archive` walks the folder from its open descriptor (``os.fwalk``, which never
follows links and checks each folder it enters), opens every file ``O_NOFOLLOW``, and
writes the archive to a sink, a file-like object with ``write`` that the caller drains:
nothing is staged on disk and memory stays at the sink's buffer. Links, special files,
names that are not UTF-8 and uploads in progress are left out. Compression is light
(level 1): data files are often compressed already, and the network is the limit.

:class:`ChunkSink` hands the archive over to an event loop in pieces of about 1 MiB, and
waits (bounded queue) while the loop is behind: the reader's speed sets the pace.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import stat
import tarfile
import threading
import time
import zipfile

from . import confined
from .rules import files as rules

PIECE = 1 << 20
ZIP64_LIMIT = (1 << 31) - 1


class Cancelled(Exception):
    """The reader went away: stop making the archive."""


class ChunkSink:
    """A write-only file whose pieces an event loop receives with :meth:`next`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, depth: int = 4):
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue()
        self.slots = threading.Semaphore(depth)
        self.buffer = bytearray()
        self.cancelled = threading.Event()

    # the archive's side (a thread)
    def write(self, data) -> int:
        if self.cancelled.is_set():
            raise Cancelled()
        self.buffer += data
        if len(self.buffer) >= PIECE:
            self._hand_over(bytes(self.buffer))
            self.buffer.clear()
        return len(data)

    def flush(self):
        pass

    def _hand_over(self, item) -> None:
        while not self.slots.acquire(timeout=1):
            if self.cancelled.is_set():
                raise Cancelled()
        self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def close_with(self, error: BaseException | None) -> None:
        if self.buffer and error is None:
            self._hand_over(bytes(self.buffer))
        self.buffer.clear()
        self.loop.call_soon_threadsafe(self.queue.put_nowait, error or StopIteration())

    # the loop's side
    async def next(self) -> bytes | None:
        """The next piece, None at the end; the archive's error is raised here."""
        item = await self.queue.get()
        if isinstance(item, StopIteration):
            return None
        if isinstance(item, BaseException):
            raise item
        self.slots.release()
        return item

    def cancel(self) -> None:
        self.cancelled.set()


def _files(folder: int, top: str):
    """(archive name, kind, stat, open descriptor or None) of everything to archive, each
    name under ``top`` (the folder's own name: the archive opens into that folder)."""
    yield top, "folder", os.fstat(folder), None
    for dirpath, dirnames, filenames, dirfd in os.fwalk(".", dir_fd=folder):
        base = top + ("/" + dirpath[2:] if dirpath.startswith("./") else "")
        keep = []
        for name in sorted(dirnames):
            try:
                rules.check_name(name)
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
            except (rules.PathError, OSError):
                continue
            if not stat.S_ISDIR(st.st_mode):
                continue  # a link to a folder: left out (fwalk does not enter it either)
            keep.append(name)
            yield f"{base}/{name}", "folder", st, None
        dirnames[:] = keep
        for name in sorted(filenames):
            try:
                rules.check_name(name)
                fd = os.open(name, confined.READ_FLAGS, dir_fd=dirfd)
            except (rules.PathError, OSError):
                continue  # reserved, not UTF-8, a link (ELOOP) or gone
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                os.close(fd)
                continue
            os.set_blocking(fd, True)
            yield f"{base}/{name}", "file", st, fd


def _zip_time(mtime: float) -> tuple:
    return time.localtime(max(mtime, 315532800))[:6]  # zip cannot say before 1980


def write_archive(folder: int, fmt: str, sink, top: str) -> None:
    """Write the folder ``folder`` (a descriptor, not closed here) as ``fmt`` to ``sink``,
    everything in it under ``top/``, as archives of a folder usually are."""
    if fmt == "zip":
        with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, kind, st, fd in _files(folder, top):
                if kind == "folder":
                    info = zipfile.ZipInfo(name + "/", _zip_time(st.st_mtime))
                    info.external_attr = (0o40755 << 16) | 0x10
                    archive.writestr(info, b"")
                    continue
                try:
                    info = zipfile.ZipInfo(name, _zip_time(st.st_mtime))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = (stat.S_IMODE(st.st_mode) | stat.S_IFREG) << 16
                    with archive.open(info, "w", force_zip64=st.st_size > ZIP64_LIMIT) as out:
                        while piece := os.read(fd, PIECE):
                            out.write(piece)
                finally:
                    os.close(fd)
    elif fmt == "tar.gz":
        with (
            gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=1, mtime=0) as packed,
            tarfile.open(fileobj=packed, mode="w|", format=tarfile.PAX_FORMAT) as archive,
        ):
            for name, kind, st, fd in _files(folder, top):
                info = tarfile.TarInfo(name)
                info.mtime = int(st.st_mtime)
                info.mode = stat.S_IMODE(st.st_mode)
                if kind == "folder":
                    info.type = tarfile.DIRTYPE
                    archive.addfile(info)
                    continue
                try:
                    info.size = st.st_size
                    with os.fdopen(fd, "rb", closefd=False) as content:
                        archive.addfile(info, content)
                finally:
                    os.close(fd)
    else:
        raise rules.PathError(f"an archive is 'zip' or 'tar.gz', not {fmt!r}")
