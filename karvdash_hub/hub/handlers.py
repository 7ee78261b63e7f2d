"""The hub's own pages for Karvdash (added to JupyterHub by the authenticator's
``get_handlers``), rendered from JupyterHub's page templates:

- ``/hub/home``: JupyterHub's home page handler, its page (``templates/home.html``)
  extended with the user's services; the only change to the handler is the page's
  Content-Security-Policy (:mod:`karvdash_hub.rules.csp`), as on every Karvdash page;
- ``/hub/karvdash/users``: admins' users page;
- ``/hub/karvdash/delete-user/<name>``: delete a user, with or without their files;
- ``/hub/karvdash/static/...`` and ``/hub/karvdash/branding.css``: Karvdash's scripts and
  styles, served by the hub so that its pages work while the dashboard service is down.
"""

from __future__ import annotations

from jupyterhub.handlers import BaseHandler
from jupyterhub.handlers.pages import HomeHandler as JupyterHubHomeHandler
from jupyterhub.scopes import needs_scope
from nativeauthenticator import NativeAuthenticator
from tornado import web

from ..branding import STATIC
from ..rules import csp


class StrictPage:
    """A page of the hub sent with Karvdash's Content-Security-Policy (no inline script
    but JupyterHub's own one in the head)."""

    def finish(self, chunk=None):
        if isinstance(chunk, str) and self.get_status() < 300:
            self.set_header("Content-Security-Policy", csp.policy(chunk))
        return super().finish(chunk)


class HomeHandler(StrictPage, JupyterHubHomeHandler):
    """JupyterHub's home page with Karvdash's Content-Security-Policy."""


class UsersPageHandler(StrictPage, BaseHandler):
    """Admin page: sign-ups, users, their roles and access."""

    @needs_scope("admin:users")
    async def get(self):
        native = isinstance(self.authenticator, NativeAuthenticator)
        html = await self.render_template("karvdash-users.html", native=native)
        self.finish(html)


class DeleteUserHandler(StrictPage, BaseHandler):
    """Admin page: delete a user, with or without their private files."""

    @needs_scope("admin:users")
    async def get(self, name):
        user = self.find_user(name)
        provisioner = self.authenticator.provisioner
        has_files = provisioner.files.has_files(name)
        html = await self.render_template(
            "karvdash-delete-user.html",
            target=name,
            exists=user is not None,
            has_files=has_files,
            namespace=provisioner.namespace(name),
            back=self.get_query_argument("next", ""),
        )
        self.finish(html)

    @needs_scope("delete:users")
    async def post(self, name):
        purge = self.get_body_argument("purge_files", "") == "on"
        user = self.find_user(name)
        if user is not None:
            if user.name == self.current_user.name:
                raise web.HTTPError(400, "You cannot delete your own account.")
            if user.running:
                await self.stop_single_user(user)
            # the authenticator's delete_user removes the namespace and the files first
            await self.authenticator.delete_user(user, purge_files=purge)
            await user.delete_spawners()
            self.users.delete(user)
        elif purge:
            # files kept from an earlier deletion
            await self.authenticator.deprovision(name, purge_files=True)
        back = self.get_body_argument("next", "")
        self.redirect(self.hub.base_url + ("karvdash/users" if back == "users" else "admin"))


class BrandingHandler(BaseHandler):
    """``c.Branding``'s colours as a stylesheet (pages allow no inline styles)."""

    def get(self):
        self.set_header("Content-Type", "text/css; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(self.authenticator.branding.stylesheet())


class StaticHandler(web.StaticFileHandler):
    """Karvdash's scripts and styles (no login needed, like JupyterHub's own)."""

    def set_extra_headers(self, path):
        self.set_header("X-Content-Type-Options", "nosniff")


default_handlers = [
    (r"/home", HomeHandler),
    (r"/karvdash/users", UsersPageHandler),
    (r"/karvdash/delete-user/([^/]+)", DeleteUserHandler),
    (r"/karvdash/branding.css", BrandingHandler),
    (r"/karvdash/static/(.*)", StaticHandler, {"path": str(STATIC)}),
]
