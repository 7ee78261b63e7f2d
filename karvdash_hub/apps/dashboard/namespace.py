"""``GET api/namespace``: the caller's (or, for admins, any user's) namespace: its quota,
used and hard, and how many services run in it."""

from __future__ import annotations

from .base import DashboardHandler


class NamespaceHandler(DashboardHandler):
    async def get(self):
        user = await self.target_user()
        self.reply(await self.inspector.namespace(user))


default_handlers = [(r"namespace", NamespaceHandler)]
