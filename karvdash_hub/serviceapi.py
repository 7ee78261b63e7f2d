"""The API access of services whose template has ``api: true``, in their life cycle:
the objects it adds at a launch, the token made once the launch's dry run passed, and
the token revoked when the service stops (the rules: :mod:`karvdash_hub.rules.apiaccess`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import kube
from .errors import ApiError
from .rules import apiaccess, policy

if TYPE_CHECKING:
    from .services import ServiceManager


def _tokens(manager: ServiceManager):
    if manager.hub_tokens is None or not manager.api_url:
        raise ApiError("hub-unreachable", "this dashboard cannot give services API access")
    return manager.hub_tokens


def attach(manager: ServiceManager, objects: list[dict], name: str) -> list[dict]:
    """The service's objects with its API Secret (still without a token) and variables."""
    _tokens(manager)
    try:
        return apiaccess.attach(objects, name, manager.api_url)
    except policy.PolicyError as err:
        raise ApiError("template-not-allowed", str(err), violations=err.violations) from None


async def grant(manager: ServiceManager, template, username: str, name: str, objects):
    """The objects with a new token of the owner in the API Secret, and the token's id
    (revoke it if the launch does not happen); unchanged and None without ``api``."""
    if not template.api:
        return objects, None
    token_id, token = await _tokens(manager).create(
        username, apiaccess.scopes(manager.installation.service_name), apiaccess.note(name)
    )
    return apiaccess.fill(objects, name, token, token_id), token_id


async def release(manager: ServiceManager, username: str, token_id: str | None) -> None:
    """Revoke the token a launch that did not happen made (if it made one)."""
    if token_id:
        await _tokens(manager).revoke(username, token_id)


async def revoke(manager: ServiceManager, dyn, namespace: str, username: str, selector: str):
    """Revoke the tokens of the service's Secrets (``selector``): done before anything of
    it is deleted, so that a hub that cannot be reached leaves the service whole."""
    res = await kube.resource(dyn, "v1", "Secret")
    found = await dyn.get(res, namespace=namespace, label_selector=selector)
    for token_id in apiaccess.token_ids(found.to_dict()["items"]):
        await _tokens(manager).revoke(username, token_id)
