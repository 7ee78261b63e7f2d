"""The rules of the file domains' paths, listings and downloads (pure: no I/O).

A path names something inside a domain's root (``/private`` or ``/shared``). Rules
guaranteed by :func:`split`:

- It answers a tuple of names, each a non-empty string that is valid UTF-8 (no lone
  surrogates, so a name that came from bytes that are not UTF-8 is refused), at most
  :data:`MAX_NAME_BYTES` bytes, without ``/``, ``\\``, NUL or any other control
  character, never ``.`` or ``..``, and never a name the dashboard reserves for itself
  (:data:`RESERVED_PREFIX`: the temporary names of uploads in progress).
- The whole path is at most :data:`MAX_PATH_BYTES` bytes; it is relative (a leading
  ``/`` is refused); ``a//b`` (an empty name) is refused; one trailing ``/`` is allowed.
- Anything else raises :class:`PathError` saying which name is wrong and why.

So joining the names under a root can never leave it; symbolic links are the
file store's business (it resolves them beneath the root, at open time).

The rest: the order of a listing (folders first), the ``Range`` header of a download,
the ``Content-Disposition`` and type of a download, and what the browser may preview.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import mimetypes
import stat
import unicodedata
from datetime import UTC, datetime
from urllib.parse import quote

MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
#: names starting with this are the dashboard's uploads in progress
RESERVED_PREFIX = ".karvdash-upload-"
DOMAIN_NAMES = ("private", "shared")
SORT_KEYS = ("name", "size", "modified", "type")
MAX_LIMIT = 5000
DEFAULT_LIMIT = 1000
#: previewed in the browser (inline); any text is previewed as text/plain
PREVIEW_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

# the standard library's own table only, never the system's files (deterministic)
_TYPES = mimetypes.MimeTypes(filenames=())
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/x-sh",
        "application/x-python-code",
        "application/x-yaml",
        "application/yaml",
        "application/toml",
    }
)
_EXTRA_TYPES = {
    ".md": "text/markdown",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".toml": "application/toml",
    ".ipynb": "application/x-ipynb+json",
    ".log": "text/plain",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".webp": "image/webp",
    ".parquet": "application/vnd.apache.parquet",
}


def is_number(text: str | None) -> bool:
    """Whether ``text`` is a whole number in ASCII digits (``str.isdigit`` also takes
    digits such as '²' that ``int`` refuses)."""
    return bool(text) and text.isascii() and text.isdigit()


class PathError(ValueError):
    """A path or a name that cannot name anything in a domain; the message says why."""


def check_name(name: str) -> str:
    """``name`` if it can be one name in a domain (the rules above), else PathError."""
    if not isinstance(name, str) or name == "":
        raise PathError("a name cannot be empty")
    if name in (".", ".."):
        raise PathError(f"'{name}' cannot be a name: name the file or folder itself")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise PathError(f"{name!r} is not valid UTF-8") from None
    if len(encoded) > MAX_NAME_BYTES:
        raise PathError(f"a name is at most {MAX_NAME_BYTES} bytes; this one is {len(encoded)}")
    for char in name:
        if char in "/\\":
            raise PathError(f"{name!r}: a name cannot contain {char!r}")
        if unicodedata.category(char) == "Cc":
            raise PathError(f"{name!r}: a name cannot contain control characters")
    if name.startswith(RESERVED_PREFIX):
        raise PathError(f"names starting with {RESERVED_PREFIX!r} are the dashboard's own")
    return name


def split(path: str) -> tuple[str, ...]:
    """The names of a relative ``path`` ("" is the root), checked by the rules above."""
    if not isinstance(path, str):
        raise PathError("a path is a string")
    if path.startswith("/"):
        raise PathError("a path is relative to its domain's root: it cannot start with '/'")
    try:
        size = len(path.encode("utf-8"))
    except UnicodeEncodeError:
        raise PathError(f"{path!r} is not valid UTF-8") from None
    if size > MAX_PATH_BYTES:
        raise PathError(f"a path is at most {MAX_PATH_BYTES} bytes; this one is {size}")
    if path.endswith("/"):
        path = path[:-1]
    if path == "":
        return ()
    return tuple(check_name(name) for name in path.split("/"))


def join(names: tuple[str, ...]) -> str:
    return "/".join(names)


def is_hidden_work(name: str) -> bool:
    """Whether a name on disk is an upload in progress (not listed)."""
    return name.startswith(RESERVED_PREFIX)


def check_domain(domain: str) -> str:
    if domain not in DOMAIN_NAMES:
        raise PathError(f"there is no file domain {domain!r}: use 'private' or 'shared'")
    return domain


# -- entries ----------------------------------------------------------------------------


def entry(domain: str, names: tuple[str, ...], st) -> dict:
    """An entry as the API answers it (plus ``mtime``, a number to sort by)."""
    mode = st.st_mode
    kind = (
        "folder"
        if stat.S_ISDIR(mode)
        else "file"
        if stat.S_ISREG(mode)
        else "symlink"
        if stat.S_ISLNK(mode)
        else "other"
    )
    found = {
        "domain": domain,
        "path": join(names),
        "name": names[-1] if names else "",
        "type": kind,
        "size": st.st_size if kind != "folder" else 0,
        "modified": datetime.fromtimestamp(st.st_mtime, UTC).isoformat(),
        "mode": f"{stat.S_IMODE(mode):04o}",
        "mtime": st.st_mtime,
    }
    if kind == "file":
        found["mime"] = mime_type(found["name"])
        found["preview"] = preview_of(found["mime"])
    return found


def public(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != "mtime"}


# -- listings ---------------------------------------------------------------------------


def sort_entries(entries: list[dict], sort: str = "name", order: str = "asc") -> list[dict]:
    """Entries (dicts as the API answers them, with ``mtime``) in the order of a listing:
    folders before everything else, each group by ``sort`` (``name``, ``size``,
    ``modified`` or ``type``) ascending or descending, ties broken by the name (case-folded,
    then exact) so that the order is total and pages do not overlap."""
    if sort not in SORT_KEYS:
        raise PathError(f"sort by one of {', '.join(SORT_KEYS)}, not {sort!r}")
    if order not in ("asc", "desc"):
        raise PathError(f"order is 'asc' or 'desc', not {order!r}")
    field = {"name": None, "size": "size", "modified": "mtime", "type": "type"}[sort]

    def key(entry: dict):
        name = (entry["name"].casefold(), entry["name"])
        return (
            ((entry.get(field) or 0) if field != "type" else entry["type"], name) if field else name
        )

    folders = [e for e in entries if e["type"] == "folder"]
    others = [e for e in entries if e["type"] != "folder"]
    descending = order == "desc"
    return sorted(folders, key=key, reverse=descending) + sorted(
        others, key=key, reverse=descending
    )


def page_bounds(offset: str | None, limit: str | None) -> tuple[int, int]:
    """``offset`` and ``limit`` of a listing from the query (strings or None)."""

    def number(text, default, what):
        if text is None or text == "":
            return default
        if not is_number(text):
            raise PathError(f"{what} is a whole number, not {text!r}")
        return int(text)

    start = number(offset, 0, "offset")
    size = number(limit, DEFAULT_LIMIT, "limit")
    if not 1 <= size <= MAX_LIMIT:
        raise PathError(f"limit is between 1 and {MAX_LIMIT}")
    return start, size


# -- downloads --------------------------------------------------------------------------


class RangeNotSatisfiable(ValueError):
    pass


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range ``(start, end)`` (end exclusive) that a ``Range`` header asks for, or
    None for the whole file (no header, a unit other than bytes, several ranges: RFC 9110
    lets a server answer those with the whole). RangeNotSatisfiable when it lies past the
    end of the file."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (is_number(first) or first == "") or not (is_number(last) or last == ""):
        return None
    if first == "":
        if last == "":
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(spec)
        return max(0, size - suffix), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if last != "" and int(last) < start:
        return None  # invalid: ignored, as RFC 9110 says
    if start >= size:
        raise RangeNotSatisfiable(spec)
    return start, end


def mime_type(name: str) -> str:
    """A file's type, guessed from its name (``application/octet-stream`` if unknown)."""
    dot = name.rfind(".")
    extension = name[dot:].lower() if dot > 0 else ""
    if extension in _EXTRA_TYPES:
        return _EXTRA_TYPES[extension]
    guessed, _ = _TYPES.guess_type("f" + extension, strict=False) if extension else (None, None)
    return guessed or "application/octet-stream"


def is_text(mime: str) -> bool:
    return mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith(("+json", "+xml"))


def preview_of(mime: str) -> str | None:
    """What a browser may show of a file of type ``mime`` (its download with ``inline``):
    ``"image"`` for the images of :data:`PREVIEW_IMAGES`, ``"text"`` for any text, else
    None. The Files page offers a preview where the entry says so."""
    if mime in PREVIEW_IMAGES:
        return "image"
    return "text" if is_text(mime) else None


def download_headers(name: str, inline: bool = False) -> dict[str, str]:
    """Content-Type and Content-Disposition of a download of the file ``name``.

    Inline only for what a browser shows safely: the images of :data:`PREVIEW_IMAGES`,
    and text, always as ``text/plain`` (never HTML or SVG that could run script in the
    service's origin). Every other download is an attachment."""
    mime = mime_type(name)
    preview = preview_of(mime) if inline else None
    if preview == "image":
        return {"Content-Type": mime, "Content-Disposition": disposition("inline", name)}
    if preview == "text":
        return {
            "Content-Type": "text/plain; charset=utf-8",
            "Content-Disposition": disposition("inline", name),
        }
    return {"Content-Type": mime, "Content-Disposition": disposition("attachment", name)}


def disposition(kind: str, name: str) -> str:
    """RFC 6266 Content-Disposition with an ASCII fallback and the UTF-8 name."""
    fallback = (
        "".join(c if 32 <= ord(c) < 127 and c not in '"\\%;' else "_" for c in name).strip()
        or "download"
    )
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


ARCHIVE_FORMATS = {"zip": "application/zip", "tar.gz": "application/gzip"}


def archive_name(folder_name: str, fmt: str) -> str:
    if fmt not in ARCHIVE_FORMATS:
        raise PathError(f"an archive is 'zip' or 'tar.gz', not {fmt!r}")
    return f"{folder_name}.{fmt}"


# -- resumable uploads ------------------------------------------------------------------


class BadTicket(ValueError):
    """An upload id that this dashboard did not sign, or that has expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_ticket(fields: dict, key: bytes) -> str:
    """A resumable upload's id: its fields (caller, user, domain, path, size, ...) and an
    HMAC of them, so that the dashboard keeps no state between requests and nobody can
    forge or alter an upload (another caller, another path, a larger size)."""
    payload = json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(key, b"karvdash-upload\0" + payload, hashlib.sha256).digest()[:18]
    return f"{_b64(payload)}.{_b64(mac)}"


def read_ticket(ticket: str, key: bytes, now: float) -> dict:
    """The fields of an upload id signed with ``key`` and not expired (``e``)."""
    try:
        encoded, _, mac = ticket.partition(".")
        payload = _unb64(encoded)
        expected = hmac.new(key, b"karvdash-upload\0" + payload, hashlib.sha256).digest()[:18]
        if not hmac.compare_digest(_unb64(mac), expected):
            raise BadTicket("not an upload of this dashboard")
        fields = json.loads(payload)
    except (ValueError, TypeError) as err:
        raise BadTicket(str(err)) from None
    if not isinstance(fields, dict) or fields.get("e", 0) < now:
        raise BadTicket("this upload has expired; start it again")
    return fields


def partial_name(nonce: str) -> str:
    """Where a resumable upload's data waits, in the destination folder."""
    return f"{RESERVED_PREFIX}{nonce}.part"
