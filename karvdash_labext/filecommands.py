"""karvdashctl's file commands: ``ls``, ``get``, ``put``, ``mkdir``, ``mv``, ``cp``, ``rm``.

Remote paths are written as containers see them: ``/private/...`` (your folder, or with
``--user`` another user's, for admins) and ``/shared/...`` (everyone's). Anything else is
an error that says so, before any request; so is a ``..`` in a remote path. A remote path
that ends with ``/`` (or a domain's root) is a folder to put things into: ``put a.csv
/shared/team/`` writes ``/shared/team/a.csv``, ``mv /private/a.txt /private/old/`` moves
it into ``old``; without the ``/`` it is the new name.

``put`` uploads files, and folders with everything in them, making the folders it needs
(large files go in resumable chunks: :mod:`karvdash_labext.files`); it replaces existing
files only with ``-f``. ``get`` downloads a file, or a folder as an archive (zip unless
``--format tar.gz``), under the name the server gives unless ``-o`` names the file (or a
folder to put it in); nothing is left of an interrupted download.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from .api import KarvdashError
from .command import Command, arg, table
from .files import Transfers, join

DOMAINS = ("private", "shared")
REMOTE = "a path in /private or /shared, as in containers"


@dataclass(frozen=True)
class Remote:
    """A remote path: its domain, its path in it ("" for the root), and whether it was
    written as a folder to put things into (a trailing ``/``, or a root)."""

    domain: str
    path: str
    folder: bool

    def into(self, name: str) -> str:
        """Where a thing called ``name`` goes when this is its destination."""
        return join(self.path, name) if self.folder else self.path

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name or self.domain


def remote(text: str) -> Remote:
    """``/private/a/b`` or ``/shared/...`` as a :class:`Remote`, or a KarvdashError."""
    domain, _, rest = text.lstrip("/").partition("/")
    if not text.startswith("/") or domain not in DOMAINS:
        raise KarvdashError(
            0,
            "bad-path",
            f"{text!r} is not a Karvdash path: write /private/... (your files) or"
            " /shared/... (everyone's), as containers see them",
        )
    names = [name for name in rest.split("/") if name not in ("", ".")]
    if ".." in names:
        raise KarvdashError(0, "bad-path", f"'..' is not allowed in a Karvdash path: {text!r}")
    return Remote(domain, "/".join(names), text.endswith("/") or not names)


def at(text: str) -> dict[str, str]:
    """The ``domain`` and ``path`` arguments of an operation for a remote path."""
    where = remote(text)
    return {"domain": where.domain, "path": where.path}


def shown(entry: dict) -> str:
    """An entry's remote path, as written on the command line."""
    path = "/" + join(entry["domain"], entry.get("path") or "")
    return path + "/" if entry.get("type") == "folder" else path


def size(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""  # not reached


def when(stamp: str | None) -> str:
    """A time of the API, in this machine's time zone, to the minute."""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return stamp or ""


def show_listing(entry: dict) -> str:
    """A folder's entries (or a file's own), as a table: type, size, modified, name."""
    entries = entry.get("entries", []) if entry["type"] == "folder" else [entry]
    if not entries:
        return f"{shown(entry)} is empty"
    rows = [
        {
            "type": e["type"],
            "size": "" if e["type"] == "folder" else size(e.get("size")),
            "modified": when(e.get("modified")),
            "name": e["name"] + ("/" if e["type"] == "folder" else ""),
        }
        for e in entries
    ]
    columns = [("type", "TYPE"), ("size", "SIZE"), ("modified", "MODIFIED"), ("name", "NAME")]
    lines = [table(rows, columns)]
    rest = entry.get("total", 0) - entry.get("offset", 0) - len(entries)
    if entry["type"] == "folder" and rest > 0:
        lines.append(f"... {rest} more: --offset {entry.get('offset', 0) + len(entries)}")
    return "\n".join(lines)


def put_paths(client: Transfers, sources: list[str], target: str, overwrite=False, user=None):
    """Upload files and folders to ``target`` (a folder when there are several): the
    entries of the files uploaded and the folders made."""
    where = remote(target)
    if len(sources) > 1:
        where = Remote(where.domain, where.path, True)
    for source in sources:
        os.stat(source)  # all there, before anything is sent
    made = []
    for source in sources:
        path = where.into(Path(source).resolve().name)
        try:
            if Path(source).is_dir():
                made += client.put_folder(
                    source, where.domain, path, overwrite=overwrite, user=user
                )
            else:
                entry = client.put(
                    source, where.domain, path, overwrite=overwrite, parents=True, user=user
                )
                made.append(entry)
        except KarvdashError as err:
            if err.reason == "is-a-folder" and not where.folder:
                err.message += f" (to put it into that folder, write {target}/)"
            raise
    return made


def show_put(made: list[dict]) -> str:
    return "\n".join(
        f"uploaded {shown(e)} ({size(e.get('size'))})"
        if e["type"] == "file"
        else f"made {shown(e)}"
        for e in made
    )


def moving(source: str, target: str, **more) -> dict:
    """The arguments of a move or copy from ``source`` to ``target``."""
    frm, to = remote(source), remote(target)
    return {"domain": frm.domain, "path": frm.path, "to": to.into(frm.name), **more}


def move_inputs(a) -> dict:
    if remote(a.source).domain != remote(a.target).domain:
        raise KarvdashError(
            0,
            "bad-argument",
            "mv moves within /private or within /shared: to move between them, cp then rm",
        )
    return moving(a.source, a.target, overwrite=a.force)


FORCE = arg("-f", "--force", action="store_true", help="replace what is there")

FILE_COMMANDS = (
    Command(
        "ls",
        help="list a folder of /private or /shared",
        description="List a folder, or show a file, of /private or /shared"
        " (e.g. 'ls /private/data'): type, size, modified, name.",
        operation="stat_file",
        arguments=(
            arg("path", nargs="?", default="/private", help=REMOTE + " (default /private)"),
            arg("--sort", choices=("name", "size", "modified", "type"), help="(folders first)"),
            arg("--reverse", action="store_true", help="in descending order"),
            arg("--offset", type=int, help="skip this many entries"),
            arg("--limit", type=int, help="list at most this many (default 1000)"),
        ),
        inputs=lambda a: {
            **at(a.path),
            "sort": a.sort,
            "order": "desc" if a.reverse else None,
            "offset": a.offset,
            "limit": a.limit,
        },
        show=show_listing,
    ),
    Command(
        "get",
        help="download a file, or a folder as an archive",
        description="Download a file, or a folder as a zip or tar.gz archive"
        " (e.g. 'get /private/data/ -o data.zip').",
        operation="download_file",
        arguments=(
            arg("path", help=REMOTE),
            arg("-o", "--output", help="a file, or a folder to put it in (default: here)"),
            arg("--format", choices=("zip", "tar.gz"), help="a folder's archive (default zip)"),
        ),
        inputs=lambda a: {**at(a.path), "local_path": a.output, "format": a.format},
        run=Transfers.get,
        result=lambda a, r: {"remote": a.path, **r},
        show=lambda r: f"downloaded {r['remote']} to {r['path']} ({size(r['size'])})",
    ),
    Command(
        "put",
        help="upload files or folders",
        description="Upload files, and folders with everything in them, making the folders"
        " needed (e.g. 'put results.csv /shared/team/': a destination ending with / is a"
        " folder to put them into).",
        operation="upload_file",
        arguments=(
            arg("local", nargs="+", help="files or folders on this machine"),
            arg("path", help=REMOTE),
            FORCE,
        ),
        inputs=lambda a: {"sources": a.local, "target": a.path, "overwrite": a.force},
        run=put_paths,
        show=show_put,
    ),
    Command(
        "mkdir",
        help="make a folder",
        description="Make a folder in /private or /shared (e.g. 'mkdir -p /private/a/b').",
        operation="make_folder",
        arguments=(
            arg("path", help=REMOTE),
            arg("-p", "--parents", action="store_true", help="make missing parents, if any"),
        ),
        inputs=lambda a: {**at(a.path), "parents": a.parents},
        show=lambda e: f"made {shown(e)}",
    ),
    Command(
        "mv",
        help="move or rename a file or folder",
        description="Move or rename a file or folder within /private or within /shared"
        " (e.g. 'mv /private/a.txt /private/old/').",
        operation="move_file",
        arguments=(arg("source", help=REMOTE), arg("target", help=REMOTE), FORCE),
        inputs=move_inputs,
        show=lambda e: f"moved to {shown(e)}",
    ),
    Command(
        "cp",
        help="copy a file or folder",
        description="Copy a file or a whole folder, also between /private and /shared"
        " (e.g. 'cp /private/a.txt /shared/').",
        operation="copy_file",
        arguments=(arg("source", help=REMOTE), arg("target", help=REMOTE), FORCE),
        inputs=lambda a: moving(
            a.source, a.target, to_domain=remote(a.target).domain, overwrite=a.force
        ),
        show=lambda e: f"copied to {shown(e)}",
    ),
    Command(
        "rm",
        help="remove a file, or a folder with -r",
        description="Remove a file, or a folder (one that is not empty only with -r,"
        " e.g. 'rm -r /private/old').",
        operation="delete_file",
        arguments=(
            arg("path", help=REMOTE),
            arg("-r", "--recursive", action="store_true", help="a folder and all it holds"),
        ),
        inputs=lambda a: {**at(a.path), "recursive": a.recursive},
        result=lambda a, _: {"removed": a.path},
        show=lambda r: f"removed {r['removed']}",
    ),
)
