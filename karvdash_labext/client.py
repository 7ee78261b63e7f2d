"""Python clients of the dashboard service's REST API, and the base of karvdashctl.

``KarvdashClient`` (synchronous, for scripts and karvdashctl) and ``AsyncKarvdashClient``
(the same methods, awaitable, for a jupyter_server extension or any code on an event loop)
are thin transports: every operation, and how its answer or error is read, is written once
in :mod:`karvdash_labext.api`.

Both use httpx: one library with a synchronous and an asynchronous client of the same
shape (``httpx.Client`` / ``httpx.AsyncClient``), so the two transports differ only by
``await``; it is already installed with JupyterLab, and it needs neither tornado nor
anything of the hub. (requests has no asynchronous client; tornado's has no synchronous
one that may run inside a running loop.)

Where they find the API and a token, first match wins:

- arguments (``KarvdashClient(url=..., token=...)``, or ``--url``/``--token``);
- the environment: ``KARVDASH_API_URL`` (set by the spawner in every user server),
  ``KARVDASH_API_TOKEN``, else ``JUPYTERHUB_API_TOKEN`` (the server's own token, which
  the hub allows to call the dashboard service as its owner);
- the config file ``$XDG_CONFIG_HOME/karvdash/config.json`` (``~/.config/...``):
  ``{"url": "https://lab.example.org/services/karvdash/api/", "token": "..."}``, for a
  laptop (create a token at ``/hub/token``).

Without a URL or a token the constructor raises ``KarvdashError`` (status 0, reason
``no-url`` or ``no-token``) saying what to set. Every other failure is described in
:mod:`karvdash_labext.api`: a ``KarvdashError`` with the API's status, reason and message,
or status 0 and reason ``unreachable`` when there is no answer at all. Requests follow
redirects and time out after ``timeout`` seconds (60) without a byte sent or received.

Files go both ways without being held in memory: an upload's body (a binary file, an
iterable of bytes, bytes) is sent as it is read, a download is written to its file object
as it arrives; the asynchronous client reads and writes those files in a thread. On top
of the file operations both clients have ``put``, ``put_folder`` and ``get``
(:mod:`karvdash_labext.files`): a file of more than ``chunk_size`` bytes (8 MiB) goes up in
chunks that resume after a dropped connection, and a download is renamed into place only
once complete. An image archive (``push_image``) goes up the same way, read as it is sent.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import stat
from collections.abc import AsyncIterable
from pathlib import Path
from typing import Any

import httpx

from .api import (
    OPERATIONS,
    Call,
    KarvdashError,
    Operations,
    read_answer,
    streamed,
    streaming,
    unreachable,
)
from .files import CHUNK_SIZE, PIECE, RETRIES, Transfers, Window, adrive, drive
from .images import Archive

__all__ = [
    "OPERATIONS",
    "AsyncKarvdashClient",
    "KarvdashClient",
    "KarvdashError",
    "config_file",
    "discover",
]


def config_file() -> Path:
    """The laptop's config file: ``$XDG_CONFIG_HOME/karvdash/config.json``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "karvdash" / "config.json"


def _from_file() -> dict:
    try:
        data = json.loads(config_file().read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def discover(url: str | None = None, token: str | None = None) -> tuple[str, str]:
    """The API's base URL (ending with ``/``) and the token, by the rules above."""
    saved = _from_file()
    url = url or os.environ.get("KARVDASH_API_URL") or saved.get("url")
    token = (
        token
        or os.environ.get("KARVDASH_API_TOKEN")
        or os.environ.get("JUPYTERHUB_API_TOKEN")
        or saved.get("token")
    )
    if not url:
        raise KarvdashError(
            0,
            "no-url",
            f"where is Karvdash? Set KARVDASH_API_URL, pass --url, or write {config_file()}",
        )
    if not token:
        raise KarvdashError(
            0,
            "no-token",
            "no token: create one at /hub/token and pass --token or set KARVDASH_API_TOKEN",
        )
    return url.rstrip("/") + "/", token


def _options(token: str, timeout: float) -> dict[str, Any]:
    """What both httpx clients are made with."""
    return {
        "headers": {"Authorization": f"token {token}"},
        "timeout": timeout,
        "follow_redirects": True,
    }


def _length(content: Any) -> int | None:
    """The size of a raw body, when it can be known before it is read."""
    if isinstance(content, (bytes, Window)):
        return len(content)
    if isinstance(content, Archive):
        return content.size()
    try:
        info = os.fstat(content.fileno())
        return info.st_size - content.tell() if stat.S_ISREG(info.st_mode) else None
    except (AttributeError, OSError, ValueError):
        return None


def _request(call: Call, timeout: float) -> dict[str, Any]:
    """The arguments of the httpx request (but the URL) for ``call``."""
    content = call.content
    if isinstance(content, (bytearray, memoryview)):
        content = bytes(content)
    headers = dict(call.headers)
    length = _length(content) if content is not None else None
    if length is not None:
        headers["Content-Length"] = str(length)
    return {
        "method": call.method,
        "params": call.query,
        "json": call.body,
        "content": content,
        "headers": headers,
        "timeout": httpx.Timeout(timeout, read=max(timeout, call.wait or 0)),
    }


async def _read_in_thread(content: Any):
    """A raw body for the asynchronous client: an iterable or a file read in a thread."""
    if hasattr(content, "read"):
        read, end = functools.partial(content.read, PIECE), b""
    else:
        read, end = functools.partial(next, iter(content), None), None
    while (piece := await asyncio.to_thread(read)) != end:
        if piece:
            yield piece


class KarvdashClient(Operations, Transfers):
    """The synchronous client: ``KarvdashClient().list_services()``. Close it (or use it
    in ``with``) to close its connections."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        timeout: float = 60,
        chunk_size: int = CHUNK_SIZE,
        retries: int = RETRIES,
    ):
        self.url, self.token = discover(url, token)
        self.timeout, self.chunk_size, self.retries = timeout, chunk_size, retries
        self.session = httpx.Client(**_options(self.token, timeout))

    def _send(self, call: Call) -> Any:
        request = _request(call, self.timeout)
        try:
            with self.session.stream(url=self.url + call.path, **request) as response:
                if streaming(call, response):
                    size = 0
                    for piece in response.iter_bytes(PIECE):
                        call.sink.write(piece)
                        size += len(piece)
                    return streamed(response, size)
                response.read()
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            raise unreachable(self.url, err) from None
        return read_answer(call, response)

    def _drive(self, plan) -> Any:
        return drive(self._send, plan)

    def close(self) -> None:
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class AsyncKarvdashClient(Operations, Transfers):
    """The asynchronous client: ``await AsyncKarvdashClient().list_services()``, never
    blocking the event loop while the API answers. Close it with ``await aclose()`` (or use
    it in ``async with``). The constructor reads the config file if it needs it: pass
    ``url`` and ``token`` to avoid even that."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        timeout: float = 60,
        chunk_size: int = CHUNK_SIZE,
        retries: int = RETRIES,
    ):
        self.url, self.token = discover(url, token)
        self.timeout, self.chunk_size, self.retries = timeout, chunk_size, retries
        self.session = httpx.AsyncClient(**_options(self.token, timeout))

    async def _send(self, call: Call) -> Any:
        request = _request(call, self.timeout)
        content = request["content"]
        if content is not None and not isinstance(content, bytes | AsyncIterable):
            request["content"] = _read_in_thread(content)
        try:
            async with self.session.stream(url=self.url + call.path, **request) as response:
                if streaming(call, response):
                    size = 0
                    async for piece in response.aiter_bytes(PIECE):
                        await asyncio.to_thread(call.sink.write, piece)
                        size += len(piece)
                    return streamed(response, size)
                await response.aread()
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            raise unreachable(self.url, err) from None
        return read_answer(call, response)

    def _drive(self, plan) -> Any:
        return adrive(self._send, plan)

    async def aclose(self) -> None:
        await self.session.aclose()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.aclose()
