"""UserFiles: the file domains as the hub sees them on its own filesystem.

The hub (or the dashboard) reaches the private and shared roots through a mount of the
same volumes the users' pods get (``private_root``, ``shared_root``). Where it has them:

- each user's private folder ``<private_root>/<slug>`` is made when the user is
  provisioned;
- when a user is deleted, the folder is moved aside to
  ``<private_root>/.deleted/<slug>-<UTC time>`` (so that a later account of the same
  name starts empty), or removed with every folder kept of earlier deletions (purge);
  a purge renames first, so a user made again at once never sees a half-deleted folder.

Every blocking file operation runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path

from traitlets import Unicode
from traitlets.config import LoggingConfigurable

from .rules import names, storage

#: where, under ``private_root``, the folders of deleted users are kept
DELETED_FOLDER = ".deleted"
#: the suffix of a kept folder: ``-`` and the UTC time of the deletion. Slugs are
#: lowercase, so no user's slug ends with it and a kept folder names one user only.
_KEPT_SUFFIX = r"-\d{8}T\d{6}\.\d{6}Z"


class UserFiles(LoggingConfigurable):
    private_root = Unicode(
        "",
        config=True,
        help="Where the hub sees the private domain's root on its own filesystem (a mount"
        " of the same volume). When set, the hub creates each user's folder there; when a"
        " user is deleted it moves the folder aside to .deleted/<user>-<UTC time> (so that"
        " a new account of the same name starts empty), or purges it if asked. When"
        " empty, a deleted user's folder stays where it is.",
    )
    shared_root = Unicode(
        "",
        config=True,
        help="Where the hub sees the shared domain's root on its own filesystem. Empty:"
        " the hub does not reach the shared files.",
    )

    folder_owner = Unicode(
        "",
        config=True,
        help="'uid:gid' given to the folders the hub makes (the roots and each user's"
        " private folder) and to what the dashboard writes (uploads, new folders, copies),"
        " so that the notebook's user (1000:100 in Jupyter's images) can write in them;"
        " applied when the hub runs as root; empty (or not root): the hub's own user."
        " hostPath and NFS volumes keep the owner of what is on disk (fsGroup does not"
        " apply to them).",
    )

    def _owned(self, folder: Path) -> None:
        # only root can give a folder away; any other user makes it its own
        if self.folder_owner and os.geteuid() == 0:
            uid, _, gid = self.folder_owner.partition(":")
            os.chown(folder, int(uid), int(gid or -1))

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

    def has_files(self, username: str) -> bool:
        folder = self.private_folder(username)
        return bool(folder and folder.exists()) or bool(self.kept_folders(username))

    async def make_private_folder(self, username: str) -> None:
        """The user's private folder (and the roots), made when missing."""
        folder = self.private_folder(username)
        if folder is not None:
            await asyncio.to_thread(self.make_folders, folder)

    def make_folders(self, folder: Path) -> None:
        """Make the roots and ``folder`` (blocking), owned by ``folder_owner``."""
        roots = [Path(r) for r in (self.private_root, self.shared_root) if r]
        for made in [*roots, folder]:
            made.mkdir(parents=True, exist_ok=True)
            self._owned(made)  # the folder itself, never what is in it

    async def retire(self, username: str, *, purge: bool) -> None:
        """Move the deleted user's folder aside, or purge it and the kept ones."""
        if self.private_folder(username) is None:
            self.log.warning(
                "The private files of %s stay where they are (UserFiles.private_root is"
                " not set, so the hub cannot move them): a new account named %s would get"
                " them. Move or remove the folder %r on the file server before the name is"
                " used again.",
                username,
                username,
                names.private_folder(username),
            )
            return
        await asyncio.to_thread(self._purge if purge else self._keep, username)

    def _deleted(self) -> Path:
        deleted = Path(self.private_root) / DELETED_FOLDER
        deleted.mkdir(mode=0o700, parents=True, exist_ok=True)
        return deleted

    def _keep(self, username: str) -> None:
        folder = self.private_folder(username)
        deleted = self._deleted()
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

    def _purge(self, username: str) -> None:
        deleted = self._deleted()
        for doomed in [self.private_folder(username), *self.kept_folders(username)]:
            if not doomed.exists():
                continue
            renamed = deleted / f".purging-{secrets.token_hex(8)}"
            try:
                doomed.rename(renamed)
            except FileNotFoundError:  # a concurrent purge took it
                continue
            shutil.rmtree(renamed, True)
