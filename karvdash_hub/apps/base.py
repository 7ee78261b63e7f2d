"""What every Karvdash service process shares (the dashboard today; the identity
service and the gateway next): configuration, the login cookie's secret, listening,
and one JSON error shape.

- :class:`ServiceApp`: a traitlets Application started by JupyterHub as a managed
  service. Its configuration is the file named by ``--config`` (the JSON the hub
  exports: the same settings as the hub's, wherever they were set), never the hub's own
  configuration file. It listens where ``JUPYTERHUB_SERVICE_URL`` says and stops on
  SIGTERM and SIGINT.
- :class:`ApiHandler`: HubOAuth-authenticated tornado handler whose every error, raised
  anywhere below it, becomes the same JSON (``status``, ``reason``, ``message`` and
  details) with the status from :data:`karvdash_hub.errors.STATUS`: handlers only raise.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from urllib.parse import urlparse

import aiohttp
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from kubernetes_asyncio.client.exceptions import ApiException
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.log import app_log
from traitlets import Unicode
from traitlets.config import Application

from .. import lifecycle
from ..errors import ApiError
from ..kube import api_message
from ..secretfile import write_private

JSON = "application/json; charset=UTF-8"


def cluster_error(err: ApiException) -> ApiError:
    """What an answer of the Kubernetes API means to a user of Karvdash."""
    message = api_message(err)
    if "being terminated" in message:
        return ApiError(
            "namespace-terminating",
            "this user's namespace is being deleted; try again when it is gone",
        )
    if err.status in (401, 403):
        return ApiError(
            "cluster-forbidden", "the dashboard service is not allowed to do this in the cluster"
        )
    if err.status == 404:
        return ApiError("not-found", f"not found in the cluster: {message}")
    if err.status == 409:
        return ApiError("conflict", f"the cluster says: {message}; try again")
    if err.status in (400, 422):
        return ApiError("rejected-by-cluster", f"the cluster refused it: {message}")
    return ApiError("cluster-error", f"the cluster answered {err.status}: {message}")


def as_api_error(exc: BaseException | None, handler: web.RequestHandler, status: int) -> ApiError:
    """Any exception (or a bare status) as the API's error."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ApiException):
        return cluster_error(exc)
    if isinstance(exc, aiohttp.ClientError | OSError | TimeoutError):
        return ApiError(
            "cluster-unreachable", f"the Kubernetes API cannot be reached ({exc}); try again"
        )
    if isinstance(exc, web.HTTPError) and status in (401, 403):
        reason = "not-authenticated" if status == 401 else "forbidden"
        return ApiError(reason, exc.log_message or "log in to JupyterHub, or send a token")
    if status == 404:
        return ApiError("no-such-endpoint", f"there is no {handler.request.path}")
    if status == 405:
        return ApiError(
            "method-not-allowed",
            f"{handler.request.method} is not an operation of {handler.request.path}"
            " (see api/openapi.json)",
        )
    if status < 500:
        return ApiError("bad-request", (exc and str(exc)) or "bad request")
    return ApiError("server-error", "something went wrong; see the service's log")


class AppHubOAuth(HubOAuthenticated):
    """HubOAuthenticated with the app's own HubOAuth (``settings["hub_auth"]``), made by
    the app with its settings, instead of HubOAuth's process-wide default instance."""

    @property
    def hub_auth(self) -> HubOAuth:
        return self.settings["hub_auth"]

    @hub_auth.setter
    def hub_auth(self, auth):
        raise AttributeError("the app's HubOAuth is settings['hub_auth']")


class OAuthCallbackHandler(AppHubOAuth, HubOAuthCallbackHandler):
    """The end of the hub's OAuth login, with the app's HubOAuth (its login states)."""


class ApiHandler(AppHubOAuth, web.RequestHandler):
    """Authenticated JSON API handler: without credentials a script gets a JSON 401, a
    browser opening the page is sent through the hub's login and back (HubOAuth)."""

    async def prepare(self):
        if self.current_user is None:
            accept = self.request.headers.get("Accept", "")
            if self.request.method == "GET" and "text/html" in accept:
                self.redirect(self.get_login_url())
                return
            raise ApiError(
                "not-authenticated",
                "log in to JupyterHub, or send a token: 'Authorization: token <token>'"
                " (create one at /hub/token)",
            )

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        err = as_api_error(exc, self, status_code)
        self.reply(err.to_dict(), status=err.status)

    def log_exception(self, typ, value, tb):
        where = f"{self.request.method} {self.request.path}"
        if isinstance(value, ApiError) and value.status < 500:
            app_log.info("%s: %s %s", where, value.status, value.reason)
        elif isinstance(value, ApiError | ApiException):
            app_log.warning("%s: %s", where, value)
        else:
            super().log_exception(typ, value, tb)

    def json_body(self) -> dict:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise ApiError("bad-json", "the request body must be JSON") from None
        if not isinstance(body, dict):
            raise ApiError("bad-json", "the request body must be a JSON object")
        return body

    def reply(self, data, status=200):
        self.set_status(status)
        self.set_header("Content-Type", JSON)
        self.finish(json.dumps(data))


class NotFoundHandler(ApiHandler):
    """Anything else under the API: a JSON 404, like every other answer."""

    async def prepare(self):
        raise web.HTTPError(404)


class ServiceApp(Application):
    """Base of Karvdash's JupyterHub-managed service processes."""

    config_file = Unicode(
        "",
        config=True,
        help="Configuration file (JSON or Python) to read: the one the hub exports for"
        " its services (KarvdashNativeAuthenticator.dashboard_config_file).",
    )
    ip = Unicode(
        "",
        config=True,
        help="Address to listen on. Default: the host of the service's URL; in a cluster"
        " that URL names the hub's Service, so set 0.0.0.0.",
    )
    cookie_secret_file = Unicode(
        "",
        config=True,
        help="File with the secret that signs the service's login cookie, made (readable"
        " by its owner only) when missing; kept across restarts so that browsers stay"
        " logged in. Empty: a new secret at each start.",
    )
    aliases = {"config": "ServiceApp.config_file", "log-level": "Application.log_level"}

    def initialize(self, argv=None):
        super().initialize(argv)
        if self.config_file:
            path = Path(self.config_file)
            self.load_config_file(path.name, path=str(path.parent))

    @property
    def prefix(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/karvdash/")

    def make_app(self) -> web.Application:
        raise NotImplementedError

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
        if os.environ.get("JUPYTERHUB_SERVICE_URL"):
            lifecycle.die_with_parent()  # started by the hub: stop when it dies
        url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
        # bodies are streamed to disk (uploads) in pieces of up to 1 MiB: fewer, larger
        # writes than tornado's 64 KiB, and memory stays at a piece per request
        server = HTTPServer(self.make_app(), xheaders=True, chunk_size=1 << 20)
        # in a cluster the URL names the hub's Service; listen on every address there
        server.listen(url.port, self.ip or url.hostname)
        self.log.info("%s at %s", self.description, url.geturl())
        loop = IOLoop.current()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: loop.add_callback_from_signal(loop.stop))
        loop.start()
