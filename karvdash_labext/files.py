"""Files between this machine and Karvdash's file domains: ``put`` (a file), ``put_folder``
(a folder's tree) and ``get`` (a file, or a folder's archive), on both clients, made of the
API's file operations (:mod:`karvdash_labext.api`).

Rules:

- Memory stays bounded whatever the size: an upload is read from its file in pieces as it
  is sent (:class:`Window`), a download is written to disk in pieces as it arrives.
- ``put`` sends a file named by its path, or a binary file object that can seek (from its
  start: an upload held in memory, ``io.BytesIO``, goes too), and calls ``progress(sent,
  total)`` after each piece read for sending; after a resumed chunk ``sent`` starts again
  from what the server has.
- A file of at most ``chunk_size`` bytes (8 MiB unless the client or the call says
  otherwise) is one PUT; a larger one is a resumable upload, ``chunk_size`` bytes a
  request. When a chunk fails on the way (the connection dropped, timed out, a proxy
  answered 502-504, or the server still holds the dropped request: ``upload-busy``), the
  client waits (1, 2, 4, ... s), asks the server how much it has (GET ``uploads/{id}``) and
  goes on from there, ``retries`` times in a row at most; an answer that is not such a
  failure cancels the upload (nothing is left behind) and is raised.
- ``get`` writes to a hidden temporary file beside the destination and renames it into
  place once complete: an interrupted download leaves nothing, and a file that was there
  stays as it was until then.
- Each transfer is written once, as a plan: a generator that yields the API calls (and the
  pauses) it needs and receives their answers (or their errors). The synchronous client
  runs it with :func:`drive`, the asynchronous one with :func:`adrive`, which runs the plan's
  own file work (open, walk, rename) in a thread so as never to block the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from .api import Call, KarvdashError, describe

MiB = 1 << 20
CHUNK_SIZE = 8 * MiB
RETRIES = 5
PIECE = 1 << 16  # what is read from a file, or written to one, at a time
TEMPORARY = ".karvdash-download-"


#: ``progress(sent_bytes, total_bytes)``, called as an upload's pieces are read to be sent
Progress = Callable[[int, int], None]


class Window:
    """``length`` bytes of a binary file from ``start``, read in pieces while they are sent
    (an upload's body), as often as it is sent; ``progress(start + read, total)`` after each
    piece, when given."""

    def __init__(
        self,
        file: IO[bytes],
        start: int,
        length: int,
        progress: Progress | None = None,
        total: int = 0,
    ):
        self.file, self.start, self.length = file, start, length
        self.progress, self.total = progress, total

    def __len__(self) -> int:
        return self.length

    def __iter__(self):
        self.file.seek(self.start)
        left = self.length
        while left:
            piece = self.file.read(min(PIECE, left))
            if not piece:
                raise OSError(f"{getattr(self.file, 'name', 'the file')} shrank while sent")
            left -= len(piece)
            yield piece
            if self.progress:
                self.progress(self.start + self.length - left, self.total)


@dataclass(frozen=True)
class Pause:
    """A step of a plan: wait before the next call."""

    seconds: float


Plan = Generator["Call | Pause", Any, Any]


def join(*parts: str) -> str:
    """A domain-relative path of these parts (empty ones, e.g. the root, left out)."""
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


def transient(err: KarvdashError) -> bool:
    """A failure on the way that another try may not meet."""
    return err.reason in ("unreachable", "upload-busy") or err.status in (502, 503, 504)


def _opened(local) -> contextlib.AbstractContextManager[IO[bytes]]:
    """A path opened (and closed after), or a binary file object as it is (left open)."""
    return contextlib.nullcontext(local) if hasattr(local, "read") else open(local, "rb")


def put_plan(
    local, domain, path, *, overwrite, parents, user, chunk_size, retries, progress=None
) -> Plan:
    """Upload the file ``local`` (a path, or a binary file object from its start) to
    ``path``, calling ``progress(sent, total)`` as it goes: its entry."""
    with _opened(local) as file:
        size = file.seek(0, os.SEEK_END)
        if size <= chunk_size:
            data = Window(file, 0, size, progress, size)
            return (yield describe("upload_file", domain, path, data, overwrite, parents, user))
        upload = yield describe("create_upload", domain, path, size, overwrite, parents, user)
        try:
            return (yield from _chunks(file, upload, chunk_size, retries, user, progress))
        except KarvdashError:
            try:
                yield describe("cancel_upload", upload["id"])
            except KarvdashError:
                pass  # finished, gone already, or unreachable: it expires
            raise


def _chunks(file: IO[bytes], upload: dict, chunk_size: int, retries: int, user, progress) -> Plan:
    """Send the chunks of ``upload`` from the server's offset: the file's entry."""
    upload_id, size, offset = upload["id"], upload["size"], upload["offset"]
    failures, maybe_done = 0, False  # maybe_done: the last chunk failed on the way
    while "file" not in upload:
        sending_last = False
        try:
            if offset is None:  # after a failure: from what the server has
                offset = (yield describe("upload_status", upload_id))["offset"]
            window = Window(file, offset, min(chunk_size, size - offset), progress, size)
            sending_last = offset + len(window) == size
            upload = yield describe("upload_chunk", upload_id, offset, window)
        except KarvdashError as err:
            if err.reason == "upload-not-found" and maybe_done:
                return (yield from _finished(upload, user))
            failures += 1
            if failures > retries or not (transient(err) or err.reason == "offset-mismatch"):
                raise
            maybe_done = maybe_done or (sending_last and transient(err))
            offset = err.details.get("offset") if err.reason == "offset-mismatch" else None
            offset = offset if isinstance(offset, int) else None
            if offset is None:
                yield Pause(min(2 ** (failures - 1), 30))
            continue
        failures, offset, maybe_done = 0, upload["offset"], False
    return upload["file"]


def _finished(upload: dict, user: str | None) -> Plan:
    """The entry of a file whose upload the server finished without our hearing it."""
    entry = yield describe("stat_file", upload["domain"], upload["path"], user)
    if entry.get("type") != "file" or entry.get("size") != upload["size"]:
        message = f"the upload of {upload['path']} ended unseen: send it again"
        raise KarvdashError(0, "upload-lost", message)
    return entry


def put_folder_plan(local, domain, path, *, overwrite, user, chunk_size, retries) -> Plan:
    """Upload the folder ``local`` and everything in it (files and folders; symbolic links
    to folders and special files are left out) as ``path``: the entries made."""
    local = Path(local)
    if not local.is_dir():
        raise NotADirectoryError(f"{local} is not a folder")
    made = []
    for root, folders, files in os.walk(local):
        here = join(path, *Path(root).relative_to(local).parts)
        if here:  # the domain's root is there already
            made.append((yield describe("make_folder", domain, here, True, user)))
        folders[:] = sorted(f for f in folders if not (Path(root) / f).is_symlink())
        for name in sorted(files):
            if (Path(root) / name).is_file():
                made.append(
                    (
                        yield from put_plan(
                            Path(root) / name,
                            domain,
                            join(here, name),
                            overwrite=overwrite,
                            parents=False,
                            user=user,
                            chunk_size=chunk_size,
                            retries=retries,
                        )
                    )
                )
    return made


def get_plan(domain, path, local, *, format, user) -> Plan:
    """Download a file, or a folder's archive, to ``local``: a file name, or a folder (an
    existing one, or one written with a trailing ``/``; the current one when None) to put
    it in under the name the server gives. ``{"path", "name", "type", "size"}``."""
    local = str(local or ".")
    into = local.endswith(os.sep) or Path(local).is_dir()
    folder = Path(local) if into else Path(local).parent
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f"{TEMPORARY}{secrets.token_hex(8)}"
    try:
        with open(temporary, "xb") as sink:
            answer = yield describe("download_file", domain, path, sink, user, format)
        target = folder / local_name(answer["name"], path, domain) if into else Path(local)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return {"path": str(target), **answer}


def local_name(given: str | None, path: str, domain: str) -> str:
    """A name for a download in a local folder: the server's, reduced to a plain name."""
    for name in (given, PurePosixPath(path).name, domain):
        name = PurePosixPath((name or "").replace("\\", "/")).name
        if name not in ("", ".", ".."):
            return name
    return "download"


def drive(send: Callable[[Call], Any], plan: Plan) -> Any:
    """Run a plan with a synchronous ``send``: its result."""
    answer, error = None, None
    try:
        while True:
            try:
                step = plan.throw(error) if error else plan.send(answer)
            except StopIteration as done:
                return done.value
            answer, error = None, None
            if isinstance(step, Pause):
                time.sleep(step.seconds)
                continue
            try:
                answer = send(step)
            except KarvdashError as err:
                error = err
    finally:
        plan.close()


@dataclass
class _Done:
    value: Any


def _advance(plan: Plan, answer: Any, error: KarvdashError | None) -> Any:
    try:
        return plan.throw(error) if error else plan.send(answer)
    except StopIteration as done:  # cannot cross a thread's future
        return _Done(done.value)


async def adrive(send: Callable[[Call], Any], plan: Plan) -> Any:
    """Run a plan with an asynchronous ``send``, the plan's own steps in a thread."""
    answer, error = None, None
    try:
        while True:
            step = await asyncio.to_thread(_advance, plan, answer, error)
            if isinstance(step, _Done):
                return step.value
            answer, error = None, None
            if isinstance(step, Pause):
                await asyncio.sleep(step.seconds)
                continue
            try:
                answer = await send(step)
            except KarvdashError as err:
                error = err
    finally:
        plan.close()


def transfer(plan: Callable[..., Plan]) -> Callable[..., Any]:
    """Make a method that returns a plan into one that runs it with ``self._drive``."""

    @functools.wraps(plan)
    def run(self, *args, **kwargs):
        return self._drive(plan(self, *args, **kwargs))

    return run


class Transfers:
    """``put``, ``put_folder`` and ``get`` for a client; it supplies ``_drive(plan)`` (and
    may set ``chunk_size`` and ``retries``)."""

    chunk_size: int = CHUNK_SIZE
    retries: int = RETRIES

    def _drive(self, plan: Plan) -> Any:
        raise NotImplementedError

    @transfer
    def put(
        self,
        local_path: str | os.PathLike | IO[bytes],
        domain: str,
        path: str,
        overwrite: bool = False,
        parents: bool = False,
        user: str | None = None,
        chunk_size: int | None = None,
        progress: Progress | None = None,
    ) -> Plan:
        """Upload the file ``local_path`` (or a binary file object, from its start) to
        ``path`` in ``domain`` (in chunks of ``chunk_size`` if larger, resuming after a
        dropped connection), calling ``progress(sent, total)`` as it goes: its entry."""
        return put_plan(
            local_path,
            domain,
            path,
            overwrite=overwrite,
            parents=parents,
            user=user,
            chunk_size=chunk_size or self.chunk_size,
            retries=self.retries,
            progress=progress,
        )

    @transfer
    def put_folder(
        self,
        local_path: str | os.PathLike,
        domain: str,
        path: str,
        overwrite: bool = False,
        user: str | None = None,
        chunk_size: int | None = None,
    ) -> Plan:
        """Upload the folder ``local_path`` with its files and folders as ``path`` in
        ``domain`` (made with its parents if missing): the entries made."""
        return put_folder_plan(
            local_path,
            domain,
            path,
            overwrite=overwrite,
            user=user,
            chunk_size=chunk_size or self.chunk_size,
            retries=self.retries,
        )

    @transfer
    def get(
        self,
        domain: str,
        path: str,
        local_path: str | os.PathLike | None = None,
        format: str | None = None,
        user: str | None = None,
    ) -> Plan:
        """Download a file, or a folder as an archive (``format`` zip or tar.gz), to
        ``local_path`` (a file, or a folder to put it in; the current folder by default),
        renamed into place once complete: ``{"path", "name", "type", "size"}``."""
        return get_plan(domain, path, local_path, format=format, user=user)
