"""The storage layout: the two file domains every container of a user sees.

- ``private``, mounted at ``/private``: the user's own folder, ``<private root>/<slug>``.
- ``shared``, mounted at ``/shared``: one folder common to all users.

Each domain reaches a user's namespace as a PersistentVolume (cluster-scoped, one per
user and domain, pre-bound to its claim) and a PersistentVolumeClaim of a fixed name in
the user's namespace, so that every pod there mounts ``karvdash-private`` and
``karvdash-shared`` by claim name, and no pod spec needs a hostPath (which Pod Security
``baseline`` forbids).

Rules guaranteed (pure functions, no I/O):

- A private PersistentVolume points at the user's folder itself, never at the private
  root: a pod that mounts the claim without a subPath still sees only its owner's
  files. Hence private storage needs a source with a path (``hostPath`` or ``nfs``).
- A source is one of ``hostPath``, ``nfs``, or, for the shared domain only, any volume
  source cloned from an existing PersistentVolume (``csi``, ``cephfs``, ...).
- PersistentVolumes are ``Retain``: deleting them (or the namespace) never deletes
  files.
"""

from __future__ import annotations

import copy
import posixpath
from dataclasses import dataclass
from pathlib import Path

from . import names

PATH_SOURCES = ("hostPath", "nfs")


class StorageConfigError(ValueError):
    """The storage configuration cannot work; the message says what to change."""


@dataclass(frozen=True)
class Domain:
    name: str
    mount_path: str
    per_user: bool

    @property
    def claim_name(self) -> str:
        return f"karvdash-{self.name}"

    def volume_name(self, username: str, prefix: str = "karvdash") -> str:
        return f"{names.namespace_for(username, prefix)}-{self.name}"


PRIVATE = Domain("private", "/private", per_user=True)
SHARED = Domain("shared", "/shared", per_user=False)
DOMAINS = (PRIVATE, SHARED)


def source_kind(source: dict) -> str:
    if not isinstance(source, dict) or len(source) != 1:
        raise StorageConfigError(
            f"a volume source is one mapping such as {{'hostPath': {{'path': ...}}}}"
            f" or {{'nfs': {{'server': ..., 'path': ...}}}}, not {source!r}"
        )
    return next(iter(source))


def user_source(domain: Domain, source: dict, username: str) -> dict:
    """The volume source of ``domain`` for ``username``: the configured source, with the
    user's folder appended to its path for the private domain."""
    kind = source_kind(source)
    spec = copy.deepcopy(source[kind])
    if kind in PATH_SOURCES:
        path = spec.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise StorageConfigError(f"{domain.name} storage: {kind}.path must be an absolute path")
        if kind == "nfs" and not spec.get("server"):
            raise StorageConfigError(f"{domain.name} storage: nfs.server is required")
        if domain.per_user:
            spec["path"] = posixpath.join(path, names.private_folder(username))
        if kind == "hostPath":
            spec["type"] = "DirectoryOrCreate"
    elif domain.per_user:
        raise StorageConfigError(
            f"private storage needs a hostPath or nfs source, so that each user's volume"
            f" is that user's folder; {kind!r} can only back shared storage"
        )
    return {kind: spec}


def persistent_volume(
    domain: Domain,
    source: dict,
    username: str,
    *,
    prefix: str = "karvdash",
    capacity: str = "1Gi",
) -> dict:
    namespace = names.namespace_for(username, prefix)
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": domain.volume_name(username, prefix),
            "labels": {**names.user_labels(username), "karvdash.io/domain": domain.name},
            "annotations": {names.USERNAME_ANNOTATION: username},
        },
        "spec": {
            **user_source(domain, source, username),
            "capacity": {"storage": capacity},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "volumeMode": "Filesystem",
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": namespace,
                "name": domain.claim_name,
            },
        },
    }


def persistent_volume_claim(
    domain: Domain, username: str, *, prefix: str = "karvdash", capacity: str = "1Gi"
) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": domain.claim_name,
            "namespace": names.namespace_for(username, prefix),
            "labels": {**names.user_labels(username), "karvdash.io/domain": domain.name},
        },
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": "",
            "volumeName": domain.volume_name(username, prefix),
            "resources": {"requests": {"storage": capacity}},
        },
    }


def pod_volumes() -> list[dict]:
    """The volumes to add to a pod in a user's namespace."""
    return [
        {"name": d.claim_name, "persistentVolumeClaim": {"claimName": d.claim_name}}
        for d in DOMAINS
    ]


def pod_volume_mounts() -> list[dict]:
    """The mounts to add to every container of such a pod."""
    return [{"name": d.claim_name, "mountPath": d.mount_path} for d in DOMAINS]


def local_folder(root: str | Path, domain: Domain, username: str) -> Path:
    """Where a domain's files are on a filesystem that holds the domain's root."""
    root = Path(root)
    return root / names.private_folder(username) if domain.per_user else root
