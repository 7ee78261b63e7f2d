"""What every operation of the API is made of (:mod:`karvdash_labext.api` describes them): the
error every failure is, the request an operation describes (:class:`Call`), and the
decorator that makes a description into a method that sends it (:func:`operation`).

A module of its own so that the operations of a resource can live in a module of theirs
(:mod:`karvdash_labext.images`) that :mod:`karvdash_labext.api` counts among its own."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any, Literal
from urllib.parse import quote


class KarvdashError(Exception):
    """An error answered by the API (or the connection): status, reason, message."""

    def __init__(self, status: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message
        self.details = details or {}

    @property
    def where(self) -> str | None:
        """What the error is about, when the API says (its JSON error's ``where``): the
        form field at fault (``variables.NAME``) or a template's document."""
        where = self.details.get("where")
        return where if isinstance(where, str) else None

    def __str__(self):
        return f"{self.message} ({self.status} {self.reason})"


#: a raw request body: bytes, a binary file object (read as it is sent), or an iterable
#: of bytes (an asynchronous iterable too, for the asynchronous client)
Content = bytes | IO[bytes] | Iterable[bytes] | AsyncIterable[bytes]


@dataclass(frozen=True)
class Call:
    """One request of the API, independent of the transport that sends it: a JSON ``body``
    or a raw ``content``; an ``answer`` read as JSON, text, nothing, or (``stream``) written
    to ``sink`` piece by piece, whose result is ``{"name", "type", "size"}`` (the file name
    the server gives, the content type, the bytes written)."""

    method: str
    path: str  # relative to the API's base URL, already quoted
    query: dict[str, str] = field(default_factory=dict)
    body: dict | None = None
    answer: Literal["json", "text", "none", "stream"] = "json"
    content: Content | None = None
    headers: dict[str, str] = field(default_factory=dict)
    sink: IO[bytes] | None = None
    #: how long the answer may take once the request is sent (seconds; None: the
    #: client's timeout): a push answers when the registry has the image
    wait: float | None = None


def operation(describe: Callable[..., Call]) -> Callable[..., Any]:
    """Make a method that describes a request into one that sends it with ``self._send``:
    the result (or, for the asynchronous client, an awaitable of it) is the answer."""

    @functools.wraps(describe)
    def send(self, *args, **kwargs):
        return self._send(describe(self, *args, **kwargs))

    send.describes = describe
    return send


def quoted_name(value: str) -> str:
    """A name as one path segment: quoted whole (a ``/`` in it cannot reach another
    route), and ``.`` or ``..`` sent encoded, so that no URL normalisation climbs."""
    quoted = quote(value, safe="")
    return quoted.replace(".", "%2E") if value in (".", "..") else quoted
