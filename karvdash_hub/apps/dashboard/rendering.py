"""How the dashboard service renders its pages: Jinja templates that extend the hub's
``page.html`` (itself JupyterHub's), so that they look, and navigate, like the hub's.

- :class:`Renderer` is made once by the app: a Jinja environment that finds JupyterHub's
  own templates as ``templates/...`` (as JupyterHub does), the hub's Karvdash templates
  and the service's; and what every page reads (branding, navigation, the hub's static
  files, whose URLs carry the hub's version hash so that browsers share one copy).
- :class:`PageHandler` is the base of the pages: HubOAuth login (a browser without the
  service's cookie is sent through the hub's login and back), the page's
  Content-Security-Policy (:mod:`karvdash_hub.rules.csp`), and errors as pages of the
  same look (404 for what is not the user's, whoever asks).

Pages are shells: what they show of services and templates comes from the REST API, read
by the page's script (``karvdash_hub/static/js``), which writes every text with DOM text
nodes, never as HTML.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader
from jupyterhub._data import DATA_FILES_PATH
from tornado import web

from ... import site
from ...errors import STATUS, ApiError
from ...hub import TEMPLATES as HUB_TEMPLATES
from ...rules import csp
from ..base import AppHubOAuth, as_api_error

PAGE_TEMPLATES = Path(__file__).parent / "templates"
JUPYTERHUB_TEMPLATES = Path(DATA_FILES_PATH) / "templates"
JUPYTERHUB_STATIC = Path(DATA_FILES_PATH) / "static"


class Renderer:
    """The service's Jinja environment and the variables every page gets."""

    def __init__(self, branding: dict, service_prefix: str, hub_prefix: str, password_url: str):
        self.branding = branding
        self.service_prefix = service_prefix
        self.hub_prefix = hub_prefix
        self.password_url = password_url
        loader = ChoiceLoader(
            [
                PrefixLoader({"templates": FileSystemLoader([str(JUPYTERHUB_TEMPLATES)])}, "/"),
                FileSystemLoader([str(PAGE_TEMPLATES), HUB_TEMPLATES]),
            ]
        )
        # rendering only formats values (nothing is awaited in a template), so the
        # environment is synchronous, which error pages (tornado's write_error) need
        self.env = Environment(loader=loader, autoescape=True)

    def hub_static_url(self, path: str, include_version: bool = True) -> str:
        """A URL of the hub's static files (JupyterHub's CSS and scripts)."""
        url = f"{self.hub_prefix}static/{path}"
        if include_version:
            version = web.StaticFileHandler.get_version(
                {"static_path": str(JUPYTERHUB_STATIC)}, path
            )
            if version:
                url += f"?v={version}"
        return url

    def namespace(self, user: site.PageUser, xsrf: str, active_page: str) -> dict:
        hub = self.hub_prefix
        return {
            "base_url": hub,
            "prefix": hub[: -len("hub/")] if hub.endswith("hub/") else "/",
            "user": user,
            "login_url": hub + "login",
            "logout_url": hub + "logout",
            "static_url": self.hub_static_url,
            "version_hash": "",
            "services": [],
            "parsed_scopes": {"admin-ui"} if user.admin else set(),
            "xsrf_token": xsrf,
            "xsrf": xsrf,
            "karvdash_xsrf": xsrf,
            "no_spawner_check": True,
            "admin_access": user.admin,
            "active_page": active_page,
            "karvdash": site.page_vars(
                self.branding,
                hub_prefix=hub,
                service_prefix=self.service_prefix,
                admin=user.admin,
                password_url=self.password_url,
            ),
        }

    def render(self, name: str, namespace: dict) -> str:
        return self.env.get_template(name).render(**namespace)


class PageHandler(AppHubOAuth, web.RequestHandler):
    """A page of the dashboard service, for a logged-in user."""

    #: the navigation entry this page is (``site.NAVIGATION`` keys)
    active_page = ""

    @property
    def renderer(self) -> Renderer:
        return self.settings["renderer"]

    async def prepare(self):
        if self.current_user is None:
            if self.request.method in ("GET", "HEAD"):
                self.redirect(self.get_login_url())
                return
            raise web.HTTPError(403)
        self._admin = await self.settings["hub_users"].is_admin(self.current_user)

    @property
    def admin(self) -> bool:
        return getattr(self, "_admin", False)

    async def page_user(self, requested: str | None) -> str:
        """Whose page this is: oneself, or (admins only) the user named by ``?user=``.
        Anyone else's is not found: a page does not say whether it exists."""
        me = self.current_user["name"]
        if not requested or requested == me:
            return me
        if not self.admin or await self.settings["hub_users"].get(requested) is None:
            raise ApiError("not-found", "there is no such page")
        return requested

    def render_page(self, page: str, status: int = 200, /, **values) -> None:
        user = site.PageUser(self.current_user["name"], self.admin) if self.current_user else None
        xsrf = self.xsrf_token.decode("ascii") if user else ""
        ns = self.renderer.namespace(user, xsrf, self.active_page)
        if user is None:
            ns["karvdash"] = {**ns["karvdash"], "nav": []}
        html = self.renderer.render(page, {**ns, **values})
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Security-Policy", csp.policy(html))
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "same-origin")
        self.finish(html)

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        err = as_api_error(exc, self, status_code)
        if err.status == 404 or err.reason in ("not-yours", "forbidden"):
            status, title = 404, "Not found"
            message = "There is no such page here, or it is not yours."
        else:
            status, title = err.status, "Something went wrong"
            message = err.message
        try:
            self.render_page("karvdash-error.html", status, error_title=title, message=message)
        except Exception:  # the page itself failed: plain text, never a second traceback
            self.clear()
            self.set_status(status)
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            self.finish(f"{status} {title}: {message}\n")

    def log_exception(self, typ, value, tb):
        if isinstance(value, ApiError) and STATUS.get(value.reason, 500) < 500:
            return
        super().log_exception(typ, value, tb)
