"""Name rules: from a JupyterHub user name to the names Karvdash gives it in Kubernetes
and on disk.

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
"""

from __future__ import annotations

import re

from kubespawner.slugs import safe_slug

#: the longest a user slug may be; leaves room for a prefix of up to 14 characters
USER_SLUG_MAX = 48
NAMESPACE_MAX = 63
_PREFIX = re.compile(r"^[a-z]([a-z0-9-]{0,12}[a-z0-9])?$")

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
