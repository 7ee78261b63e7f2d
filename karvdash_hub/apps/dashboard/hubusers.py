"""What the hub says of a user, asked with the service's own token and cached briefly.

JupyterHub's roles decide who is an admin: the hub's user model says ``admin``.
(HubAuth's own request helper turns the hub's 404 into a 500 and keeps its cache
private, hence this small client.)

:meth:`HubUsers.password_login` checks a user name and password the only way the hub
offers: a login at its own login page, as a browser does it (the hub's authenticator
decides, with its own rules: approval, failed-login lockout). Registry clients that log
in with a password (``docker login``) go through it."""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

from jupyterhub.services.auth import HubOAuth
from jupyterhub.utils import url_path_join
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ... import hubapi
from ...errors import ApiError


class HubUsers:
    def __init__(self, hub_auth: HubOAuth, ttl: float):
        self.hub_auth = hub_auth
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dict | None]] = {}

    async def get(self, name: str, fresh: bool = False) -> dict | None:
        hit = self._cache.get(name)
        if hit and not fresh and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        model = await hubapi.call(
            self.hub_auth.api_url,
            self.hub_auth.api_token,
            "GET",
            hubapi.user_path(name),
            passed=(hubapi.MISSING,),
        )
        self._cache[name] = (time.monotonic(), model)
        return model

    async def is_admin(self, model: dict) -> bool:
        if "admin" in model:
            return bool(model["admin"])
        found = await self.get(model["name"])
        return bool(found and found.get("admin"))

    async def password_login(self, name: str, password: str) -> dict | None:
        """The hub's user model when the hub's login page accepts ``name`` and
        ``password``, else None."""
        login = url_path_join(self.hub_auth.api_url.rstrip("/").removesuffix("/api"), "login")
        client = AsyncHTTPClient()
        try:
            page = await client.fetch(login, request_timeout=10)
            found = re.search(r'name="_xsrf" value="([^"]+)"', page.body.decode())
            cookies = [c.split(";", 1)[0] for c in page.headers.get_list("Set-Cookie")]
            form = {"username": name, "password": password}
            if found:
                form["_xsrf"] = found.group(1)
            answer = await client.fetch(
                HTTPRequest(
                    login,
                    method="POST",
                    body=urlencode(form),
                    headers={"Cookie": "; ".join(cookies)},
                    follow_redirects=False,
                    request_timeout=30,
                ),
                raise_error=False,
            )
        except (OSError, HTTPClientError) as err:
            raise ApiError("hub-unreachable", f"the hub cannot be reached ({err})") from None
        if answer.code != 302:  # the hub shows its login page again: refused
            return None
        return await self.get(name, fresh=True)
