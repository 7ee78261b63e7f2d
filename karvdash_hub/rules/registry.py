"""Who may do what in the private registry, as the registry token protocol says it (pure).

The registry (Distribution) sends clients to Karvdash's token endpoint with the scopes a
request needs (``repository:alice/app:pull,push``, ``registry:catalog:*``); the endpoint
answers a signed token with the part of them the identity may have. This module is that
decision, and the names and claims around it. Rules guaranteed:

- Repository names and tags follow Distribution's reference grammar
  (:func:`check_repository`, :func:`check_tag`); anything else is :class:`RegistryError`.
- A user's repositories are those under their namespace, the DNS-label slug of their
  name (``names.user_slug``): ``<slug>/...``. The user may pull, push and delete there.
- ``library/...`` is pulled by every user and pushed or deleted by admins only.
- Admins may do anything, the catalog included; nobody else sees the catalog.
- An identity that may only pull (a namespace's pull secret) gets ``pull`` of its
  user's repositories and of ``library/``, never more.
- A push credential (the dashboard's, to push one upload) gets pull and push of the one
  repository it names, nothing else, until it expires.
- Registry credentials (:func:`credential`) are HMAC-signed with the installation's key:
  ``kd1.<kind>.<expiry>.<signature>`` bound to the user name (and, for ``push``, the
  repository); a pull credential (a namespace's pull secret) never expires and is
  revoked by changing the key. :func:`read_credential` checks one in constant time.
- Anonymous requests get nothing. What is granted is always a subset of what was asked
  (:func:`granted`): a scope that is not allowed is left out, never an error, as the
  protocol wants.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from . import names

ACTIONS = ("pull", "push", "delete")
LIBRARY = "library"
NAME_MAX = 255
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)


class RegistryError(ValueError):
    """A name, tag or scope that cannot be; the message says what it may be."""


def check_repository(name: str) -> str:
    if not isinstance(name, str) or len(name) > NAME_MAX or not _REPOSITORY.fullmatch(name):
        raise RegistryError(
            f"{name!r} is not a repository name: lower-case letters and digits, with '.',"
            f" '_', '__' or '-' between them, in parts joined by '/' (at most {NAME_MAX})"
        )
    return name


def check_tag(tag: str) -> str:
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise RegistryError(
            f"{tag!r} is not a tag: letters, digits, '_', '.' and '-', not starting with"
            " '.' or '-', at most 128"
        )
    return tag


def namespace_of(username: str) -> str:
    """The first part of a user's repositories' names."""
    return names.user_slug(username)


def owner_of(repository: str) -> str:
    """The namespace a repository is under (its first part)."""
    return repository.split("/", 1)[0]


@dataclass(frozen=True)
class Scope:
    type: str
    name: str
    actions: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


def parse_scopes(values: list[str]) -> list[Scope]:
    """The scopes of a token request: each value one scope, or several separated by
    spaces (containerd's form POST). ``type:name:actions`` splits at the first and the
    last ':' (a name may hold a port's ':'). Malformed ones are RegistryError."""
    scopes = []
    for value in values:
        for text in value.split():
            kind, _, rest = text.partition(":")
            name, _, actions = rest.rpartition(":")
            if not kind or not name or not actions:
                raise RegistryError(f"{text!r} is not a scope (type:name:actions)")
            scopes.append(Scope(kind, name, tuple(a for a in actions.split(",") if a)))
    return scopes


@dataclass(frozen=True)
class Identity:
    """Who asks: a user name (None: anonymous), whether an admin, and whether the
    credential may only pull (a namespace's pull secret)."""

    name: str | None
    admin: bool = False
    pull_only: bool = False
    #: a push credential's one repository (pull and push there, nothing else)
    repository: str | None = None


def allowed_actions(identity: Identity, scope: Scope) -> tuple[str, ...]:
    """What ``identity`` may do of ``scope`` (the rules above), in ACTIONS order."""
    if identity.name is None:
        return ()
    if identity.repository is not None:
        same = scope.type == "repository" and scope.name == identity.repository
        return ("pull", "push") if same else ()
    if scope.type == "registry":
        admin = identity.admin and not identity.pull_only
        return ("*",) if admin and scope.name == "catalog" else ()
    if scope.type != "repository":
        return ()
    try:
        check_repository(scope.name)
    except RegistryError:
        return ()
    if identity.admin and not identity.pull_only:
        return ACTIONS
    owner = owner_of(scope.name)
    if owner == namespace_of(identity.name):
        return ("pull",) if identity.pull_only else ACTIONS
    if owner == LIBRARY:
        return ("pull",)
    return ()


def granted(identity: Identity, scopes: list[Scope]) -> list[dict]:
    """The token's ``access`` claim: for each scope asked, the actions asked that are
    allowed ('*' asks for every action); scopes with none are left out."""
    access = []
    for scope in scopes:
        allowed = allowed_actions(identity, scope)
        if allowed == ("*",):
            given = ["*"] if "*" in scope.actions else []
        else:
            asked = set(ACTIONS) if "*" in scope.actions else set(scope.actions)
            given = [a for a in allowed if a in asked]
        if given:
            access.append({"type": scope.type, "name": scope.name, "actions": given})
    return access


def claims(
    *,
    issuer: str,
    service: str,
    subject: str,
    access: list[dict],
    now: int,
    lifetime: int,
    token_id: str,
) -> dict:
    """The token's claims as Distribution 2.8 checks them (``aud`` a string equal to the
    registry's ``service``, ``iss`` its ``issuer``; ``exp``/``nbf`` with a minute of
    leeway on its side)."""
    return {
        "iss": issuer,
        "sub": subject,
        "aud": service,
        "iat": now,
        "nbf": now - 5,
        "exp": now + lifetime,
        "jti": token_id,
        "access": access,
    }


def libtrust_key_id(public_key_der: bytes) -> str:
    """The key id Distribution 2.8 gives the key of its root certificate (libtrust's):
    SHA-256 of the DER SubjectPublicKeyInfo, its first 30 bytes in base32 without
    padding, in 12 groups of 4 joined by ':'. A token signed by that key names it in
    its ``kid`` header."""
    encoded = base64.b32encode(hashlib.sha256(public_key_der).digest()[:30]).decode()
    encoded = encoded.rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


# -- credentials for the registry (pull secrets, the dashboard's pushes)

CREDENTIAL_KINDS = ("pull", "push")


def _signature(key: bytes, kind: str, user: str, repository: str, expiry: int) -> str:
    message = "\0".join(["karvdash-registry", kind, user, repository, str(expiry)])
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def credential(key: bytes, kind: str, user: str, repository: str = "", expiry: int = 0) -> str:
    """A password for ``user`` at the registry's token endpoint: ``pull`` (of the user's
    repositories and library/, expiry 0: never) or ``push`` (of ``repository`` only,
    until ``expiry``, Unix time): ``kd1.<kind>.<expiry>.<repository>.<signature>``."""
    if kind not in CREDENTIAL_KINDS:
        raise RegistryError(f"no credential kind {kind!r}")
    if kind == "push":
        check_repository(repository)
    signature = _signature(key, kind, user, repository, expiry)
    return f"kd1.{kind}.{expiry}.{_b64(repository.encode())}.{signature}"


def is_credential(password: str) -> bool:
    """Whether a password has the form of a registry credential (not a hub token)."""
    return password.startswith("kd1.")


def read_credential(key: bytes, user: str, password: str, now: int) -> Identity | None:
    """The :class:`Identity` a credential stands for, or None when it is not valid for
    ``user`` (forged, for someone else, expired, malformed)."""
    parts = password.split(".")
    if len(parts) != 5 or parts[0] != "kd1" or parts[1] not in CREDENTIAL_KINDS or not user:
        return None
    kind, expiry_text, named, given = parts[1:]
    if not expiry_text.isascii() or not expiry_text.isdigit():
        return None
    try:
        repository = base64.urlsafe_b64decode(named + "=" * (-len(named) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    expiry = int(expiry_text)
    if not hmac.compare_digest(_signature(key, kind, user, repository, expiry), given):
        return None
    if (expiry and expiry < now) or (kind == "push") != bool(expiry and repository):
        return None
    if kind == "pull":
        return Identity(user, pull_only=True)
    return Identity(user, repository=repository)


def pull_secret(name: str, meta: dict, registry: str, user: str, password: str) -> dict:
    """The namespace's image pull Secret (kubernetes.io/dockerconfigjson) for ``registry``."""
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    config = {"auths": {registry: {"username": user, "password": password, "auth": auth}}}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {**meta, "name": name},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": json.dumps(config, sort_keys=True)},
    }


def split_image(text: str) -> tuple[str, str | None]:
    """``alice/hello:1`` -> ``("alice/hello", "1")``; ``alice/hello`` -> ``(..., None)``;
    both parts checked (RegistryError)."""
    name, colon, tag = text.rpartition(":")
    if not colon or "/" in tag:
        return check_repository(text), None
    return check_repository(name), check_tag(tag)
