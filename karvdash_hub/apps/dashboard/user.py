"""``GET api/user``: who the caller is."""

from __future__ import annotations

from .base import DashboardHandler


class WhoAmIHandler(DashboardHandler):
    async def get(self):
        me = self.current_user
        self.reply(
            {
                "name": me["name"],
                "admin": await self.settings["hub_users"].is_admin(me),
                "namespace": self.manager.provisioner.namespace(me["name"]),
            }
        )


default_handlers = [(r"user", WhoAmIHandler)]
