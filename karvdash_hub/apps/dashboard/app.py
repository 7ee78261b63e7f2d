"""The dashboard service process: JupyterHub-managed, HubOAuth-authenticated.

Its configuration is what the hub exports for it (the same settings as the hub's), read
with ``--config``. The app builds its objects once, with ``parent=self``: the
installation's facts and branding, the provisioner, the service manager (and its template
store), the inspector, the page renderer; the handlers get them through the application's
settings.
"""

from __future__ import annotations

import json
import os

from jupyterhub.services.auth import HubOAuth
from jupyterhub.utils import url_path_join
from tornado import web
from traitlets import Float, Unicode

from ... import __version__
from ...branding import Branding
from ...filestore import FileStore
from ...hubapi import HubTokens
from ...identitystore import IdentityStore
from ...imagestore import ImageStore
from ...inspection import ServiceInspector
from ...installation import Installation
from ...provisioning import Provisioner
from ...registryauth import RegistryAuth
from ...services import ServiceManager
from ...templatestore import TemplateStore
from ...userfiles import UserFiles
from ..base import JSON, NotFoundHandler, OAuthCallbackHandler, ServiceApp
from . import (
    clients,
    files,
    images,
    karvdash2,
    namespace,
    openapi,
    registrytoken,
    services,
    templates,
    uploads,
    user,
)
from .gateway import Gateway
from .gateway import default_handlers as gateway_handlers
from .hubusers import HubUsers
from .pages import NotFoundPage, page_routes
from .rendering import Renderer

#: the API's resources, each a module with ``default_handlers`` (paths under api/)
RESOURCES = [user, services, templates, namespace, files, uploads, images, clients]


class OpenAPIHandler(web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", JSON)
        self.finish(json.dumps(openapi.document(__version__)))


def api_routes(prefix: str) -> list[tuple]:
    """Every route of the API, in the order tornado matches them."""
    api = url_path_join(prefix, "api")
    routes = [(url_path_join(api, "openapi.json"), OpenAPIHandler)]
    for module in RESOURCES:
        routes += [(url_path_join(api, path), handler) for path, handler in module.default_handlers]
    return [*routes, (url_path_join(api, r".*"), NotFoundHandler)]


class FreshHubOAuth(HubOAuth):
    """HubOAuth that asks the hub about a token at every request when
    ``DashboardApp.auth_cache_seconds`` is 0: a revoked token (a deactivated or deleted
    user's) stops working at once. (HubAuth's own cache treats 0 as "forever".)"""

    def user_for_token(self, token, use_cache=True, session_id="", *, sync=True):
        fresh = self.cache_max_age <= 0
        return super().user_for_token(
            token, use_cache=use_cache and not fresh, session_id=session_id, sync=sync
        )


class DashboardApp(ServiceApp):
    name = "karvdash-dashboard"
    description = "Karvdash's dashboard service (started by JupyterHub)."
    classes = [
        Installation,
        Branding,
        Provisioner,
        UserFiles,
        FileStore,
        RegistryAuth,
        ImageStore,
        ServiceManager,
        ServiceInspector,
        IdentityStore,
    ]

    admin_cache_seconds = Float(10, config=True, help="How long an admin check is cached.")
    auth_cache_seconds = Float(
        0,
        config=True,
        help="How long the hub's answer about a request's token (or login cookie) is"
        " reused. 0: the hub is asked at every request, so that taking a user's approval"
        " back, or deleting them, cuts their access to the dashboard at once.",
    )
    password_url = Unicode(
        "",
        config=True,
        help="The hub's page where users change their password, linked from every page's"
        " Account menu (set by the hub when it exports its configuration: its"
        " authenticator's page, if it has one). Empty: no link.",
    )

    def make_app(self) -> web.Application:
        prefix = self.prefix
        hub_auth = FreshHubOAuth(
            api_token=os.environ["JUPYTERHUB_API_TOKEN"],
            cache_max_age=int(self.auth_cache_seconds),
        )
        installation = Installation(parent=self)
        provisioner = Provisioner(parent=self)
        manager = ServiceManager(
            parent=self,
            provisioner=provisioner,
            installation=installation,
            templates=TemplateStore(provisioner),
            hub_tokens=HubTokens(hub_auth.api_url, hub_auth.api_token),
            api_url=installation.api_url_from_hub(hub_auth.api_url),
        )
        renderer = Renderer(
            Branding(parent=self).template_vars(),
            service_prefix=prefix,
            hub_prefix=hub_auth.hub_prefix,
            password_url=self.password_url,
        )
        registry_auth = RegistryAuth(parent=self)
        if registry_auth.key_file:
            registry_auth.ensure_keys()
        cookie_secret = self.cookie_secret()
        public_url = installation.public_url or hub_auth.hub_host or ""
        return web.Application(
            [
                (url_path_join(prefix, "oauth_callback"), OAuthCallbackHandler),
                *[(url_path_join(prefix, p), h) for p, h in registrytoken.default_handlers],
                *[(url_path_join(prefix, p), h) for p, h in gateway_handlers],
                *[
                    (url_path_join(prefix, "karvdash2", p), h)
                    for p, h in karvdash2.default_handlers
                ],
                *api_routes(prefix),
                *page_routes(prefix),
                (url_path_join(prefix, r".*"), NotFoundPage),
            ],
            hub_auth=hub_auth,
            manager=manager,
            inspector=ServiceInspector(parent=self, manager=manager),
            renderer=renderer,
            prefix=prefix,
            hub_users=HubUsers(hub_auth, self.admin_cache_seconds),
            files=FileStore(parent=self, files=provisioner.files),
            registry_auth=registry_auth,
            images=ImageStore(installation, registry_auth, parent=self),
            identity_store=IdentityStore(parent=self),
            gateway=Gateway(cookie_secret, manager, public_url, prefix),
            cookie_secret=cookie_secret,
        )


def main():
    app = DashboardApp()
    app.initialize()
    app.start()
