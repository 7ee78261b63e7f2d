"""The dashboard service's REST API as data: what each operation sends and how an answer is
read, written once for the synchronous and the asynchronous client (``client.py``).

Rules:

- Every API operation is one method of :class:`Operations`, marked with :func:`operation`,
  that only describes its request as a :class:`Call`: method, path relative to the API's
  base URL (``.../services/karvdash/api/``), query, JSON body, and what the answer is (JSON,
  text or nothing). A transport subclass supplies ``_send(call)``; :data:`OPERATIONS` names
  every operation, and ``describe(name, ...)`` gives a call without sending it.
- A name in a path is quoted whole: a ``/`` in it cannot reach another route.
- An admin acting for another user names them with ``user``: in the query of GET and DELETE,
  in the JSON body of POST (as the API reads it).
- Every failure is a :class:`KarvdashError` (``status``, ``reason``, ``message``,
  ``details``):

  - the API's JSON error as it is (``details`` holds its other keys, e.g. ``violations``);
  - an error answer that is not a JSON object: its HTTP status, reason ``error``, the start
    of its text;
  - a success answer with a body that is not JSON, except a template's YAML (the URL is not
    the API's): its HTTP status, reason ``error``; an empty body is the answer ``None``;
  - no answer at all (refused, timed out, a bad URL): status 0, reason ``unreachable``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

if TYPE_CHECKING:
    import httpx


class KarvdashError(Exception):
    """An error answered by the API (or the connection): status, reason, message."""

    def __init__(self, status: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message
        self.details = details or {}

    def __str__(self):
        return f"{self.message} ({self.status} {self.reason})"


@dataclass(frozen=True)
class Call:
    """One request of the API, independent of the transport that sends it."""

    method: str
    path: str  # relative to the API's base URL, already quoted
    query: dict[str, str] = field(default_factory=dict)
    body: dict | None = None
    answer: Literal["json", "text", "none"] = "json"


def operation(describe: Callable[..., Call]) -> Callable[..., Any]:
    """Make a method that describes a request into one that sends it with ``self._send``:
    the result (or, for the asynchronous client, an awaitable of it) is the answer."""

    @functools.wraps(describe)
    def send(self, *args, **kwargs):
        return self._send(describe(self, *args, **kwargs))

    send.describes = describe
    return send


def _name(value: str) -> str:
    return quote(value, safe="")


def _for(user: str | None) -> dict[str, str]:
    return {"user": user} if user else {}


class Operations:
    """Every operation of the API, once. Subclasses send the calls (``_send``)."""

    def _send(self, call: Call) -> Any:
        raise NotImplementedError

    @operation
    def whoami(self) -> Call:
        """Who the token belongs to: ``{"name", "admin", "namespace"}``."""
        return Call("GET", "user")

    @operation
    def list_services(self, user: str | None = None) -> Call:
        """The user's services, each with its ``status`` (ready, total, phase, warning)."""
        return Call("GET", "services", query=_for(user))

    @operation
    def create_service(
        self, template: str, variables: dict | None = None, user: str | None = None
    ) -> Call:
        """Launch ``template`` with ``variables``: ``{"name", "namespace", "url", ...}``."""
        body = {"template": template, "variables": variables or {}, **_for(user)}
        return Call("POST", "services", body=body)

    @operation
    def delete_service(self, name: str, user: str | None = None) -> Call:
        """Stop a service and delete its objects: ``{"name", "deleted": [...]}``."""
        return Call("DELETE", f"services/{_name(name)}", query=_for(user))

    @operation
    def get_service(self, name: str, user: str | None = None) -> Call:
        """A service as listed, with its ``namespace``, ``objects`` and ``pods``."""
        return Call("GET", f"services/{_name(name)}", query=_for(user))

    @operation
    def service_events(self, name: str, user: str | None = None) -> Call:
        """The recent events about a service's objects, newest first."""
        return Call("GET", f"services/{_name(name)}/events", query=_for(user))

    @operation
    def service_logs(self, name: str, lines: int | None = None, user: str | None = None) -> Call:
        """The last ``lines`` of each of a service's containers' logs (bounded in size):
        ``[{"pod", "container", "log", "truncated", "error"?}]``."""
        query = {**({"lines": str(lines)} if lines else {}), **_for(user)}
        return Call("GET", f"services/{_name(name)}/logs", query=query)

    @operation
    def namespace(self, user: str | None = None) -> Call:
        """The user's namespace: ``{"namespace", "exists", "services", "quota": [...]}``."""
        return Call("GET", "namespace", query=_for(user))

    @operation
    def list_templates(self, user: str | None = None) -> Call:
        """The built-in templates and the user's own: ``[{"id", "name", "builtin", ...}]``."""
        return Call("GET", "templates", query=_for(user))

    @operation
    def add_template(
        self, text: str, template_id: str | None = None, user: str | None = None
    ) -> Call:
        """Add one of the user's templates from its YAML ``text``: ``{"id", "name", ...}``."""
        body = {"data": text, **({"id": template_id} if template_id else {}), **_for(user)}
        return Call("POST", "templates", body=body)

    @operation
    def get_template(self, template_id: str, user: str | None = None) -> Call:
        """A template's YAML, as text."""
        return Call("GET", f"templates/{_name(template_id)}", query=_for(user), answer="text")

    @operation
    def remove_template(self, template_id: str, user: str | None = None) -> Call:
        """Remove one of the user's templates (built-in ones stay); answers nothing."""
        return Call("DELETE", f"templates/{_name(template_id)}", query=_for(user), answer="none")


OPERATIONS: tuple[str, ...] = tuple(
    name for name, value in vars(Operations).items() if hasattr(value, "describes")
)


def describe(name: str, *args, **kwargs) -> Call:
    """The call that operation ``name`` makes with these arguments, without sending it."""
    if name not in OPERATIONS:
        raise KeyError(f"no API operation {name!r} (there are {', '.join(OPERATIONS)})")
    return getattr(Operations, name).describes(None, *args, **kwargs)


def unreachable(url: str, err: Exception) -> KarvdashError:
    """No answer at all: the connection failed, timed out, or the URL is not a URL."""
    return KarvdashError(0, "unreachable", f"cannot reach {url}: {str(err) or type(err).__name__}")


def read_answer(call: Call, response: httpx.Response) -> Any:
    """The result of ``call`` from its ``response``, or the KarvdashError it means."""
    if response.status_code >= 400:
        raise _error(response)
    if call.answer == "text":
        return response.text
    try:
        result = response.json() if response.content else None
    except ValueError:
        raise KarvdashError(
            response.status_code,
            "error",
            f"{call.method} {response.url} did not answer JSON: is the URL the Karvdash API"
            " (https://<hub>/services/karvdash/api/)?",
        ) from None
    return None if call.answer == "none" else result


def _error(response: httpx.Response) -> KarvdashError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return KarvdashError(
            response.status_code, "error", response.text[:500] or response.reason_phrase
        )
    return KarvdashError(
        body.get("status", response.status_code),
        body.get("reason", "error"),
        body.get("message", response.text),
        {k: v for k, v in body.items() if k not in ("status", "reason", "message")},
    )
