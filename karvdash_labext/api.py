"""The dashboard service's REST API as data: what each operation sends and how an answer is
read, written once for the synchronous and the asynchronous client (``client.py``).

Rules:

- Every API operation is one method of :class:`Operations`, marked with :func:`operation`,
  that only describes its request as a :class:`Call`: method, path relative to the API's
  base URL (``.../services/karvdash/api/``), query, headers, a JSON body or a raw one, and
  what the answer is (JSON, text, nothing, or bytes streamed to a file object). A transport
  subclass supplies ``_send(call)``; :data:`OPERATIONS` names every operation, and
  ``describe(name, ...)`` gives a call without sending it. The operations of a resource
  with rules of its own are a mixin of :class:`Operations` in a module of theirs
  (:mod:`karvdash_labext.images`), written the same way (:mod:`karvdash_labext.calls`).
- A raw body (an upload) is bytes, a binary file object or an iterable of bytes; the
  transports send the last two as they read them, never the whole in memory. A streamed
  answer (a download) is written to the call's ``sink`` in pieces as it arrives.
- A name in a path is quoted whole: a ``/`` in it cannot reach another route. A file's path
  is quoted segment by segment (``/`` separates folders, any other character, ``?``, ``#``,
  ``%`` or a space, is part of a name), and a segment ``.`` or ``..`` is sent encoded, so that
  no URL normalisation climbs to another route: the server sees it, and refuses it. (An
  image's reference keeps its ``/`` and ``:``, as the API reads it: :mod:`.images`.)
- An admin acting for another user names them with ``user``: in the query of GET and DELETE
  and of every file operation, in the JSON body of the other POSTs (as the API reads it).
- Every failure is a :class:`KarvdashError` (``status``, ``reason``, ``message``,
  ``details``):

  - the API's JSON error as it is (``details`` holds its other keys, e.g. ``violations``);
  - an error answer that is not a JSON object: its HTTP status, reason ``error``, the start
    of its text;
  - a success answer with a body that is not JSON, except a template's YAML, or a download
    without ``Content-Disposition`` (the URL is not the API's): its HTTP status, reason
    ``error``; an empty body is the answer ``None``;
  - no answer at all (refused, timed out, a bad URL): status 0, reason ``unreachable``.
"""

from __future__ import annotations

import re
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote

from .apps import Applications
from .calls import Call, Content, KarvdashError, operation, quoted_name
from .images import Images

if TYPE_CHECKING:
    import httpx


_name = quoted_name


def _file(domain: str, path: str) -> str:
    """``files/{domain}/{path}``: each segment quoted; the root is ``files/{domain}``."""
    segments = path.strip("/")
    return "/".join(["files", _name(domain), *map(_name, segments.split("/") if segments else [])])


def _for(user: str | None) -> dict[str, str]:
    return {"user": user} if user else {}


def _flags(**flags: bool) -> dict[str, str]:
    return {name: "1" for name, value in flags.items() if value}


RAW = {"Content-Type": "application/octet-stream"}


class Operations(Images, Applications):
    """Every operation of the API, once (those of a resource with a module of its own come
    from its mixin, e.g. :class:`~karvdash_labext.images.Images`). Subclasses send the
    calls (``_send``)."""

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
    def run_in_service(
        self,
        name: str,
        command: list[str],
        pod: str | None = None,
        container: str | None = None,
        timeout: float | None = None,
        user: str | None = None,
    ) -> Call:
        """Run ``command`` (a list of words) in the service's running pods (or ``pod``):
        ``[{"pod", "container", "exit_code", "output", "truncated", "timed_out"?}]``."""
        body = {"command": list(command), **_for(user)}
        body |= {k: v for k, v in (("pod", pod), ("container", container)) if v is not None}
        if timeout is not None:
            body["timeout"] = timeout
        return Call("POST", f"services/{_name(name)}/exec", body=body)

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

    # -- files: /private (the user's own, or an admin's ``user``) and /shared (everyone's)

    @operation
    def stat_file(
        self,
        domain: str,
        path: str,
        user: str | None = None,
        sort: str | None = None,
        order: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> Call:
        """A file's or folder's entry ``{"domain", "path", "name", "type", "size", ...}``; a
        folder's has a page of its ``entries`` (``sort`` name, size, modified or type,
        ``order`` asc or desc, ``offset``, ``limit``) and their ``total``."""
        page = {"sort": sort, "order": order, "offset": offset, "limit": limit}
        query = {k: str(v) for k, v in page.items() if v is not None}
        return Call("GET", _file(domain, path), query={**query, **_for(user)})

    @operation
    def download_file(
        self,
        domain: str,
        path: str,
        to: IO[bytes],
        user: str | None = None,
        format: str | None = None,
    ) -> Call:
        """Write a file's bytes, or a folder's archive (``format`` zip or tar.gz), to the
        binary file object ``to`` as they arrive: ``{"name", "type", "size"}``."""
        query = {"download": "1", **({"format": format} if format else {}), **_for(user)}
        return Call("GET", _file(domain, path), query=query, answer="stream", sink=to)

    @operation
    def upload_file(
        self,
        domain: str,
        path: str,
        data: Content,
        overwrite: bool = False,
        parents: bool = False,
        user: str | None = None,
    ) -> Call:
        """Write ``data`` (bytes, a binary file object or an iterable of bytes, sent as it is
        read) to a file, in place only once complete: its entry. ``overwrite`` replaces a
        file, ``parents`` makes missing folders."""
        query = {**_flags(overwrite=overwrite, parents=parents), **_for(user)}
        return Call("PUT", _file(domain, path), query=query, content=data, headers=RAW)

    @operation
    def make_folder(
        self, domain: str, path: str, parents: bool = False, user: str | None = None
    ) -> Call:
        """Make a folder (with ``parents``, its missing parents too): its entry."""
        body = {"action": "mkdir", "parents": parents}
        return Call("POST", _file(domain, path), query=_for(user), body=body)

    @operation
    def move_file(
        self, domain: str, path: str, to: str, overwrite: bool = False, user: str | None = None
    ) -> Call:
        """Move or rename a file or folder to ``to`` in the same domain: its new entry."""
        body = {"action": "move", "to": to, "overwrite": overwrite}
        return Call("POST", _file(domain, path), query=_for(user), body=body)

    @operation
    def copy_file(
        self,
        domain: str,
        path: str,
        to_domain: str,
        to: str,
        overwrite: bool = False,
        user: str | None = None,
    ) -> Call:
        """Copy a file or a whole folder to ``to`` in ``to_domain``: the copy's entry."""
        body = {"action": "copy", "to_domain": to_domain, "to": to, "overwrite": overwrite}
        return Call("POST", _file(domain, path), query=_for(user), body=body)

    @operation
    def delete_file(
        self, domain: str, path: str, recursive: bool = False, user: str | None = None
    ) -> Call:
        """Delete a file, or a folder (one that is not empty only if ``recursive``)."""
        query = {**_flags(recursive=recursive), **_for(user)}
        return Call("DELETE", _file(domain, path), query=query, answer="none")

    @operation
    def create_upload(
        self,
        domain: str,
        path: str,
        size: int,
        overwrite: bool = False,
        parents: bool = False,
        user: str | None = None,
    ) -> Call:
        """Begin a resumable upload of ``size`` bytes: ``{"id", "offset": 0, ...}``."""
        body = {"domain": domain, "path": path.strip("/"), "size": size, **_for(user)}
        return Call("POST", "uploads", body={**body, "overwrite": overwrite, "parents": parents})

    @operation
    def upload_status(self, upload_id: str) -> Call:
        """A resumable upload as the server has it: ``{"id", "size", "offset", ...}``."""
        return Call("GET", f"uploads/{_name(upload_id)}")

    @operation
    def upload_chunk(self, upload_id: str, offset: int, data: Content) -> Call:
        """Send the chunk that starts at ``offset`` (the server's, else 409
        ``offset-mismatch`` with its ``offset``): the upload with its new ``offset``, and
        the ``file``'s entry once complete."""
        headers = {**RAW, "Upload-Offset": str(offset)}
        return Call("PATCH", f"uploads/{_name(upload_id)}", content=data, headers=headers)

    @operation
    def cancel_upload(self, upload_id: str) -> Call:
        """Give up a resumable upload: what arrived of it is removed."""
        return Call("DELETE", f"uploads/{_name(upload_id)}", answer="none")


OPERATIONS: tuple[str, ...] = tuple(
    name
    for cls in Operations.__mro__
    for name, value in vars(cls).items()
    if hasattr(value, "describes")
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
    """The result of ``call`` from its (read) ``response``, or the KarvdashError it means."""
    if response.status_code >= 400:
        raise _error(response)
    if call.answer == "stream":  # not a download (see streaming): not the API
        raise _not_the_api(call, response, "a download")
    if call.answer == "text":
        return response.text
    try:
        result = response.json() if response.content else None
    except ValueError:
        raise _not_the_api(call, response, "JSON") from None
    return None if call.answer == "none" else result


def _not_the_api(call: Call, response: httpx.Response, what: str) -> KarvdashError:
    return KarvdashError(
        response.status_code,
        "error",
        f"{call.method} {response.url} did not answer {what}: is the URL the Karvdash API"
        " (https://<hub>/services/karvdash/api/)?",
    )


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


def streaming(call: Call, response: httpx.Response) -> bool:
    """Whether the transport writes this answer's body to ``call.sink`` (else it reads it
    whole for :func:`read_answer`): a download answered with its bytes."""
    return (
        call.answer == "stream"
        and response.status_code < 400
        and "content-disposition" in response.headers
    )


def streamed(response: httpx.Response, size: int) -> dict:
    """The result of a download once its ``size`` bytes are written."""
    return {
        "name": filename(response.headers.get("content-disposition", "")),
        "type": response.headers.get("content-type"),
        "size": size,
    }


def filename(disposition: str) -> str | None:
    """The file name of a ``Content-Disposition`` header (RFC 6266: ``filename*`` first)."""
    found = re.search(r"filename\*\s*=\s*UTF-8''([^;\s]+)", disposition, re.IGNORECASE)
    if found:
        return unquote(found.group(1))
    found = re.search(r'filename\s*=\s*"([^"]*)"', disposition, re.IGNORECASE)
    return found.group(1) if found else None
