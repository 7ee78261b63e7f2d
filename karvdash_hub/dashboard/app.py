"""The dashboard service process: HubOAuth-authenticated tornado application.

Started by the hub (``c.JupyterHub.services``) with the hub's configuration file, so that
the provisioner and the service manager are configured exactly as the hub's.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from urllib.parse import urlparse

import aiohttp
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from kubernetes_asyncio.client.exceptions import ApiException
from tornado import web
from tornado.escape import url_escape
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from traitlets import Float, Unicode
from traitlets.config import Application

from .. import __version__
from ..errors import ApiError
from ..kube import api_message
from ..provisioning import NamespaceConflict, Provisioner, ProvisioningError
from ..secretfile import write_private
from ..services import ServiceManager
from . import openapi

JSON = "application/json; charset=UTF-8"


class BaseHandler(HubOAuthenticated, web.RequestHandler):
    @property
    def manager(self) -> ServiceManager:
        return self.settings["manager"]

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError) and status_code in (401, 403):
            err = ApiError(
                status_code,
                "not-authenticated" if status_code == 401 else "forbidden",
                exc.log_message or "log in to JupyterHub, or send a token",
            )
        elif status_code == 404:
            err = ApiError(404, "no-such-endpoint", f"there is no {self.request.path}")
        elif status_code == 405:
            err = ApiError(
                405,
                "method-not-allowed",
                f"{self.request.method} is not an operation of {self.request.path}"
                " (see api/openapi.json)",
            )
        elif status_code < 500:
            err = ApiError(status_code, "bad-request", (exc and str(exc)) or "bad request")
        else:
            err = ApiError(
                status_code, "server-error", "something went wrong; see the service's log"
            )
        self.reply(err.to_dict(), status=status_code)

    async def run(self, operation):
        try:
            return await operation
        except ApiError:
            raise
        except NamespaceConflict as err:
            raise ApiError(409, "namespace-conflict", str(err)) from None
        except ProvisioningError as err:
            raise ApiError(503, "cluster-unavailable", str(err)) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise ApiError(
                503,
                "cluster-unreachable",
                f"the Kubernetes API cannot be reached ({err}); try again",
            ) from None
        except ApiException as err:
            raise cluster_error(err) from None

    async def target_user(self, requested: str | None = None, writes: bool = False) -> str:
        """The user whose things a request acts on: oneself, or anyone for an admin.

        Before a write, the hub is asked again (no cache) whether the user still exists:
        a deleted user's token may linger in the service's cache for a minute, and must
        not bring their namespace back."""
        me = self.current_user
        requested = requested or self.get_query_argument("user", None)
        if not isinstance(requested, str | None):
            raise ApiError(400, "bad-user", '"user" must be a user name')
        users = self.settings["hub_users"]
        if writes and await users.get(me["name"], fresh=True) is None:
            raise ApiError(401, "not-authenticated", f"there is no user '{me['name']}' any more")
        if not requested or requested == me["name"]:
            return me["name"]
        if not await users.is_admin(me):
            raise ApiError(
                403, "not-yours", "only admins can act on another user's services and templates"
            )
        if await users.get(requested, fresh=writes) is None:
            raise ApiError(404, "no-such-user", f"there is no user '{requested}'")
        return requested

    def json_body(self) -> dict:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise ApiError(400, "bad-json", "the request body must be JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "bad-json", "the request body must be a JSON object")
        return body

    def reply(self, data, status=200):
        self.set_status(status)
        self.set_header("Content-Type", JSON)
        self.finish(json.dumps(data))


def cluster_error(err: ApiException) -> ApiError:
    """What an answer of the Kubernetes API means to the user of the dashboard."""
    message = api_message(err)
    if "being terminated" in message:
        return ApiError(
            409,
            "namespace-terminating",
            "this user's namespace is being deleted; try again when it is gone",
        )
    if err.status in (401, 403):
        return ApiError(
            503,
            "cluster-forbidden",
            "the dashboard service is not allowed to do this in the cluster",
        )
    if err.status == 404:
        return ApiError(404, "not-found", f"not found in the cluster: {message}")
    if err.status == 409:
        return ApiError(409, "conflict", f"the cluster says: {message}; try again")
    if err.status in (400, 422):
        return ApiError(422, "rejected-by-cluster", f"the cluster refused it: {message}")
    return ApiError(503, "cluster-error", f"the cluster answered {err.status}: {message}")


def api(method):
    """Authenticated, errors as JSON. Without credentials a script gets a JSON 401; a
    browser opening the page is sent through the hub's login and back (HubOAuth)."""

    async def wrapper(self, *args, **kwargs):
        try:
            if self.current_user is None:
                if self.request.method == "GET" and "text/html" in self.request.headers.get(
                    "Accept", ""
                ):
                    self.redirect(self.get_login_url())
                    return
                raise ApiError(
                    401,
                    "not-authenticated",
                    "log in to JupyterHub, or send a token: 'Authorization: token <token>'"
                    " (create one at /hub/token)",
                )
            await method(self, *args, **kwargs)
        except ApiError as err:
            self.reply(err.to_dict(), status=err.status)

    return wrapper


class WhoAmIHandler(BaseHandler):
    @api
    async def get(self):
        me = self.current_user
        self.reply(
            {
                "name": me["name"],
                "admin": await self.settings["hub_users"].is_admin(me),
                "namespace": self.manager.provisioner.namespace(me["name"]),
            }
        )


class ServicesHandler(BaseHandler):
    @api
    async def get(self):
        user = await self.target_user()
        self.reply(await self.run(self.manager.list(user)))

    @api
    async def post(self):
        body = self.json_body()
        user = await self.target_user(body.get("user"), writes=True)
        template_id = body.get("template")
        if not isinstance(template_id, str) or not template_id:
            raise ApiError(
                400, "missing-template", 'say which template to launch: {"template": ID}'
            )
        variables = body.get("variables", {})
        launched = await self.run(self.manager.launch(user, template_id, variables))
        self.reply(launched, status=201)


class ServiceHandler(BaseHandler):
    @api
    async def delete(self, name):
        user = await self.target_user()
        self.reply(await self.run(self.manager.stop(user, name)))


class TemplatesHandler(BaseHandler):
    @api
    async def get(self):
        user = await self.target_user()
        self.reply(await self.run(self.manager.templates.list(user)))

    @api
    async def post(self):
        ctype = self.request.headers.get("Content-Type", "").split(";")[0].strip()
        template_id = self.get_query_argument("id", None)
        requested = None
        if ctype == "application/json":
            body = self.json_body()
            text, template_id, requested = (
                body.get("data"),
                body.get("id", template_id),
                body.get("user"),
            )
        else:
            try:
                text = self.request.body.decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError(400, "bad-encoding", "a template is UTF-8 text") from None
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "missing-template", "send the template's YAML as the body")
        if not isinstance(template_id, str | None):
            raise ApiError(
                400, "bad-template-id", '"id" must be text: lower-case letters, digits, "-"'
            )
        user = await self.target_user(requested, writes=True)
        added = await self.run(self.manager.templates.add(user, text, template_id))
        self.reply(added, status=201)


class TemplateHandler(BaseHandler):
    @api
    async def get(self, template_id):
        user = await self.target_user()
        template = await self.run(self.manager.templates.get(user, template_id))
        self.set_header("Content-Type", "application/yaml; charset=UTF-8")
        self.set_header("Content-Disposition", f'inline; filename="{template_id}.template.yaml"')
        self.finish(template.source)

    @api
    async def delete(self, template_id):
        user = await self.target_user()
        await self.run(self.manager.templates.remove(user, template_id))
        self.set_status(204)
        self.finish()


class NotFoundHandler(BaseHandler):
    """Anything else under the API: a JSON 404, like every other answer."""

    def prepare(self):
        raise web.HTTPError(404)


class OpenAPIHandler(web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", JSON)
        self.finish(json.dumps(openapi.document(__version__)))


class IndexHandler(BaseHandler):
    @web.authenticated
    def get(self):
        self.redirect(url_path_join(self.settings["prefix"], "api/openapi.json"))


class HubUsers:
    """What the hub says of a user, asked with the service's token and cached briefly.

    JupyterHub's roles decide who is an admin: the hub's user model says ``admin``."""

    def __init__(self, hub_auth: HubOAuth, ttl: float):
        self.hub_auth = hub_auth
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dict | None]] = {}

    async def get(self, name: str, fresh: bool = False) -> dict | None:
        hit = self._cache.get(name)
        if hit and not fresh and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        request = HTTPRequest(
            url_path_join(self.hub_auth.api_url, "users", url_escape(name, plus=False)),
            headers={"Authorization": f"token {self.hub_auth.api_token}"},
            request_timeout=10,
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
            model = json.loads(response.body)
        except HTTPClientError as err:
            if err.code != 404:
                raise ApiError(503, "hub-unreachable", f"the hub did not answer ({err})") from None
            model = None
        except OSError as err:
            raise ApiError(503, "hub-unreachable", f"the hub cannot be reached ({err})") from None
        self._cache[name] = (time.monotonic(), model)
        return model

    async def is_admin(self, model: dict) -> bool:
        if "admin" in model:
            return bool(model["admin"])
        found = await self.get(model["name"])
        return bool(found and found.get("admin"))


class DashboardApp(Application):
    name = "karvdash-dashboard"
    description = "Karvdash's dashboard service (started by JupyterHub)."
    classes = [Provisioner, ServiceManager]

    config_file = Unicode(
        "", config=True, help="JupyterHub configuration file to read the settings from."
    )
    ip = Unicode(
        "",
        config=True,
        help="Address to listen on. Default: the host of the service's URL; in a cluster"
        " that URL names the hub's Service, so set 0.0.0.0.",
    )
    admin_cache_seconds = Float(10, config=True, help="How long an admin check is cached.")
    cookie_secret_file = Unicode(
        "",
        config=True,
        help="File with the secret that signs the service's login cookie, made (readable"
        " by its owner only) when missing; kept across restarts so that browsers stay"
        " logged in. Empty: a new secret at each start.",
    )
    aliases = {"config": "DashboardApp.config_file", "log-level": "Application.log_level"}

    def initialize(self, argv=None):
        super().initialize(argv)
        if self.config_file:
            self.load_config_file(self.config_file)

    def make_app(self) -> web.Application:
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/karvdash/")
        hub_auth = HubOAuth(api_token=os.environ["JUPYTERHUB_API_TOKEN"], cache_max_age=60)
        manager = ServiceManager(config=self.config, log=self.log)
        api_prefix = url_path_join(prefix, "api")
        return web.Application(
            [
                (prefix, IndexHandler),
                (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
                (url_path_join(api_prefix, "openapi.json"), OpenAPIHandler),
                (url_path_join(api_prefix, "user"), WhoAmIHandler),
                (url_path_join(api_prefix, "services"), ServicesHandler),
                (url_path_join(api_prefix, r"services/([^/]+)"), ServiceHandler),
                (url_path_join(api_prefix, "templates"), TemplatesHandler),
                (url_path_join(api_prefix, r"templates/([^/]+)"), TemplateHandler),
                (url_path_join(api_prefix, r".*"), NotFoundHandler),
            ],
            hub_auth=hub_auth,
            manager=manager,
            prefix=prefix,
            hub_users=HubUsers(hub_auth, self.admin_cache_seconds),
            cookie_secret=self.cookie_secret(),
        )

    def cookie_secret(self) -> bytes:
        if not self.cookie_secret_file:
            return os.urandom(32)
        path = Path(self.cookie_secret_file)
        try:
            secret = bytes.fromhex(path.read_text().strip())
            if len(secret) >= 32:
                path.chmod(0o600)
                return secret
            self.log.warning("%s holds no usable secret: making a new one", path)
        except FileNotFoundError:
            pass
        except ValueError:
            self.log.warning("%s is not a hex secret: making a new one", path)
        secret = os.urandom(32)
        write_private(path, secret.hex() + "\n")
        return secret

    def start(self):
        url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
        server = HTTPServer(self.make_app(), xheaders=True)
        # in a cluster the URL names the hub's Service; listen on every address there
        server.listen(url.port, self.ip or url.hostname)
        self.log.info("Karvdash dashboard service at %s", url.geturl())
        loop = IOLoop.current()
        signal.signal(signal.SIGTERM, lambda *_: loop.add_callback_from_signal(loop.stop))
        try:
            loop.start()
        except KeyboardInterrupt:
            pass


def main():
    app = DashboardApp()
    app.initialize()
    app.start()
