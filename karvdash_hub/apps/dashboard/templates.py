"""``api/templates``: the catalogue and the caller's own templates (add, download,
remove)."""

from __future__ import annotations

from ...errors import ApiError
from .base import DashboardHandler
from .models import AddTemplate


class TemplatesHandler(DashboardHandler):
    async def get(self):
        user = await self.target_user()
        self.reply(await self.manager.templates.list(user))

    async def post(self):
        """The template's YAML as the body, or JSON ``{"data", "id", "user"}``."""
        ctype = self.request.headers.get("Content-Type", "").split(";")[0].strip()
        template_id = self.get_query_argument("id", None)
        requested = None
        if ctype == "application/json":
            body = AddTemplate.parse(self.json_body())
            text, requested = body.data, body.user
            template_id = body.id if body.id is not None else template_id
        else:
            try:
                text = self.request.body.decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError("bad-encoding", "a template is UTF-8 text") from None
        if not isinstance(text, str) or not text.strip():
            raise ApiError("missing-template", "send the template's YAML as the body")
        user = await self.target_user(requested, writes=True)
        added = await self.manager.templates.add(user, text, template_id)
        self.reply(added, status=201)


class TemplateHandler(DashboardHandler):
    async def get(self, template_id):
        user = await self.target_user()
        template = await self.manager.templates.get(user, template_id)
        self.set_header("Content-Type", "application/yaml; charset=UTF-8")
        self.set_header("Content-Disposition", f'inline; filename="{template_id}.template.yaml"')
        self.finish(template.source)

    async def delete(self, template_id):
        user = await self.target_user()
        await self.manager.templates.remove(user, template_id)
        self.set_status(204)
        self.finish()


default_handlers = [(r"templates", TemplatesHandler), (r"templates/([^/]+)", TemplateHandler)]
