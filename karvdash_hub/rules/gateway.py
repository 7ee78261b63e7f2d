"""The gateway's rules (pure): who may enter a service's host, and the two signed tokens
of its login round trip. The gateway answers an ingress controller's forward
authentication (Caddy's ``forward_auth``, Traefik's ForwardAuth, Envoy's ext_authz): a
request for ``<name>-<user>.<domain>`` goes on only for the service's owner and admins.

The round trip: a visitor without the gateway's cookie is sent to the hub's sign-in page
(``gateway/signin?rd=<the URL asked for>``), which logs them in through the hub and, when
they may enter, sends them back to ``<host>/_karvdash/callback?code=<code>&rd=<path>``. The
ingress asks the gateway about that request too: the gateway checks the code and answers
with the cookie and a redirect to ``rd``, which the ingress passes to the browser.

Rules guaranteed (unit-tested):

- A host is a service's only when it is exactly ``<one DNS label>.<domain>`` (a port is
  ignored; case-insensitive); :func:`service_label` gives the label, else None.
- A return address (``rd``) is followed only to ``http(s)://<label>.<domain>[:port]/...``
  (:func:`return_address`): never to the hub, another domain, a user-info part or a
  scheme-relative trick; the callback's ``rd`` is a path of the same host only
  (:func:`local_path`).
- Tokens are ``<payload>.<HMAC-SHA256>`` (base64url) under the gateway's key; one is
  accepted only for its kind (``code`` or ``cookie``), its host, and before it expires;
  a code lives a minute and is used once (the caller keeps the used nonces), a cookie
  :data:`COOKIE_LIFETIME` seconds. A token of one host gives nothing on another, and a
  code is not a cookie.
- :func:`may_enter`: the owner and admins, nobody else; a host that nobody holds lets
  nobody in.
- The cookie is host-only (no ``Domain``: a cookie for the parent domain would also go to
  every other user's services, public ones included, whose owners could replay it),
  ``HttpOnly``, ``SameSite=Lax``, ``Secure`` on https, ``Path=/``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from urllib.parse import quote, urlsplit

CALLBACK_PATH = "/_karvdash/callback"
COOKIE = "_karvdash_gateway"
COOKIE_LIFETIME = 12 * 3600
CODE_LIFETIME = 60

_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def _host_only(netloc: str) -> str:
    host = netloc.rsplit("@", 1)[-1]
    if host.startswith("["):
        return ""
    return host.split(":", 1)[0].lower().rstrip(".")


def service_label(host: str, domain: str) -> str | None:
    """The service's host label of ``host`` (``web-alice`` of ``web-alice.<domain>``)."""
    name = _host_only(host or "")
    suffix = "." + domain.lower().strip(".")
    if not name.endswith(suffix):
        return None
    label = name[: -len(suffix)]
    return label if _LABEL.fullmatch(label) else None


def return_address(rd: str, domain: str) -> tuple[str, str, str] | None:
    """``(scheme, netloc, path?query)`` of a return address under the domain, or None."""
    if not isinstance(rd, str) or any(ord(c) < 0x21 or c == "\\" for c in rd):
        return None
    try:
        parts = urlsplit(rd)
        parts.port  # noqa: B018 (a bad port raises)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or "@" in parts.netloc:
        return None
    if service_label(parts.netloc, domain) is None:
        return None
    path = parts.path or "/"
    return parts.scheme, parts.netloc.lower(), path + (f"?{parts.query}" if parts.query else "")


def local_path(rd: str | None) -> str:
    """A path of the same host to go back to (``/`` when ``rd`` is anything else)."""
    if not isinstance(rd, str) or not rd.startswith("/") or rd.startswith("//"):
        return "/"
    if any(ord(c) < 0x21 or c == "\\" for c in rd):
        return "/"
    return rd


def callback_url(scheme: str, netloc: str, code: str, path: str) -> str:
    return f"{scheme}://{netloc}{CALLBACK_PATH}?code={quote(code, safe='')}&rd={quote(path)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, kind: str, user: str, host: str, expires: float, nonce: str = "") -> str:
    payload = _b64(
        json.dumps(
            {"k": kind, "u": user, "h": _host_only(host), "e": int(expires), "n": nonce},
            separators=(",", ":"),
        ).encode()
    )
    mac = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify(key: bytes, token: object, kind: str, host: str, now: float) -> dict | None:
    """The token's payload (``u`` the user, ``n`` the nonce) when it is a valid ``kind``
    token for ``host`` that has not expired; else None."""
    if not isinstance(token, str) or token.count(".") != 1:
        return None
    payload, mac = token.split(".")
    try:
        expected = hmac.new(key, payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        data = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("k") != kind:
        return None
    if data.get("h") != _host_only(host) or not isinstance(data.get("u"), str):
        return None
    if not isinstance(data.get("e"), int) or now >= data["e"]:
        return None
    return data


def may_enter(user: str, admin: bool, owner: str | None) -> bool:
    return owner is not None and (admin or user == owner)


def cookie_header(value: str, secure: bool, max_age: int = COOKIE_LIFETIME) -> str:
    """The ``Set-Cookie`` value of the gateway's cookie (see the module's rules)."""
    attributes = [f"{COOKIE}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes)


def cookie_of(header: str | None) -> str | None:
    """The gateway's cookie from a ``Cookie`` header."""
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None
