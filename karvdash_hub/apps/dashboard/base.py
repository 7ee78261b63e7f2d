"""The dashboard's handlers' common ground: whose things a request acts on."""

from __future__ import annotations

from ...errors import ApiError
from ...inspection import ServiceInspector
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
