"""The dashboard service's web pages, under ``/services/karvdash/``, and the browser
session that pages of the hub use to call the API.

Pages (each a shell that its script fills from the REST API):

- ``services``: the user's services, refreshed by themselves; ``services/<name>``: one
  service's objects, pods, recent events and logs;
- ``templates``: the catalogue, adding (upload or paste), download and removal;
  ``templates/<id>``: the launch form made from the template's variables;
- ``namespace``: the namespace's quota and use (``?user=`` for admins);
- ``files``: the file browser of the private and shared domains;
  ``files/private/<path>`` and ``files/shared/<path>``: a folder of either (links and the
  back button open it; ``?user=`` for admins, for another user's private files);
- ``images``: the private registry's repositories that the user may pull, each tag's
  details, uploads of image archives and deletions;
- ``clients`` (admins): the applications that log users in through the identity
  service;
- ``about``: versions and links.

A service or template page of anything that is not the user's is a 404, for admins too
unless they name the user (``?user=``). The users' page is the hub's
(``/hub/karvdash/users``): accounts are the hub's, and it acts on them with JupyterHub's
REST API and the hub's own session.

``session``: what a page of the hub (its home page) needs to call the API from the
browser: the service's XSRF token, and the service's login cookie, got without leaving
the page (see :class:`SessionHandler`).
"""

from __future__ import annotations

import platform

import jupyterhub
from tornado import web

from ... import __version__
from ...errors import ApiError
from ..base import ApiHandler
from .rendering import PageHandler

#: a browser's attempt to log in to the service from a hub page (loop guard)
ATTEMPT_COOKIE = "karvdash-session-attempt"


class IndexHandler(PageHandler):
    async def get(self):
        self.redirect(self.settings["prefix"] + "services")


class ServicesPage(PageHandler):
    active_page = "services"

    async def get(self):
        user = await self.page_user(self.get_query_argument("user", None))
        self.render_page("karvdash-services.html", page_title="Services", owner=user)


class ServicePage(PageHandler):
    active_page = "services"

    async def get(self, name):
        user = await self.page_user(self.get_query_argument("user", None))
        if not await self.settings["inspector"].exists(user, name):
            raise ApiError("not-found", f"there is no service '{name}'")
        self.render_page("karvdash-service.html", page_title=name, owner=user, name=name)


class TemplatesPage(PageHandler):
    active_page = "templates"

    async def get(self):
        user = await self.page_user(self.get_query_argument("user", None))
        self.render_page("karvdash-templates.html", page_title="Templates", owner=user)


class TemplatePage(PageHandler):
    active_page = "templates"

    async def get(self, template_id):
        user = await self.page_user(self.get_query_argument("user", None))
        try:
            template = await self.settings["manager"].templates.get(user, template_id)
        except ApiError as err:
            if err.reason == "template-not-found":
                raise ApiError("not-found", str(err)) from None
            raise
        self.render_page(
            "karvdash-launch.html",
            page_title=f"Launch {template.name}",
            owner=user,
            template=template,
        )


class NamespacePage(PageHandler):
    active_page = "services"

    async def get(self):
        user = await self.page_user(self.get_query_argument("user", None))
        self.render_page("karvdash-namespace.html", page_title=f"Namespace of {user}", owner=user)


class FilesPage(PageHandler):
    """The files of the private and shared domains: the page's script reads the domain
    and the folder from the page's own path (so that the back button, which changes
    only the path, opens the folder it names) and lists it through the API, which says
    whether it exists."""

    active_page = "files"

    async def get(self):
        user = await self.page_user(self.get_query_argument("user", None))
        self.render_page("karvdash-files.html", page_title="Files", owner=user)


class ImagesPage(PageHandler):
    """The private registry's images: the page's script lists them through the API. An
    installation without a registry (``Installation.registry`` empty) says so, and
    the page asks the API nothing."""

    active_page = "images"

    async def get(self):
        registry = self.settings["manager"].installation.registry
        self.render_page("karvdash-images.html", page_title="Images", registry=bool(registry))


class ClientsPage(PageHandler):
    """Admins: the applications that log users in through the identity service (the
    page's script uses api/clients). Anyone else: not found."""

    active_page = "clients"

    async def get(self):
        if not self.admin:
            raise ApiError("not-found", "there is no such page")
        issuer = self.settings["identity_store"].issuer
        self.render_page("karvdash-clients.html", page_title="Applications", issuer=issuer)


class AboutPage(PageHandler):
    active_page = "about"

    async def get(self):
        self.render_page(
            "karvdash-about.html",
            page_title="About",
            versions={
                "Karvdash": __version__,
                "JupyterHub": jupyterhub.__version__,
                "Python": platform.python_version(),
            },
        )


class SessionHandler(PageHandler):
    """``GET session``: ``{"name", "admin", "xsrf"}`` for a script of a page of the same
    site (the hub's home page) that calls the API.

    JupyterHub asks a script's requests (``fetch``) for the service's XSRF token even to
    read, and the token is kept in a cookie of the service's path, which a page of the
    hub cannot read. A same-site script gets it here. Without the service's login cookie
    the answer says ``"name": null``; with ``?login=1`` it is a redirect through the hub's
    OAuth login (no page is shown: the hub knows the browser), which the script's request
    follows and which ends here again, logged in. A second login attempt within a minute
    that did not stick answers 401 instead of redirecting again (no loop).

    Only reads of the same origin skip the XSRF check here: a cross-site page cannot read
    the answer, and a page of the same origin can read the service's pages anyway.
    """

    _own_state_cookie = False

    def get_cookie(self, name, default=None):
        # HubOAuth gives a login's state cookie a name of its own (kept in the state) when
        # the usual one is in use: so this login, which a script starts as the hub's home
        # page loads, and one that a page opened meanwhile starts cannot overwrite each
        # other's state (HubOAuth logs it as "unused OAuth state cookies")
        if self._own_state_cookie and name == self.hub_auth.state_cookie_name:
            return "in use"
        return super().get_cookie(name, default)

    def check_xsrf_cookie(self):
        site = self.request.headers.get("Sec-Fetch-Site", "same-origin")
        if self.request.method == "GET" and site in ("same-origin", "none"):
            return None
        return super().check_xsrf_cookie()

    async def prepare(self):
        if self.current_user is not None:
            await super().prepare()
            return
        login = self.get_query_argument("login", None)
        if login and not self.get_cookie(ATTEMPT_COOKIE):
            self.set_cookie(ATTEMPT_COOKIE, "1", path=self.request.path, max_age=60, httponly=True)
            self._own_state_cookie = True
            self.redirect(self.get_login_url())
            return
        self.clear_cookie(ATTEMPT_COOKIE, path=self.request.path)
        if login:
            raise ApiError("not-authenticated", "the hub did not log you in: log in again")
        # a question, not a failure: not logged in to the service (yet)
        self.reply({"name": None, "admin": False, "xsrf": None})

    def write_error(self, status_code, **kwargs):
        ApiHandler.write_error(self, status_code, **kwargs)

    def reply(self, data, status=200):
        ApiHandler.reply(self, data, status)

    async def get(self):
        self.clear_cookie(ATTEMPT_COOKIE, path=self.request.path)
        self.set_header("Cache-Control", "no-store")
        xsrf = self.xsrf_token.decode("ascii")
        self.reply({"name": self.current_user["name"], "admin": self.admin, "xsrf": xsrf})


def page_routes(prefix: str) -> list[tuple]:
    """The pages' routes under the service's prefix."""
    return [
        (prefix, IndexHandler),
        (prefix + "session", SessionHandler),
        (prefix + "services", ServicesPage),
        (prefix + r"services/([^/]+)", ServicePage),
        (prefix + "templates", TemplatesPage),
        (prefix + r"templates/([^/]+)", TemplatePage),
        (prefix + "namespace", NamespacePage),
        (prefix + r"files(?:/|/(?:private|shared)(?:/.*)?)?", FilesPage),
        (prefix + "images", ImagesPage),
        (prefix + "clients", ClientsPage),
        (prefix + "about", AboutPage),
    ]


class NotFoundPage(PageHandler):
    """Any other path of the service (outside ``api/``): a 404 page."""

    async def prepare(self):
        await super().prepare()
        if self._finished:
            return
        raise web.HTTPError(404)
