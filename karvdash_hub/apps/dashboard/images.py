"""``api/images`` and ``api/images/{image}``: the users' container images.

``{image}`` is a repository (``alice/hello``, its ``/`` not encoded) or a repository and
a tag (``alice/hello:1``). GET lists or describes, PUT uploads an archive as name:tag (the
body streamed to a file of the dashboard's work folder, checked whole, then pushed),
DELETE removes a tag's image or a whole repository. The work is
:class:`~karvdash_hub.imagestore.ImageStore`'s; this module speaks HTTP.
"""

from __future__ import annotations

import contextlib
import os

from tornado import web

from ...errors import ApiError
from ...imagestore import ImageStore
from ...rules import files as file_rules
from ...rules import registry as rules
from .base import DashboardHandler, StreamedBody


class ImagesBase(DashboardHandler):
    @property
    def images(self) -> ImageStore:
        return self.settings["images"]

    async def identity(self) -> rules.Identity:
        me = self.current_user
        return rules.Identity(me["name"], admin=await self.settings["hub_users"].is_admin(me))

    def reference(self, image: str) -> tuple[str, str | None]:
        try:
            return rules.split_image(image)
        except rules.RegistryError as err:
            raise ApiError("bad-reference", str(err)) from None


class ImagesHandler(ImagesBase):
    async def get(self):
        self.reply(await self.images.list(await self.identity()))


@web.stream_request_body
class ImageHandler(ImagesBase, StreamedBody):
    fd: int | None = None
    path: str | None = None
    target: tuple[str, str] | None = None

    async def start(self):
        if self.request.method != "PUT":
            return
        length = self.request.headers.get("Content-Length")
        size = int(length) if file_rules.is_number(length) else None
        self.request.connection.set_max_body_size(self.images.max_archive_bytes)
        self.target = self.images.check_push(await self.identity(), self.path_args[0], size)
        self.fd, self.path = self.images.new_file()
        self.received = 0

    def write_piece(self, piece: bytes) -> None:
        self.received += len(piece)
        if self.received > self.images.max_archive_bytes:
            raise ApiError(
                "too-large",
                f"an image archive may have {self.images.max_archive_bytes} bytes at most",
            )
        view = memoryview(piece)
        while view:
            try:
                written = os.write(self.fd, view)
            except OSError as err:
                raise ApiError(
                    "insufficient-storage", f"the dashboard cannot keep the archive ({err})"
                ) from None
            view = view[written:]

    async def data_received(self, chunk: bytes):
        if self._finished or self.dropped(chunk) or self.fd is None:
            return
        await self.receive(self.write_piece, chunk)

    def _forget(self):
        fd, path, self.fd, self.path = self.fd, self.path, None, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    async def get(self, image):
        repository, tag = self.reference(image)
        self.reply(await self.images.describe(await self.identity(), repository, tag))

    async def put(self, image):
        if self.failed:
            raise self.failed
        os.close(self.fd)
        self.fd = None
        repository, tag = self.target
        try:
            pushed = await self.images.push(await self.identity(), self.path, repository, tag)
        finally:
            self._forget()
        self.reply(pushed, status=201)

    async def delete(self, image):
        repository, tag = self.reference(image)
        self.reply(await self.images.delete(await self.identity(), repository, tag))


default_handlers = [(r"images", ImagesHandler), (r"images/(.+)", ImageHandler)]
