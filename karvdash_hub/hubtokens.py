"""API tokens of users, made and revoked through JupyterHub's REST API.

The dashboard service makes a token for a service whose template has ``api: true``
(:mod:`karvdash_hub.rules.apiaccess`) with its own hub token, which needs the ``tokens``
scope on users (the ``karvdash-dashboard`` role); the hub itself refuses a token with
more than the user's own permissions. A hub that cannot be reached is a 503: a launch
then creates nothing, and a stop deletes nothing, so that trying again finishes it.
"""

from __future__ import annotations

import json

from jupyterhub.utils import url_path_join
from tornado.escape import url_escape
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from .errors import ApiError


class HubTokens:
    def __init__(self, api_url: str, api_token: str, timeout: float = 10):
        self.api_url = api_url
        self.api_token = api_token
        self.timeout = timeout

    async def _call(self, method: str, path: str, body: dict | None = None):
        request = HTTPRequest(
            url_path_join(self.api_url, path),
            method=method,
            headers={
                "Authorization": f"token {self.api_token}",
                "Content-Type": "application/json",
            },
            body=None if body is None else json.dumps(body),
            request_timeout=self.timeout,
        )
        return await AsyncHTTPClient().fetch(request)

    async def create(self, username: str, scopes: list[str], note: str) -> tuple[str, str]:
        """A new token of ``username`` with these scopes: (its id, the token)."""
        path = f"users/{url_escape(username, plus=False)}/tokens"
        try:
            answer = await self._call("POST", path, {"scopes": scopes, "note": note})
        except HTTPClientError as err:
            if err.code == 403:
                raise ApiError(
                    "hub-unreachable",
                    "the hub refused to make an API token for the service: the dashboard"
                    " service needs the 'tokens' scope (its karvdash-dashboard role)",
                ) from None
            raise ApiError("hub-unreachable", f"the hub did not make a token ({err})") from None
        except OSError as err:
            raise ApiError("hub-unreachable", f"the hub cannot be reached ({err})") from None
        model = json.loads(answer.body)
        return model["id"], model["token"]

    async def revoke(self, username: str, token_id: str) -> None:
        """Revoke a token; one that is gone already (or its user) is fine."""
        path = f"users/{url_escape(username, plus=False)}/tokens/{url_escape(token_id)}"
        try:
            await self._call("DELETE", path)
        except HTTPClientError as err:
            if err.code == 404:
                return
            raise ApiError(
                "hub-unreachable", f"the hub did not revoke the service's token ({err})"
            ) from None
        except OSError as err:
            raise ApiError("hub-unreachable", f"the hub cannot be reached ({err})") from None
