"""Karvdash's configuration on top of what is already configured (Zero to JupyterHub's).

The chart's own jupyterhub_config.py sets ``JupyterHub.services`` (the idle culler,
``hub.services``), ``JupyterHub.load_roles`` (``hub.loadRoles``, the culler's role), the
database and the authenticator (``hub.config``) before its ``hub.extraConfig`` loads
Karvdash's file. These helpers add Karvdash's part instead of replacing theirs: services
by name, roles merged by name (scopes, members), settings only where nothing set them.
"""

from __future__ import annotations

from traitlets.config import Config
from traitlets.config.loader import LazyConfigValue

_MEMBERS = ("scopes", "users", "services", "groups")


def _current(section: Config, key: str) -> list:
    if key not in section:
        return []
    value = section[key]
    if isinstance(value, LazyConfigValue):  # appended to, never set: what it adds
        return list(value.get_value([]))
    return list(value)


def add_service(c: Config, service: dict) -> None:
    """``service`` in ``JupyterHub.services``; one of the same name is replaced."""
    kept = [s for s in _current(c.JupyterHub, "services") if s.get("name") != service["name"]]
    c.JupyterHub.services = [*kept, service]


def add_role(c: Config, role: dict) -> None:
    """``role`` in ``JupyterHub.load_roles``; with one of the same name, the union of
    their scopes and members (the chart's ``user`` role keeps what it grants)."""
    roles = _current(c.JupyterHub, "load_roles")
    for i, existing in enumerate(roles):
        if existing.get("name") == role["name"]:
            merged = dict(existing)
            for key in _MEMBERS:
                values = [*existing.get(key, []), *role.get(key, [])]
                if values:
                    merged[key] = list(dict.fromkeys(values))
            roles[i] = merged
            break
    else:
        roles.append(role)
    c.JupyterHub.load_roles = roles


def set_default(section: Config, key: str, value) -> None:
    """``section.key = value`` unless something set it already."""
    if key not in section:
        section[key] = value


def load_into(c: Config, path: str) -> None:
    """Run Karvdash's configuration file ``path`` on the configuration ``c`` itself,
    as Zero to JupyterHub's ``hub.extraConfig`` should (``load_subconfig`` would run it on
    an empty one and then replace the chart's lists with Karvdash's)::

        from karvdash_hub.hub.configmerge import load_into
        load_into(c, "/usr/local/etc/karvdash/jupyterhub_config.py")
    """
    import runpy

    runpy.run_path(path, init_globals={"c": c, "get_config": lambda: c}, run_name="__config__")
