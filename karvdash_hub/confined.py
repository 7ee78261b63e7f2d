"""File system operations confined to a root, openat-style (blocking: run in a thread).

Every path is walked one name at a time from an open descriptor of the root, each step
``openat(..., O_NOFOLLOW)``: nothing is ever looked up by a full path string, so a
folder swapped for a symbolic link between a check and a use cannot lead anywhere the
walk did not check. Symbolic links are followed the way ``openat2(RESOLVE_BENEATH)``
would: a relative target is walked from the link's folder and may not climb above the
root; an absolute target (which means something inside a container, not here), or one
that climbs out, is refused with ``outside-domain``. The last name of a path is
returned unresolved when it is not a link (:func:`locate`) and opened with
``O_NOFOLLOW``, so a link swapped in at the last moment is refused, not followed.

Every ``OSError`` becomes the API's error (:func:`api_error`): the reason says what was
wrong (``not-found``, ``not-a-folder``, ``insufficient-storage`` for a full disk or an
exceeded quota, ...) and the message names the path as the user wrote it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import stat
from collections import deque
from dataclasses import dataclass, field

from .errors import ApiError
from .rules import files as rules

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
MAX_LINKS = 40  # as the kernel's own limit


def api_error(err: OSError, where: str) -> ApiError:
    """What an OSError about ``where`` (the path as the user named it) means."""
    code = err.errno
    shown = where or "the folder"
    if code == errno.ENOENT:
        return ApiError("not-found", f"there is no {shown}")
    if code == errno.ENOTDIR:
        return ApiError("not-a-folder", f"{shown}: a part of this path is not a folder")
    if code == errno.EISDIR:
        return ApiError("is-a-folder", f"{shown} is a folder")
    if code == errno.EEXIST:
        return ApiError("file-exists", f"{shown} exists; choose another name or replace it")
    if code == errno.ENOTEMPTY:
        return ApiError("folder-not-empty", f"{shown} is a folder that is not empty")
    if code in (errno.ENOSPC, errno.EDQUOT):
        return ApiError(
            "insufficient-storage",
            f"no space left for {shown} (the disk is full or the quota is used up);"
            " free some space and try again",
        )
    if code in (errno.EACCES, errno.EPERM):
        return ApiError("permission-denied", f"{shown}: permission denied")
    if code == errno.EROFS:
        return ApiError("permission-denied", f"{shown}: the storage is read-only")
    if code == errno.ENAMETOOLONG:
        return ApiError("bad-path", f"{shown}: the name or path is too long")
    if code == errno.ELOOP:
        return ApiError("outside-domain", f"{shown}: too many symbolic links")
    if code == errno.EXDEV:
        return ApiError("bad-request", f"{shown}: cannot move across storage devices")
    return ApiError("server-error", f"{shown}: {os.strerror(code or 0)}")


@contextlib.contextmanager
def errors_as_api(where: str):
    try:
        yield
    except OSError as err:
        raise api_error(err, where) from None


def outside(where: str) -> ApiError:
    return ApiError(
        "outside-domain",
        f"{where} is a symbolic link that leads outside its domain; only links inside it"
        " (relative ones) are followed",
    )


@dataclass
class Location:
    """A resolved path: the open descriptor of the folder that holds ``name`` (the root's
    when ``name`` is None: the location is the root itself). Close it (a context manager)."""

    folder: int
    name: str | None
    _fds: list[int] = field(default_factory=list)

    def close(self):
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def lstat(self) -> os.stat_result:
        if self.name is None:
            return os.fstat(self.folder)
        return os.stat(self.name, dir_fd=self.folder, follow_symlinks=False)


def open_root(root: str) -> int:
    return os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def locate(root_fd: int, names: tuple[str, ...], where: str, follow_last: bool = True) -> Location:
    """Walk ``names`` beneath ``root_fd``: the folder holding the last name, and that name
    (a link there is followed when ``follow_last``, else left as it is). The folders on the
    way must exist (``not-found``), be folders (``not-a-folder``) and stay beneath the root."""
    stack = [os.dup(root_fd)]
    pending = deque(names)
    hops = 0
    try:
        while pending:
            name = pending.popleft()
            if name in ("", "."):
                continue
            if name == "..":
                if len(stack) == 1:
                    raise outside(where)
                os.close(stack.pop())
                continue
            last = not pending
            try:
                st = os.stat(name, dir_fd=stack[-1], follow_symlinks=False)
            except FileNotFoundError:
                if last:
                    return Location(stack[-1], name, stack)
                raise
            if stat.S_ISLNK(st.st_mode) and (follow_last or not last):
                hops += 1
                if hops > MAX_LINKS:
                    raise outside(where)
                try:
                    target = os.readlink(name, dir_fd=stack[-1])
                except OSError as err:
                    if err.errno != errno.EINVAL:
                        raise
                    pending.appendleft(name)  # no longer a link: look again
                    continue
                if target.startswith("/"):
                    raise outside(where)
                pending.extendleft(reversed([p for p in target.split("/") if p not in ("", ".")]))
                continue
            if last:
                return Location(stack[-1], name, stack)
            if not stat.S_ISDIR(st.st_mode):
                raise OSError(errno.ENOTDIR, "not a folder")
            try:
                stack.append(os.open(name, DIR_FLAGS, dir_fd=stack[-1]))
            except OSError as err:
                # a folder when looked at, replaced since (by a link: ELOOP, or ENOTDIR
                # with O_DIRECTORY): look again
                if err.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                    raise
                pending.appendleft(name)
                hops += 1
                if hops > MAX_LINKS:
                    raise outside(where) from None
                continue
        # the path was only the root, or ended on '..' or a link to a folder
        return Location(stack[-1], None, stack)
    except BaseException:
        for fd in stack:
            os.close(fd)
        raise


def open_folder(loc: Location) -> int:
    """A new descriptor of the folder at ``loc`` (not a link: O_NOFOLLOW)."""
    if loc.name is None:
        return os.dup(loc.folder)
    return os.open(loc.name, DIR_FLAGS, dir_fd=loc.folder)


def open_file(loc: Location) -> tuple[int, os.stat_result]:
    """An open descriptor of the regular file at ``loc`` and its stat (O_NOFOLLOW and
    O_NONBLOCK: a link or a FIFO swapped in cannot redirect or block the read)."""
    if loc.name is None:
        raise OSError(errno.EISDIR, "is a folder")
    fd = os.open(loc.name, READ_FLAGS, dir_fd=loc.folder)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise OSError(errno.EISDIR, "is a folder")
        if not stat.S_ISREG(st.st_mode):
            raise ApiError("not-a-file", "this is not a regular file (a device, FIFO or socket)")
        os.set_blocking(fd, True)
        return fd, st
    except BaseException:
        os.close(fd)
        raise


def make_folders(root_fd: int, names: tuple[str, ...], where: str, owner=None) -> Location:
    """Like :func:`locate` for the folder that will hold ``names[-1]``, making the missing
    folders on the way (owned by ``owner``, mode 0755)."""
    for depth in range(1, len(names)):
        with locate(root_fd, names[:depth], where) as loc:
            if loc.name is None:  # a link to a folder above: it exists
                continue
            try:
                os.mkdir(loc.name, 0o755, dir_fd=loc.folder)
                chown_at(loc.folder, loc.name, owner)
            except FileExistsError:
                pass
    return locate(root_fd, names, where)


def chown_at(folder: int, name: str, owner) -> None:
    if owner:
        os.chown(name, owner[0], owner[1], dir_fd=folder, follow_symlinks=False)


# renameat2(RENAME_NOREPLACE): a move that fails with EEXIST instead of replacing
_RENAME_NOREPLACE = 1
_libc = ctypes.CDLL(None, use_errno=True)
_renameat2 = _libc.renameat2  # glibc 2.28 and later


def rename(src_dir: int, src: str, dst_dir: int, dst: str, replace: bool) -> None:
    if replace:
        os.rename(src, dst, src_dir_fd=src_dir, dst_dir_fd=dst_dir)
        return
    result = _renameat2(
        src_dir, os.fsencode(src), dst_dir, os.fsencode(dst), ctypes.c_uint(_RENAME_NOREPLACE)
    )
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def copy_data(src: int, dst: int, size: int) -> None:
    """Copy ``size`` bytes between open files in the kernel (reflinks where the
    filesystem can), falling back to reads and writes."""
    copied = 0
    try:
        while copied < size:
            done = os.copy_file_range(src, dst, min(size - copied, 1 << 30))
            if done == 0:
                break
            copied += done
        return
    except OSError as err:
        if err.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
    os.lseek(src, copied, os.SEEK_SET)
    os.lseek(dst, copied, os.SEEK_SET)
    while chunk := os.read(src, 1 << 20):
        os.write(dst, chunk)


def copy_tree(src_fd: int, dst_fd: int, owner=None) -> None:
    """Copy the regular files and folders of the folder ``src_fd`` into the (empty) folder
    ``dst_fd``; links, special files and the dashboard's temporary names (uploads in
    progress, and so the copy itself when it is made inside what it copies) are left
    out. Descriptors only, never paths."""
    for entry in os.scandir(src_fd):
        if rules.is_hidden_work(entry.name):  # uploads in progress, and this very copy
            continue
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            os.mkdir(entry.name, 0o755, dir_fd=dst_fd)
            chown_at(dst_fd, entry.name, owner)
            sub_src = os.open(entry.name, DIR_FLAGS, dir_fd=src_fd)
            try:
                sub_dst = os.open(entry.name, DIR_FLAGS, dir_fd=dst_fd)
                try:
                    copy_tree(sub_src, sub_dst, owner)
                finally:
                    os.close(sub_dst)
            finally:
                os.close(sub_src)
        elif stat.S_ISREG(st.st_mode):
            try:
                fd = os.open(entry.name, READ_FLAGS, dir_fd=src_fd)
            except OSError as err:
                if err.errno == errno.ELOOP:  # became a link: left out
                    continue
                raise
            try:
                out = os.open(
                    entry.name,
                    os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                    0o644,
                    dir_fd=dst_fd,
                )
                try:
                    copy_data(fd, out, os.fstat(fd).st_size)
                    if owner:
                        os.fchown(out, *owner)
                finally:
                    os.close(out)
            finally:
                os.close(fd)


def remove_tree(folder: int, name: str) -> None:
    """Remove the folder ``name`` of ``folder`` and everything in it (never following
    links: shutil's descriptor-based removal)."""
    shutil.rmtree(name, dir_fd=folder)
