"""The Kubernetes connection of the hub side: kubernetes_asyncio's dynamic client, with
HTTP errors raised.

kubernetes_asyncio's ``DynamicClient`` (36.x) asks for responses without preloading
them, and then its REST layer does not check the status: a 409 or a 422 comes back as
if it were the object. :class:`DynamicClient` here reads the status of every response
and raises the ``kubernetes_asyncio.dynamic.exceptions`` error for it (a subclass of
``ApiException`` with ``status``, ``reason`` and ``body``), as the synchronous client
does. A 429 (retry later) is retried, honouring Retry-After.
"""

from __future__ import annotations

import asyncio
import json

from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.dynamic import DynamicClient as _DynamicClient
from kubernetes_asyncio.dynamic.exceptions import api_exception
from kubernetes_asyncio.dynamic.resource import ResourceInstance


class DynamicClient(_DynamicClient):
    #: how many times a 429 (the API server asks to retry later) is retried
    retries = 20

    async def request(self, method: str, path: str, body=None, **params):
        serialize = params.pop("serialize", True)
        serializer = params.pop("serializer", ResourceInstance)
        for _ in range(self.retries):
            resp = await super().request(method, path, body=body, serialize=False, **params)
            if resp.status != 429:
                break
            # e.g. "storage is (re)initializing" just after a CRD is created
            delay = min(float(resp.headers.get("Retry-After", "1") or 1), 1.0)
            resp.release()
            await asyncio.sleep(delay)
        if resp.status >= 400:
            error = ApiException(status=resp.status, reason=resp.reason)
            error.body = await resp.text()
            error.headers = resp.headers
            resp.release()
            raise api_exception(error)
        if not serialize:
            return resp
        return serializer(self, await resp.json())


def api_message(err: ApiException) -> str:
    """The API server's own words for an error (its Status message), else the reason."""
    try:
        return json.loads(err.body).get("message") or str(err.reason)
    except (TypeError, ValueError, AttributeError):
        return str(getattr(err, "reason", err))
