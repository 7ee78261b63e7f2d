"""``api/files/{domain}/{path}``: the file domains, ``private`` (the caller's own folder;
an admin names anyone's with ``?user=``) and ``shared`` (everyone's).

GET describes (a folder with a page of its entries) or, with ``download``, sends the bytes
(a file with Range; a folder as an archive made while it is sent); PUT uploads (the body
streamed to disk); POST makes a folder, moves or copies; DELETE removes. Bodies are
streamed (``stream_request_body``): memory stays at a chunk whatever the size. The work
is :class:`~karvdash_hub.filestore.FileStore`'s, in threads; this module speaks HTTP.
"""

from __future__ import annotations

import asyncio
import os
import threading

from tornado import web
from tornado.iostream import StreamClosedError
from tornado.log import app_log

from ... import archive
from ...errors import ApiError
from ...filestore import FileStore
from ...rules import files as rules
from .base import StreamedBody
from .models import FileAction

CHUNK = 1 << 20
#: the largest upload body: no limit but the disk's
MAX_UPLOAD = 1 << 50
MAX_JSON = 1 << 20


def yes(value: str | None) -> bool:
    return value is not None and value.lower() not in ("0", "false", "no", "")


async def run(function, *args, **kwargs):
    """A FileStore method in a thread; a bad path is the API's ``bad-path``."""
    try:
        return await asyncio.to_thread(function, *args, **kwargs)
    except rules.PathError as err:
        raise ApiError("bad-path", str(err)) from None


class FilesBase(StreamedBody):
    @property
    def store(self) -> FileStore:
        return self.settings["files"]

    def decode_argument(self, value, name=None):
        if value is None:  # an optional part of the route that is not there
            return None
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError("bad-path", "a path must be valid UTF-8 (percent-encoded)") from None

    async def owner_of(self, domain: str, requested: str | None = None) -> str:
        """Whose domain: for ``private`` the caller, or for an admin the user named; a
        non-admin naming someone else gets a 404 (their folder's existence is not told)."""
        try:
            rules.check_domain(domain)
        except rules.PathError as err:
            raise ApiError("not-found", str(err)) from None
        writes = self.request.method not in ("GET", "HEAD")
        try:
            return await self.target_user(requested, writes=writes)
        except ApiError as err:
            if err.reason == "not-yours":
                raise ApiError("not-found", "there is no such folder") from None
            raise

    def download_headers(self, headers: dict[str, str]) -> None:
        for key, value in headers.items():
            self.set_header(key, value)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "sandbox")
        self.set_header("Cache-Control", "private, no-cache")

    async def send(self, piece: bytes) -> bool:
        """Write a piece and wait until it is on its way; False when the reader left."""
        self.write(piece)
        try:
            await self.flush()
        except StreamClosedError:
            return False
        return True


@web.stream_request_body
class FilesHandler(FilesBase):
    upload = None
    body = None

    async def start(self):
        if self.request.method == "PUT":
            self.request.connection.set_max_body_size(MAX_UPLOAD)
            domain, path = self.path_args[0], self.path_args[1] or ""
            user = await self.owner_of(domain)
            length = self.request.headers.get("Content-Length")
            self.upload = await run(
                self.store.begin_upload,
                domain,
                user,
                path,
                overwrite=yes(self.get_query_argument("overwrite", None)),
                parents=yes(self.get_query_argument("parents", None)),
                size=int(length) if rules.is_number(length) else None,
            )
        else:
            self.body = bytearray()

    async def data_received(self, chunk: bytes):
        if self._finished or self.dropped(chunk):
            return
        if self.upload is not None:
            await self.receive(self.upload.write, chunk)
        elif self.body is not None:
            self.body += chunk
            if len(self.body) > MAX_JSON:
                self.fail(ApiError("too-large", "the request body is JSON of at most 1 MiB"))

    def _forget(self):
        if self.upload is not None:
            upload, self.upload = self.upload, None
            upload.abort()  # a no-op once committed

    def json_body(self) -> dict:
        self.request.body = bytes(self.body or b"")
        return super().json_body()

    async def get(self, domain, path):
        if self.failed:
            raise self.failed
        path = path or ""
        user = await self.owner_of(domain)
        if yes(self.get_query_argument("download", None)):
            return await self.download(domain, user, path)
        try:
            offset, limit = rules.page_bounds(
                self.get_query_argument("offset", None), self.get_query_argument("limit", None)
            )
        except rules.PathError as err:
            raise ApiError("bad-request", str(err)) from None
        sort = self.get_query_argument("sort", "name")
        order = self.get_query_argument("order", "asc")
        if sort not in rules.SORT_KEYS or order not in ("asc", "desc"):
            raise ApiError("bad-request", "sort is name, size, modified or type; order asc or desc")
        self.reply(await run(self.store.describe, domain, user, path, sort, order, offset, limit))

    async def put(self, domain, path):
        if self.failed:
            raise self.failed
        upload, self.upload = self.upload, None
        try:
            replaces = upload.replaces
            entry = await asyncio.to_thread(upload.commit)
        except BaseException:
            upload.abort()
            raise
        self.reply(entry, status=200 if replaces else 201)

    async def post(self, domain, path):
        if self.failed:
            raise self.failed
        path = path or ""
        action = FileAction.parse(self.json_body())
        user = await self.owner_of(domain, self.get_query_argument("user", None))
        if action.action == "mkdir":
            entry, made = await run(self.store.make_folder, domain, user, path, action.parents)
            return self.reply(entry, status=201 if made else 200)
        if action.to is None:
            raise ApiError("bad-path", f'say where to {action.action} it: {{"to": PATH}}')
        if action.action == "move":
            if action.to_domain not in (None, domain):
                raise ApiError("bad-request", "a move stays in its domain: copy, then delete")
            entry = await run(self.store.move, domain, user, path, action.to, action.overwrite)
            return self.reply(entry)
        entry = await run(
            self.store.copy,
            domain,
            user,
            path,
            action.to_domain or domain,
            action.to,
            action.overwrite,
        )
        self.reply(entry, status=201)

    async def delete(self, domain, path):
        if self.failed:
            raise self.failed
        user = await self.owner_of(domain)
        recursive = yes(self.get_query_argument("recursive", None))
        await run(self.store.delete, domain, user, path or "", recursive)
        self.set_status(204)
        self.finish()

    # -- downloads ---------------------------------------------------------------------

    async def download(self, domain: str, user: str, path: str) -> None:
        try:
            fd, st, name = await run(self.store.open_file, domain, user, path)
        except ApiError as err:
            if err.reason != "is-a-folder":
                raise
            fmt = self.get_query_argument("format", "zip")
            return await self.send_archive(domain, user, path, fmt)
        try:
            await self.send_file(fd, st.st_size, name)
        finally:
            os.close(fd)

    async def send_file(self, fd: int, size: int, name: str) -> None:
        inline = yes(self.get_query_argument("inline", None))
        self.download_headers(rules.download_headers(name, inline))
        self.set_header("Accept-Ranges", "bytes")
        try:
            wanted = rules.byte_range(self.request.headers.get("Range"), size)
        except rules.RangeNotSatisfiable:
            err = ApiError("range-not-satisfiable", f"the file has {size} bytes")
            self.clear_header("Content-Disposition")
            self.set_header("Content-Range", f"bytes */{size}")
            return self.reply(err.to_dict(), status=err.status)
        start, end = wanted or (0, size)
        if wanted:
            self.set_status(206)
            self.set_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.set_header("Content-Length", str(end - start))
        position = start
        while position < end:
            piece = await asyncio.to_thread(os.pread, fd, min(CHUNK, end - position), position)
            if not piece or not await self.send(piece):
                return
            position += len(piece)
        self.finish()

    async def send_archive(self, domain: str, user: str, path: str, fmt: str) -> None:
        if fmt not in rules.ARCHIVE_FORMATS:
            raise ApiError("bad-request", f"an archive is 'zip' or 'tar.gz', not {fmt!r}")
        folder, name = await run(self.store.open_folder, domain, user, path)
        sink = archive.ChunkSink(asyncio.get_running_loop())

        def make():
            try:
                archive.write_archive(folder, fmt, sink, name)
            except BaseException as err:  # handed to the loop, which decides
                sink.close_with(err)
            else:
                sink.close_with(None)
            finally:
                os.close(folder)

        filename = rules.archive_name(name, fmt)
        self.download_headers(
            {
                "Content-Type": rules.ARCHIVE_FORMATS[fmt],
                "Content-Disposition": rules.disposition("attachment", filename),
            }
        )
        # its own thread, not the loop's pool: a slow reader must not hold a pool thread
        threading.Thread(target=make, name="karvdash-archive", daemon=True).start()
        try:
            while (piece := await sink.next()) is not None:
                if not await self.send(piece):
                    return
            self.finish()
        except archive.Cancelled:
            return
        except Exception:
            # the headers are gone: the only honest signal left is a cut connection
            app_log.exception("making the archive of /%s/%s failed", domain, path)
            self.request.connection.close()
        finally:
            sink.cancel()


default_handlers = [
    # files/private, files/private/ and files/private/a/b: the path may hold "/"
    (r"files/([^/]+)(?:/(.*))?", FilesHandler),
]
