"""The Kubernetes connection: one API client per kubeconfig and event loop, and
kubernetes_asyncio's dynamic client with HTTP errors raised.

- :func:`dynamic_client` gives the client of a kubeconfig file (made once per file and
  event loop, shared by every object of the process that names the same file, so that
  two identities, as in the tests, never share one), or of the pod's in-cluster
  service account when no file is named.
- :func:`configure_kubespawner` is the one place that points KubeSpawner at a
  kubeconfig. KubeSpawner (and its reflectors) keeps one global client configuration
  per process, loaded from the default kubeconfig location, so it is the process's
  default that is set there, once, and only for KubeSpawner's sake: Karvdash's own
  clients always name their file.

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
import weakref

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.dynamic import DynamicClient as _DynamicClient
from kubernetes_asyncio.dynamic.exceptions import api_exception
from kubernetes_asyncio.dynamic.resource import ResourceInstance

#: what a call raises when the API server is down, stopped or restarting (no answer)
UNREACHABLE = (aiohttp.ClientError,)


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


#: dynamic clients, one per kubeconfig file ('' = in-cluster) and event loop
_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def _make(kubeconfig: str) -> DynamicClient:
    if kubeconfig:
        from kubernetes_asyncio.config import new_client_from_config

        api = await new_client_from_config(kubeconfig)
    else:
        from kubespawner.clients import load_config, shared_client

        load_config()
        api = shared_client("CoreV1Api").api_client
    return await DynamicClient(api)


async def dynamic_client(kubeconfig: str = "") -> DynamicClient:
    """The :class:`DynamicClient` of ``kubeconfig`` in this event loop (see the module's
    rules); with no file, over KubeSpawner's shared client of the in-cluster service
    account."""
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    if kubeconfig not in per_loop:  # a task, so that concurrent first callers share one
        per_loop[kubeconfig] = asyncio.ensure_future(_make(kubeconfig))
    try:
        return await per_loop[kubeconfig]
    except BaseException:
        per_loop.pop(kubeconfig, None)  # the next caller tries again
        raise


async def close_client(kubeconfig: str) -> None:
    """Close this event loop's client of ``kubeconfig``, if one was made (the in-cluster
    one belongs to KubeSpawner, which closes it)."""
    made = _clients.get(asyncio.get_running_loop(), {}).pop(kubeconfig, None)
    if made is not None and kubeconfig:
        await (await made).client.close()


async def close_clients() -> None:
    """Close every client made from a kubeconfig file in this event loop."""
    for kubeconfig in list(_clients.get(asyncio.get_running_loop(), {})):
        await close_client(kubeconfig)


def configure_kubespawner(kubeconfig: str) -> None:
    """Point KubeSpawner's process-wide configuration at ``kubeconfig`` (see the
    module's docstring); empty: leave it to KubeSpawner (in-cluster or the default)."""
    if kubeconfig:
        from kubernetes_asyncio.config import kube_config

        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = kubeconfig
