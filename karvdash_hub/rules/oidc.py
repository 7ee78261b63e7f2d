"""The OpenID Connect provider's rules (the identity service): which clients and redirect
URIs may be registered, how a redirect URI is matched, who a user is to a client (the
subject) and what the ID token and userinfo say of them. Pure: no I/O.

Rules guaranteed:

- A registrable redirect URI is absolute, has no fragment, no user information, and is
  ``https``, or ``http`` on a loopback host only (``127.0.0.0/8``, ``[::1]``,
  ``localhost``; RFC 8252 section 7.3).
- A redirect URI given at the authorization endpoint matches only when it is, character
  for character, one of the client's registered URIs: no prefix, no case folding, no
  trailing-slash or percent-encoding normalization.
- A client has a non-empty ``client_id`` of printable ASCII without spaces, at least
  one redirect URI, and either a ``client_secret`` of at least 16 characters
  (confidential) or none (public); a public client must use PKCE (S256), always. Only
  the secret's SHA-256 is kept (:func:`hash_secret`); a secret is checked in constant
  time against it.
- A client registered by an admin (:func:`registration`) has a name of 1 to 100
  printable characters, 1 to 20 redirect URIs that can be registered (no duplicates),
  and booleans ``public`` and ``trusted``; nothing else is accepted. A disabled client
  is known but serves nobody: no authorization, no token, no userinfo.
- Consent: a user's consent to a client covers a request when it was given by the same
  account (name and creation time) and every scope asked for was granted; a trusted
  client needs none.
- The subject (``sub``) of a user is stable for as long as the hub's account exists
  (the same name and creation time give the same subject), different for a user deleted
  and created again with the same name, and reveals neither (an HMAC-SHA256 keyed by
  the provider's own secret).
- A user's claims are ``sub``, ``preferred_username`` and ``name`` (the hub's user
  name), ``email`` only when the hub knows one, ``groups`` (the hub's groups, sorted)
  and ``karvdash_admin`` (true exactly when the hub says the user is an admin).
- The signing key schedule: the newest key signs; a key is published in the JWKS until
  ``retention`` seconds after a newer key replaced it; a new key is due when the newest
  is older than ``rotation`` seconds (or there is none).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

#: the only PKCE method accepted (``plain`` is refused)
PKCE_METHODS = ("S256",)
#: scopes the provider knows
SCOPES = ("openid", "profile", "email", "groups")
MIN_SECRET_LENGTH = 16


class ClientConfigError(ValueError):
    """A client of the configuration cannot be registered (the message says why)."""


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def redirect_uri_problem(uri: object) -> str | None:
    """Why ``uri`` cannot be registered as a redirect URI, or None when it can."""
    if not isinstance(uri, str) or not uri:
        return "a redirect URI must be a non-empty string"
    if any(ch.isspace() or ord(ch) < 0x21 or ord(ch) == 0x7F for ch in uri):
        return f"redirect URI {uri!r} contains spaces or control characters"
    try:
        parts = urlsplit(uri)
        port = parts.port  # noqa: F841 (a bad port raises)
    except ValueError:
        return f"redirect URI {uri!r} is not a valid URL"
    if "#" in uri:
        return f"redirect URI {uri!r} has a fragment; remove it"
    if not parts.scheme or not parts.netloc or not parts.hostname:
        return f"redirect URI {uri!r} is not absolute (scheme://host/path)"
    if "@" in parts.netloc:
        return f"redirect URI {uri!r} has user information; remove it"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return None
    return f"redirect URI {uri!r} must be https (http only on a loopback address)"


def redirect_uri_matches(registered: tuple[str, ...] | list[str], given: str | None) -> bool:
    """Whether ``given`` is exactly one of the ``registered`` redirect URIs."""
    return isinstance(given, str) and given in tuple(registered)


def hash_secret(secret: str) -> str:
    """What is kept of a client secret: its SHA-256, in hex (secrets are random and long,
    so a plain hash is enough: nothing to guess from it)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Client:
    client_id: str
    redirect_uris: tuple[str, ...]
    secret_hash: str | None = None
    name: str = ""
    trusted: bool = False
    disabled: bool = False
    #: where it comes from: ``config`` (read-only) or ``admin`` (registered by an admin)
    source: str = "config"

    @property
    def public(self) -> bool:
        return self.secret_hash is None

    def check_secret(self, given: object) -> bool:
        """Whether ``given`` is this client's secret (constant time; never for a public one)."""
        if self.secret_hash is None or not isinstance(given, str) or not given:
            return False
        return hmac.compare_digest(self.secret_hash, hash_secret(given))

    @property
    def auth_method(self) -> str:
        """How it authenticates at the token endpoint (``none``: public, with PKCE)."""
        return "none" if self.public else "client_secret_basic"


def client_from_config(entry: object) -> Client:
    """A :class:`Client` from one entry of the configuration, or :class:`ClientConfigError`."""
    if not isinstance(entry, dict):
        raise ClientConfigError(f"a client must be a dict, not {type(entry).__name__}")
    unknown = set(entry) - {"client_id", "client_secret", "redirect_uris", "name", "trusted"}
    if unknown:
        raise ClientConfigError(f"client has unknown keys: {', '.join(sorted(unknown))}")
    client_id = entry.get("client_id")
    if (
        not isinstance(client_id, str)
        or not client_id
        or not all(0x21 <= ord(ch) <= 0x7E for ch in client_id)
    ):
        raise ClientConfigError("client_id must be non-empty printable ASCII without spaces")
    where = f"client {client_id!r}"
    secret = entry.get("client_secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH):
        raise ClientConfigError(
            f"{where}: client_secret must be a string of at least {MIN_SECRET_LENGTH}"
            " characters, or absent for a public client (which must use PKCE)"
        )
    uris = entry.get("redirect_uris")
    if isinstance(uris, str) or not isinstance(uris, list | tuple) or not uris:
        raise ClientConfigError(f"{where}: redirect_uris must be a non-empty list")
    for uri in uris:
        if problem := redirect_uri_problem(uri):
            raise ClientConfigError(f"{where}: {problem}")
    name = entry.get("name", "") or client_id
    trusted = entry.get("trusted", False)
    if not isinstance(name, str) or not isinstance(trusted, bool):
        raise ClientConfigError(f"{where}: name must be a string and trusted a boolean")
    return Client(client_id, tuple(uris), secret and hash_secret(secret), name, trusted)


def clients_from_config(entries: list) -> dict[str, Client]:
    """Every configured client by id; a duplicate id is an error."""
    clients: dict[str, Client] = {}
    for entry in entries:
        client = client_from_config(entry)
        if client.client_id in clients:
            raise ClientConfigError(f"client_id {client.client_id!r} is configured twice")
        clients[client.client_id] = client
    return clients


MAX_NAME = 100
MAX_REDIRECT_URIS = 20
REGISTRATION_KEYS = ("name", "redirect_uris", "public", "trusted")


def registration(body: object, partial: bool = False) -> dict:
    """The fields of a client an admin registers (or, ``partial``, changes): ``name``,
    ``redirect_uris``, ``public``, ``trusted`` (and ``disabled`` when changing),
    checked; :class:`ClientConfigError` says what is wrong."""
    if not isinstance(body, dict):
        raise ClientConfigError("the client must be a JSON object")
    allowed = {*REGISTRATION_KEYS, "disabled"} - ({"public"} if partial else {"disabled"})
    unknown = set(body) - allowed
    if unknown:
        raise ClientConfigError(
            f"unknown fields: {', '.join(sorted(unknown))} (known: {', '.join(sorted(allowed))})"
        )
    fields: dict = {}
    if "name" in body or not partial:
        name = body.get("name")
        if (
            not isinstance(name, str)
            or not name.strip()
            or len(name) > MAX_NAME
            or not name.isprintable()
        ):
            raise ClientConfigError(f"name must be 1 to {MAX_NAME} printable characters")
        fields["name"] = name.strip()
    if "redirect_uris" in body or not partial:
        uris = body.get("redirect_uris")
        if isinstance(uris, str) or not isinstance(uris, list) or not uris:
            raise ClientConfigError("redirect_uris must be a non-empty list of URLs")
        if len(uris) > MAX_REDIRECT_URIS:
            raise ClientConfigError(f"at most {MAX_REDIRECT_URIS} redirect URIs")
        for uri in uris:
            if problem := redirect_uri_problem(uri):
                raise ClientConfigError(problem)
        if len(set(uris)) != len(uris):
            raise ClientConfigError("a redirect URI is listed twice")
        fields["redirect_uris"] = list(uris)
    for flag in ("public", "trusted", "disabled"):
        if flag in allowed and (flag in body or not partial):
            value = body.get(flag, False)
            if not isinstance(value, bool):
                raise ClientConfigError(f"{flag} must be true or false")
            fields[flag] = value
    return fields


def consent_covers(
    granted: tuple[str, str, str] | None, account: tuple[str, str], scope: str
) -> bool:
    """Whether a consent ``(name, created, granted scope)`` covers ``scope`` asked for by
    the account ``(name, created)``."""
    if granted is None:
        return False
    name, created, granted_scope = granted
    return (name, created) == account and set(scope.split()) <= set(granted_scope.split())


def subject(secret: bytes, name: str, created: str) -> str:
    """The ``sub`` of the hub's user ``name`` created at ``created``."""
    mac = hmac.new(secret, f"{len(name)}:{name}|{created}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def user_claims(user: dict, sub: str, scopes: list[str] | tuple[str, ...] = SCOPES) -> dict:
    """What the ID token and userinfo say of the hub's ``user`` (its user model)."""
    claims: dict = {"sub": sub}
    if "profile" in scopes:
        claims["preferred_username"] = user["name"]
        claims["name"] = user["name"]
        claims["karvdash_admin"] = bool(user.get("admin"))
    if "email" in scopes and isinstance(user.get("email"), str) and user["email"]:
        claims["email"] = user["email"]
    if "groups" in scopes or "profile" in scopes:
        claims["groups"] = sorted(str(g) for g in user.get("groups") or [])
    return claims


def published_keys(keys: list[tuple[str, float]], now: float, retention: float) -> list[str]:
    """The ids of the keys to publish, from ``(kid, created)`` pairs: the newest, and
    each older one until ``retention`` seconds after the next newer one was created."""
    ordered = sorted(keys, key=lambda k: k[1], reverse=True)
    shown = ordered[:1]
    for (kid, created), (_, replaced_at) in zip(ordered[1:], ordered, strict=False):
        if now - replaced_at < retention:
            shown.append((kid, created))
    return [kid for kid, _ in shown]


def new_key_due(keys: list[tuple[str, float]], now: float, rotation: float) -> bool:
    return not keys or now - max(created for _, created in keys) >= rotation
