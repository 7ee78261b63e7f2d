"""An upload on its way to a file: written to a temporary name in the destination folder,
renamed into place when complete (replacing only when asked), removed when it fails or
is given up. A resumable upload's data (``partial``) stays between requests."""

from __future__ import annotations

import os
import secrets

from . import confined
from .confined import errors_as_api
from .rules import files as rules

OPEN_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Upload:
    """Bytes on their way to a file: written to a temporary name in the destination
    folder, renamed into place by :meth:`commit`, removed by :meth:`abort`."""

    def __init__(self, store, loc, domain, names, where, overwrite, partial=None):
        self.store, self.loc, self.domain, self.names = store, loc, domain, names
        self.where, self.overwrite = where, overwrite
        self.temp = partial or f"{rules.RESERVED_PREFIX}{secrets.token_hex(12)}"
        self.folder_copy = False
        self.replaces = False
        if partial:  # a resumable upload's data: appended to, kept between requests
            flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_APPEND
            self.fd = os.open(self.temp, flags, 0o600, dir_fd=loc.folder)
        else:
            self.fd = os.open(self.temp, OPEN_NEW, 0o600, dir_fd=loc.folder)

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError as err:
            self.abort()
            raise confined.api_error(err, self.where) from None

    def into_folder(self, source: int) -> None:
        """Make the temporary name a folder holding a copy of the folder ``source``."""
        os.close(self.fd)
        self.fd = -1
        os.unlink(self.temp, dir_fd=self.loc.folder)
        os.mkdir(self.temp, 0o755, dir_fd=self.loc.folder)
        self.folder_copy = True
        made = os.open(self.temp, confined.DIR_FLAGS, dir_fd=self.loc.folder)
        try:
            confined.copy_tree(source, made, self.store.owner())
        finally:
            os.close(made)

    def commit(self) -> dict:
        """Put the file in place (replacing only when asked): its entry."""
        folder, name = self.loc.folder, self.loc.name
        try:
            with errors_as_api(self.where):
                owner = self.store.owner()
                if self.folder_copy:
                    confined.chown_at(folder, self.temp, owner)
                else:
                    os.fchmod(self.fd, 0o644)
                    if owner:
                        os.fchown(self.fd, *owner)
                    os.close(self.fd)
                    self.fd = -1
                confined.rename(folder, self.temp, folder, name, self.overwrite)
                st = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except BaseException:
            self.abort()
            raise
        self.loc.close()
        return rules.public(rules.entry(self.domain, self.names, st))

    def close(self) -> None:
        """Stop writing but keep the data (a resumable upload between requests)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.loc.close()

    def abort(self) -> None:
        """Remove what was written; nothing is left behind."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.loc.folder >= 0 and self.loc._fds:
            try:
                if self.folder_copy:
                    confined.remove_tree(self.loc.folder, self.temp)
                else:
                    os.unlink(self.temp, dir_fd=self.loc.folder)
            except FileNotFoundError:
                pass
        self.loc.close()
