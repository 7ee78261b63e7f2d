"""The facts of one installation that every process reads: the dashboard service's
name and URL, the domain of services, the registry.

One small configurable (``c.Installation.*``), read by the spawners (the user's
environment), the service manager (host names, $REGISTRY) and every app, so that the hub
and the dashboard never disagree about them.
"""

from __future__ import annotations

from traitlets import TraitError, Unicode, validate
from traitlets.config import Configurable


class Installation(Configurable):
    service_name = Unicode(
        "karvdash",
        config=True,
        help="Name of the dashboard service in JupyterHub: its pages and API are under"
        " /services/<name>/.",
    )
    api_url = Unicode(
        "",
        config=True,
        help="URL of the dashboard service's REST API as code in a user's server reaches"
        " it (KARVDASH_API_URL). Empty: the hub's API URL with /services/<name>/api/.",
    )
    domain = Unicode(
        "localtest.me",
        config=True,
        help="Domain under which services are reachable: service 'zeppelin' of user"
        " 'test' is at zeppelin-test.<domain>.",
    )
    public_url = Unicode(
        "",
        config=True,
        help="The hub's public URL as browsers reach it ('https://karvdash.example.org'):"
        " where the gateway sends a visitor of a service to sign in, and the identity"
        " service's issuer is under it.",
    )
    registry = Unicode(
        "",
        config=True,
        help="The users' container registry as the cluster's nodes pull from it,"
        " host[:port] without a scheme ('registry.example.org'): $REGISTRY in templates"
        " and KARVDASH_REGISTRY in the user's environment. Empty: none.",
    )

    @validate("registry")
    def _check_registry(self, proposal):
        value = proposal["value"].strip().rstrip("/")
        if "://" in value or "/" in value or " " in value:
            raise TraitError(
                f"Installation.registry is a host[:port] without a scheme or a path, not"
                f" {proposal['value']!r}"
            )
        return value

    registry_api_url = Unicode(
        "",
        config=True,
        help="How the dashboard reaches the registry's API ('http://127.0.0.1:5000')."
        " Empty: https://<registry>.",
    )

    def registry_api(self) -> str:
        """:attr:`registry_api_url`, or the one derived from :attr:`registry`."""
        if self.registry_api_url or not self.registry:
            return self.registry_api_url.rstrip("/")
        return f"https://{self.registry}"

    def api_url_from_hub(self, hub_api_url: str) -> str:
        """:attr:`api_url`, or the one derived from the hub's API URL."""
        if self.api_url or not hub_api_url:
            return self.api_url
        base = hub_api_url.rstrip("/")
        base = base[: -len("/hub/api")] if base.endswith("/hub/api") else base
        return f"{base}/services/{self.service_name}/api/"
