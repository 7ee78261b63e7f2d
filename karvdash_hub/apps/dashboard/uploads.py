"""``api/uploads``: resumable uploads of large files, in chunks with offsets.

POST makes an upload (where, how big) and answers its ``id``; each PATCH sends the next
chunk with ``Upload-Offset`` (the server's offset, else 409 ``offset-mismatch`` saying
it); GET says the offset, so that a client whose connection dropped resumes from there;
the chunk that completes the file puts it in place (201 with ``file``); DELETE gives up.

The id is signed by the dashboard (:func:`~karvdash_hub.rules.files.sign_ticket`): it
says who uploads what where, and nothing is kept in memory between requests, so an
upload survives a restart of the dashboard. The data waits in the destination folder
under a hidden name (never listed), and what arrived of a dropped chunk is kept.
"""

from __future__ import annotations

import asyncio
import fcntl
import secrets
import time

from tornado import web

from ...errors import ApiError
from ...rules import files as rules
from .files import MAX_UPLOAD, FilesBase, run
from .models import NewUpload


class UploadBase(FilesBase):
    def key(self) -> bytes:
        return b"uploads\0" + self.settings["cookie_secret"]

    def ticket(self, upload_id: str) -> dict:
        """The upload's fields, if it is the caller's and still valid."""
        try:
            fields = rules.read_ticket(upload_id, self.key(), time.time())
        except rules.BadTicket as err:
            raise ApiError("upload-not-found", f"there is no such upload ({err})") from None
        if fields.get("c") != self.current_user["name"]:
            raise ApiError("upload-not-found", "there is no such upload")
        return fields

    def describe(self, upload_id: str, fields: dict, offset: int) -> dict:
        return {
            "id": upload_id,
            "domain": fields["d"],
            "path": fields["p"],
            "size": fields["s"],
            "offset": offset,
            "expires": int(fields["e"]),
        }

    async def state(self, upload_id: str) -> tuple[dict, str, int]:
        """The upload's fields, whose domain it writes in, and what has arrived."""
        fields = self.ticket(upload_id)
        user = await self.owner_of(fields["d"], fields["u"])
        partial = rules.partial_name(fields["n"])
        offset = await run(self.store.partial_size, fields["d"], user, fields["p"], partial)
        if offset is None:
            raise ApiError(
                "upload-not-found", "this upload is finished, cancelled or expired; start again"
            )
        return fields, user, offset


class UploadsHandler(UploadBase):
    async def post(self):
        body = NewUpload.parse(self.json_body())
        user = await self.owner_of(body.domain, body.user)
        nonce = secrets.token_hex(12)
        expires = int(time.time()) + self.store.upload_expiry_seconds
        fields = {
            "c": self.current_user["name"],
            "u": user,
            "d": body.domain,
            "p": body.path,
            "s": body.size,
            "o": body.overwrite,
            "n": nonce,
            "e": expires,
        }
        upload = await run(
            self.store.begin_upload,
            body.domain,
            user,
            body.path,
            overwrite=body.overwrite,
            parents=body.parents,
            size=body.size,
            partial=rules.partial_name(nonce),
        )
        upload_id = rules.sign_ticket(fields, self.key())
        answer = self.describe(upload_id, fields, 0)
        if body.size == 0:  # nothing to wait for
            answer["file"] = await asyncio.to_thread(upload.commit)
        else:
            await asyncio.to_thread(upload.close)
        self.reply(answer, status=201)


@web.stream_request_body
class UploadHandler(UploadBase):
    upload = None
    fields = None

    async def start(self):
        if self.request.method != "PATCH":
            return
        self.request.connection.set_max_body_size(MAX_UPLOAD)
        upload_id = self.path_args[0]
        fields, user, offset = await self.state(upload_id)
        claimed = self.request.headers.get("Upload-Offset", "")
        if not rules.is_number(claimed):
            raise ApiError("bad-request", "send the chunk's offset: 'Upload-Offset: <bytes>'")
        if int(claimed) != offset:
            raise ApiError(
                "offset-mismatch",
                f"the server has {offset} bytes of this upload; send from there",
                offset=offset,
            )
        length = self.request.headers.get("Content-Length")
        if rules.is_number(length) and offset + int(length) > fields["s"]:
            raise ApiError(
                "too-large",
                f"this chunk goes past the upload's size ({fields['s']} bytes)",
            )
        upload = await run(
            self.store.begin_upload,
            fields["d"],
            user,
            fields["p"],
            overwrite=fields["o"],
            partial=rules.partial_name(fields["n"]),
        )
        try:
            fcntl.flock(upload.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            upload.close()
            raise ApiError("upload-busy", "another request is sending this upload") from None
        self.upload, self.fields, self.upload_id = upload, fields, upload_id
        self.received = offset

    async def data_received(self, chunk: bytes):
        if self._finished or self.dropped(chunk) or self.upload is None:
            return
        room = self.fields["s"] - self.received
        await self.receive(self.upload.write, chunk[:room])
        self.received += min(room, len(chunk))
        if len(chunk) > room and not self._finished:
            size = self.fields["s"]
            self.fail(ApiError("too-large", f"this chunk goes past the upload's size ({size} B)"))

    def _forget(self):
        """What arrived stays for the client to resume from (the lock goes with the fd)."""
        if self.upload is not None:
            upload, self.upload = self.upload, None
            upload.close()

    async def get(self, upload_id):
        if self.failed:
            raise self.failed
        fields, _, offset = await self.state(upload_id)
        self.reply(self.describe(upload_id, fields, offset))

    async def patch(self, upload_id):
        if self.failed:
            raise self.failed
        upload, self.upload = self.upload, None
        answer = self.describe(upload_id, self.fields, self.received)
        if self.received < self.fields["s"]:
            await asyncio.to_thread(upload.close)
            return self.reply(answer)
        answer["file"] = await asyncio.to_thread(upload.commit)
        self.reply(answer, status=201)

    async def delete(self, upload_id):
        if self.failed:
            raise self.failed
        fields = self.ticket(upload_id)
        user = await self.owner_of(fields["d"], fields["u"])
        partial = rules.partial_name(fields["n"])
        if not await run(self.store.remove_partial, fields["d"], user, fields["p"], partial):
            raise ApiError("upload-not-found", "this upload is finished, cancelled or expired")
        self.set_status(204)
        self.finish()


default_handlers = [
    (r"uploads", UploadsHandler),
    (r"uploads/([^/]+)", UploadHandler),
]
