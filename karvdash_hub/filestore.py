"""FileStore: the file domains as the dashboard serves them (list, read, write, organize).

The dashboard reaches the domains where :class:`~karvdash_hub.userfiles.UserFiles` says
the hub sees them (``private_root``/<user> and ``shared_root``): in the embedded default
the folders the local node's volumes point at, in a cluster a mount in the hub pod of
the same volumes the users' pods get. Paths are checked by :mod:`karvdash_hub.rules.files`
and walked beneath their root by :mod:`karvdash_hub.confined` (openat-style), so nothing
outside a domain is ever read or written.

Writes are all or nothing: an upload (or a copy) is written to a temporary name
(``.karvdash-upload-*``, never listed) in the destination folder and renamed into place
when complete; a failed or interrupted one removes it. A name is replaced only when the
caller asks (else ``file-exists``), atomically (``renameat2(RENAME_NOREPLACE)`` or a hard
link). What the dashboard makes gets ``UserFiles.folder_owner`` and modes 0644/0755.

Every method here blocks: the handlers run them in a thread.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import time

from traitlets import Instance, Int, default
from traitlets.config import LoggingConfigurable

from . import confined
from .confined import errors_as_api
from .errors import ApiError
from .fileupload import Upload
from .rules import files as rules
from .userfiles import UserFiles


class FileStore(LoggingConfigurable):
    files = Instance(UserFiles, help="Where the domains are (made with parent=self).")

    upload_expiry_seconds = Int(
        24 * 3600,
        config=True,
        help="How long a resumable upload may stay unfinished. Its partial data (a hidden"
        " .karvdash-upload-* file in the destination folder) is removed after that, when"
        " another upload starts in the same folder.",
    )
    abandoned_write_seconds = Int(
        3600,
        config=True,
        help="A one-shot upload or copy that a stopped dashboard left in the middle (its"
        " hidden .karvdash-upload-* file or folder) is removed once nothing was written to"
        " it for this long, when another upload starts in the same folder.",
    )

    @default("files")
    def _default_files(self):
        return UserFiles(parent=self)

    # -- where -------------------------------------------------------------------------

    def root(self, domain: str, user: str) -> str:
        """The folder of ``domain`` for ``user`` on the dashboard's filesystem."""
        rules.check_domain(domain)
        if domain == "private":
            folder = self.files.private_folder(user)
            if folder is None:
                raise ApiError(
                    "files-unavailable",
                    "the dashboard has no access to the private files"
                    " (UserFiles.private_root is not set)",
                )
            return str(folder)
        if not self.files.shared_root:
            raise ApiError(
                "files-unavailable",
                "the dashboard has no access to the shared files"
                " (UserFiles.shared_root is not set)",
            )
        return self.files.shared_root

    def owner(self) -> tuple[int, int] | None:
        """Who gets what the dashboard writes: ``UserFiles.folder_owner`` when it runs as
        root (only root can give files away); else the process's own user (in Zero to
        JupyterHub's hub pod uid 1000, the notebooks' user too)."""
        if not self.files.folder_owner or os.geteuid() != 0:
            return None
        uid, _, gid = self.files.folder_owner.partition(":")
        return int(uid), int(gid or -1)

    def _open_root(self, domain: str, user: str) -> int:
        root = self.root(domain, user)
        try:
            return confined.open_root(root)
        except FileNotFoundError:
            if domain == "private":
                self.files.make_folders(self.files.private_folder(user))
                return confined.open_root(root)
            raise ApiError("files-unavailable", f"the {domain} files' folder is missing") from None

    def locate(self, domain, user, names, where, follow_last=True) -> confined.Location:
        root = self._open_root(domain, user)
        try:
            with errors_as_api(where):
                return confined.locate(root, names, where, follow_last)
        finally:
            os.close(root)

    # -- reading -----------------------------------------------------------------------

    def describe(
        self,
        domain: str,
        user: str,
        path: str,
        sort: str = "name",
        order: str = "asc",
        offset: int = 0,
        limit: int = rules.DEFAULT_LIMIT,
    ) -> dict:
        """The entry at ``path``; a folder's with a page of its entries."""
        names = rules.split(path)
        where = f"/{domain}/{path}".rstrip("/")
        with self.locate(domain, user, names, where) as loc, errors_as_api(where):
            st = os.fstat(loc.folder) if loc.name is None else loc.lstat()
            entry = rules.entry(domain, names, st)
            if entry["type"] != "folder":
                return rules.public(entry)
            folder = confined.open_folder(loc)
        try:
            with errors_as_api(where):
                entries = self._entries(domain, names, folder)
        finally:
            os.close(folder)
        ordered = rules.sort_entries(entries, sort, order)
        return {
            **rules.public(entry),
            "entries": [rules.public(e) for e in ordered[offset : offset + limit]],
            "total": len(ordered),
            "offset": offset,
            "limit": limit,
        }

    def _entries(self, domain: str, names: tuple[str, ...], folder: int) -> list[dict]:
        found = []
        for item in os.scandir(folder):
            if rules.is_hidden_work(item.name):
                continue
            try:
                rules.check_name(item.name)  # a name that is not UTF-8 cannot be shown
                st = item.stat(follow_symlinks=False)
            except (rules.PathError, FileNotFoundError):
                continue
            found.append(rules.entry(domain, (*names, item.name), st))
        return found

    def open_file(self, domain: str, user: str, path: str) -> tuple[int, os.stat_result, str]:
        """An open descriptor of a regular file, its stat and its name."""
        names = rules.split(path)
        where = f"/{domain}/{path}"
        with self.locate(domain, user, names, where) as loc, errors_as_api(where):
            fd, st = confined.open_file(loc)
        return fd, st, names[-1]

    def open_folder(self, domain: str, user: str, path: str) -> tuple[int, str]:
        """An open descriptor of a folder and the name its archive takes."""
        names = rules.split(path)
        where = f"/{domain}/{path}".rstrip("/")
        with self.locate(domain, user, names, where) as loc, errors_as_api(where):
            return confined.open_folder(loc), names[-1] if names else domain

    # -- writing -----------------------------------------------------------------------

    def begin_upload(
        self,
        domain: str,
        user: str,
        path: str,
        *,
        overwrite: bool = False,
        parents: bool = False,
        size: int | None = None,
        partial: str | None = None,
    ) -> Upload:
        """An upload to ``path``: its bytes go to a temporary file in the destination folder
        (``partial``: a resumable upload's own, made if missing) until :meth:`Upload.commit`."""
        names = rules.split(path)
        if not names:
            raise ApiError("bad-path", "name the file to write")
        where = f"/{domain}/{path}"
        root = self._open_root(domain, user)
        try:
            with errors_as_api(where):
                if parents:
                    loc = confined.make_folders(root, names, where, self.owner())
                else:
                    loc = confined.locate(root, names, where, follow_last=False)
        finally:
            os.close(root)
        try:
            with errors_as_api(where):
                replaces = self._check_target(loc, overwrite, where)
                if size is not None:
                    self._check_space(loc.folder, size, where)
                if partial is None:
                    self._sweep(loc.folder)
                upload = Upload(self, loc, domain, names, where, overwrite, partial)
                upload.replaces = replaces
                return upload
        except BaseException:
            loc.close()
            raise

    def _check_target(self, loc: confined.Location, overwrite: bool, where: str) -> bool:
        """Whether the upload replaces a file (refused unless ``overwrite``)."""
        try:
            st = loc.lstat()
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            raise ApiError("is-a-folder", f"{where} is a folder")
        if not overwrite:
            raise ApiError("file-exists", f"{where} exists; replace it (overwrite) or rename")
        return True

    def partial_size(self, domain: str, user: str, path: str, partial: str) -> int | None:
        """How much of a resumable upload has arrived (None: it is not there)."""
        names = rules.split(path)
        with self.locate(domain, user, names, f"/{domain}/{path}", follow_last=False) as loc:
            try:
                return os.stat(partial, dir_fd=loc.folder, follow_symlinks=False).st_size
            except FileNotFoundError:
                return None

    def remove_partial(self, domain: str, user: str, path: str, partial: str) -> bool:
        names = rules.split(path)
        with self.locate(domain, user, names, f"/{domain}/{path}", follow_last=False) as loc:
            try:
                os.unlink(partial, dir_fd=loc.folder)
                return True
            except FileNotFoundError:
                return False

    def _check_space(self, folder: int, size: int, where: str) -> None:
        fs = os.fstatvfs(folder)
        if size > fs.f_bavail * fs.f_frsize:
            raise confined.api_error(OSError(errno.ENOSPC, "full"), where)

    def _sweep(self, folder: int) -> None:
        """Remove what uploads left behind: resumable uploads' partial data older than the
        expiry, and one-shot uploads and copies abandoned in the middle (their writer
        stopped: the dashboard was killed, the machine restarted)."""
        now = time.time()
        for item in os.scandir(folder):
            if not rules.is_hidden_work(item.name):
                continue
            resumable = item.name.endswith(".part")
            age = self.upload_expiry_seconds if resumable else self.abandoned_write_seconds
            try:
                st = item.stat(follow_symlinks=False)
                if st.st_mtime >= now - age:
                    continue
                if stat.S_ISREG(st.st_mode):
                    os.unlink(item.name, dir_fd=folder)
                elif stat.S_ISDIR(st.st_mode) and not resumable:
                    confined.remove_tree(folder, item.name)
            except OSError:  # gone, or not ours to remove: never in the upload's way
                pass

    def make_folder(self, domain: str, user: str, path: str, parents: bool = False) -> tuple:
        """A new folder: (its entry, whether it was made)."""
        names = rules.split(path)
        if not names:
            raise ApiError("file-exists", f"/{domain} exists")
        where = f"/{domain}/{path}"
        root = self._open_root(domain, user)
        try:
            with errors_as_api(where):
                loc = (
                    confined.make_folders(root, names, where, self.owner())
                    if parents
                    else confined.locate(root, names, where, follow_last=False)
                )
        finally:
            os.close(root)
        with loc, errors_as_api(where):
            try:
                os.mkdir(loc.name, 0o755, dir_fd=loc.folder)
                made = True
            except FileExistsError:
                if not (parents and stat.S_ISDIR(loc.lstat().st_mode)):
                    raise
                made = False
            if made:
                confined.chown_at(loc.folder, loc.name, self.owner())
            return rules.public(rules.entry(domain, names, loc.lstat())), made

    def move(self, domain: str, user: str, path: str, to: str, overwrite: bool = False) -> dict:
        src_names, dst_names = rules.split(path), rules.split(to)
        if not src_names or not dst_names:
            raise ApiError("bad-path", f"/{domain} itself cannot be moved or replaced")
        where, dest = f"/{domain}/{path}", f"/{domain}/{to}"
        if dst_names[: len(src_names)] == src_names and dst_names != src_names:
            raise ApiError("bad-path", f"{where} cannot be moved into itself")
        with self.locate(domain, user, src_names, where, follow_last=False) as src:
            with errors_as_api(where):
                src.lstat()
            with (
                self.locate(domain, user, dst_names, dest, follow_last=False) as dst,
                errors_as_api(dest),
            ):
                if dst.name is None:
                    raise ApiError("file-exists", f"{dest} exists")
                try:
                    confined.rename(src.folder, src.name, dst.folder, dst.name, overwrite)
                except OSError as err:
                    if err.errno == errno.EINVAL:
                        raise ApiError("bad-path", f"{where} cannot be moved there") from None
                    raise
                return rules.public(rules.entry(domain, dst_names, dst.lstat()))

    def copy(
        self,
        domain: str,
        user: str,
        path: str,
        to_domain: str,
        to: str,
        overwrite: bool = False,
    ) -> dict:
        """Copy a file or a whole folder (its files and folders; links are left out), in
        one domain or from one to the other: made under a temporary name, then renamed."""
        src_names, dst_names = rules.split(path), rules.split(to)
        rules.check_domain(to_domain)
        if not dst_names:
            raise ApiError("bad-path", f"/{to_domain} itself cannot be replaced")
        where, dest = f"/{domain}/{path}".rstrip("/"), f"/{to_domain}/{to}"
        if to_domain == domain and dst_names[: len(src_names)] == src_names:
            raise ApiError("bad-path", f"{where} cannot be copied into itself")
        with self.locate(domain, user, src_names, where) as src, errors_as_api(where):
            st = src.lstat()
            is_folder = stat.S_ISDIR(st.st_mode)
            source = confined.open_folder(src) if is_folder else confined.open_file(src)[0]
        try:
            upload = self.begin_upload(
                to_domain, user, to, overwrite=overwrite, size=0 if is_folder else st.st_size
            )
            try:
                with errors_as_api(dest):
                    if is_folder:
                        upload.into_folder(source)
                    else:
                        confined.copy_data(source, upload.fd, st.st_size)
                return upload.commit()
            except BaseException:
                upload.abort()
                raise
        finally:
            os.close(source)

    def delete(self, domain: str, user: str, path: str, recursive: bool = False) -> None:
        names = rules.split(path)
        if not names:
            raise ApiError("bad-path", f"/{domain} itself cannot be deleted")
        where = f"/{domain}/{path}"
        with (
            self.locate(domain, user, names, where, follow_last=False) as loc,
            errors_as_api(where),
        ):
            if not stat.S_ISDIR(loc.lstat().st_mode):
                os.unlink(loc.name, dir_fd=loc.folder)
            elif not recursive:
                os.rmdir(loc.name, dir_fd=loc.folder)
            else:
                # out of sight first, then removed: never half a folder under its name
                doomed = f"{rules.RESERVED_PREFIX}{secrets.token_hex(8)}.deleting"
                os.rename(loc.name, doomed, src_dir_fd=loc.folder, dst_dir_fd=loc.folder)
                confined.remove_tree(loc.folder, doomed)
