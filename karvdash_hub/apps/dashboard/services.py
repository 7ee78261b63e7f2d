"""``api/services``: launch, list and stop the caller's (or, for admins, anyone's)
services."""

from __future__ import annotations

from .base import DashboardHandler
from .models import Launch


class ServicesHandler(DashboardHandler):
    async def get(self):
        user = await self.target_user()
        self.reply(await self.manager.list(user))

    async def post(self):
        body = Launch.parse(self.json_body())
        user = await self.target_user(body.user, writes=True)
        launched = await self.manager.launch(user, body.template, body.variables)
        self.reply(launched, status=201)


class ServiceHandler(DashboardHandler):
    async def delete(self, name):
        user = await self.target_user()
        self.reply(await self.manager.stop(user, name))


default_handlers = [(r"services", ServicesHandler), (r"services/([^/]+)", ServiceHandler)]
