"""Who holds a service's host name: what the gateway asks before letting anyone in.

A host ``<label>.<domain>`` is held by the user whose namespace has an Ingress labelled
with that label (:data:`karvdash_hub.rules.exposure.HOST_LABEL`) that really serves it;
the namespace is read back to the user it was made for (its ``karvdash.io/username``
annotation, which only the hub writes), never taken from labels a user could write.
"""

from __future__ import annotations

from kubernetes_asyncio.client.exceptions import ApiException

from . import kube
from .rules import exposure, names
from .rules.exposure import HOST_LABEL
from .services import MANAGED, ServiceManager


async def host_owner(manager: ServiceManager, host_label: str) -> str | None:
    """The user whose service holds ``<host_label>.<domain>``: the namespace of the
    Ingress that really serves it, read back to the user its provisioner made it
    for; None when nobody holds it (the gateway lets nobody in then)."""
    dyn = await manager.provisioner.client()
    res = await kube.resource(dyn, "networking.k8s.io/v1", "Ingress")
    namespaces = await kube.resource(dyn, "v1", "Namespace")
    prefix = manager.provisioner.namespace_prefix
    # an Ingress is labelled with its first host; a second host (<word>-<first host>) is
    # found among the managed Ingresses of the same namespaces
    candidates = sorted(exposure.possible_holders(host_label, ""))
    passes = [f"{HOST_LABEL}={host_label}", MANAGED]
    holders = [(s, sel) for sel in passes for s in candidates]
    for slug, selector in holders:
        namespace = f"{prefix}-{slug}"
        try:
            found = await dyn.get(res, namespace=namespace, label_selector=selector)
        except ApiException as err:
            if err.status in (403, 404):
                continue
            raise
        if not any(manager.exposure.serves(i, host_label) for i in found.to_dict()["items"]):
            continue
        ns = await kube.get_or_none(dyn, namespaces, name=namespace)
        meta = ns.to_dict()["metadata"] if ns is not None else {}
        user = (meta.get("annotations") or {}).get(names.USERNAME_ANNOTATION)
        if user and names.namespace_for(user, prefix) == namespace:
            return user
    return None
