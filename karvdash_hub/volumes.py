"""The file domains' volumes of a user in the cluster: made from the configured sources
(:mod:`karvdash_hub.rules.storage`) and deleted with the user.

A shared source given as ``{'persistentVolumeClaim': {'claimName', 'namespace'}}`` is
resolved to the source of the volume that claim is bound to (so the shared domain can
reuse any existing storage, CSI included).
"""

from __future__ import annotations

from kubernetes_asyncio.client.exceptions import ApiException

from . import kube
from .errors import ProvisioningError
from .rules import names, storage

#: fields of a PersistentVolume's spec that are not its volume source
_PV_SPEC_FIELDS = {
    "accessModes",
    "capacity",
    "claimRef",
    "mountOptions",
    "nodeAffinity",
    "persistentVolumeReclaimPolicy",
    "storageClassName",
    "volumeAttributesClassName",
    "volumeMode",
}


async def volume_source(dyn, domain: storage.Domain, source: dict) -> dict | None:
    """The volume source to use for ``domain`` (None when none is configured)."""
    if not source:
        return None
    if storage.source_kind(source) != "persistentVolumeClaim":
        return dict(source)
    claim = source["persistentVolumeClaim"]
    try:
        pvc = await dyn.get(
            await kube.resource(dyn, "v1", "PersistentVolumeClaim"),
            name=claim["claimName"],
            namespace=claim["namespace"],
        )
        pv = await dyn.get(
            await kube.resource(dyn, "v1", "PersistentVolume"), name=pvc.spec.volumeName
        )
    except ApiException as err:
        raise ProvisioningError(
            f"{domain.name} storage: cannot read claim {claim.get('namespace')}/"
            f"{claim.get('claimName')} and its volume: {err.reason}"
        ) from err
    spec = pv.to_dict()["spec"]
    kinds = [k for k in spec if k not in _PV_SPEC_FIELDS]
    if len(kinds) != 1:
        raise ProvisioningError(f"{domain.name} storage: volume {pv.metadata.name} has no source")
    return {kinds[0]: spec[kinds[0]]}


async def storage_objects(
    dyn, username: str, sources: dict, *, prefix: str, capacity: str
) -> list[dict]:
    """The user's PersistentVolume and claim of every configured domain."""
    objs = []
    kw = {"prefix": prefix, "capacity": capacity}
    for domain in storage.DOMAINS:
        source = await volume_source(dyn, domain, sources.get(domain) or {})
        if source is not None:
            objs.append(storage.persistent_volume(domain, source, username, **kw))
            objs.append(storage.persistent_volume_claim(domain, username, **kw))
    return objs


async def delete_volumes(dyn, username: str, prefix: str) -> None:
    """Delete the user's PersistentVolumes of this installation (by their names and
    labels: not those of another prefix on the same cluster). Their files stay: the
    volumes are ``Retain``."""
    pvs = await kube.resource(dyn, "v1", "PersistentVolume")
    mine = {d.volume_name(username, prefix) for d in storage.DOMAINS}
    selector = ",".join(f"{k}={v}" for k, v in names.user_labels(username).items())
    for pv in (await dyn.get(pvs, label_selector=selector)).items:
        if pv.metadata.name in mine:
            await kube.delete_ignoring_404(dyn, pvs, pv.metadata.name)
