"""JupyterHub's REST API, called by Karvdash's services with their own hub token.

:func:`call` is the one way they call it: the answer's JSON, a hub that cannot be
reached or refuses as a 503 ``hub-unreachable`` with a message that says which (so a
caller's operation then changes nothing, and trying again finishes it).

:class:`HubTokens`: API tokens of users. The dashboard service makes one for a service
whose template has ``api: true`` (:mod:`karvdash_hub.rules.apiaccess`), which needs the
``tokens`` scope on users (the ``karvdash-dashboard`` role); the hub itself refuses a
token with more than the user's own permissions.
"""

from __future__ import annotations

import json

from jupyterhub.utils import url_path_join
from tornado.escape import url_escape
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from .errors import ApiError

#: an answer that :func:`call` passes on as None instead of raising
MISSING = 404


async def call(
    api_url: str,
    token: str,
    method: str,
    path: str,
    body: dict | None = None,
    *,
    request_timeout: float = 10,
    doing: str = "answer",
    passed: tuple[int, ...] = (),
    refused: str = "",
) -> dict | None:
    """``method path`` of the hub's API: the answer's JSON; None when the hub answers a
    status of ``passed``. ``doing`` names the operation in errors ("the hub did not
    make a token"); ``refused`` is the message of a 403."""
    request = HTTPRequest(
        url_path_join(api_url, path),
        method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        body=None if body is None else json.dumps(body),
        request_timeout=request_timeout,
    )
    try:
        answer = await AsyncHTTPClient().fetch(request)
    except HTTPClientError as err:
        if err.code in passed:
            return None
        message = refused if err.code == 403 and refused else f"the hub did not {doing} ({err})"
        raise ApiError("hub-unreachable", message) from None
    except OSError as err:
        raise ApiError("hub-unreachable", f"the hub cannot be reached ({err})") from None
    return json.loads(answer.body) if answer.body else None


def user_path(username: str, *rest: str) -> str:
    return "/".join(["users", url_escape(username, plus=False), *map(url_escape, rest)])


class HubTokens:
    def __init__(self, api_url: str, api_token: str, timeout: float = 10):
        self.api_url = api_url
        self.api_token = api_token
        self.timeout = timeout

    async def create(self, username: str, scopes: list[str], note: str) -> tuple[str, str]:
        """A new token of ``username`` with these scopes: (its id, the token)."""
        model = await call(
            self.api_url,
            self.api_token,
            "POST",
            user_path(username, "tokens"),
            {"scopes": scopes, "note": note},
            request_timeout=self.timeout,
            doing="make a token",
            refused="the hub refused to make an API token for the service: the dashboard"
            " service needs the 'tokens' scope (its karvdash-dashboard role)",
        )
        assert model is not None
        return model["id"], model["token"]

    async def revoke(self, username: str, token_id: str) -> None:
        """Revoke a token; one that is gone already (or its user) is fine."""
        await call(
            self.api_url,
            self.api_token,
            "DELETE",
            user_path(username, "tokens", token_id),
            request_timeout=self.timeout,
            doing="revoke the service's token",
            passed=(MISSING,),
        )
