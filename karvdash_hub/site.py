"""The pages of an installation as one site: the navigation bar that the hub's pages and
the dashboard service's pages share, and what every page template reads about Karvdash.

Pure: the hub (through ``JupyterHub.template_vars``) and the dashboard service (in its
page handlers) call :func:`page_vars` with what they know of the request, and render the
same ``page.html`` (``karvdash_hub/hub/templates``), so the two cannot drift apart.

Rules guaranteed (unit-tested):

- The navigation is Home, Services, Templates, Files, Images, then Users and
  Applications (those that log users in through the identity service) for admins only,
  then About; Files and Images are in place before their pages do more than say
  where the files and images are.
- Every link is a path under the hub's or the service's prefix (no user text in URLs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

#: (key, label, where: "hub" or "service", path, admins only)
NAVIGATION = (
    ("home", "Home", "hub", "home", False),
    ("services", "Services", "service", "services", False),
    ("templates", "Templates", "service", "templates", False),
    ("files", "Files", "service", "files", False),
    ("images", "Images", "service", "images", False),
    ("users", "Users", "hub", "karvdash/users", True),
    ("clients", "Applications", "service", "clients", True),
    ("about", "About", "service", "about", False),
)


def navigation(hub_prefix: str, service_prefix: str, admin: bool) -> list[dict]:
    """The navigation bar's Karvdash entries for a user: ``[{key, label, href}]``."""
    bases = {"hub": hub_prefix, "service": service_prefix}
    return [
        {"key": key, "label": label, "href": bases[where] + path}
        for key, label, where, path, admins_only in NAVIGATION
        if admin or not admins_only
    ]


def page_vars(
    branding: dict,
    *,
    hub_prefix: str,
    service_prefix: str,
    admin: bool,
    password_url: str = "",
    signups: bool = False,
) -> dict:
    """What ``page.html`` reads as ``karvdash``: branding, navigation and the URLs pages'
    scripts use (the API, the service's browser session, the hub's API)."""
    return {
        "branding": branding,
        "nav": navigation(hub_prefix, service_prefix, admin),
        "password_url": password_url,
        # whether the hub keeps sign-ups waiting for approval (its approval API)
        "signups": signups,
        "hub_prefix": hub_prefix,
        "service_prefix": service_prefix,
        "api_url": service_prefix + "api/",
        "session_url": service_prefix + "session",
        "static_prefix": service_prefix + "static/",
        "hub_static_prefix": hub_prefix + "karvdash/static/",
        "admin": admin,
    }


@dataclass(frozen=True)
class PageUser:
    """The user as JupyterHub's ``page.html`` reads it (in the dashboard's pages)."""

    name: str
    admin: bool = False

    @property
    def json_escaped_name(self) -> str:
        """The name inside a JavaScript string literal in HTML: ``<``, ``>`` and ``&`` are
        escaped too, so that no name can end the script it is written in."""
        text = json.dumps(self.name)[1:-1]
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
