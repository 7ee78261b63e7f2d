"""The jupyter_server extension: Karvdash's REST API inside the user's own server.

JupyterLab's side panel (and any code in the browser) calls ``<base_url>karvdash/api/...``
on the user's server, authenticated as every request to that server is (JupyterHub's
login, the XSRF check on writes); the extension sends the call on to the dashboard
service's REST API with the server's own hub token. Nothing in the browser holds a token.

Routes, under the server's ``base_url``:

- ``GET karvdash/info``: ``{"user", "dashboard", "version", "configured", "message"?}``:
  who the server belongs to, the path of the dashboard's pages as the browser sees them,
  and whether the extension knows where the API is (else ``message`` says what to set).
- ``<METHOD> karvdash/api/<path>?<query>``: the API's ``<path>``, answered as the API
  answers (status, JSON body or bytes, the headers that describe them), streamed.

Rules the forwarding keeps:

- Only the API's resources are reachable (the first segment is one of
  :data:`RESOURCES`); a segment that is ``.`` or ``..`` once decoded, or an encoded ``/``
  that would move the path, is refused (400 ``bad-path``): the hub token is never sent to
  another service of the hub.
- Only the headers that describe a body or a range go either way; the browser's cookies
  and authorization never reach the dashboard, the dashboard's cookies never come back.
- A request body larger than :attr:`KarvdashExtension.max_body_size` is refused (413
  ``too-large``), as soon as its length says so or, without a length, once that much has
  come; it is not kept: files and images that large go through karvdashctl or the
  dashboard's pages, which stream them.
- Errors are the API's JSON shape, ``{"status", "reason", "message"}``: the API's own pass
  through unchanged; the extension's are ``not-configured`` (503: no API URL or token),
  ``unreachable`` (503: the dashboard does not answer), ``not-found`` (404: not an API
  resource), ``bad-path`` (400), ``too-large`` (413), and jupyter_server's 403 when a
  request is not the server owner's.

Where it finds the API and the token is :func:`karvdash_labext.client.discover`'s rule
(``KARVDASH_API_URL`` and ``JUPYTERHUB_API_TOKEN`` in a user's server), unless the traits
below say otherwise.
"""

from __future__ import annotations

import json
import os
from http.client import responses
from typing import Any
from urllib.parse import unquote

import httpx
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Float, Int, Unicode, default

from . import __version__
from .calls import KarvdashError
from .client import AsyncKarvdashClient

#: the API's resources (the first segment of an API path)
RESOURCES = frozenset({"user", "services", "templates", "namespace", "files", "uploads", "images"})
#: request headers sent on: those that describe the body or ask for a part of the answer
REQUEST_HEADERS = ("Content-Type", "Accept", "Range", "If-None-Match", "Upload-Offset")
#: answer headers sent back
ANSWER_HEADERS = (
    "Content-Type",
    "Content-Disposition",
    "Content-Range",
    "Accept-Ranges",
    "ETag",
    "Last-Modified",
    "Upload-Offset",
)
PIECE = 1 << 16


class KarvdashExtension(ExtensionApp):
    """Karvdash in the user's Jupyter server: the API for the browser, without a token."""

    name = "karvdash_labext"

    api_url = Unicode(
        None,
        allow_none=True,
        config=True,
        help="The dashboard's REST API (…/services/karvdash/api/). Default: $KARVDASH_API_URL,"
        " which KarvdashSpawner sets in every user server, else the url of"
        " ~/.config/karvdash/config.json.",
    )
    api_token = Unicode(
        None,
        allow_none=True,
        config=True,
        help="The token sent to the API. Default: $KARVDASH_API_TOKEN, else the server's own"
        " $JUPYTERHUB_API_TOKEN, which the hub lets call the dashboard as the server's owner.",
    )
    timeout = Float(
        60,
        config=True,
        help="Seconds without a byte sent or received before a call to the API is abandoned"
        " (503 unreachable).",
    )
    max_body_size = Int(
        64 << 20,
        config=True,
        help="The largest request body sent on, in bytes (larger ones: 413 too-large). Large"
        " files and images go through karvdashctl or the dashboard's pages, which stream them.",
    )
    dashboard_url = Unicode(
        config=True,
        help="The path (or URL) of the dashboard's pages as the browser sees them, for links."
        " Default: the hub's base URL ($JUPYTERHUB_BASE_URL) + services/karvdash/.",
    )

    @default("dashboard_url")
    def _default_dashboard_url(self):
        # the hub sets JUPYTERHUB_BASE_URL in every server it spawns
        return url_path_join(os.environ.get("JUPYTERHUB_BASE_URL") or "/", "services/karvdash/")

    def initialize_settings(self):
        try:
            client: AsyncKarvdashClient | None = AsyncKarvdashClient(
                self.api_url, self.api_token, timeout=self.timeout
            )
            problem = None
        except KarvdashError as err:
            client, problem = None, err.message
            self.log.warning("Karvdash: %s; its JupyterLab panel will say so", problem)
        self.settings["karvdash"] = {
            "client": client,
            "problem": problem,
            "dashboard": self.dashboard_url,
            "max_body_size": self.max_body_size,
        }

    def initialize_handlers(self):
        self.handlers.extend(
            [
                (r"/karvdash/info", InfoHandler),
                (r"/karvdash/api/(.*)", ForwardHandler),
            ]
        )

    async def stop_extension(self):
        client = self.settings.get("karvdash", {}).get("client")
        if client is not None:
            await client.aclose()


class KarvdashHandler(APIHandler):
    """Errors in the API's JSON shape."""

    auth_resource = "karvdash"

    @property
    def karvdash(self) -> dict[str, Any]:
        return self.settings["karvdash"]

    def fail(self, status: int, reason: str, message: str) -> None:
        raise web.HTTPError(status, message, reason=reason)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        err = kwargs.get("exc_info", (None, None))[1]
        reason = getattr(err, "reason", None) or responses.get(status_code, "error")
        message = getattr(err, "log_message", None) or reason
        if not isinstance(err, web.HTTPError):
            reason, message = "error", "the Karvdash extension failed; see the server's log"
        body = {"status": status_code, "reason": _slug(reason), "message": message}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


def _slug(reason: str) -> str:
    return reason.lower().replace(" ", "-")


class InfoHandler(KarvdashHandler):
    @web.authenticated
    def get(self):
        problem = self.karvdash["problem"]
        self.finish(
            {
                "user": self.current_user.username,
                "dashboard": self.karvdash["dashboard"],
                "version": __version__,
                "configured": problem is None,
                **({"message": problem} if problem else {}),
            }
        )


def api_path(raw: str) -> str:
    """The API path of the raw (still quoted) rest of the URL, or an HTTPError: only the
    API's resources, no dot segments, no encoded slash."""
    segments = raw.split("/")
    for segment in segments:
        decoded = unquote(segment)
        if decoded in (".", "..") or "/" in decoded or "\\" in decoded:
            raise web.HTTPError(400, f"not an API path: {raw!r}", reason="bad-path")
    if segments[0] not in RESOURCES:
        known = ", ".join(sorted(RESOURCES))
        raise web.HTTPError(
            404, f"no API resource {segments[0]!r} (there are {known})", reason="not-found"
        )
    return raw


@web.stream_request_body
class ForwardHandler(KarvdashHandler):
    """Any method on ``karvdash/api/<path>``: the dashboard API's answer, streamed."""

    async def prepare(self):
        # authentication (and the XSRF check) come before a byte of the body is read
        await super().prepare()
        self._pieces: list[bytes] = []
        self._received = 0
        length = self.request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.karvdash["max_body_size"]:
            self._too_large(int(length))

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received <= self.karvdash["max_body_size"]:
            self._pieces.append(chunk)
        else:
            self._pieces.clear()

    def _too_large(self, size: int) -> None:
        self.fail(
            413,
            "too-large",
            f"a body of {size} bytes is more than this server sends on"
            f" ({self.karvdash['max_body_size']}): use karvdashctl or the dashboard's pages",
        )

    async def _forward(self, _: str) -> None:
        client: AsyncKarvdashClient | None = self.karvdash["client"]
        if client is None:
            self.fail(503, "not-configured", self.karvdash["problem"])
        prefix = url_path_join(self.base_url, "karvdash/api/")
        path = api_path(self.request.path[len(prefix) :])
        if self._received > self.karvdash["max_body_size"]:
            self._too_large(self._received)
        body = b"".join(self._pieces) or None
        headers = {h: self.request.headers[h] for h in REQUEST_HEADERS if h in self.request.headers}
        url = client.url + path + (f"?{self.request.query}" if self.request.query else "")
        try:
            async with client.session.stream(
                self.request.method, url, content=body, headers=headers
            ) as answer:
                self.set_status(answer.status_code)
                for name in ANSWER_HEADERS:
                    if name in answer.headers:
                        self.set_header(name, answer.headers[name])
                async for piece in answer.aiter_bytes(PIECE):
                    self.write(piece)
                    await self.flush()
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            if self._headers_written:
                raise
            self.clear()
            self.fail(503, "unreachable", f"the dashboard does not answer: {err}")
        await self.finish(set_content_type=self._headers.get("Content-Type", "application/json"))

    # the browser's own requests: XSRF is checked by jupyter_server for writes
    @web.authenticated
    async def get(self, path):
        await self._forward(path)

    @web.authenticated
    async def post(self, path):
        await self._forward(path)

    @web.authenticated
    async def put(self, path):
        await self._forward(path)

    @web.authenticated
    async def patch(self, path):
        await self._forward(path)

    @web.authenticated
    async def delete(self, path):
        await self._forward(path)
