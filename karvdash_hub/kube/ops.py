"""Small operations on the Kubernetes API, each written once.

- :func:`resource`: a kind's resource, discovered once per client, one discovery at a
  time;
- :func:`optional_resource`: a kind the cluster may not have (a custom resource), or
  None; a miss is remembered for 10 seconds, because the dynamic client answers a miss by
  discovering every API group again, and concurrent requests then race on its cache;
- :func:`get_or_none`: an object, or None when it is not there (404);
- :func:`list_items`: the objects of a list as plain dicts (the API's JSON, without the
  dynamic client's per-field wrappers, which cost milliseconds per object);
- :func:`delete_ignoring_404`: delete, where "already gone" is success;
- :func:`create_all_or_rollback`: create objects in order; when one is refused, delete
  the ones created (newest first) and raise the refusal;
- :func:`wait_until`: poll with exponential backoff (``jupyterhub.utils``) until a
  condition holds, or raise ``TimeoutError`` with a message.

Every other API error propagates (an ``ApiException`` subclass with ``status``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable

from jupyterhub.utils import exponential_backoff
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.dynamic.exceptions import ResourceNotFoundError

log = logging.getLogger(__name__)


#: client -> (apiVersion, kind) -> its resource, found once
_found: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_discovering: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def resource(dyn, api_version: str, kind: str):
    """The client's resource of a kind, discovered once. Discoveries of one client go
    one at a time: the dynamic client answers a miss by emptying its discovery cache and
    reading it again, and a lookup awaiting the API meanwhile then fails on the emptied
    cache (``KeyError``, a 500)."""
    found = _found.setdefault(dyn, {})
    if (api_version, kind) not in found:
        async with _discovering.setdefault(dyn, asyncio.Lock()):
            if (api_version, kind) not in found:
                found[api_version, kind] = await dyn.resources.get(
                    api_version=api_version, kind=kind
                )
    return found[api_version, kind]


async def resource_of(dyn, obj: dict):
    return await resource(dyn, obj["apiVersion"], obj["kind"])


#: (client, apiVersion, kind) -> until when a miss is believed
_missing: dict[tuple[int, str, str], float] = {}
MISS_SECONDS = 10.0


async def optional_resource(dyn, api_version: str, kind: str):
    """The resource of a kind the cluster may lack, or None (see the module's list)."""
    key = (id(dyn), api_version, kind)
    if _missing.get(key, 0) > time.monotonic():
        return None
    try:
        return await resource(dyn, api_version, kind)
    except ResourceNotFoundError:
        _missing[key] = time.monotonic() + MISS_SECONDS
        return None


async def get_or_none(dyn, res, name: str, namespace: str | None = None):
    try:
        return await dyn.get(res, name=name, namespace=namespace)
    except ApiException as err:
        if err.status == 404:
            return None
        raise


def _json(_client, data):
    return data


async def list_items(dyn, res, namespace: str | None = None, **selectors) -> list[dict]:
    """The items of a list (``label_selector=``, ``field_selector=``) as dicts, each
    with its ``kind``."""
    found = await dyn.get(res, namespace=namespace, serializer=_json, **selectors)
    items = found.get("items") or []
    for item in items:
        item.setdefault("kind", res.kind)
    return items


async def delete_ignoring_404(dyn, res, name: str, namespace: str | None = None, **kw) -> bool:
    """True when this call deleted it, False when it was already gone."""
    try:
        await dyn.delete(res, name=name, namespace=namespace, **kw)
    except ApiException as err:
        if err.status == 404:
            return False
        raise
    return True


async def create_all_or_rollback(dyn, namespace: str, items, *, field_manager: str) -> list:
    """Create ``(resource, object)`` pairs in order. On any failure (or cancellation)
    everything created by this call is deleted again (errors of the rollback itself are
    logged), and the failure propagates; the exception carries ``failed_object``."""
    created = []
    try:
        for res, obj in items:
            try:
                await dyn.create(res, body=obj, namespace=namespace, field_manager=field_manager)
            except Exception as err:
                err.failed_object = obj
                raise
            created.append((res, obj))
    except BaseException:
        for res, obj in reversed(created):
            try:
                await delete_ignoring_404(
                    dyn, res, obj["metadata"]["name"], namespace, propagation_policy="Background"
                )
            except ApiException as err:
                log.error(
                    "Could not roll back %s/%s in %s: %s",
                    obj["kind"],
                    obj["metadata"]["name"],
                    namespace,
                    err,
                )
        raise
    return created


async def wait_until(
    condition: Callable[[], Awaitable[object]],
    what: str,
    within: float,
    start_wait: float = 0.1,
    max_wait: float = 1.0,
):
    """The first truthy value of ``condition()``; ``TimeoutError`` (naming ``what``)
    after ``within`` seconds."""
    return await exponential_backoff(
        condition,
        f"timed out after {within:.0f} s waiting for {what}",
        start_wait=start_wait,
        max_wait=max_wait,
        timeout=within,
    )


async def wait_gone(dyn, res, name: str, uid: str, within: float) -> bool:
    """Wait until the object ``name`` of uid ``uid`` is gone (another of that name does
    not count); False when it is still there after ``within`` seconds."""

    async def gone() -> bool:
        current = await get_or_none(dyn, res, name)
        return current is None or current.metadata.uid != uid

    try:
        await wait_until(gone, f"{name} to go", within)
    except TimeoutError:
        return False
    return True
