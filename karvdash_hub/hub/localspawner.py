"""LocalKarvdashSpawner: the embedded default's spawner.

Simulated (kwok) nodes cannot run a notebook, so on one machine each user's JupyterLab
runs as a local process of the hub's OS user, while the same provisioner prepares the
user's namespace and storage in the local cluster as it would in a real one.

The server's root is a per-user folder with two links that mirror a pod's mounts:
``private`` (the user's own folder under the private root) and ``shared`` (the shared
root). The process starts in the private folder, and the environment names both.

This is for trying Karvdash on one machine: all users' processes share one OS account,
so files are kept apart by JupyterHub's access control on each server's URL (a user can
only reach their own server), not by the operating system. Use KarvdashSpawner on a
cluster for the isolation of namespaces and volumes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Unicode, default

from ..rules import names
from .spawner import KarvdashSpawnerMixin


class LocalKarvdashSpawner(KarvdashSpawnerMixin, SimpleLocalProcessSpawner):
    """Runs each user's JupyterLab on this machine, in the user's private folder."""

    shared_root = Unicode(
        config=True,
        help="Folder of the shared file domain on this machine. Default:"
        " UserFiles.shared_root, else the hostPath of Provisioner.shared_volume.",
    )

    @default("shared_root")
    def _default_shared_root(self):
        source = self.provisioner.shared_volume or {}
        return self.provisioner.files.shared_root or source.get("hostPath", {}).get("path", "")

    sessions_root = Unicode(
        config=True,
        help="Where each user's server root (with its 'private' and 'shared' links) is"
        " made. Default: a 'sessions' folder beside the private root.",
    )

    @default("sessions_root")
    def _default_sessions_root(self):
        root = self.provisioner.files.private_root
        return str(Path(root).parent / "sessions") if root else ""

    @default("home_dir")
    def _default_home_dir(self):
        # HOME (dotfiles, caches) is the server's root, not the user's files
        return str(self._view_dir())

    @property
    def private_dir(self) -> Path:
        folder = self.provisioner.files.private_folder(self.user.name)
        if folder is None:
            raise ValueError("LocalKarvdashSpawner needs UserFiles.private_root")
        return folder

    def make_preexec_fn(self, name):
        private = str(self.private_dir)

        def preexec():
            os.chdir(private)

        return preexec

    @default("notebook_dir")
    def _default_notebook_dir(self):
        return str(self._view_dir())

    @default("default_url")
    def _default_default_url(self):
        return "/lab/tree/private"

    def _view_dir(self) -> Path:
        if not self.sessions_root:
            raise ValueError("LocalKarvdashSpawner needs sessions_root or UserFiles.private_root")
        return Path(self.sessions_root) / names.user_slug(self.user.name)

    def _make_view(self) -> None:
        view = self._view_dir()
        view.mkdir(parents=True, exist_ok=True)
        links = {"private": self.private_dir}
        if self.shared_root:
            links["shared"] = Path(self.shared_root)
        for name, target in links.items():
            target.mkdir(parents=True, exist_ok=True)
            link = view / name
            if link.is_symlink() and Path(os.readlink(link)) == target:
                continue
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(target, target_is_directory=True)

    async def start(self):
        await self.provisioner.ensure(self.user.name)
        self._make_view()
        return await super().start()

    async def delete_forever(self):
        """JupyterHub calls this when the user is deleted: the server root (HOME, with
        dotfiles and caches) goes, so that a new account of the same name starts afresh.
        Its 'private' and 'shared' entries are links: the files they point to stay
        (what happens to private files is the provisioner's business)."""
        view = self._view_dir() if self.sessions_root else None
        if view is not None and view.is_dir() and not view.is_symlink():
            shutil.rmtree(view)

    def get_env(self):
        env = super().get_env()
        env.update(
            self.karvdash_env(
                self.provisioner.namespace(self.user.name),
                str(self.private_dir),
                self.shared_root,
            )
        )
        return env
