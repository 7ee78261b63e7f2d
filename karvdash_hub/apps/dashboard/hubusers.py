"""What the hub says of a user, asked with the service's own token and cached briefly.

JupyterHub's roles decide who is an admin: the hub's user model says ``admin``.
(HubAuth's own request helper turns the hub's 404 into a 500 and keeps its cache
private, hence this small client.)"""

from __future__ import annotations

import json
import time

from jupyterhub.services.auth import HubOAuth
from jupyterhub.utils import url_path_join
from tornado.escape import url_escape
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

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
        request = HTTPRequest(
            url_path_join(self.hub_auth.api_url, "users", url_escape(name, plus=False)),
            headers={"Authorization": f"token {self.hub_auth.api_token}"},
            request_timeout=10,
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
            model = json.loads(response.body)
        except HTTPClientError as err:
            if err.code != 404:
                raise ApiError("hub-unreachable", f"the hub did not answer ({err})") from None
            model = None
        except OSError as err:
            raise ApiError("hub-unreachable", f"the hub cannot be reached ({err})") from None
        self._cache[name] = (time.monotonic(), model)
        return model

    async def is_admin(self, model: dict) -> bool:
        if "admin" in model:
            return bool(model["admin"])
        found = await self.get(model["name"])
        return bool(found and found.get("admin"))
