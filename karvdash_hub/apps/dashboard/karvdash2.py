"""Karvdash 2.4's REST API (``api/services/``, ``api/templates/``), as a thin adapter over
the service manager and template store that the native API uses, so that the original
Karvdash's client (``karvdash_client`` and its ``karvdashctl``, ``karvdash-client`` on
PyPI) and scripts written for it keep working. The app mounts these routes under
``karvdash2/``: the client's ``base_url`` is ``https://<hub>/services/karvdash/karvdash2/api``.

What Karvdash 2.4 answered (restless 2.1 on Django), and so what these handlers answer:

- A list is ``{"objects": [...]}``; one thing is its JSON object.
- ``POST api/services/`` (``{"id": TEMPLATE, "NAME": ..., "VARIABLE": ...}``) answers
  201; ``POST api/templates/`` (``{"data": YAML}``) 200; ``DELETE api/services/<name>/``
  204 without a body; ``DELETE api/templates/<id>/`` 200 without a body.
- A template is ``id``, ``name``, ``description``, ``singleton``, ``auth``, ``datasets``
  and ``variables`` (``{"name", "default", "help"}``); built-in ones have their
  ``filename``, a listed one says whether it is ``custom``, a fetched one has its
  ``data``. A service is ``name``, ``url``, ``created``, ``actions`` and its ``template``
  with the ``values`` it was launched with.
- An error is ``{"error": "<message>"}`` with the status of :data:`STATUS` (Karvdash's
  where it differs from the native API's), a method an endpoint lacks 501.
- Authentication is the hub's: Karvdash's ``Authorization: Token <token>`` is read by
  HubAuth, which takes the word in any case.

Differences: no datasets here (``datasets`` is false, ``api/datasets/`` answers 404);
exec runs the native API's operation (bounded in time and output); adding a template
whose id is taken gives it Karvdash's kind of id, the title's with a random suffix.
"""

from __future__ import annotations

import secrets
import string

from tornado import web

from ...errors import ApiError
from ...rules import names
from ...rules import template as tmodel
from ...templatestore import builtin_templates
from ..base import JSON, as_api_error
from .base import DashboardHandler

#: statuses Karvdash 2.4 gave where the native API's differ (the rest are the same)
STATUS = {"invalid-template": 400, "method-not-allowed": 501}
#: tries at a free template id with a random suffix
ID_ATTEMPTS = 8


# -- shapes (pure)


def template_shape(summary: dict, builtin: bool) -> dict:
    """A template as Karvdash listed it, from the store's summary of it."""
    shape = {
        "id": summary["id"],
        "name": summary["name"],
        "description": summary["description"],
        "singleton": summary["singleton"],
        "auth": summary["auth"],
        "datasets": False,
        "variables": [
            {"name": v["name"], "default": v["default"], "help": v.get("help", "")}
            for v in summary["variables"]
        ],
        "custom": not builtin,
    }
    if builtin:
        shape["filename"] = f"{summary['id']}.template.yaml"
    return shape


def karvdash_time(timestamp: str | None) -> str | None:
    """Kubernetes' ``...Z`` as Python's ``isoformat()`` wrote it (``...+00:00``)."""
    if isinstance(timestamp, str) and timestamp.endswith("Z"):
        return timestamp[:-1] + "+00:00"
    return timestamp


def service_shape(entry: dict, template: dict | None) -> dict:
    """A service as Karvdash listed it, from the manager's entry and its template's
    shape (None when the template is gone)."""
    shaped = None
    if template is not None:
        shaped = dict(template)
        if entry.get("values") is not None:
            shaped["values"] = entry["values"]
    return {
        "name": entry["name"],
        "url": entry.get("url"),
        "created": karvdash_time(entry.get("created")),
        "actions": True,
        "template": shaped,
    }


def launch_request(body: dict) -> tuple[str, dict]:
    """The template id and the variables of Karvdash's ``POST api/services/`` body:
    ``{"id": ID, "NAME": ..., ...}`` (or ``"filename"``, before ``id``)."""
    body = dict(body)
    template_id = body.pop("id", None)
    filename = body.pop("filename", None)
    if template_id is None and isinstance(filename, str):
        template_id = filename.removesuffix(".template.yaml")
    if not isinstance(template_id, str) or not template_id:
        raise ApiError("missing-template", 'say which template to launch: {"id": ID, "NAME": ...}')
    return template_id, body


def launch_values(template: tmodel.Template, body: dict) -> dict:
    """What a launch takes of the body, as Karvdash's form did: the template's own
    variables (NAME required), not the ones the system fills in; other keys ignored."""
    if "NAME" not in body:
        raise ApiError("bad-variables", 'give the service a NAME: {"id": ..., "NAME": ...}')
    return {
        k: v
        for k, v in body.items()
        if template.variable(k) is not None and k not in tmodel.HIDDEN_VARIABLES
    }


def launched_values(template: tmodel.Template, values: dict, name: str) -> dict:
    """The values of a launched service as a listing shows them (a secret one as None)."""
    given = {**values, "NAME": name}
    return {
        v.name: None if getattr(v, "secret", False) else given.get(v.name, v.default)
        for v in template.user_variables
    }


def suffixed_id(title: str) -> str:
    """A template id like Karvdash's: the title's, a hyphen and four random letters."""
    base = names.template_id_for(title)[: names.LABEL_MAX - 5].rstrip("-")
    return f"{base}-{''.join(secrets.choice(string.ascii_lowercase) for _ in range(4))}"


# -- handlers


class Karvdash2Handler(DashboardHandler):
    """Karvdash 2.4's answers: its error shape and statuses, its list wrapper."""

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        err = as_api_error(exc, self, status_code)
        message = err.message
        if err.reason == "method-not-allowed":
            message = f"{self.request.method} is not an operation of {self.request.path}"
        self.reply({"error": message}, status=STATUS.get(err.reason, err.status))

    def reply_list(self, items: list) -> None:
        self.reply({"objects": items})

    def reply_empty(self, status: int) -> None:
        self.set_status(status)
        if status != 204:
            self.set_header("Content-Type", JSON)
        self.finish()


class ServicesHandler(Karvdash2Handler):
    async def get(self):
        user = await self.target_user()
        entries = await self.manager.list(user)
        shapes = {}
        if entries:
            for summary in await self.manager.templates.list(user):
                shapes[summary["id"]] = template_shape(summary, summary.get("builtin", False))
        self.reply_list([service_shape(e, shapes.get(e.get("template"))) for e in entries])

    async def post(self):
        template_id, body = launch_request(self.json_body())
        user = await self.target_user(writes=True)
        template = await self.manager.templates.get(user, template_id)
        values = launch_values(template, body)
        launched = await self.manager.launch(user, template_id, values)
        shaped = template_shape(template.summary(), template_id in builtin_templates())
        shaped["values"] = launched_values(template, values, launched["name"])
        answer = {"name": launched["name"], "url": launched.get("url"), "actions": True}
        self.reply({**answer, "template": shaped}, status=201)


class ServiceHandler(Karvdash2Handler):
    async def post(self, name):
        """Karvdash's exec (``{"command": [...], "all_pods": 0|1}``): the command in the
        service's first running pod, or in all of them; ``{"result": [output, ...]}``."""
        body = self.json_body()
        user = await self.target_user(writes=True)
        command = body.get("command")
        run = {"command": command if isinstance(command, list) else [command]}
        results = await self.inspector.run(user, name, run)
        if not body.get("all_pods"):
            results = results[:1]
        self.reply({"result": [r.get("error") or r["output"] for r in results]})

    async def delete(self, name):
        user = await self.target_user()
        await self.manager.stop(user, name)
        self.reply_empty(204)


class TemplatesHandler(Karvdash2Handler):
    async def get(self):
        user = await self.target_user()
        summaries = await self.manager.templates.list(user)
        self.reply_list([template_shape(s, s.get("builtin", False)) for s in summaries])

    async def post(self):
        text = self.json_body().get("data")
        if not isinstance(text, str) or not text.strip():
            raise ApiError("missing-template", 'send the template\'s YAML as {"data": YAML}')
        user = await self.target_user(writes=True)
        store = self.manager.templates
        try:
            added = await store.add(user, text)
        except ApiError as err:
            if err.reason != "template-exists":
                raise
            added = await self._add_suffixed(user, text)
        self.reply(template_shape(added, False))

    async def _add_suffixed(self, user: str, text: str) -> dict:
        title = tmodel.parse(text, "new").name  # parsed already by the store
        for _ in range(ID_ATTEMPTS):
            try:
                return await self.manager.templates.add(user, text, suffixed_id(title))
            except ApiError as err:
                if err.reason != "template-exists":
                    raise
        raise ApiError("template-exists", "no free id for this template; try again")


class TemplateHandler(Karvdash2Handler):
    async def get(self, template_id):
        user = await self.target_user()
        template = await self.manager.templates.get(user, template_id)
        shaped = template_shape(template.summary(), template_id in builtin_templates())
        shaped.pop("custom")
        self.reply({**shaped, "data": template.source})

    async def delete(self, template_id):
        user = await self.target_user()
        await self.manager.templates.remove(user, template_id)
        self.reply_empty(200)


class NotHereHandler(Karvdash2Handler):
    """Datasets, and anything else Karvdash 2.4's API did not have: a 404 in its shape."""

    async def prepare(self):
        if "/api/datasets" in self.request.path:
            raise ApiError(
                "not-found",
                "there are no datasets in Karvdash on JupyterHub: files are in /private"
                " and /shared",
            )
        raise web.HTTPError(404)


default_handlers = [
    (r"api/services/?", ServicesHandler),
    (r"api/services/([^/]+)/?", ServiceHandler),
    (r"api/templates/?", TemplatesHandler),
    (r"api/templates/([^/]+)/?", TemplateHandler),
    (r".*", NotHereHandler),
]
