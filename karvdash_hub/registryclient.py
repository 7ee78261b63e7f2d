"""The dashboard's client of the users' registry (the OCI distribution API).

The dashboard signs the tokens the registry checks (:class:`RegistryAuth`), so it asks
with a token it signs itself for exactly the scope of each request: a user's request
gets only what :mod:`karvdash_hub.rules.registry` grants that user; only the catalog (to
list) is asked as the dashboard, and what it answers is filtered by the same rules.
Failures to reach the registry are ``registry-unavailable`` (503).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse

from .errors import ApiError
from .registryauth import RegistryAuth
from .rules import registry as rules

MANIFEST_TYPES = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
]
PAGE = 1000
#: the subject of the tokens the dashboard signs for its own requests
SUBJECT = "karvdash-dashboard"


class RegistryClient:
    def __init__(self, api_url: str, auth: RegistryAuth, max_clients: int = 16):
        self.api_url = api_url.rstrip("/")
        self.auth = auth
        self.http = AsyncHTTPClient(force_instance=True, max_clients=max_clients)

    def bearer(self, access: list[dict]) -> str:
        return "Bearer " + self.auth.token(SUBJECT, access)["token"]

    async def fetch(
        self, method: str, path: str, access: list[dict], *, headers=None, ok=(200,)
    ) -> HTTPResponse | None:
        """The answer of ``method path`` with a token for ``access``; None for a 404."""
        request = HTTPRequest(
            self.api_url + path,
            method=method,
            headers={"Authorization": self.bearer(access), **(headers or {})},
            request_timeout=60,
            follow_redirects=True,
        )
        try:
            response = await self.http.fetch(request, raise_error=False)
        except OSError as err:
            raise ApiError(
                "registry-unavailable", f"the registry cannot be reached ({err}); try again"
            ) from None
        if response.code in ok:
            return response
        if response.code == 404:
            return None
        if response.code == 599 or response.code >= 500:
            raise ApiError(
                "registry-unavailable",
                f"the registry did not answer ({response.code} {response.error}); try again",
            )
        raise ApiError(
            "server-error", f"the registry refused the dashboard: {response.code} {_body(response)}"
        )

    async def catalog(self) -> list[str]:
        """Every repository the registry has (tagged or not), page by page."""
        access = [{"type": "registry", "name": "catalog", "actions": ["*"]}]
        names, last = [], None
        while True:
            query = {"n": PAGE, **({"last": last} if last else {})}
            response = await self.fetch("GET", f"/v2/_catalog?{urlencode(query)}", access)
            page = (json.loads(response.body).get("repositories") or []) if response else []
            names += page
            if len(page) < PAGE:
                return names
            last = page[-1]

    async def tags(self, repository: str) -> list[str]:
        """The tags of a repository ([] when it has none or does not exist)."""
        access = _repo(repository, "pull")
        tags, last = [], None
        while True:
            query = {"n": PAGE, **({"last": last} if last else {})}
            path = f"/v2/{repository}/tags/list?{urlencode(query)}"
            response = await self.fetch("GET", path, access)
            page = (json.loads(response.body).get("tags") or []) if response else []
            tags += page
            if len(page) < PAGE:
                return sorted(tags)
            last = page[-1]

    async def manifest(self, repository: str, reference: str) -> tuple[str, dict] | None:
        """``(digest, manifest)`` of a tag or digest, or None."""
        response = await self.fetch(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            _repo(repository, "pull"),
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )
        if response is None:
            return None
        return response.headers.get("Docker-Content-Digest", ""), json.loads(response.body)

    async def digest(self, repository: str, reference: str) -> str | None:
        response = await self.fetch(
            "HEAD",
            f"/v2/{repository}/manifests/{reference}",
            _repo(repository, "pull"),
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )
        return response.headers.get("Docker-Content-Digest") if response else None

    async def blob_json(self, repository: str, digest: str, limit: int = 4 << 20) -> dict | None:
        response = await self.fetch(
            "GET", f"/v2/{repository}/blobs/{digest}", _repo(repository, "pull")
        )
        if response is None or len(response.body) > limit:
            return None
        try:
            found = json.loads(response.body)
        except ValueError:
            return None
        return found if isinstance(found, dict) else None

    async def delete_manifest(self, repository: str, digest: str) -> bool:
        path = f"/v2/{repository}/manifests/{digest}"
        response = await self.fetch("DELETE", path, _repo(repository, "delete"), ok=(202,))
        return response is not None

    async def ping(self) -> bool:
        try:
            response = await self.http.fetch(self.api_url + "/v2/", raise_error=False)
        except OSError:
            return False
        return response.code in (200, 401)

    def close(self) -> None:
        self.http.close()


def _repo(repository: str, action: str) -> list[dict]:
    rules.check_repository(repository)
    return [{"type": "repository", "name": repository, "actions": [action]}]


def _body(response: HTTPResponse) -> str:
    try:
        errors = json.loads(response.body).get("errors") or []
        return "; ".join(str(e.get("message", e)) for e in errors) or response.reason
    except (ValueError, AttributeError, TypeError):
        return response.reason or ""
