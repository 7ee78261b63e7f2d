"""Exposure: the host names of services and the Ingress objects that serve them (pure).

Service ``zeppelin`` of user ``test`` is reachable at ``zeppelin-test.<domain>``.

Rules guaranteed (unit-tested):

- :func:`hostname` is ``<name>-<user slug>.<domain>``; a first label that would not be a
  valid DNS label is refused (:class:`names.NameError_`).
- :func:`exposes` is true for templates with ``auth: false``; a template with
  ``auth: true`` gets its Ingress only when the installation has an ingress login
  (``auth_annotations``) or opted out of it (``expose_without_login``): never an open
  address for a service that asked for its owner's login.
- :func:`decorate` labels every Ingress with its host's first label
  (:data:`HOST_LABEL`), and adds the installation's ingress class, TLS secret and (for
  ``auth: true``) login annotations; nothing else of the template's Ingress changes.
- Host names are ambiguous (``web-x`` of ``bob`` and ``web`` of ``x-bob`` both make
  ``web-x-bob``): :func:`possible_holders` lists every other user slug that could hold a
  host, so only their namespaces need asking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import names

#: on every Ingress: the first label of its host (``<name>-<user>``), to find who holds it
HOST_LABEL = "karvdash.io/host"


@dataclass(frozen=True)
class Exposure:
    """The installation's choices for services' addresses (ServiceManager's traits)."""

    domain: str = "localtest.me"
    url_scheme: str = "https"
    url_port: int = 0
    ingress_class: str = ""
    tls_secret: str = ""
    auth_annotations: dict = field(default_factory=dict)
    expose_without_login: bool = False

    def hostname(self, name: str, username: str) -> str:
        return f"{names.host_label(name, username)}.{self.domain}"

    def url(self, host: str) -> str:
        port = f":{self.url_port}" if self.url_port else ""
        return f"{self.url_scheme}://{host}{port}/"

    def exposes(self, auth: bool) -> bool:
        """Whether a template's Ingress is created (see the module's rules)."""
        return not auth or bool(self.auth_annotations) or self.expose_without_login

    def decorate(self, objects: list[dict], hostname: str, auth: bool) -> list[dict]:
        """The objects with the template's Ingresses dropped (when not exposed) or made
        the installation's (label, class, TLS, login annotations). Changes them in place
        and returns the kept ones."""
        if not self.exposes(auth):
            return [o for o in objects if o.get("kind") != "Ingress"]
        for obj in objects:
            if obj.get("kind") != "Ingress":
                continue
            meta = obj.setdefault("metadata", {})
            meta.setdefault("labels", {})[HOST_LABEL] = hostname.split(".")[0]
            spec = obj.setdefault("spec", {})
            if self.ingress_class:
                spec["ingressClassName"] = self.ingress_class
            if self.tls_secret:
                hosts = [r.get("host") for r in spec.get("rules") or [] if isinstance(r, dict)]
                hosts = [h for h in dict.fromkeys(hosts) if isinstance(h, str)] or [hostname]
                spec["tls"] = [{"hosts": hosts, "secretName": self.tls_secret}]
            if auth and self.auth_annotations:
                meta.setdefault("annotations", {}).update(self.auth_annotations)
        return objects

    def serves(self, ingress: dict, host_label: str) -> bool:
        """Whether an Ingress (as the API returns it) really serves that host."""
        full = f"{host_label}.{self.domain}"
        rules = ((ingress.get("spec") or {}).get("rules")) or []
        return any(rule.get("host") == full for rule in rules)


def possible_holders(host_label: str, own_slug: str) -> set[str]:
    """The user slugs other than ``own_slug`` whose services could make ``host_label``:
    every suffix after a hyphen."""
    return {
        host_label[i + 1 :]
        for i, char in enumerate(host_label)
        if char == "-" and host_label[i + 1 :] and host_label[i + 1 :] != own_slug
    }


def service_url(ingresses: list[dict], url_scheme: str, url_port: int = 0) -> str | None:
    """The URL of a service from its Ingresses (the first rule's host), or None."""
    port = f":{url_port}" if url_port else ""
    for ing in ingresses:
        rules = (ing.get("spec") or {}).get("rules") or []
        if rules and rules[0].get("host"):
            return f"{url_scheme}://{rules[0]['host']}{port}/"
    return None
