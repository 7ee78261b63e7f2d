"""The identity service process: JupyterHub-managed, its users logged in by HubOAuth.

Its configuration is a file (JSON) that ``jupyterhub_config.py`` writes for it, read with
``--config``: the issuer, the clients, the state folder and the lifetimes. Clients are
checked at start (:mod:`karvdash_hub.rules.oidc`): a wrong one stops the service with
the reason, rather than being refused later at each login.
"""

from __future__ import annotations

import os
from pathlib import Path

from jupyterhub.services.auth import HubOAuth
from jupyterhub.utils import url_path_join
from tornado import web
from traitlets import Dict, Float, Integer, List, TraitError, Unicode, default, validate

from ...branding import Branding
from ...identitystore import IdentityStore
from ...installation import Installation
from ...rules import oidc as rules
from ..base import ServiceApp
from ..dashboard.hubusers import HubUsers
from ..dashboard.rendering import Renderer
from .handlers import default_handlers
from .keys import KeyStore, subject_secret
from .server import Provider


class IdentityApp(ServiceApp):
    name = "karvdash-identity"
    description = "Karvdash's OpenID Connect provider (started by JupyterHub)."
    classes = [IdentityStore, Branding, Installation]

    issuer = Unicode(
        "",
        config=True,
        help="The provider's issuer: the public URL of the hub followed by the service's"
        " prefix, e.g. https://karvdash.example.org/services/identity (no trailing"
        " slash). Clients find everything at <issuer>/.well-known/openid-configuration.",
    )
    state_dir = Unicode(
        "",
        config=True,
        help="Folder of the provider's secrets: its signing keys (oidc-keys/) and the"
        " secret that derives users' subjects (oidc-subject-secret). Keep it: a new"
        " subject secret changes every user's subject for every client.",
    )
    clients = List(
        Dict(),
        config=True,
        help="The applications that may log users in: a list of {client_id,"
        " client_secret (confidential clients; at least 16 characters) or none (public"
        " clients, which must use PKCE), redirect_uris (exact, absolute, https or http on"
        " loopback), name, trusted}. Checked at start.",
    )
    code_lifetime = Float(60, config=True, help="Seconds an authorization code may be used.")
    id_token_lifetime = Integer(300, config=True, help="Seconds an ID token is valid.")
    access_token_lifetime = Integer(
        3600, config=True, help="Seconds an access token (for userinfo) is valid."
    )
    refresh_token_lifetime = Integer(
        30 * 86400,
        config=True,
        help="Seconds a refresh token may be used (once: each use gives a new one).",
    )
    key_rotation = Float(
        30 * 86400,
        config=True,
        help="Seconds after which a new signing key replaces the current one.",
    )
    key_retention = Float(
        86400,
        config=True,
        help="Seconds a replaced signing key stays in the JWKS (more than id_token_lifetime,"
        " so that tokens it signed can still be verified).",
    )

    @default("state_dir")
    def _default_state_dir(self):
        return str(Path.cwd())

    @validate("clients")
    def _check_clients(self, proposal):
        try:
            rules.clients_from_config(proposal.value)
        except rules.ClientConfigError as err:
            raise TraitError(f"IdentityApp.clients: {err}") from None
        return proposal.value

    @property
    def prefix(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/identity/")

    def make_provider(self) -> Provider:
        if self.key_retention <= self.id_token_lifetime:
            raise TraitError("IdentityApp.key_retention must be longer than id_token_lifetime")
        state = Path(self.state_dir)
        keys = KeyStore(state / "oidc-keys", self.key_rotation, self.key_retention)
        keys.refresh()
        store = IdentityStore(parent=self)
        if not store.db_file:
            store.db_file = str(state / "identity.sqlite")
        return Provider(
            issuer=self.issuer.rstrip("/"),
            clients=rules.clients_from_config(self.clients),
            keys=keys,
            subject_secret=subject_secret(state / "oidc-subject-secret"),
            store=store,
            code_lifetime=self.code_lifetime,
            id_token_lifetime=self.id_token_lifetime,
            access_token_lifetime=self.access_token_lifetime,
            refresh_token_lifetime=self.refresh_token_lifetime,
        )

    def make_app(self) -> web.Application:
        if not self.issuer:
            raise TraitError("IdentityApp.issuer must be set (<public hub URL>/services/identity)")
        prefix = self.prefix
        hub_auth = HubOAuth(api_token=os.environ["JUPYTERHUB_API_TOKEN"], cache_max_age=60)
        # the consent page looks like the dashboard's, and its links lead there
        hub = hub_auth.hub_prefix
        base = hub[: -len("hub/")] if hub.endswith("hub/") else "/"
        dashboard = url_path_join(base, "services", Installation(parent=self).service_name) + "/"
        return web.Application(
            default_handlers(prefix),
            hub_auth=hub_auth,
            hub_users=HubUsers(hub_auth, 0),
            provider=self.make_provider(),
            renderer=Renderer(
                Branding(parent=self).template_vars(),
                service_prefix=dashboard,
                hub_prefix=hub,
                password_url="",
            ),
            prefix=prefix,
            cookie_secret=self.cookie_secret(),
        )


def main():
    app = IdentityApp()
    app.initialize()
    app.start()
