"""The dashboard's handlers' common ground: whose things a request acts on, and how a
request whose body is streamed (a file upload, an image archive) is refused."""

from __future__ import annotations

import asyncio

from ...errors import ApiError
from ...inspection import ServiceInspector
from ...rules import files as rules
from ...services import ServiceManager
from ..base import ApiHandler


class DashboardHandler(ApiHandler):
    @property
    def manager(self) -> ServiceManager:
        return self.settings["manager"]

    @property
    def inspector(self) -> ServiceInspector:
        return self.settings["inspector"]

    async def target_user(self, requested: str | None = None, writes: bool = False) -> str:
        """The user whose things a request acts on: oneself, or anyone for an admin.

        Before a write, the hub is asked again (no cache) whether the user still exists:
        a deleted user's token may linger in the service's cache for a minute, and must
        not bring their namespace back."""
        me = self.current_user
        requested = requested or self.get_query_argument("user", None)
        if not isinstance(requested, str | None):
            raise ApiError("bad-user", '"user" must be a user name')
        users = self.settings["hub_users"]
        if writes and await users.get(me["name"], fresh=True) is None:
            raise ApiError("not-authenticated", f"there is no user '{me['name']}' any more")
        if not requested or requested == me["name"]:
            return me["name"]
        if not await users.is_admin(me):
            raise ApiError(
                "not-yours", "only admins can act on another user's services and templates"
            )
        if await users.get(requested, fresh=writes) is None:
            raise ApiError("no-such-user", f"there is no user '{requested}'")
        return requested


#: a refused body up to this size is read to its end before the error is answered
DRAIN_LIMIT = 64 << 20


class StreamedBody(DashboardHandler):
    """For ``@stream_request_body`` handlers: :meth:`start` runs before the body comes,
    ``data_received`` writes pieces through :meth:`receive`, and a failure at any point
    is answered once (:meth:`fail`), what was being written let go (:meth:`_forget`)."""

    failed: ApiError | None = None
    drained = 0

    async def receive(self, write, piece: bytes) -> None:
        """Write a piece of the body (in a thread); a failure refuses the request."""
        try:
            await asyncio.to_thread(write, piece)
        except ApiError as err:
            self.fail(err)

    def fail(self, err: ApiError) -> None:
        """Refuse the request while its body may still be coming (tornado does not answer
        an error raised then). A proxy in front (configurable-http-proxy) loses an answer
        sent before it has sent the whole body, so a body of up to :data:`DRAIN_LIMIT` is
        read to its end (and dropped) before the error is answered; a larger one is
        answered at once, and the connection closed."""
        if self.failed is None:
            self.failed = err
        self._forget()
        length = self.request.headers.get("Content-Length", "")
        chunked = "chunked" in self.request.headers.get("Transfer-Encoding", "").lower()
        if not (chunked or (rules.is_number(length) and int(length) <= DRAIN_LIMIT)):
            self.answer_failure()

    def answer_failure(self) -> None:
        if not self._finished:
            err = self.failed
            self.send_error(err.status, exc_info=(type(err), err, None))

    def dropped(self, chunk: bytes) -> bool:
        """Whether the request failed (the chunk is then dropped)."""
        if self.failed is None:
            return False
        self.drained += len(chunk)
        if self.drained > DRAIN_LIMIT:
            self.answer_failure()
        return True

    async def prepare(self):
        try:
            await super().prepare()
            if not self._finished:
                await self.start()
        except ApiError as err:
            self.fail(err)

    async def start(self) -> None:
        """What a request does before its body comes (and may refuse it)."""

    def _forget(self) -> None:
        """Let go of what the request was writing (an upload: removed, or kept to resume)."""

    def on_connection_close(self):
        self._forget()

    def on_finish(self):
        self._forget()
