"""The gateway: services' hosts open only to their owner and admins.

- ``gateway/check``: the ingress controller's forward authentication (Caddy's
  ``forward_auth``, Traefik's ForwardAuth: the controller sends the visitor's request's
  headers, ``X-Forwarded-Host``, ``-Uri``, ``-Proto``, ``Cookie``). It answers 200 (go
  on), 403 (a page: not yours), or a redirect, which the controller passes to the
  browser: to the hub's sign-in when the visitor has no valid cookie for the host, and,
  on the callback path, back to the page asked for with the cookie set.
- ``gateway/signin?rd=<URL>``: a page behind the hub's login; sends an owner or an admin
  back to the host's callback with a one-time code, and anyone else gets 403.

The rules (hosts, return addresses, tokens, who may enter, the cookie) are
:mod:`karvdash_hub.rules.gateway`; who holds a host is asked of Kubernetes
(:func:`karvdash_hub.hosts.host_owner`) and kept a few seconds, as is
what the hub says of a user, because the ingress asks at every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from urllib.parse import parse_qs, quote, urlsplit

from tornado import web
from tornado.escape import xhtml_escape
from tornado.log import app_log

from ...errors import ApiError
from ...hosts import host_owner
from ...rules import gateway as rules
from ...services import ServiceManager
from ..base import as_api_error
from .rendering import PageHandler

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{message}</p></body></html>"""


class Gateway:
    """The gateway's key, the codes already used, and short-lived answers."""

    def __init__(self, secret: bytes, manager: ServiceManager, public_url: str, prefix: str):
        self.key = hmac.new(secret, b"karvdash-gateway", hashlib.sha256).digest()
        self.manager = manager
        self.domain = manager.installation.domain
        self.signin = f"{public_url.rstrip('/')}{prefix}gateway/signin"
        self.ttl = 10.0
        self._owners: dict[str, tuple[float, str | None]] = {}
        self._used: dict[str, float] = {}

    async def owner(self, label: str) -> str | None:
        hit = self._owners.get(label)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        owner = await host_owner(self.manager, label)
        self._owners[label] = (time.monotonic(), owner)
        return owner

    def use_once(self, nonce: str, expires: float) -> bool:
        """Whether a code's nonce is seen for the first time (it is then remembered)."""
        now = time.time()
        for old in [n for n, e in self._used.items() if e <= now]:
            del self._used[old]
        if not nonce or nonce in self._used:
            return False
        self._used[nonce] = expires
        return True


class CheckHandler(web.RequestHandler):
    """Forward authentication, for every method the controller may use."""

    @property
    def gateway(self) -> Gateway:
        return self.settings["gateway"]

    def check_xsrf_cookie(self):
        pass  # asked by the ingress controller, never by a page

    def page(self, status: int, title: str, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(PAGE.format(title=xhtml_escape(title), message=xhtml_escape(message)))

    async def get(self):
        headers = self.request.headers
        host = headers.get("X-Forwarded-Host") or headers.get("Host", "")
        proto = (headers.get("X-Forwarded-Proto") or "https").lower()
        uri = headers.get("X-Forwarded-Uri") or "/"
        label = rules.service_label(host, self.gateway.domain)
        if label is None:
            self.page(403, "No such service", "This address is not one of a service.")
            return
        now = time.time()
        asked = urlsplit(uri)
        if asked.path == rules.CALLBACK_PATH:
            self.callback(host, proto, asked.query, now)
            return
        token = rules.cookie_of(headers.get("Cookie"))
        found = rules.verify(self.gateway.key, token, "cookie", host, now)
        try:
            model = found and await self.settings["hub_users"].get(found["u"])
            owner = model and await self.gateway.owner(label)
        except Exception as err:  # the hub or the cluster: the ingress shows it, try again
            error = as_api_error(err, self, 503)
            app_log.warning("gateway/check: %s", error.message)
            self.page(503, "Try again in a moment", error.message)
            return
        if not model:
            self.set_header("Cache-Control", "no-store")
            self.redirect(f"{self.gateway.signin}?rd={quote(f'{proto}://{host}{uri}', safe='')}")
            return
        if not rules.may_enter(model["name"], bool(model.get("admin")), owner):
            self.page(403, "Not yours", "This service belongs to another user.")
            return
        self.set_header("X-Karvdash-User", model["name"])
        self.set_header("Cache-Control", "no-store")
        self.finish("")

    def callback(self, host: str, proto: str, query: str, now: float) -> None:
        args = {name: values[0] for name, values in parse_qs(query).items()}
        code = args.get("code", "")
        found = rules.verify(self.gateway.key, code, "code", host, now)
        if not found or not self.gateway.use_once(found.get("n", ""), found["e"]):
            self.page(403, "Sign-in link used or expired", "Open the service's address again.")
            return
        cookie = rules.sign(
            self.gateway.key, "cookie", found["u"], host, now + rules.COOKIE_LIFETIME
        )
        self.set_header("Set-Cookie", rules.cookie_header(cookie, secure=proto == "https"))
        self.set_header("Cache-Control", "no-store")
        self.redirect(rules.local_path(args.get("rd", "/")))

    head = post = put = patch = delete = options = get


class SigninHandler(PageHandler):
    """The hub's side of the round trip: who is logged in, and may they enter."""

    async def get(self):
        gateway: Gateway = self.settings["gateway"]
        back = rules.return_address(self.get_query_argument("rd", ""), gateway.domain)
        if back is None:
            raise ApiError("bad-request", "that is not the address of a service here")
        scheme, netloc, path = back
        label = rules.service_label(netloc, gateway.domain)
        name = self.current_user["name"]
        if not rules.may_enter(name, self.admin, await gateway.owner(label)):
            self.render_page(
                "karvdash-error.html",
                403,
                error_title="Not yours",
                message=f"{netloc} is not the address of one of your services.",
            )
            return
        expires = time.time() + rules.CODE_LIFETIME
        code = rules.sign(gateway.key, "code", name, netloc, expires, secrets.token_urlsafe(12))
        self.set_header("Cache-Control", "no-store")
        self.redirect(rules.callback_url(scheme, netloc, code, path))


default_handlers = [(r"gateway/check", CheckHandler), (r"gateway/signin", SigninHandler)]
