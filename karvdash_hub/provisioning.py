"""Provisioning: what each user owns in Kubernetes, made to exist and removed.

For a user ``alice`` the provisioner keeps, all labelled
``app.kubernetes.io/managed-by=karvdash,karvdash.io/user=alice``:

- Namespace ``karvdash-alice`` with Pod Security Admission labels (enforce ``baseline``,
  warn and audit ``restricted`` by default);
- ServiceAccount ``karvdash-user`` for the user's pods, and RoleBinding
  ``karvdash-user-admin`` giving it the built-in ``admin`` ClusterRole in that
  namespace only;
- ResourceQuota ``karvdash-quota`` and LimitRange ``karvdash-limits``;
- NetworkPolicy ``karvdash-isolation``: ingress only from the same namespace and from
  the namespaces of the hub, the proxy and the ingress controller;
- PersistentVolumes ``karvdash-alice-private`` and ``karvdash-alice-shared`` and their
  claims ``karvdash-private`` and ``karvdash-shared`` (see :mod:`karvdash_hub.storage`).

Every object is written with server-side apply under the field manager ``karvdash``,
so :meth:`Provisioner.ensure` is idempotent and safe when called concurrently for the
same user or for many users; it is called at each login and before each spawn.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import time
from pathlib import Path

from kubernetes_asyncio.client.exceptions import ApiException
from traitlets import Dict, Float, List, Unicode, default, validate
from traitlets.config import SingletonConfigurable

from . import names, storage
from .kube import DynamicClient

FIELD_MANAGER = "karvdash"


class ProvisioningError(RuntimeError):
    """A user's namespace could not be made ready; the message says why."""


class Provisioner(SingletonConfigurable):
    """Creates, updates and deletes the per-user objects of Karvdash.

    One instance per process (``Provisioner.instance(config=...)``), shared by the
    authenticator, the spawners and the dashboard service.
    """

    namespace_prefix = Unicode(
        "karvdash",
        config=True,
        help="Prefix of user namespaces: a user's namespace is '<prefix>-<user>'.",
    )

    @validate("namespace_prefix")
    def _check_prefix(self, proposal):
        return names.check_prefix(proposal["value"])

    pod_security_enforce = Unicode(
        "baseline",
        config=True,
        help="Pod Security Standard enforced in user namespaces (privileged, baseline or"
        " restricted): pods that violate it are rejected by the API server.",
    )
    pod_security_warn = Unicode(
        "restricted",
        config=True,
        help="Pod Security Standard that only warns (and audits) in user namespaces.",
    )
    service_account = Unicode(
        "karvdash-user",
        config=True,
        help="Name of the ServiceAccount that the user's pods run as, in each user namespace.",
    )
    hub_service_account = Unicode(
        "",
        config=True,
        help="The hub's ServiceAccount as 'namespace/name'. When set, it is bound to the"
        " 'admin' ClusterRole in each user namespace (RoleBinding 'karvdash-hub-admin'),"
        " so that the hub needs no cluster-wide write access to pods, services or"
        " secrets.",
    )
    user_cluster_role = Unicode(
        "admin",
        config=True,
        help="ClusterRole bound to the user's ServiceAccount, in the user's namespace only."
        " The built-in 'admin' lets the user's pods manage what is in the namespace"
        " but not the namespace itself, its quota or anything outside it.",
    )
    resource_quota = Dict(
        config=True,
        help="'hard' limits of each user namespace's ResourceQuota, as in the Kubernetes"
        " API (for example {'requests.cpu': '8', 'pods': '50'}). Empty: no quota.",
    )

    @default("resource_quota")
    def _default_quota(self):
        return {
            "requests.cpu": "8",
            "requests.memory": "32Gi",
            "limits.cpu": "16",
            "limits.memory": "64Gi",
            "requests.storage": "200Gi",
            "persistentvolumeclaims": "20",
            "pods": "50",
            "services": "30",
            "services.loadbalancers": "0",
            "services.nodeports": "0",
        }

    limit_range = List(
        config=True,
        help="'limits' of each user namespace's LimitRange, as in the Kubernetes API;"
        " the defaults give containers that set nothing a modest request and limit, so"
        " that the quota can count them. Empty: no LimitRange.",
    )

    @default("limit_range")
    def _default_limits(self):
        return [
            {
                "type": "Container",
                "defaultRequest": {"cpu": "100m", "memory": "256Mi"},
                "default": {"cpu": "2", "memory": "4Gi"},
                "max": {"cpu": "8", "memory": "32Gi"},
            }
        ]

    ingress_namespaces = List(
        Unicode(),
        config=True,
        help="Namespaces whose pods may connect to pods in user namespaces, besides the"
        " user's own: the hub's and proxy's, and the ingress controller's.",
    )

    private_volume = Dict(
        config=True,
        help="Volume source of the private file domain, in Kubernetes API form:"
        " {'hostPath': {'path': '/srv/karvdash/private'}} or"
        " {'nfs': {'server': 'nfs.example.org', 'path': '/exports/private'}}. Each user's"
        " PersistentVolume points at '<path>/<user>'.",
    )
    shared_volume = Dict(
        config=True,
        help="Volume source of the shared file domain, in the same form as private_volume,"
        " or {'persistentVolumeClaim': {'claimName': ..., 'namespace': ...}} to reuse the"
        " volume that an existing claim is bound to.",
    )
    private_root = Unicode(
        "",
        config=True,
        help="Where the hub sees the private domain's root on its own filesystem (a mount"
        " of the same volume). When set, the hub creates each user's folder there and can"
        " purge it when an admin deletes a user with their files.",
    )
    storage_capacity = Unicode(
        "1Gi",
        config=True,
        help="Nominal capacity written on the file domains' volumes and claims (hostPath"
        " and NFS do not enforce it). Kept small because the claims count against the"
        " namespace's requests.storage quota.",
    )
    kubeconfig = Unicode(
        "",
        config=True,
        help="Path of the kubeconfig to reach the cluster with. Empty: the in-cluster"
        " service account (the hub's pod), else the default kubeconfig. Applies to the"
        " whole process (KubeSpawner uses it too).",
    )

    def use_kubeconfig(self) -> None:
        """Make every kubernetes_asyncio loader of this process (ours and KubeSpawner's)
        read ``kubeconfig``."""
        if self.kubeconfig:
            from kubernetes_asyncio.config import kube_config

            kube_config.KUBE_CONFIG_DEFAULT_LOCATION = self.kubeconfig

    terminating_timeout = Float(
        120,
        config=True,
        help="Seconds to wait for a user's namespace that is still being deleted before"
        " provisioning it again fails.",
    )

    _client: DynamicClient | None = None
    _client_loop = None

    # -- the Kubernetes connection

    async def client(self) -> DynamicClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            from kubespawner.clients import load_config, shared_client

            self.use_kubeconfig()
            load_config()
            api = shared_client("CoreV1Api").api_client
            self._client = await DynamicClient(api)
            self._client_loop = loop
        return self._client

    async def _apply(self, obj: dict) -> dict:
        dyn = await self.client()
        resource = await dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        result = await dyn.server_side_apply(
            resource,
            body=obj,
            namespace=obj["metadata"].get("namespace"),
            field_manager=FIELD_MANAGER,
            force_conflicts=True,
        )
        return result.to_dict()

    async def _apply_volume(self, obj: dict) -> None:
        """A volume's source cannot change once created: when the configuration
        changed, keep the existing volume (the user's files stay reachable) and say so."""
        try:
            await self._apply(obj)
        except ApiException as err:
            if obj["kind"] != "PersistentVolume" or err.status != 422:
                raise
            self.log.warning(
                "PersistentVolume %s was made with another volume source than the one"
                " configured now; it is kept. To move the user to the new source, delete"
                " the user's namespace claims and the volume while no pod uses them.",
                obj["metadata"]["name"],
            )

    # -- what a user owns

    def namespace(self, username: str) -> str:
        return names.namespace_for(username, self.namespace_prefix)

    def objects(self, username: str) -> list[dict]:
        """Every object of the user, namespace first, as it should be."""
        ns = self.namespace(username)
        labels = names.user_labels(username)
        meta = {"namespace": ns, "labels": labels}
        psa = {
            "pod-security.kubernetes.io/enforce": self.pod_security_enforce,
            "pod-security.kubernetes.io/warn": self.pod_security_warn,
            "pod-security.kubernetes.io/audit": self.pod_security_warn,
        }
        objs: list[dict] = [
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": ns,
                    "labels": {**labels, **psa},
                    "annotations": {names.USERNAME_ANNOTATION: username},
                },
            },
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": self.service_account, **meta},
            },
            _cluster_role_binding(
                f"{self.service_account}-{self.user_cluster_role}",
                meta,
                self.user_cluster_role,
                ns,
                self.service_account,
            ),
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "karvdash-isolation", **meta},
                "spec": {
                    "podSelector": {},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [
                                {"podSelector": {}},
                                *(
                                    {
                                        "namespaceSelector": {
                                            "matchLabels": {"kubernetes.io/metadata.name": other}
                                        }
                                    }
                                    for other in self.ingress_namespaces
                                ),
                            ]
                        }
                    ],
                },
            },
        ]
        if self.hub_service_account:
            hub_ns, _, hub_sa = self.hub_service_account.partition("/")
            objs.append(_cluster_role_binding("karvdash-hub-admin", meta, "admin", hub_ns, hub_sa))
        if self.resource_quota:
            objs.append(
                {
                    "apiVersion": "v1",
                    "kind": "ResourceQuota",
                    "metadata": {"name": "karvdash-quota", **meta},
                    "spec": {"hard": dict(self.resource_quota)},
                }
            )
        if self.limit_range:
            objs.append(
                {
                    "apiVersion": "v1",
                    "kind": "LimitRange",
                    "metadata": {"name": "karvdash-limits", **meta},
                    "spec": {"limits": list(self.limit_range)},
                }
            )
        return objs

    async def _volume_source(self, domain: storage.Domain) -> dict | None:
        source = self.private_volume if domain is storage.PRIVATE else self.shared_volume
        if not source:
            return None
        if storage.source_kind(source) != "persistentVolumeClaim":
            return dict(source)
        claim = source["persistentVolumeClaim"]
        dyn = await self.client()
        pvcs = await dyn.resources.get(api_version="v1", kind="PersistentVolumeClaim")
        pvs = await dyn.resources.get(api_version="v1", kind="PersistentVolume")
        try:
            pvc = await dyn.get(pvcs, name=claim["claimName"], namespace=claim["namespace"])
            pv = await dyn.get(pvs, name=pvc.spec.volumeName)
        except ApiException as err:
            raise ProvisioningError(
                f"{domain.name} storage: cannot read claim {claim.get('namespace')}/"
                f"{claim.get('claimName')} and its volume: {err.reason}"
            ) from err
        spec = pv.to_dict()["spec"]
        kinds = [k for k in spec if k not in _PV_SPEC_FIELDS]
        if len(kinds) != 1:
            raise ProvisioningError(
                f"{domain.name} storage: volume {pv.metadata.name} has no source"
            )
        return {kinds[0]: spec[kinds[0]]}

    async def storage_objects(self, username: str) -> list[dict]:
        objs = []
        for domain in storage.DOMAINS:
            source = await self._volume_source(domain)
            if source is None:
                continue
            kw = {"prefix": self.namespace_prefix, "capacity": self.storage_capacity}
            objs.append(storage.persistent_volume(domain, source, username, **kw))
            objs.append(storage.persistent_volume_claim(domain, username, **kw))
        return objs

    # -- operations

    async def ensure(self, username: str) -> str:
        """Make the user's namespace and everything in it exist as configured.

        Returns the namespace. Waits for a namespace that is still being deleted.
        """
        objs = self.objects(username)
        try:
            store = await self.storage_objects(username)
        except storage.StorageConfigError as err:
            raise ProvisioningError(str(err)) from err
        self._make_private_folder(username)
        ns_obj, rest = objs[0], objs[1:]
        deadline = time.monotonic() + self.terminating_timeout
        while True:
            try:
                applied = await self._apply(ns_obj)
                if applied.get("status", {}).get("phase") == "Terminating":
                    raise _Terminating()
                await asyncio.gather(
                    *(self._apply(o) for o in rest), *map(self._apply_volume, store)
                )
                break
            except (ApiException, _Terminating) as err:
                terminating = isinstance(err, _Terminating) or (
                    getattr(err, "status", None) in (403, 409)
                    and "being terminated" in str(getattr(err, "body", ""))
                )
                if not terminating:
                    raise ProvisioningError(
                        f"could not provision namespace {ns_obj['metadata']['name']}:"
                        f" {getattr(err, 'status', '')} {getattr(err, 'reason', err)}"
                    ) from err
                if time.monotonic() > deadline:
                    raise ProvisioningError(
                        f"namespace {ns_obj['metadata']['name']} is still being deleted;"
                        " try again in a minute"
                    ) from err
                await asyncio.sleep(0.5)
        return ns_obj["metadata"]["name"]

    async def ensure_exists(self, username: str) -> str:
        """The user's namespace, provisioned first only if it is not there (one read
        instead of a dozen writes: for operations that run often, such as launches;
        logins and spawns call :meth:`ensure`, which also repairs)."""
        dyn = await self.client()
        namespaces = await dyn.resources.get(api_version="v1", kind="Namespace")
        name = self.namespace(username)
        try:
            found = await dyn.get(namespaces, name=name)
        except ApiException as err:
            if err.status != 404:
                raise
        else:
            if found.status.phase == "Active":
                return name
        return await self.ensure(username)

    async def delete(self, username: str, *, purge_files: bool = False) -> None:
        """Delete the user's namespace and everything in it, and the user's volumes.

        The files stay unless ``purge_files``: then the user's private folder is
        removed too (needs ``private_root``).
        """
        dyn = await self.client()
        namespaces = await dyn.resources.get(api_version="v1", kind="Namespace")
        pvs = await dyn.resources.get(api_version="v1", kind="PersistentVolume")
        with contextlib.suppress(ApiException):
            await dyn.delete(namespaces, name=self.namespace(username))
        slug = names.user_slug(username)
        selector = f"app.kubernetes.io/managed-by=karvdash,{names.USER_LABEL}={slug}"
        try:
            await dyn.delete(pvs, label_selector=selector)
        except ApiException as err:
            if err.status != 404:
                raise
        if purge_files:
            if not self.private_root:
                raise ProvisioningError("cannot purge files: Provisioner.private_root is not set")
            folder = storage.local_folder(self.private_root, storage.PRIVATE, username)
            # rename first so a concurrent re-creation never sees a half-deleted folder
            if folder.exists():
                doomed = folder.with_name(f".deleted-{folder.name}-{secrets.token_hex(4)}")
                folder.rename(doomed)
                await asyncio.to_thread(shutil.rmtree, doomed, True)

    def private_folder(self, username: str) -> Path | None:
        if not self.private_root:
            return None
        return storage.local_folder(self.private_root, storage.PRIVATE, username)

    def _make_private_folder(self, username: str) -> None:
        folder = self.private_folder(username)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)


def _cluster_role_binding(name: str, meta: dict, role: str, sa_ns: str, sa: str) -> dict:
    """A RoleBinding (in ``meta``'s namespace) of a ClusterRole to a ServiceAccount."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, **meta},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": sa_ns}],
    }


class _Terminating(Exception):
    pass


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
