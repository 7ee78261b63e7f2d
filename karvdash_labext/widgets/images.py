"""``Images``: the container images of the users' registry that the user may pull, push
and delete.

Rules:

- The list is the API's (``list_images``): one row per tag, named as a template writes it
  (``$REGISTRY/alice/hello:1``), with a Delete button that asks first where the user may
  delete it. Deleting a tag deletes the image it names, and so every tag of that image.
- An image archive (``docker save``'s tarball or an OCI archive) goes up from the browser
  (an upload button; JupyterLab's websocket takes at most 10 MiB at once by default) or
  from a path in the notebook's file system (any size, read as it is sent), as the
  ``name:tag`` given, with a progress bar of the bytes sent. The name is checked before
  anything is sent.
- When the installation has no registry (the API answers 404 ``no-registry``) the widget
  says that images are not available here, and ``available`` is False.
"""

from __future__ import annotations

import io
import os
from typing import IO

import ipywidgets as w

from ..client import KarvdashClient, KarvdashError
from ..images import reference
from .base import (
    ERROR,
    GOOD,
    MUTED,
    Background,
    Confirm,
    Meter,
    View,
    cell,
    client_of,
    close_tree,
    escaped,
    grid,
    message_of,
    plain,
    readable,
    size_text,
    span,
)

GRID = "minmax(16em, 3fr) minmax(6em, 1fr) auto"


class Images(View):
    """Container images: ``Images()`` in a notebook lists the images you may pull and
    pushes archives.

    From Python: ``list()`` (the repositories ``{"name", "owner", "tags", "can_push",
    "can_delete"}``, shown), ``push(source, "name:tag")`` (an archive's path, bytes or
    binary file: the API's answer), ``delete("name:tag")``; ``available`` (False when the
    installation has no registry), ``registry`` and ``namespace`` (your repositories'
    first part)."""

    def __init__(self, client: KarvdashClient | None = None):
        self.client = client_of(client)
        self.background = Background()
        self.available = True
        self.registry, self.namespace = "", ""
        self.repositories: list[dict] = []
        self.refresh_button = w.Button(description="Refresh", icon="refresh", layout=plain())
        self.about = w.HTML()
        self.listing = w.GridBox(layout=grid(GRID))
        self.uploader = w.FileUpload(
            accept=".tar,.tar.gz,.tgz",
            multiple=False,
            description="Archive",
            icon="upload",
            tooltip="An archive from this computer, about 10 MB at most (JupyterLab's limit);"
            " larger: its path in the notebook's files",
        )
        self.source = w.Text(
            placeholder="or its path here, e.g. app.tar", layout=w.Layout(width="18em")
        )
        self.image_name = w.Text(
            description="as",
            placeholder="name:tag",
            style={"description_width": "2em"},
            layout=w.Layout(width="18em"),
        )
        self.push_button = w.Button(
            description="Push", icon="upload", button_style="primary", layout=plain()
        )
        self.meter = Meter()
        self.status = w.HTML()
        super().__init__(
            [
                w.HBox([self.refresh_button, self.about]),
                self.listing,
                w.HBox([self.uploader, self.source, self.image_name, self.push_button]),
                self.meter,
                self.status,
            ]
        )
        self.refresh_button.on_click(lambda _: self._refresh_later())
        self.push_button.on_click(lambda _: self._push_form())
        try:
            self.list()
        except KarvdashError as err:
            if err.reason != "no-registry":
                self.status.value = span(message_of(err), ERROR)

    # -- the Python API

    def list(self) -> list[dict]:
        """Ask the API for the repositories you may pull, show them and return them."""
        try:
            answer = self.client.list_images()
        except KarvdashError as err:
            if err.reason == "no-registry":
                self._unavailable(err)
            raise
        self._show(answer)
        return self.repositories

    def push(
        self,
        source: str | os.PathLike | bytes | memoryview | IO[bytes],
        image: str,
        progress=None,
    ) -> dict:
        """Push the image archive ``source`` as ``image`` (``name:tag``, e.g.
        ``alice/app:1``), calling ``progress(sent, total)`` as it goes: the API's answer."""
        reference(image, need_tag=True)
        answer = self.client.push_image(readable(source), image, progress=progress)
        self._reload()
        return answer

    def delete(self, image: str) -> dict:
        """Delete the tag ``image`` (``name:tag``) with the image it names, or a whole
        repository (``name``): the API's answer."""
        answer = self.client.delete_image(image)
        self._reload()
        return answer

    # -- the view

    def _show(self, answer: dict) -> None:
        self.registry = answer.get("registry", "")
        self.namespace = answer.get("namespace", "")
        self.repositories = answer.get("repositories", [])
        self.image_name.placeholder = f"{self.namespace}/app:1" if self.namespace else "name:tag"
        self.about.value = span(
            f"In templates, write $REGISTRY/<name>:<tag> ($REGISTRY is {self.registry}); "
            f"your images are named {self.namespace}/..."
        )
        for widget in self.listing.children:
            close_tree(widget)
        cells: list[w.Widget] = []
        for repository in self.repositories:
            for tag in repository.get("tags", []):
                cells += self._row(repository, tag)
        if not cells:
            cells = [cell(span("No images yet: push an archive below.")), cell(), cell()]
        self.listing.children = cells

    def _row(self, repository: dict, tag: str) -> list[w.Widget]:
        image = f"{repository['name']}:{tag}"
        name = cell(f"<code>$REGISTRY/{escaped(image)}</code>")
        owner = cell(span(repository.get("owner", "")))
        if not repository.get("can_delete"):
            return [name, owner, cell()]
        question = f"Delete {image} (and every tag of the same image)?"
        return [name, owner, Confirm("Delete", question, lambda: self._delete(image), "trash")]

    def _unavailable(self, err: KarvdashError) -> None:
        self.available = False
        for child in self.children:
            close_tree(child)
        self.children = (
            w.HTML(span(f"Container images are not available here: {err.message}", MUTED)),
        )

    def _reload(self) -> None:
        try:
            self.list()
        except KarvdashError as err:
            self.status.value = span(message_of(err), ERROR)

    def _refresh_later(self) -> None:
        self.background.run(
            self.client.list_images,
            busy=[self.refresh_button],
            status=self.status,
            done=self._show,
        )

    def _push_form(self) -> None:
        image = self.image_name.value.strip()
        chosen = list(self.uploader.value)
        path = os.path.expanduser(self.source.value.strip())
        try:
            reference(image, need_tag=True)
            if chosen:
                content, what = chosen[0]["content"], chosen[0]["name"]
                body, total = io.BytesIO(content), len(content)
            elif path:
                body, total, what = path, os.stat(path).st_size, path
            else:
                raise KarvdashError(
                    0, "no-archive", "choose an archive (Archive) or write its path, then Push"
                )
        except (KarvdashError, OSError) as err:
            self.status.value = span(message_of(err), ERROR)
            return
        self.meter.start(total, f"Sending {what}")
        progress = self.meter.callback()

        def work():
            answer = self.client.push_image(body, image, progress=progress)
            return answer, self.client.list_images()

        def finish(result=None, err=None):
            self.meter.stop()
            if err is not None:
                self.status.value = span(f"{image} was not pushed: {message_of(err)}", ERROR)
                return
            answer, listed = result
            self.uploader.value = ()
            self.source.value = ""
            self._show(listed)
            blobs = answer.get("blobs") or {}
            sent = f" ({blobs.get('sent')} of {blobs.get('total')} blobs sent)" if blobs else ""
            self.status.value = span(f"Pushed {image}{sent}, {size_text(total)}.", GOOD)

        self.background.run(
            work,
            busy=[self.push_button, self.uploader],
            status=self.status,
            doing=f"Pushing {image}…",
            done=finish,
            failed=lambda err: finish(err=err),
        )

    def _delete(self, image: str) -> None:
        def work():
            answer = self.client.delete_image(image)
            return answer, self.client.list_images()

        def done(result):
            answer, listed = result
            self._show(listed)
            gone = ", ".join(answer.get("tags") or [image])
            self.status.value = span(f"Deleted {gone}.", MUTED)

        self.background.run(work, status=self.status, doing=f"Deleting {image}…", done=done)
