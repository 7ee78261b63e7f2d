"""Name rules: every name Karvdash makes or accepts, in one place (pure: no I/O).

One DNS-label rule (:func:`is_label`: lowercase letters, digits and hyphens, starting
with a letter and ending with a letter or digit, at most so many characters) serves
every name a user chooses: a service's instance name (NAME, at most
:data:`INSTANCE_NAME_MAX`), a template id (at most 63), and the first label of a
service's host name (``<name>-<user>``, at most 63).

Rules guaranteed for every string a user name can be (tested with hypothesis):

- :func:`user_slug` is a valid DNS-1123 label of at most 48 characters (lowercase
  letters, digits and hyphens); a user name that already is a safe label is its own
  slug, and any other gets a hash after ``---`` (``Alice`` -> ``alice---3bc51062``).
- Two different user names never get the same slug (``kubespawner.slugs.safe_slug``:
  names that had to be changed carry a hash of the original).
- :func:`namespace_for` is ``<prefix>-<slug>`` (``karvdash-<user>`` by default), a
  valid namespace name of at most 63 characters, distinct for distinct users.
- :func:`private_folder` is a single path component (no ``/``, never ``.`` or
  ``..``), so a user's private folder is always directly under the private root.

And for names a user chooses:

- :func:`template_id_for` turns any title into a valid template id (or the caller
  chooses one that :func:`is_label` accepts).
- :func:`host_label` is ``<name>-<user slug>`` and refuses (``NameError_``) what would not
  be a valid DNS label.
"""

from __future__ import annotations

import re

from kubespawner.slugs import safe_slug

#: the longest a user slug may be; leaves room for a prefix of up to 14 characters
USER_SLUG_MAX = 48
NAMESPACE_MAX = 63
LABEL_MAX = 63
#: the longest NAME of a service (leaves room for a suffix and the user in host names)
INSTANCE_NAME_MAX = 40
_PREFIX = re.compile(r"^[a-z]([a-z0-9-]{0,12}[a-z0-9])?$")
_LABEL = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")

#: labels every object Karvdash creates carries
MANAGED_BY = {"app.kubernetes.io/managed-by": "karvdash"}
USER_LABEL = "karvdash.io/user"
USERNAME_ANNOTATION = "karvdash.io/username"


def user_slug(username: str) -> str:
    """The DNS-label form of a user name (see the module's rules)."""
    if not username:
        raise ValueError("a user name cannot be empty")
    return safe_slug(username, max_length=USER_SLUG_MAX)


def check_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise ValueError(
            f"namespace prefix {prefix!r} must be 1-14 lowercase letters, digits or"
            " hyphens, starting with a letter"
        )
    return prefix


def namespace_for(username: str, prefix: str = "karvdash") -> str:
    """The namespace of a user: ``karvdash-<slug>``."""
    return f"{check_prefix(prefix)}-{user_slug(username)}"


def private_folder(username: str) -> str:
    """The name of the user's folder under the private root."""
    return user_slug(username)


def user_labels(username: str) -> dict[str, str]:
    """Labels that select everything Karvdash made for one user."""
    return {**MANAGED_BY, USER_LABEL: user_slug(username)}


class NameError_(ValueError):
    """A chosen name breaks a rule; the message says which."""


def is_label(name: object, max_length: int = LABEL_MAX) -> bool:
    """The one DNS-label rule (see the module's docstring)."""
    return isinstance(name, str) and len(name) <= max_length and bool(_LABEL.match(name))


def check_instance_name(name: object) -> str:
    """A service's NAME, or :class:`NameError_` saying what a NAME may be."""
    if not is_label(name, INSTANCE_NAME_MAX):
        raise NameError_(
            f"NAME must be 1-{INSTANCE_NAME_MAX} lowercase letters, digits or hyphens,"
            " starting with a letter and ending with a letter or digit"
        )
    return name


def template_id_for(title: str) -> str:
    """A template id made from a template's title (always a valid label)."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:LABEL_MAX].strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"t-{slug}".strip("-")[:LABEL_MAX].rstrip("-")
    return slug


def host_label(name: str, username: str) -> str:
    """The first label of a service's host name: ``<name>-<user slug>``."""
    label = f"{name}-{user_slug(username)}"
    if not is_label(label):
        raise NameError_(f"'{name}' is too long to make a host name; choose a shorter NAME")
    return label
