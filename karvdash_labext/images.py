"""Container images in the users' registry, from the client's side: the API's ``images``
operations (``list_images``, ``get_image``, ``push_image``, ``delete_image``), written as its
others are, in :class:`Images`, a mixin of :class:`karvdash_labext.api.Operations` (and so
of both clients).

Rules:

- An image is named as the registry names it, without the registry's host:
  ``<repository>[:<tag>]``, e.g. ``alice/hello:1``. A repository is lower-case letters and
  digits with ``.``, ``_``, ``__`` or ``-`` between them, in parts joined by ``/`` (at most
  255 characters); a tag is letters, digits, ``_``, ``.`` and ``-``, not starting with ``.``
  or ``-`` (at most 128): Distribution's grammar, which the server holds too. A reference
  that breaks it is refused before any request: a KarvdashError with status 0 and reason
  ``bad-reference`` that says what it may be. ``push_image`` needs a tag.
- In a path each ``/``-separated part of the repository is quoted on its own; the ``/`` and
  the ``:`` before the tag stay as they are (``images/alice/hello:1``), as the API reads it.
- An archive to push (``docker save``'s tarball or an OCI archive, tar or tar.gz) is the
  request's body (``application/x-tar``), read in pieces as it is sent, never whole in
  memory: from a path (opened when sent, closed after) or a binary file object (from where
  it is; one that cannot seek, a pipe, goes without a length). ``progress(sent, total)`` is
  called after each piece (``total`` None when the length cannot be known before); the
  asynchronous client reads the file, and so calls it, in a thread.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
from collections.abc import Callable, Iterator
from typing import IO
from urllib.parse import quote

from .calls import Call, KarvdashError, operation

NAME_MAX = 255
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"\w[\w.-]{0,127}", re.ASCII)
PIECE = 1 << 16  # what is read of an archive at a time
TAR = {"Content-Type": "application/x-tar"}
#: how long a push may take once the archive is sent: the server checks it and pushes
#: it to the registry before it answers
PUSH_WAIT = 3600.0

#: ``progress(sent_bytes, total_bytes)``: ``total_bytes`` is None when it is not known
Progress = Callable[[int, "int | None"], None]


def _bad(message: str) -> KarvdashError:
    return KarvdashError(0, "bad-reference", message)


def reference(text: str, need_tag: bool = False) -> tuple[str, str | None]:
    """``alice/hello:1`` -> ``("alice/hello", "1")``, ``alice/hello`` -> ``("alice/hello",
    None)``, checked by the rules above (a KarvdashError ``bad-reference`` otherwise)."""
    if not isinstance(text, str) or not text:
        raise _bad(f"{text!r} is not an image: write NAME:TAG, e.g. alice/hello:1")
    if "@" in text:
        raise _bad(f"{text!r}: name an image by its tag (alice/hello:1), not by a digest")
    name, colon, tag = text.rpartition(":")
    if not colon or "/" in tag:
        name, tag = text, None
    host, slash, _ = name.partition("/")
    if slash and ":" in host:
        raise _bad(
            f"{text!r}: write an image without the registry's host ({host}), e.g."
            f" {text.partition('/')[2]}"
        )
    if len(name) > NAME_MAX or not _REPOSITORY.fullmatch(name):
        raise _bad(
            f"{name!r} is not a repository name: lower-case letters and digits, with '.',"
            f" '_', '__' or '-' between them, in parts joined by '/' (at most {NAME_MAX}),"
            " e.g. alice/hello"
        )
    if tag is not None and not _TAG.fullmatch(tag):
        raise _bad(
            f"{tag!r} is not a tag: letters, digits, '_', '.' and '-', not starting with"
            " '.' or '-', at most 128"
        )
    if need_tag and tag is None:
        raise _bad(f"{text!r} has no tag: write NAME:TAG, e.g. {text}:latest")
    return name, tag


def image_path(name: str, tag: str | None = None) -> str:
    """``images/<repository>[:<tag>]``, each part of the repository quoted on its own."""
    parts = "/".join(quote(part, safe="") for part in name.split("/"))
    return f"images/{parts}" + (f":{quote(tag, safe='')}" if tag else "")


class Archive:
    """An image archive as a request's body: read in pieces while it is sent (as often as
    it is sent), with its length when it can be known (:meth:`size`) and its progress."""

    def __init__(self, source: str | os.PathLike | IO[bytes], progress: Progress | None = None):
        self.source, self.progress = source, progress
        self.file = source if hasattr(source, "read") else None
        self.start = _position(self.file) if self.file is not None else 0
        self._size: int | None = None
        self._measured = False

    @property
    def label(self) -> str:
        return str(getattr(self.file, "name", None) or self.source)

    def size(self) -> int | None:
        """The bytes to send, or None when they are known only once read (a pipe)."""
        if not self._measured:
            self._size, self._measured = self._measure(), True
        return self._size

    def _measure(self) -> int | None:
        if self.file is None:
            info = os.stat(self.source)
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError(
                    errno.EISDIR, "a folder, not an image archive", os.fspath(self.source)
                )
            return info.st_size if stat.S_ISREG(info.st_mode) else None
        if self.start is None:
            return None
        end = self.file.seek(0, os.SEEK_END)
        self.file.seek(self.start)
        return end - self.start

    def __iter__(self) -> Iterator[bytes]:
        total = self.size()
        file = open(self.source, "rb") if self.file is None else self.file  # noqa: SIM115
        try:
            if self.file is not None and self.start is not None:
                file.seek(self.start)
            sent = 0
            while total is None or sent < total:
                piece = file.read(PIECE if total is None else min(PIECE, total - sent))
                if not piece:
                    if total is None:
                        break
                    raise OSError(f"{self.label} shrank while it was sent")
                yield piece
                sent += len(piece)
                if self.progress:
                    self.progress(sent, total)
        finally:
            if self.file is None:
                file.close()


def _position(file: IO[bytes]) -> int | None:
    """Where a file object is, or None when it cannot seek back there (a pipe)."""
    try:
        return file.tell() if file.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


class Images:
    """The API's image operations, for a client that sends them (``_send``)."""

    def _send(self, call: Call):
        raise NotImplementedError

    @operation
    def list_images(self) -> Call:
        """The repositories you may pull that have a tag: ``{"registry", "namespace",
        "repositories": [{"name", "owner", "tags", "can_push", "can_delete"}]}``, where
        ``registry`` is what ``$REGISTRY`` stands for in templates and ``namespace`` the
        first part of your own repositories' names."""
        return Call("GET", "images")

    @operation
    def get_image(self, image: str) -> Call:
        """A repository (``alice/hello``) with its ``details``, one per tag, or one tag
        (``alice/hello:1``): ``{"name", "tag", "digest", "size", "created", "reference",
        "template_reference", ...}``."""
        return Call("GET", image_path(*reference(image)))

    @operation
    def push_image(
        self,
        file_or_path: str | os.PathLike | IO[bytes] | bytes,
        image: str,
        progress: Progress | None = None,
    ) -> Call:
        """Upload an image archive (``docker save``'s tarball, or an OCI archive; a path, a
        binary file object or bytes), streamed, as ``image`` (``name:tag``), calling
        ``progress(sent, total)`` as it goes: the tag as the registry now serves it, with
        the archive's ``format`` and ``blobs`` ``{"total", "sent", "existing"}``."""
        path = image_path(*reference(image, need_tag=True))
        body = file_or_path
        if isinstance(body, bytes):
            body = Archive(io.BytesIO(body), progress) if progress else body
        else:
            body = Archive(body, progress)
        return Call("PUT", path, content=body, headers=TAR, wait=PUSH_WAIT)

    @operation
    def delete_image(self, image: str) -> Call:
        """Delete a tag with the image it names, and so every tag of that image
        (``alice/hello:1``), or a whole repository (``alice/hello``): ``{"name",
        "digests", "tags"}``, ``tags`` naming every tag that is gone."""
        return Call("DELETE", image_path(*reference(image)))
