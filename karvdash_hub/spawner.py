"""KarvdashSpawner: KubeSpawner, with the user's notebook in the user's own namespace.

What it adds to KubeSpawner, and nothing else:

- user namespaces on, named by the provisioner (``karvdash-<user>``), and made ready by
  it (ServiceAccount, RoleBinding, quota, network policy, storage) before the pod;
- the pod runs as the namespace's ``karvdash-user`` ServiceAccount;
- the file domains mounted at ``/private`` and ``/shared``, the notebook started in
  ``/private``;
- environment variables that tell code in the pod where it is (:func:`karvdash_env`).
"""

from __future__ import annotations

from kubespawner import KubeSpawner
from traitlets import Unicode, default
from traitlets.config import LoggingConfigurable

from . import storage
from .provisioning import Provisioner


def karvdash_env(spawner, namespace: str, private: str, shared: str) -> dict[str, str]:
    """Environment shared by the Kubernetes and the local spawner."""
    env = {
        "KARVDASH_NAMESPACE": namespace,
        "KARVDASH_PRIVATE_DIR": private,
        "KARVDASH_SHARED_DIR": shared,
    }
    if spawner.registry_url:
        env["KARVDASH_REGISTRY_URL"] = spawner.registry_url
    if spawner.dashboard_api_url:
        env["KARVDASH_API_URL"] = spawner.dashboard_api_url
    return env


class KarvdashSpawnerMixin(LoggingConfigurable):
    """Traits and behaviour common to the Kubernetes and the local spawner."""

    registry_url = Unicode(
        "",
        config=True,
        help="URL of the private container registry (KARVDASH_REGISTRY_URL in the"
        " user's environment). Empty: not set.",
    )
    dashboard_api_url = Unicode(
        config=True,
        help="URL of the dashboard service's REST API as seen from the user's server"
        " (KARVDASH_API_URL). Default: the hub's API URL with /services/karvdash/api/.",
    )

    @default("dashboard_api_url")
    def _default_api_url(self):
        hub_api = getattr(getattr(self, "hub", None), "api_url", "") or ""
        if not hub_api:
            return ""
        base = hub_api.rstrip("/")
        base = base[: -len("/hub/api")] if base.endswith("/hub/api") else base
        return f"{base}/services/karvdash/api/"

    @property
    def provisioner(self) -> Provisioner:
        return Provisioner.instance(config=self.config)


class KarvdashSpawner(KarvdashSpawnerMixin, KubeSpawner):
    """Spawns each user's notebook pod in the user's Karvdash namespace."""

    @default("enable_user_namespaces")
    def _default_user_namespaces(self):
        return True

    @default("service_account")
    def _default_service_account(self):
        return self.provisioner.service_account

    @default("automount_service_account_token")
    def _default_automount(self):
        return True

    @default("working_dir")
    def _default_working_dir(self):
        return storage.PRIVATE.mount_path

    @default("notebook_dir")
    def _default_notebook_dir(self):
        return storage.PRIVATE.mount_path

    @default("volumes")
    def _default_volumes(self):
        return storage.pod_volumes()

    @default("volume_mounts")
    def _default_volume_mounts(self):
        return storage.pod_volume_mounts()

    def __init__(self, *args, **kwargs):
        # before KubeSpawner loads the cluster's configuration
        Provisioner.instance(config=kwargs.get("config")).use_kubeconfig()
        super().__init__(*args, **kwargs)
        if self.user is not None and getattr(self.user, "name", None):
            # the provisioner names the namespace, not user_namespace_template
            self.namespace = self.provisioner.namespace(self.user.name)

    async def _ensure_namespace(self):
        await self.provisioner.ensure(self.user.name)

    def get_env(self):
        env = super().get_env()
        env.update(
            karvdash_env(
                self, self.namespace, storage.PRIVATE.mount_path, storage.SHARED.mount_path
            )
        )
        return env
