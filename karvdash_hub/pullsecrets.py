"""The image pull secret of each user namespace: the user's pods pull from the users'
registry with the user's own rights, and no more.

When the installation has a registry (``Installation.registry``) and registry tokens
(``RegistryAuth.key_file``), every user namespace gets:

- Secret ``karvdash-registry`` (``kubernetes.io/dockerconfigjson``) for that registry,
  with the user's name and a pull credential (:func:`karvdash_hub.rules.registry.credential`):
  the token endpoint gives it ``pull`` of ``<user>/...`` and ``library/...`` only. It does
  not expire; it is written again at each login (provisioning repairs it), and a new
  signing key revokes all of them at once;
- ``imagePullSecrets`` naming it on the user's ServiceAccount (the JupyterLab pod's) and
  on the namespace's ``default`` ServiceAccount (the pods of templates that name none), so
  that ``$REGISTRY/<user>/<image>`` pulls with no other setting. Karvdash owns that field
  of both accounts: pull secrets a user adds there themselves are replaced at the next
  login (name them in the pod instead).
"""

from __future__ import annotations

from traitlets.config import Configurable

from .installation import Installation
from .registryauth import RegistryAuth
from .rules import registry as rules

PULL_SECRET = "karvdash-registry"


class PullSecrets:
    """Made by the Provisioner with itself as ``parent`` (the same configuration)."""

    def __init__(self, parent: Configurable):
        self.installation = Installation(parent=parent)
        self.auth = RegistryAuth(parent=parent)

    @property
    def name(self) -> str:
        """The Secret's name, or '' when the installation has no registry."""
        return PULL_SECRET if self.installation.registry and self.auth.key_file else ""

    def objects(self, username: str, meta: dict) -> list[dict]:
        """The Secret, in the namespace of ``meta``; none without a registry."""
        if not self.name:
            return []
        self.auth.ensure_keys()
        password = self.auth.pull_credential(username)
        return [rules.pull_secret(self.name, meta, self.installation.registry, username, password)]
