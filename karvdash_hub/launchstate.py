"""A launch is complete or absent, even when the API server (or the dashboard) dies in
the middle of it.

A launch creates its objects one by one, the service's own Service first. That Service
carries ``karvdash.io/launch: incomplete`` until the last object exists; then the mark is
removed. When creation fails the launch deletes what it made; when it cannot (the API
server is gone), the mark stays, and the service is a leftover: it is not listed, and it
is deleted by the next list or launch of its owner that finds it while no launch of that
user is running in this process (launches of one user are serialized here). So after
the API server returns, the user sees the launch as absent, and nothing of it stays.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import TYPE_CHECKING

from . import kube
from .rules import names

if TYPE_CHECKING:
    from .services import ServiceManager

ANNOTATION = "karvdash.io/launch"
INCOMPLETE = "incomplete"
log = logging.getLogger("karvdash.launchstate")


def mark(objects: list[dict], name: str) -> None:
    """Mark the service's own Service (in place) as the launch's lock: incomplete."""
    for obj in objects:
        if obj["kind"] == "Service" and obj["metadata"]["name"] == name:
            obj["metadata"].setdefault("annotations", {})[ANNOTATION] = INCOMPLETE


def incomplete(service: dict) -> bool:
    annotations = (service.get("metadata") or {}).get("annotations") or {}
    return annotations.get(ANNOTATION) == INCOMPLETE


async def completed(dyn, namespace: str, name: str) -> None:
    """Every object exists: remove the mark."""
    res = await kube.resource(dyn, "v1", "Service")
    await dyn.patch(
        res,
        name=name,
        namespace=namespace,
        body={"metadata": {"annotations": {ANNOTATION: None}}},
        content_type="application/merge-patch+json",
    )


class Launches:
    """The launches running in this process: one at a time per user."""

    def __init__(self):
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def lock(self, username: str) -> asyncio.Lock:
        return self._locks[names.user_slug(username)]

    def running(self, username: str) -> bool:
        lock = self._locks.get(names.user_slug(username))
        return bool(lock and lock.locked())


def leftovers(manager: ServiceManager, username: str, services: list[dict]) -> list[str]:
    """The names of the incomplete launches among ``services`` (Service objects) that no
    running launch will finish."""
    if manager.launches.running(username):
        return []
    return [s["metadata"]["name"] for s in services if incomplete(s)]


async def collect(manager: ServiceManager, username: str, names_: list[str]) -> None:
    """Delete the leftovers (what a failed launch could not delete itself)."""
    for name in names_:
        try:
            deleted = await manager.stop(username, name)
            log.warning(
                "deleted %s of %s, left by a launch that failed: %s", name, username, deleted
            )
        except Exception as err:  # the next list tries again
            log.warning("could not delete the leftover %s of %s yet: %s", name, username, err)


def collect_later(manager: ServiceManager, username: str, names_: list[str]) -> None:
    if names_:
        task = asyncio.ensure_future(collect(manager, username, names_))
        _pending.add(task)
        task.add_done_callback(_pending.discard)


_pending: set[asyncio.Task] = set()
