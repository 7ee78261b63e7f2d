"""Accounts: who may log in, the first admin, and what happens to a user's namespace
when the user logs in or is deleted.

- :class:`KarvdashNativeAuthenticator`: the embedded default's "traditional" accounts
  (jupyterhub-nativeauthenticator: sign-up, admin approval, password change, admin
  password reset), plus the first admin account.
- :class:`KarvdashGenericOAuthenticator`: log in through an upstream identity provider
  (oauthenticator's GenericOAuthenticator).

Both provision the user's namespace at every login (idempotent), so that it exists
before any server is started, and remove it when an admin deletes the user: first the
namespace, volumes and files, then the login record, so that a deletion that fails
leaves an account that still works and can be deleted again. Who is an admin is
decided by JupyterHub's roles alone (``admin_users`` gives the admin role).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
from pathlib import Path

import bcrypt
from jupyterhub.handlers import BaseHandler
from jupyterhub.utils import url_path_join
from kubernetes_asyncio.client.exceptions import ApiException
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as NativeLoginHandler
from oauthenticator.generic import GenericOAuthenticator
from tornado import web
from traitlets import Bool, Instance, Unicode, default

from .. import site
from ..branding import Branding
from ..errors import ProvisioningError
from ..parts import HasParts
from ..secretfile import write_private
from . import approval, handlers

#: the configuration sections the dashboard service shares with the hub
SHARED_SECTIONS = (
    "Installation",
    "Branding",
    "Provisioner",
    "UserFiles",
    "ServiceManager",
    "FileStore",
    "RegistryAuth",
    "ImageStore",
    "ServiceInspector",
    "IdentityStore",
    "DashboardApp",
)


class KarvdashAccountsMixin(HasParts):
    """Provisioning on login, deprovisioning on deletion, for any Authenticator. Its
    provisioner and installation (made with ``parent=self``) are the spawners' too."""

    purge_files_on_delete = Bool(
        False,
        config=True,
        help="Delete a user's private files when the user is deleted through JupyterHub's"
        " admin page or API (needs Provisioner.private_root). Default: keep them, moved"
        " aside to <private_root>/.deleted/<user>-<UTC time> so that a new account of the"
        " same name starts empty; an admin can purge them later from"
        " /hub/karvdash/delete-user/<name>.",
    )

    dashboard_config_file = Unicode(
        "",
        config=True,
        help="Where the hub writes, at start, the sections of its configuration that the"
        " dashboard service shares (Installation, Provisioner, UserFiles, ServiceManager,"
        " FileStore, DashboardApp) as JSON, for the service's --config: hub and dashboard then read"
        " the same settings, wherever they were set. Empty: not written.",
    )

    branding = Instance(Branding, help="The installation's look (c.Branding).")

    @default("branding")
    def _default_branding(self):
        return Branding(parent=self)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.dashboard_config_file:
            self.export_shared_config(Path(self.dashboard_config_file))

    @property
    def hub_prefix(self) -> str:
        hub = getattr(self.parent, "hub", None)
        if hub is not None:
            return hub.base_url
        return url_path_join(getattr(self.parent, "base_url", "/"), "hub/")

    @property
    def password_url(self) -> str:
        """The authenticator's page where users change their password ("": none)."""
        return ""

    def export_shared_config(self, path: Path) -> None:
        """Write the shared sections of the hub's whole configuration (its files and
        whatever was added after them) for the dashboard service (owner-only: it may
        hold secrets), with what the service must know of the hub: its password page."""
        shared = {k: dict(self.config[k]) for k in SHARED_SECTIONS if k in self.config}
        shared.setdefault("DashboardApp", {})["password_url"] = self.password_url
        write_private(path, json.dumps(shared, indent=1, sort_keys=True, default=list))

    def page_vars(self, user) -> dict:
        """What the hub's page templates read as ``karvdash`` (``template_vars``)."""
        base = getattr(self.parent, "base_url", "/")
        service = url_path_join(base, "services", self.installation.service_name) + "/"
        return site.page_vars(
            self.branding.template_vars(),
            hub_prefix=self.hub_prefix,
            service_prefix=service,
            admin=bool(getattr(user, "admin", False)),
            password_url=self.password_url,
            signups=bool(approval_handlers(self)),
        )

    def apply_branding(self, app) -> None:
        """Give the hub's pages Karvdash's variables and the installation's logo.

        JupyterHub asks the authenticator for its handlers while it builds its web
        application, after its settings: the one moment an authenticator sees the app
        before it serves, so that is where this is called from. An explicitly configured
        ``JupyterHub.logo_file`` is kept."""
        if "logo_file" not in app.config.JupyterHub:
            app.logo_file = self.branding.logo_file
        settings = getattr(app, "tornado_settings", None)
        if isinstance(settings, dict):
            settings["template_vars"] = {
                **(settings.get("template_vars") or {}),
                "karvdash": self.page_vars,
            }

    async def run_post_auth_hook(self, handler, authentication):
        authentication = await super().run_post_auth_hook(handler, authentication)
        if authentication:
            try:
                await self.provisioner.ensure(authentication["name"])
            except ProvisioningError as err:
                self.log.error("Provisioning %s failed: %s", authentication["name"], err)
                if err.reason == "namespace-conflict":
                    message = f"Your workspace cannot be prepared: {err}."
                else:
                    message = f"Your workspace could not be prepared: {err}."
                    if "try again" not in str(err):
                        message += " Try again shortly."
                raise web.HTTPError(err.status, message) from err
        return authentication

    async def delete_user(self, user, *, purge_files: bool | None = None):
        """Deprovision the user, then remove the login record (JupyterHub's hook).

        ``purge_files`` defaults to ``purge_files_on_delete``. When deprovisioning
        fails nothing of the account is removed, and the error says why.
        """
        purge = self.purge_files_on_delete if purge_files is None else purge_files
        await self.deprovision(user.name, purge_files=purge)
        result = super().delete_user(user)
        if asyncio.iscoroutine(result):
            await result

    async def deprovision(self, name: str, *, purge_files: bool) -> None:
        """:meth:`Provisioner.delete`, with its errors as HTTP errors that say what to do."""
        try:
            await self.provisioner.delete(name, purge_files=purge_files)
        except ProvisioningError as err:
            self.log.error("Deleting %s failed: %s", name, err)
            raise web.HTTPError(err.status, f"User {name} was not deleted: {err}.") from err
        except ApiException as err:
            self.log.error("Deleting %s failed: %s", name, err)
            raise web.HTTPError(
                503,
                f"User {name} was not fully deleted: the cluster answered {err.status}"
                f" {err.reason} when deleting their namespace or volumes. The account is"
                " kept; delete it again once the cluster allows it.",
            ) from err

    def get_handlers(self, app):
        self.apply_branding(app)
        return [*handlers.default_handlers, *approval_handlers(self), *super().get_handlers(app)]


def approval_handlers(authenticator) -> list:
    """The approval API, for authenticators that keep sign-ups (nativeauthenticator)."""
    return approval.default_handlers if isinstance(authenticator, NativeAuthenticator) else []


class _NoTimer:
    def start(self):
        return self

    def stop(self, send=True):
        return None


class _NoStatsd:
    def timer(self, name):
        return _NoTimer()


class LoginHandler(NativeLoginHandler):
    """nativeauthenticator's login page, working on JupyterHub 6.

    nativeauthenticator 1.3 times logins with ``self.statsd``, which JupyterHub 6 no
    longer has, and renders error pages through its login form; this keeps its
    behaviour (the "not authorized yet" message) and gives errors JupyterHub's page.
    """

    statsd = _NoStatsd()

    def render_template(self, name, sync=False, **ns):
        if name == "error.html":
            return BaseHandler.render_template(self, name, sync=sync, **ns)
        return super().render_template(name, sync=sync, **ns)


class KarvdashNativeAuthenticator(KarvdashAccountsMixin, NativeAuthenticator):
    """Native accounts, with the first admin created at the first start."""

    @property
    def password_url(self) -> str:
        return self.hub_prefix + "change-password"

    def get_handlers(self, app):
        replaced = {r"/login": LoginHandler, **approval.native_replacements}
        return [
            (route[0], replaced.get(route[0], route[1]), *route[2:])
            for route in super().get_handlers(app)
        ]

    admin_password = Unicode(
        "",
        config=True,
        help="Password of the first admin account ('admin', or the first of admin_users)"
        " when it is created at the first start. Empty: a random one is generated, written"
        " to admin_password_file and logged once.",
    )
    admin_password_file = Unicode(
        "",
        config=True,
        help="Where a generated first admin password is kept (mode 0600).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._ensure_first_admin()

    async def authenticate(self, handler, data):
        """NativeAuthenticator's check, with bcrypt (a quarter of a second of CPU) in a
        thread: the hub's event loop keeps serving other requests meanwhile (bcrypt
        releases the GIL). The same rules: approval, the lockout after failed logins, 2FA."""
        username = self.normalize_username(data["username"])
        user = self.get_user(username)
        if not user or (self.allowed_failed_logins and self.is_blocked(username)):
            return None
        stored = user.password  # read here: the database session stays in this thread
        again = await asyncio.to_thread(bcrypt.hashpw, data["password"].encode(), stored)
        correct = hmac.compare_digest(again, stored)
        valid = [user.is_authorized, correct]
        if user.has_2fa:
            valid.append(user.is_valid_token(data.get("2fa")))
        if all(valid):
            self.successful_login(username)
            return username
        self.add_login_attempt(username)
        return None

    def _ensure_first_admin(self):
        admins = sorted(self.admin_users)
        name = "admin" if "admin" in admins else (admins[0] if admins else None)
        if name is None or self.user_exists(name):
            return
        password = self.admin_password
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        if self.create_user(name, password) is None:
            raise ValueError(
                f"cannot create the admin account {name!r}: is the password at least"
                f" {self.minimum_password_length} characters and not a common one?"
            )
        if generated:
            if self.admin_password_file:
                write_private(Path(self.admin_password_file), password + "\n")
            self.log.warning(
                "Created the admin account %r with the generated password %s (kept in %s)."
                " Change it at /hub/change-password.",
                name,
                password,
                self.admin_password_file or "nowhere: note it now",
            )
        else:
            self.log.info("Created the admin account %r with the configured password", name)


class KarvdashGenericOAuthenticator(KarvdashAccountsMixin, GenericOAuthenticator):
    """Log in through an upstream OAuth 2.0 / OpenID Connect identity provider."""
