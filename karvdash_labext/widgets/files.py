"""``Files``: browse, upload to, download from and organize ``/private`` and ``/shared``.

Rules:

- A path is written as in a container: ``/private/...`` (the user's own files) or
  ``/shared/...`` (everyone's); anything else is refused (KarvdashError ``bad-path``)
  before any request.
- The view shows one folder: a domain toggle, the path as a breadcrumb (each part opens
  it), ``..``, folders that open when clicked, files as download links, a Delete button
  per entry that asks first (a folder goes with everything in it), a new-folder field and
  an upload button.
- A download link points to the dashboard's files API as the browser sees it
  (``{JUPYTERHUB_BASE_URL}services/karvdash/api/files/<domain>/<path>?download=1``): the
  browser's own login to the dashboard fetches it; no token is in the page.
- Files chosen in the browser arrive in the kernel with the widget's state (JupyterLab's
  websocket takes at most 10 MiB at once by default); they go up to the current folder
  one after the other, with a progress bar of the bytes sent. Larger files: ``upload(name,
  path)`` from the notebook's file system, or ``karvdashctl put``.
"""

from __future__ import annotations

import io
import os
from pathlib import PurePosixPath
from typing import IO
from urllib.parse import urlencode

import ipywidgets as w

from ..api import describe
from ..client import KarvdashClient, KarvdashError
from ..files import join
from .base import (
    ERROR,
    MUTED,
    Background,
    Confirm,
    Meter,
    View,
    browser_api_url,
    cell,
    client_of,
    close_tree,
    grid,
    link,
    message_of,
    plain,
    readable,
    size_text,
    span,
)

DOMAINS = ("private", "shared")
LARGER = (
    "Upload takes about 10 MB at once from the browser; for larger files, run"
    " Files().upload(name, path) in a cell, or karvdashctl put in a terminal."
)
GRID = "minmax(14em, 3fr) minmax(6em, 1fr) minmax(10em, 1.2fr) auto"


def split(path: str) -> tuple[str, str]:
    """``/private/a/b`` -> ``("private", "a/b")``; ``/shared`` -> ``("shared", "")``."""
    parts = [p for p in str(path).split("/") if p]
    if not parts or parts[0] not in DOMAINS:
        raise KarvdashError(
            0,
            "bad-path",
            f"{path!r} is not in a file domain: write /private/... (your files) or"
            " /shared/... (everyone's)",
        )
    return parts[0], "/".join(parts[1:])


def absolute(domain: str, path: str) -> str:
    return "/" + join(domain, path)


def parent(path: str) -> str:
    """The folder of a domain-relative path ("" for the domain's root)."""
    folder = str(PurePosixPath(path).parent)
    return "" if folder == "." else folder


class Files(View):
    """The user's files: ``Files()`` (or ``Files("/shared/data")``) in a notebook shows a
    folder of ``/private`` or ``/shared``.

    From Python: ``list(path)`` (open a folder: its entries), ``upload(name, data_or_path,
    folder=None)``, ``delete(path)``, ``mkdir(path)``, ``download_url(path)``,
    ``browse(path)`` (open it in the view without waiting); ``path`` is the folder shown."""

    def __init__(
        self,
        client: KarvdashClient | None = None,
        path: str = "/private",
        base_url: str | None = None,
    ):
        self.client = client_of(client)
        self.api_url = browser_api_url(base_url)
        self.background = Background()
        self.domain, self.folder = split(path)
        self.entries: list[dict] = []
        self.domains = w.ToggleButtons(options=[(f"/{d}", d) for d in DOMAINS], value=self.domain)
        self.refresh_button = w.Button(description="Refresh", icon="refresh", layout=plain())
        self.crumbs = w.HBox()
        self.listing = w.GridBox(layout=grid(GRID))
        self.uploader = w.FileUpload(
            multiple=True,
            description="Upload",
            icon="upload",
            tooltip="Files from this computer, about 10 MB at once at most (JupyterLab's limit)",
        )
        self.folder_name = w.Text(placeholder="new folder", layout=w.Layout(width="14em"))
        self.mkdir_button = w.Button(description="New folder", icon="folder", layout=plain())
        self.meter = Meter()
        self.status = w.HTML()
        super().__init__(
            [
                w.HBox([self.domains, self.refresh_button]),
                self.crumbs,
                self.listing,
                w.HBox([self.uploader, self.folder_name, self.mkdir_button]),
                w.HTML(span(LARGER)),
                self.meter,
                self.status,
            ]
        )
        self.domains.observe(self._domain_chosen, names="value")
        self.refresh_button.on_click(lambda _: self.browse(self.path))
        self.uploader.observe(self._chosen, names="value")
        self.mkdir_button.on_click(lambda _: self._mkdir_form())
        try:
            self.list(path)
        except Exception as err:
            self.status.value = span(message_of(err), ERROR)

    @property
    def path(self) -> str:
        """The folder shown, e.g. ``/private/data``."""
        return absolute(self.domain, self.folder)

    # -- the Python API

    def list(self, path: str | None = None) -> list[dict]:
        """Open the folder ``path`` (the one shown if None): its entries ``{"name",
        "type", "size", "modified", ...}``."""
        domain, folder = split(path or self.path)
        answer = self.client.stat_file(domain, folder)
        self._show(domain, folder, answer)
        return answer.get("entries", [])

    def upload(
        self,
        name: str,
        data_or_path: bytes | memoryview | str | os.PathLike | IO[bytes],
        folder: str | None = None,
        overwrite: bool = False,
    ) -> dict:
        """Upload ``data_or_path`` (bytes, or a file of the notebook's file system) as
        ``name`` into ``folder`` (the one shown if None): the new file's entry."""
        domain, path = self._target(name, folder)
        entry = self.client.put(readable(data_or_path), domain, path, overwrite=overwrite)
        self._reload_if_shown(domain, path)
        return entry

    def delete(self, path: str, recursive: bool = False) -> None:
        """Delete a file, or a folder (one that is not empty only if ``recursive``)."""
        domain, rel = split(path)
        if not rel:
            raise KarvdashError(0, "bad-path", f"{path} is a domain: delete what is in it")
        self.client.delete_file(domain, rel, recursive=recursive)
        self._reload_if_shown(domain, rel)

    def mkdir(self, path: str, parents: bool = False) -> dict:
        """Make the folder ``path`` (with ``parents``, the missing ones too): its entry."""
        domain, rel = split(path)
        entry = self.client.make_folder(domain, rel, parents=parents)
        self._reload_if_shown(domain, rel)
        return entry

    def download_url(self, path: str) -> str:
        """Where the browser downloads ``path`` (a folder: as a zip archive)."""
        domain, rel = split(path)
        call = describe("download_file", domain, rel, None)
        return f"{self.api_url}{call.path}?{urlencode(call.query)}"

    # -- the view

    def browse(self, path: str) -> None:
        """Open the folder ``path`` in the view, without waiting for the API."""
        domain, folder = split(path)
        self.background.run(
            lambda: self.client.stat_file(domain, folder),
            busy=[self.refresh_button],
            status=self.status,
            doing=f"Opening {path}…",
            done=lambda answer: self._show(domain, folder, answer),
        )

    def _show(self, domain: str, folder: str, answer: dict) -> None:
        if answer.get("type") != "folder":
            raise KarvdashError(0, "not-a-folder", f"{absolute(domain, folder)} is not a folder")
        self.domain, self.folder, self.entries = domain, folder, answer.get("entries", [])
        if self.domains.value != domain:
            self.domains.unobserve(self._domain_chosen, names="value")
            self.domains.value = domain
            self.domains.observe(self._domain_chosen, names="value")
        for widget in (*self.crumbs.children, *self.listing.children):
            close_tree(widget)
        self.crumbs.children = self._breadcrumb()
        cells: list[w.Widget] = []
        if folder:
            up = self._folder_button("..", absolute(domain, parent(folder)))
            cells += [up, cell(), cell(), cell()]
        for entry in self.entries:
            cells += self._row(entry)
        more = answer.get("total", len(self.entries)) - len(self.entries)
        if not self.entries:
            cells += [cell(span("This folder is empty.")), cell(), cell(), cell()]
        elif more > 0:
            cells += [cell(span(f"{more} more not shown")), cell(), cell(), cell()]
        self.listing.children = cells

    def _breadcrumb(self) -> list[w.Widget]:
        parts = [p for p in self.folder.split("/") if p]
        crumbs: list[w.Widget] = [self._folder_button(f"/{self.domain}", self.domain)]
        for n, name in enumerate(parts):
            here = join(self.domain, *parts[: n + 1])
            crumbs += [w.HTML(span("/")), self._folder_button(name, here)]
        return crumbs

    def _folder_button(self, label: str, path: str) -> w.Button:
        button = w.Button(description=label, icon="folder", layout=plain(), tooltip=f"Open {label}")
        button.on_click(lambda _: self.browse("/" + path.strip("/")))
        return button

    def _row(self, entry: dict) -> list[w.Widget]:
        path = absolute(self.domain, join(self.folder, entry["name"]))
        folder = entry.get("type") == "folder"
        if folder:
            name = self._folder_button(entry["name"], path)
        else:
            name = cell(link(self.download_url(path), entry["name"]))
        modified = (entry.get("modified") or "")[:16].replace("T", " ")
        question = f"Delete {entry['name']}{' and everything in it' if folder else ''}?"
        delete = Confirm("Delete", question, lambda: self._delete(path, folder), icon="trash")
        size = "" if folder else size_text(entry.get("size"))
        return [name, cell(span(size)), cell(span(modified)), delete]

    def _reload_if_shown(self, domain: str, path: str) -> None:
        if (domain, parent(path)) == (self.domain, self.folder):
            self.list(self.path)

    def _target(self, name: str, folder: str | None) -> tuple[str, str]:
        if not name or PurePosixPath(name).name != name or name in (".", ".."):
            raise KarvdashError(0, "bad-path", f"{name!r} is not a file name (no '/' in it)")
        domain, rel = split(folder or self.path)
        return domain, join(rel, name)

    def _domain_chosen(self, change) -> None:
        self.browse(f"/{change.new}")

    def _chosen(self, change) -> None:
        chosen = list(change.new)
        if not chosen:
            return
        domain, folder = self.domain, self.folder
        total = sum(len(f["content"]) for f in chosen)
        self.meter.start(total, f"Uploading {len(chosen)} file(s)")

        def work():
            sent = 0
            for item in chosen:
                self.client.put(
                    io.BytesIO(item["content"]),
                    domain,
                    join(folder, item["name"]),
                    progress=self.meter.callback(sent),
                )
                sent += len(item["content"])
            return self.client.stat_file(domain, folder)

        def finish(answer=None, err=None):
            self.meter.stop()
            self.uploader.value = ()
            if err is not None:
                self.status.value = span(f"Upload failed: {message_of(err)}", ERROR)
                return
            self._show(domain, folder, answer)
            self.status.value = span(f"Uploaded {', '.join(f['name'] for f in chosen)}.", MUTED)

        self.background.run(
            work,
            busy=[self.uploader, self.mkdir_button],
            status=self.status,
            doing="Uploading…",
            done=finish,
            failed=lambda err: finish(err=err),
        )

    def _mkdir_form(self) -> None:
        name = self.folder_name.value.strip()
        try:
            domain, path = self._target(name, None)
        except KarvdashError as err:
            self.status.value = span(err.message, ERROR)
            return
        folder = self.folder

        def work():
            self.client.make_folder(domain, path)
            return self.client.stat_file(domain, folder)

        def done(answer):
            self.folder_name.value = ""
            self._show(domain, folder, answer)

        self.background.run(
            work, busy=[self.mkdir_button], status=self.status, doing="Making…", done=done
        )

    def _delete(self, path: str, recursive: bool) -> None:
        domain, rel = split(path)
        folder = self.folder

        def work():
            self.client.delete_file(domain, rel, recursive=recursive)
            return self.client.stat_file(domain, folder)

        def done(answer):
            self._show(domain, folder, answer)
            self.status.value = span(f"Deleted {path}.", MUTED)

        self.background.run(work, status=self.status, doing=f"Deleting {path}…", done=done)
