"""The Content-Security-Policy of Karvdash's pages (pure: no I/O).

Karvdash's pages extend JupyterHub's ``page.html``, which has one inline script of its
own in the document's head (``require.config`` and ``window.jhdata``: URLs, the user's
JSON-escaped name, the XSRF token). Everything else a page runs is a file of the same
origin (JupyterHub's and Karvdash's static files).

Rules guaranteed (unit-tested):

- ``script-src`` is ``'self'`` plus, at most, the hash of one inline script: the first
  ``<script>`` element without ``src`` in the page, and only when it comes before
  ``</head>``. Karvdash's templates put no user-supplied text before it, so no text a
  user wrote can become an allowed script: an injected ``<script>`` comes later and is
  refused, and one that closes the first script early leaves a fragment whose hash is
  allowed but that does not parse.
- The policy never contains ``'unsafe-inline'`` or ``'unsafe-eval'`` for scripts, and
  says ``object-src 'none'``, ``base-uri 'none'``, ``frame-ancestors 'none'`` and
  ``form-action 'self'`` (plus, for a page whose form's answer redirects elsewhere,
  origins given as ``scheme://host[:port]``: anything else given is left out, so no
  directive can be added through them); styles, images, fonts and connections are same-origin only
  (images also ``data:``: Bootstrap draws its icons with data URLs).
"""

from __future__ import annotations

import base64
import hashlib
import re

_SCRIPT = re.compile(r"<script(?P<attrs>(?:\s[^>]*)?)>(?P<body>.*?)</script\s*>", re.S | re.I)
_HEAD_END = re.compile(r"</head\s*>", re.I)
_SRC = re.compile(r"\ssrc\s*=", re.I)
_ORIGIN = re.compile(
    r"[a-z][a-z0-9+.-]*://[A-Za-z0-9.\-]+(?::[0-9]{1,5})?|[a-z]+://\[[0-9a-fA-F:.]+\](?::[0-9]{1,5})?"
)


def script_hash(body: str) -> str:
    """The CSP source expression that allows exactly this inline script."""
    digest = hashlib.sha256(body.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def head_script_hash(html: str) -> str | None:
    """The hash of the page's first inline script when it is in the head, else None."""
    end = _HEAD_END.search(html)
    limit = end.start() if end else 0
    for match in _SCRIPT.finditer(html, 0, limit):
        if _SRC.search(match.group("attrs") or ""):
            continue
        return script_hash(match.group("body"))
    return None


def policy(html: str = "", report_uri: str = "", form_targets: list[str] | None = None) -> str:
    """The Content-Security-Policy header for a page (see the module's rules);
    ``form_targets``: origins a form's answer may redirect to, besides 'self' (the
    identity service's consent form ends at the application)."""
    scripts = ["'self'"]
    allowed = head_script_hash(html) if html else None
    if allowed:
        scripts.append(allowed)
    directives = [
        "default-src 'self'",
        "script-src " + " ".join(scripts),
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        " ".join(["form-action 'self'", *(o for o in form_targets or [] if _ORIGIN.fullmatch(o))]),
        "frame-ancestors 'none'",
    ]
    if report_uri:
        directives.append(f"report-uri {report_uri}")
    return "; ".join(directives)
