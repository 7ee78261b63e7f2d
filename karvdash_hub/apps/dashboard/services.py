"""``api/services``: launch, list and stop the caller's (or, for admins, anyone's)
services, and look into one: its objects and pods, its recent events, its logs."""

from __future__ import annotations

from ...errors import ApiError
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
    async def get(self, name):
        user = await self.target_user()
        self.reply(await self.inspector.describe(user, name))

    async def delete(self, name):
        user = await self.target_user()
        self.reply(await self.manager.stop(user, name))


class ServiceEventsHandler(DashboardHandler):
    async def get(self, name):
        user = await self.target_user()
        self.reply(await self.inspector.events(user, name))


class ServiceLogsHandler(DashboardHandler):
    async def get(self, name):
        user = await self.target_user()
        lines = self.get_query_argument("lines", None)
        if lines is not None and not (lines.isascii() and lines.isdigit()):
            raise ApiError("bad-request", '"lines" is a whole number of lines')
        self.reply(await self.inspector.logs(user, name, int(lines) if lines else None))


class ServiceExecHandler(DashboardHandler):
    async def post(self, name):
        body = self.json_body()
        user = await self.target_user(body.pop("user", None), writes=True)
        self.reply(await self.inspector.run(user, name, body))


default_handlers = [
    (r"services", ServicesHandler),
    (r"services/([^/]+)", ServiceHandler),
    (r"services/([^/]+)/events", ServiceEventsHandler),
    (r"services/([^/]+)/logs", ServiceLogsHandler),
    (r"services/([^/]+)/exec", ServiceExecHandler),
]
