"""KarvdashSpawner: KubeSpawner, with the user's notebook in the user's own namespace.

What it adds to KubeSpawner, and nothing else:

- user namespaces on, named by the provisioner (``karvdash-<user>``), and made ready by
  it (ServiceAccount, RoleBinding, quota, network policy, storage) before the pod;
- the pod runs as the namespace's ``karvdash-user`` ServiceAccount;
- the file domains mounted at ``/private`` and ``/shared``, the notebook started in
  ``/private``;
- the KARVDASH_* environment (:mod:`karvdash_hub.rules.environment`).

The provisioner and the installation's facts are the authenticator's (made by
JupyterHub with ``parent=`` the app), so that one provisioner serves logins and spawns;
with another authenticator the spawner makes its own.
"""

from __future__ import annotations

from kubespawner import KubeSpawner
from traitlets import default
from traitlets.config import LoggingConfigurable

from ..installation import Installation
from ..kube.client import configure_kubespawner
from ..provisioning import Provisioner
from ..rules import environment, storage


class KarvdashSpawnerMixin(LoggingConfigurable):
    """What the Kubernetes and the local spawner share: their provisioner, the
    installation's facts, the user's environment."""

    _own: dict | None = None

    def _part(self, name: str, cls):
        """The authenticator's part, or one of the spawner's own (another
        authenticator)."""
        found = getattr(getattr(self, "authenticator", None), name, None)
        if isinstance(found, cls):
            return found
        if self._own is None:
            self._own = {}
        if name not in self._own:
            self._own[name] = cls(parent=self)
        return self._own[name]

    @property
    def provisioner(self) -> Provisioner:
        return self._part("provisioner", Provisioner)

    @property
    def installation(self) -> Installation:
        return self._part("installation", Installation)

    @property
    def dashboard_api_url(self) -> str:
        hub_api = getattr(getattr(self, "hub", None), "api_url", "") or ""
        return self.installation.api_url_from_hub(hub_api)

    def karvdash_env(self, namespace: str, private: str, shared: str) -> dict[str, str]:
        return environment.environment(
            namespace,
            private_dir=private,
            shared_dir=shared,
            registry=self.installation.registry,
            api_url=self.dashboard_api_url,
        )


class KarvdashSpawner(KarvdashSpawnerMixin, KubeSpawner):
    """Spawns each user's notebook pod in the user's Karvdash namespace."""

    @default("enable_user_namespaces")
    def _default_user_namespaces(self):
        return True

    @default("service_account")
    def _default_service_account(self):
        return self.provisioner.service_account

    @default("image_pull_secrets")
    def _default_pull_secrets(self):
        # the namespace's pull secret: images of $REGISTRY/<user>/... and library/...
        secret = self.provisioner.pull_secrets.name
        return [secret] if secret else []

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
        authenticator = kwargs.get("authenticator")
        kubeconfig = getattr(getattr(authenticator, "provisioner", None), "kubeconfig", None)
        if kubeconfig is None:
            kubeconfig = Provisioner(config=kwargs.get("config")).kubeconfig
        # before KubeSpawner loads the cluster's configuration
        configure_kubespawner(kubeconfig)
        super().__init__(*args, **kwargs)
        if self.user is not None and getattr(self.user, "name", None):
            # the provisioner names the namespace, not user_namespace_template
            self.namespace = self.provisioner.namespace(self.user.name)

    async def _ensure_namespace(self):
        await self.provisioner.ensure(self.user.name)

    def get_env(self):
        env = super().get_env()
        env.update(
            self.karvdash_env(self.namespace, storage.PRIVATE.mount_path, storage.SHARED.mount_path)
        )
        return env
