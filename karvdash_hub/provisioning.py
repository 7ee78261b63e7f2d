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

Ownership: a namespace is Karvdash's for ``alice`` only when it carries the label
``app.kubernetes.io/managed-by=karvdash`` and the annotation
``karvdash.io/username=alice`` (the exact user name, written when Karvdash creates it).
Karvdash creates the namespace only when it does not exist; it never writes into,
grants rights in, or deletes a namespace of that name that is not its own for that
user (:class:`NamespaceConflict`).

Files: when a user is deleted, their private folder ``<private_root>/<slug>`` is moved
aside to ``<private_root>/.deleted/<slug>-<UTC timestamp>`` (or removed, on purge), so
that a later account of the same name starts with an empty folder. This needs
``private_root``; without it the hub cannot reach the files and leaves them where they
are.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import time
import weakref
from datetime import UTC, datetime
from pathlib import Path

from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.dynamic.exceptions import ResourceNotFoundError
from traitlets import Bool, Dict, Float, List, Unicode, default, validate
from traitlets.config import SingletonConfigurable

from . import admission, names, storage
from .kube import DynamicClient

FIELD_MANAGER = "karvdash"

#: where, under ``private_root``, the folders of deleted users are kept
DELETED_FOLDER = ".deleted"
#: the suffix of a kept folder: ``-`` and the UTC time of the deletion. Slugs are
#: lowercase, so no user's slug ends with it and a kept folder names one user only.
_KEPT_SUFFIX = r"-\d{8}T\d{6}\.\d{6}Z"


#: API clients made from kubeconfig files, one per file and event loop (like
#: KubeSpawner's shared clients): provisioners of one process reuse them
_kubeconfig_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def _kubeconfig_client(path: str, loop):
    from kubernetes_asyncio.config import new_client_from_config

    per_loop = _kubeconfig_clients.setdefault(loop, {})
    if path not in per_loop:  # a task, so that concurrent first callers share one client
        per_loop[path] = asyncio.ensure_future(new_client_from_config(config_file=path))
    return await per_loop[path]


async def close_clients() -> None:
    """Close the clients made from kubeconfig files in this event loop."""
    for made in _kubeconfig_clients.pop(asyncio.get_running_loop(), {}).values():
        await (await made).close()


#: on a namespace Karvdash is deleting with its user: nothing makes it again meanwhile
DELETING_ANNOTATION = "karvdash.io/deleting"


class ProvisioningError(RuntimeError):
    """A user's namespace could not be made ready; the message says why."""


class NamespaceConflict(ProvisioningError):
    """The user's namespace exists but Karvdash did not make it for this user."""


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
        " of the same volume). When set, the hub creates each user's folder there; when a"
        " user is deleted it moves the folder aside to .deleted/<user>-<UTC time> (so that"
        " a new account of the same name starts empty), or purges it if asked. When"
        " empty, a deleted user's folder stays where it is.",
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

    guard_namespaces = Bool(
        True,
        config=True,
        help="Apply the ValidatingAdmissionPolicy that makes the API server refuse, in"
        " user namespaces, inline network volumes, ExternalName Services, externalIPs and"
        " Ingresses for other users' host names (manifests/user-namespace-policy.yaml)."
        " Off: the installation applies it itself.",
    )
    _guarded = False

    _guard_tried = False

    async def _ensure_guard(self) -> None:
        """Once per process: a cluster without ValidatingAdmissionPolicy (before 1.30)
        or a hub that may not write it gets a warning, not failed logins."""
        if not self.guard_namespaces or self._guard_tried:
            return
        self._guard_tried = True
        try:
            self._guarded = await admission.ensure_policy(await self.client(), self.log)
        except (ApiException, ResourceNotFoundError) as err:
            self.log.warning(
                "The user-namespace admission policy could not be applied (%s): the"
                " template policy still holds for launches, but not for users' own kubectl",
                err,
            )

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
        """A client of this event loop. With ``kubeconfig`` set, one made from that file
        (so that two provisioners of one process, as in the tests, never share an
        identity); without, KubeSpawner's shared client (in-cluster credentials)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            if self.kubeconfig:
                self.use_kubeconfig()
                api = await _kubeconfig_client(self.kubeconfig, loop)
            else:
                from kubespawner.clients import load_config, shared_client

                load_config()
                api = shared_client("CoreV1Api").api_client
            self._client = await DynamicClient(api)
            self._client_loop = loop
        return self._client

    async def close(self) -> None:
        """Close this event loop's client made from ``kubeconfig`` (at shutdown)."""
        loop = asyncio.get_running_loop()
        made = _kubeconfig_clients.get(loop, {}).pop(self.kubeconfig, None)
        if made is not None:
            await (await made).close()
        self._client = None

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

    async def _namespaces(self):
        dyn = await self.client()
        return dyn, await dyn.resources.get(api_version="v1", kind="Namespace")

    async def _read_own_namespace(self, username: str) -> dict | None:
        """The user's namespace as the API has it, or None when there is none.

        Raises :class:`NamespaceConflict` when a namespace of that name exists that
        Karvdash did not make for this user (see the module's ownership rule).
        """
        dyn, namespaces = await self._namespaces()
        name = self.namespace(username)
        try:
            found = (await dyn.get(namespaces, name=name)).to_dict()
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        meta = found["metadata"]
        labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
        owned = all(labels.get(k) == v for k, v in names.MANAGED_BY.items()) and (
            annotations.get(names.USERNAME_ANNOTATION) == username
        )
        if not owned:
            raise NamespaceConflict(
                f"namespace {name} already exists and was not made by Karvdash for user"
                f" {username!r}; Karvdash will not use or change it. An administrator must"
                " resolve this: remove or rename that namespace, or give the user another"
                " name"
            )
        return found

    async def ensure(self, username: str) -> str:
        """Make the user's namespace and everything in it exist as configured.

        Returns the namespace. Waits for a namespace that is still being deleted.
        Raises :class:`NamespaceConflict`, having created nothing, when a namespace of
        that name exists that is not Karvdash's for this user.
        """
        objs = self.objects(username)
        try:
            store = await self.storage_objects(username)
        except storage.StorageConfigError as err:
            raise ProvisioningError(str(err)) from err
        ns_obj, rest = objs[0], objs[1:]
        name = ns_obj["metadata"]["name"]
        await self._ensure_guard()
        dyn, namespaces = await self._namespaces()
        deadline = time.monotonic() + self.terminating_timeout
        while True:
            try:
                found = await self._read_own_namespace(username)
                if found is None:
                    try:
                        # create, never apply: a namespace made meanwhile by someone
                        # else is not taken over (it is read and checked again)
                        await dyn.create(namespaces, body=ns_obj, field_manager=FIELD_MANAGER)
                    except ApiException as err:
                        if err.status != 409 or time.monotonic() > deadline:
                            raise
                        continue
                elif found.get("status", {}).get("phase") == "Terminating":
                    annotations = found["metadata"].get("annotations") or {}
                    if annotations.get(DELETING_ANNOTATION) == "true":
                        raise ProvisioningError(
                            f"the user {username!r} is being deleted (namespace {name})"
                        )
                    raise _Terminating()
                else:
                    applied = await self._apply(ns_obj)  # repairs its labels
                    if applied.get("status", {}).get("phase") == "Terminating":
                        raise _Terminating()
                self._make_private_folder(username)
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
                        f"could not provision namespace {name}:"
                        f" {getattr(err, 'status', '')} {getattr(err, 'reason', err)}"
                    ) from err
                if time.monotonic() > deadline:
                    raise ProvisioningError(
                        f"namespace {name} is still being deleted; try again in a minute"
                    ) from err
                await asyncio.sleep(0.5)
        return name

    async def ensure_exists(self, username: str) -> str:
        """The user's namespace, provisioned first only if it is not there (one read
        instead of a dozen writes: for operations that run often, such as launches;
        logins and spawns call :meth:`ensure`, which also repairs)."""
        found = await self._read_own_namespace(username)
        if found is not None and found.get("status", {}).get("phase") == "Active":
            return found["metadata"]["name"]
        return await self.ensure(username)

    async def delete(self, username: str, *, purge_files: bool = False) -> None:
        """Delete the user's namespace and everything in it, and the user's volumes.

        A namespace of that name that is not Karvdash's for this user is left alone
        (with a warning); the user's volumes are deleted all the same. The private
        folder is moved aside to ``<private_root>/.deleted/<slug>-<UTC time>``, or,
        with ``purge_files``, removed with every folder kept of earlier deletions; when
        pods ran in the namespace, only once the namespace is gone (at most
        ``terminating_timeout``), so that nothing writes to the folder meanwhile.
        Only a missing object is ignored: any other error of the API propagates.
        """
        if purge_files and not self.private_root:
            folder = names.private_folder(username)
            raise ProvisioningError(
                f"cannot purge the files of {username!r}: the hub has no access to them"
                " (Provisioner.private_root is not set). Nothing was deleted; delete the"
                f" user without purging, then remove the folder {folder!r} on the file"
                " server"
            )
        dyn, namespaces = await self._namespaces()
        try:
            found = await self._read_own_namespace(username)
        except NamespaceConflict as err:
            self.log.warning("Deleting user %s: %s. It is left as it is.", username, err)
            found = None
        running = False
        if found is not None:
            name, uid = found["metadata"]["name"], found["metadata"]["uid"]
            pods = await dyn.resources.get(api_version="v1", kind="Pod")
            running = bool((await dyn.get(pods, namespace=name)).items)
            try:
                # marked first: until it is gone, logins and launches of this user are
                # refused instead of waiting for it and making it again
                await dyn.patch(
                    namespaces,
                    name=name,
                    body={"metadata": {"annotations": {DELETING_ANNOTATION: "true"}}},
                    content_type="application/merge-patch+json",
                )
                # the very namespace that was checked, not one made again meanwhile
                await dyn.delete(
                    namespaces,
                    name=name,
                    body={
                        "apiVersion": "v1",
                        "kind": "DeleteOptions",
                        "preconditions": {"uid": uid},
                    },
                )
            except ApiException as err:
                # 404: gone already; 409: already being deleted (an earlier attempt)
                if err.status not in (404, 409):
                    raise
        await self._delete_volumes(username)
        if running:
            # pods still writing to the files (or a kubelet making their folder again)
            # must be gone before the folder is moved aside or purged
            await self._wait_namespace_gone(found["metadata"]["name"], uid)
        await self._retire_private_folder(username, purge=purge_files)

    async def _wait_namespace_gone(self, name: str, uid: str) -> None:
        dyn, namespaces = await self._namespaces()
        deadline = time.monotonic() + self.terminating_timeout
        while time.monotonic() < deadline:
            try:
                current = await dyn.get(namespaces, name=name)
            except ApiException as err:
                if err.status == 404:
                    return
                raise
            if current.metadata.uid != uid:
                return
            await asyncio.sleep(0.5)
        self.log.warning(
            "Namespace %s is still being deleted after %.0f s; its files are moved now",
            name,
            self.terminating_timeout,
        )

    async def _delete_volumes(self, username: str) -> None:
        """Delete the user's PersistentVolumes of this installation (by their names and
        labels: not those of another prefix on the same cluster)."""
        dyn = await self.client()
        pvs = await dyn.resources.get(api_version="v1", kind="PersistentVolume")
        mine = {d.volume_name(username, self.namespace_prefix) for d in storage.DOMAINS}
        selector = ",".join(f"{k}={v}" for k, v in names.user_labels(username).items())
        listed = await dyn.get(pvs, label_selector=selector)
        for pv in listed.items:
            if pv.metadata.name not in mine:
                continue
            try:
                await dyn.delete(pvs, name=pv.metadata.name)
            except ApiException as err:
                if err.status != 404:
                    raise

    async def _retire_private_folder(self, username: str, *, purge: bool) -> None:
        folder = self.private_folder(username)
        if folder is None:
            self.log.warning(
                "The private files of %s stay where they are (Provisioner.private_root is"
                " not set, so the hub cannot move them): a new account named %s would get"
                " them. Move or remove the folder %r on the file server before the name is"
                " used again.",
                username,
                username,
                names.private_folder(username),
            )
            return
        deleted = Path(self.private_root) / DELETED_FOLDER
        deleted.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not purge:
            try:
                empty = folder.is_dir() and not any(folder.iterdir())
            except OSError:  # unreadable (its owner's chmod): keep it, moved aside
                empty = False
            if empty:
                folder.rmdir()  # nothing to keep
            elif folder.exists():
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
                kept = deleted / f"{folder.name}-{stamp}"
                try:
                    folder.rename(kept)
                except FileNotFoundError:  # a concurrent deletion moved it first
                    return
                self.log.info("Kept the private files of deleted user %s in %s", username, kept)
            return
        for doomed in [folder, *self.kept_folders(username)]:
            if not doomed.exists():
                continue
            # rename first: a user made again at once never sees a half-deleted folder
            renamed = deleted / f".purging-{secrets.token_hex(8)}"
            try:
                doomed.rename(renamed)
            except FileNotFoundError:  # a concurrent purge took it
                continue
            await asyncio.to_thread(shutil.rmtree, renamed, True)

    def private_folder(self, username: str) -> Path | None:
        if not self.private_root:
            return None
        return storage.local_folder(self.private_root, storage.PRIVATE, username)

    def kept_folders(self, username: str) -> list[Path]:
        """The private folders kept from earlier deletions of this user name, oldest
        first (empty without ``private_root``)."""
        if not self.private_root:
            return []
        deleted = Path(self.private_root) / DELETED_FOLDER
        pattern = re.compile(re.escape(names.private_folder(username)) + _KEPT_SUFFIX)
        if not deleted.is_dir():
            return []
        return sorted(p for p in deleted.iterdir() if pattern.fullmatch(p.name))

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
