"""The dashboard service process: JupyterHub-managed, HubOAuth-authenticated.

Its configuration is what the hub exports for it (the same settings as the hub's), read
with ``--config``. The app builds its objects once, with ``parent=self``: the
installation's facts, the provisioner, the service manager (and its template store);
the handlers get them through the application's settings.
"""

from __future__ import annotations

import json
import os

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from tornado import web
from traitlets import Float

from ... import __version__
from ...installation import Installation
from ...provisioning import Provisioner
from ...services import ServiceManager
from ...templatestore import TemplateStore
from ...userfiles import UserFiles
from ..base import JSON, ApiHandler, NotFoundHandler, ServiceApp
from . import openapi, services, templates, user
from .hubusers import HubUsers

#: the API's resources, each a module with ``default_handlers`` (paths under api/)
RESOURCES = [user, services, templates]


class OpenAPIHandler(web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", JSON)
        self.finish(json.dumps(openapi.document(__version__)))


class IndexHandler(ApiHandler):
    async def prepare(self):
        if self.current_user is None:
            self.redirect(self.get_login_url())

    def get(self):
        self.redirect(url_path_join(self.settings["prefix"], "api/openapi.json"))


def api_routes(prefix: str) -> list[tuple]:
    """Every route of the API, in the order tornado matches them."""
    api = url_path_join(prefix, "api")
    routes = [(url_path_join(api, "openapi.json"), OpenAPIHandler)]
    for module in RESOURCES:
        routes += [(url_path_join(api, path), handler) for path, handler in module.default_handlers]
    return [*routes, (url_path_join(api, r".*"), NotFoundHandler)]


class DashboardApp(ServiceApp):
    name = "karvdash-dashboard"
    description = "Karvdash's dashboard service (started by JupyterHub)."
    classes = [Installation, Provisioner, UserFiles, ServiceManager]

    admin_cache_seconds = Float(10, config=True, help="How long an admin check is cached.")

    def make_app(self) -> web.Application:
        prefix = self.prefix
        hub_auth = HubOAuth(api_token=os.environ["JUPYTERHUB_API_TOKEN"], cache_max_age=60)
        installation = Installation(parent=self)
        provisioner = Provisioner(parent=self)
        manager = ServiceManager(
            parent=self,
            provisioner=provisioner,
            installation=installation,
            templates=TemplateStore(provisioner),
        )
        return web.Application(
            [
                (prefix, IndexHandler),
                (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
                *api_routes(prefix),
            ],
            hub_auth=hub_auth,
            manager=manager,
            prefix=prefix,
            hub_users=HubUsers(hub_auth, self.admin_cache_seconds),
            cookie_secret=self.cookie_secret(),
        )


def main():
    app = DashboardApp()
    app.initialize()
    app.start()
