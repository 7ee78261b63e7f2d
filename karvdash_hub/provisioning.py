"""Provisioning: what each user owns in Kubernetes, made to exist and removed. The objects
are :mod:`karvdash_hub.rules.objects` and :mod:`karvdash_hub.rules.storage`; this class
only orchestrates them:

- :meth:`Provisioner.ensure` writes every object with server-side apply under the field
  manager ``karvdash``: idempotent and safe when called concurrently for one user or
  many; called at each login and before each spawn. It creates the namespace only when
  it does not exist (never applies over one), never touches a namespace that is not
  Karvdash's for that user (:class:`NamespaceConflict`), and waits (with backoff) for a
  namespace that is still being deleted.
- :meth:`Provisioner.delete` marks the namespace (so nothing makes it again meanwhile),
  deletes it and the user's volumes, and has :class:`UserFiles` retire the private folder.
"""

from __future__ import annotations

import asyncio
import copy
import functools

from kubernetes_asyncio.client.exceptions import ApiException
from traitlets import Bool, Dict, Float, Instance, List, Unicode, default, validate
from traitlets.config import LoggingConfigurable

from . import admission, kube, volumes
from .errors import NamespaceConflict, ProvisioningError
from .pullsecrets import PullSecrets
from .rules import names, objects, storage
from .userfiles import UserFiles

FIELD_MANAGER = "karvdash"
DELETING_ANNOTATION = objects.DELETING_ANNOTATION


class _Terminating(Exception): ...


class Provisioner(LoggingConfigurable):
    """Creates, updates and deletes the per-user objects of Karvdash (``c.Provisioner``).
    Made with ``parent=`` by the hub's authenticator, the dashboard app, the service manager."""

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
        help="Pod Security Standard enforced in user namespaces (privileged, baseline,"
        " restricted).",
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
        help="The hub's ServiceAccount as 'namespace/name': bound to 'admin' in each user"
        " namespace (RoleBinding 'karvdash-hub-admin'), so that the hub needs no"
        " cluster-wide write access to pods, services or secrets.",
    )
    user_cluster_role = Unicode(
        "admin",
        config=True,
        help="ClusterRole bound to the user's ServiceAccount in the user's namespace only"
        " ('admin': what is in the namespace, not it, its quota or anything outside).",
    )
    resource_quota = Dict(
        config=True,
        help="'hard' limits of each user namespace's ResourceQuota, as in the Kubernetes"
        " API (for example {'requests.cpu': '8', 'pods': '50'}). Empty: no quota.",
    )

    @default("resource_quota")
    def _default_quota(self):
        return dict(objects.DEFAULT_QUOTA)

    limit_range = List(
        config=True,
        help="'limits' of each user namespace's LimitRange, as in the Kubernetes API (by"
        " default a modest request and limit, so that the quota counts every container).",
    )

    @default("limit_range")
    def _default_limits(self):
        return copy.deepcopy(objects.DEFAULT_LIMITS)

    ingress_namespaces = List(
        Unicode(),
        config=True,
        help="Namespaces whose pods may connect to pods in user namespaces, besides the"
        " user's own: the hub's and proxy's, and the ingress controller's.",
    )
    blocked_egress = List(
        Unicode(),
        ["169.254.169.254/32", "fd00:ec2::254/128"],
        config=True,
        help="CIDRs that pods in user namespaces may not connect to (by default the cloud"
        " instance metadata address). Empty: none.",
    )
    private_volume = Dict(
        config=True,
        help="Volume source of the private file domain, in Kubernetes API form ({'nfs':"
        " {'server': 'nfs.example.org', 'path': '/exports/private'}} or a hostPath); each"
        " user's PersistentVolume points at '<path>/<user>'.",
    )
    shared_volume = Dict(
        config=True,
        help="Volume source of the shared file domain, in the same form as private_volume,"
        " or {'persistentVolumeClaim': {'claimName': ..., 'namespace': ...}} to reuse the"
        " volume that an existing claim is bound to.",
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
        " service account (the hub's pod). KubeSpawner is pointed at the same file.",
    )
    guard_namespaces = Bool(
        True,
        config=True,
        help="Apply the ValidatingAdmissionPolicy that makes the API server refuse, in"
        " user namespaces, inline network volumes, ExternalName Services, externalIPs and"
        " Ingresses for other users' host names (manifests/user-namespace-policy.yaml)."
        " Off: the installation applies it itself.",
    )
    terminating_timeout = Float(
        120,
        config=True,
        help="Seconds to wait for a user's namespace that is still being deleted before"
        " provisioning it again fails.",
    )

    files = Instance(UserFiles, help="The hub's view of the file domains.")

    @default("files")
    def _default_files(self):
        return UserFiles(parent=self)

    _guard_tried = False
    #: whether the admission policy is in place (after the first ensure)
    _guarded = False

    # -- the Kubernetes connection

    async def client(self) -> kube.DynamicClient:
        """The client of ``kubeconfig`` (or the in-cluster one) in this event loop."""
        return await kube.dynamic_client(self.kubeconfig)

    async def close(self) -> None:  # this event loop's client (at shutdown)
        await kube.client.close_client(self.kubeconfig)

    async def _ensure_guard(self) -> None:
        if self.guard_namespaces and not self._guard_tried:
            self._guard_tried = True  # once per process
            self._guarded = await admission.guard(await self.client(), self.log)

    async def _apply(self, obj: dict) -> dict:
        dyn = await self.client()  # retried on 403: the hub's new RoleBinding takes a moment
        for attempt in range(40):
            try:
                result = await dyn.server_side_apply(
                    await kube.resource_of(dyn, obj),
                    body=obj,
                    namespace=obj["metadata"].get("namespace"),
                    field_manager=FIELD_MANAGER,
                    force_conflicts=True,
                )
                return result.to_dict()
            except ApiException as err:
                if err.status != 403 or attempt == 39:
                    raise
                await asyncio.sleep(0.1)

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

    @functools.cached_property
    def pull_secrets(self) -> PullSecrets:
        return PullSecrets(self)

    @property
    def settings(self) -> objects.NamespaceSettings:
        names_ = set(objects.NamespaceSettings.__dataclass_fields__) - {"prefix", "pull_secret"}
        return objects.NamespaceSettings(
            prefix=self.namespace_prefix,
            pull_secret=self.pull_secrets.name,
            **{f: copy.deepcopy(getattr(self, f)) for f in names_},
        )

    def objects(self, username: str) -> list[dict]:
        """Every object of the user, namespace first, as it should be."""
        objs = objects.user_objects(username, self.settings)
        meta = {k: objs[1]["metadata"][k] for k in ("namespace", "labels")}
        return objs + self.pull_secrets.objects(username, meta)

    async def storage_objects(self, username: str) -> list[dict]:
        """The user's PersistentVolumes and claims of the file domains."""
        return await volumes.storage_objects(
            await self.client(),
            username,
            {storage.PRIVATE: self.private_volume, storage.SHARED: self.shared_volume},
            prefix=self.namespace_prefix,
            capacity=self.storage_capacity,
        )

    # -- operations

    async def _read_own_namespace(self, username: str) -> dict | None:
        """The user's namespace as the API has it, or None when there is none; raises
        :class:`NamespaceConflict` when one of that name is not Karvdash's for the user."""
        dyn = await self.client()
        name = self.namespace(username)
        found = await kube.get_or_none(dyn, await kube.resource(dyn, "v1", "Namespace"), name)
        if found is None:
            return None
        found = found.to_dict()
        if not objects.owns(found, username):
            raise NamespaceConflict.of(name, username)
        return found

    async def ensure(self, username: str) -> str:
        """Make the user's namespace and everything in it exist as configured; returns
        the namespace (see the module's rules). Cut off by the API server (down or
        restarting), it raises a 503 ProvisioningError: the next call finishes the job."""
        try:
            return await self._ensure(username)
        except kube.UNREACHABLE as err:
            raise ProvisioningError(
                f"the Kubernetes API cannot be reached ({err}); try again shortly"
            ) from err

    async def _ensure(self, username: str) -> str:
        objs = self.objects(username)
        try:
            store = await self.storage_objects(username)
        except storage.StorageConfigError as err:
            raise ProvisioningError(str(err)) from err
        name = objs[0]["metadata"]["name"]
        await self._ensure_guard()

        async def attempt() -> bool:
            try:
                return await self._ensure_once(username, objs, store)
            except _Terminating:
                return False
            except ApiException as err:
                if err.status in (403, 409) and "being terminated" in str(err.body):
                    return False
                raise ProvisioningError(
                    f"could not provision namespace {name}: {err.status} {err.reason}"
                ) from err

        try:
            await kube.wait_until(
                attempt, f"namespace {name} to be deleted", self.terminating_timeout, 0.25
            )
        except TimeoutError as err:
            raise ProvisioningError(
                f"namespace {name} is still being deleted; try again in a minute"
            ) from err
        return name

    async def _ensure_once(self, username: str, objs: list[dict], store: list[dict]) -> bool:
        """One try: True when done, False when the namespace was just created anew (a race:
        read and check it again); :class:`_Terminating` while it is still being deleted."""
        ns_obj, rest = objs[0], objs[1:]
        dyn = await self.client()
        found = await self._read_own_namespace(username)
        if found is None:
            try:
                # create, never apply: a namespace made meanwhile by someone else is not
                # taken over (it is read and checked again)
                await dyn.create(
                    await kube.resource(dyn, "v1", "Namespace"),
                    body=ns_obj,
                    field_manager=FIELD_MANAGER,
                )
            except ApiException as err:
                if err.status != 409:
                    raise
                return False
        elif objects.phase(found) == "Terminating":
            if objects.being_deleted_by_karvdash(found):
                raise ProvisioningError(
                    f"the user {username!r} is being deleted (namespace {self.namespace(username)})"
                )
            raise _Terminating()
        elif objects.phase(await self._apply(ns_obj)) == "Terminating":  # repairs labels
            raise _Terminating()
        await self.files.make_private_folder(username)
        first = [o for o in rest if o["kind"] == "RoleBinding"]  # the hub's rights first
        await asyncio.gather(*map(self._apply, first))
        rest = [o for o in rest if o not in first]
        await asyncio.gather(*map(self._apply, rest), *map(self._apply_volume, store))
        return True

    async def ensure_exists(self, username: str) -> str:
        """The user's namespace, provisioned first only if it is not there (one read
        instead of a dozen writes: for operations that run often, such as launches;
        logins and spawns call :meth:`ensure`, which also repairs)."""
        found = await self._read_own_namespace(username)
        if found is not None and objects.phase(found) == "Active":
            return found["metadata"]["name"]
        return await self.ensure(username)

    async def delete(self, username: str, *, purge_files: bool = False) -> None:
        """Delete the user's namespace and everything in it, and the user's volumes; a
        namespace not Karvdash's for this user is left alone (with a warning). The private
        folder is retired (:class:`UserFiles`) once no pod can write to it."""
        if purge_files and not self.files.private_root:
            folder = names.private_folder(username)
            raise ProvisioningError(
                f"cannot purge the files of {username!r}: the hub has no access to them"
                " (UserFiles.private_root is not set). Nothing was deleted; delete the"
                f" user without purging, then remove the folder {folder!r} on the file"
                " server",
                reason="cannot-purge",
            )
        dyn = await self.client()
        namespaces = await kube.resource(dyn, "v1", "Namespace")
        try:
            found = await self._read_own_namespace(username)
        except NamespaceConflict as err:
            self.log.warning("Deleting user %s: %s. It is left as it is.", username, err)
            found = None
        running = False
        if found is not None:
            name, uid = found["metadata"]["name"], found["metadata"]["uid"]
            only_this = {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": {"uid": uid}}
            pods = await kube.resource(dyn, "v1", "Pod")
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
                await kube.delete_ignoring_404(
                    dyn,
                    namespaces,
                    name,
                    body=only_this,
                )
            except ApiException as err:
                if err.status not in (404, 409):  # 409: already being deleted
                    raise
        await volumes.delete_volumes(await self.client(), username, self.namespace_prefix)
        # pods still writing to the files must be gone before the folder is retired
        if running and not await kube.wait_gone(
            dyn, namespaces, name, uid, self.terminating_timeout
        ):
            self.log.warning(
                "Namespace %s is still being deleted after %.0f s; its files are moved now",
                name,
                self.terminating_timeout,
            )
        await self.files.retire(username, purge=purge_files)
