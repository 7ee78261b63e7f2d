"""Hostile texts, and what a page that showed them must not have done: shared by the
page tests (names, descriptions, help, values, logs shown as text)."""

from __future__ import annotations

#: texts that would run a script, change the page or mislead if a page used them as HTML
HOSTILE = [
    "<script>window.__pwned = 1; alert(1)</script>",
    '<img src=x onerror="window.__pwned = 2; alert(2)">',
    '"><svg onload=alert(3)>',
    "javascript:alert(4)",
    '<a href="javascript:alert(5)">click me</a>',
    "' onmouseover='alert(6)' data-x='",
    "</textarea><script>alert(7)</script>",
    "</title></head><body><script>alert(8)</script>",
    "{{ 7*7 }} ${alert(9)} {% raw %}",
    "\u202eexe.txt\u202c right-to-left override",
    '<iframe src="javascript:alert(10)"></iframe>',
    "<style>body { display: none }</style>",
    "&lt;b&gt;already escaped&lt;/b&gt; &amp; <b>bold</b>",
    "<details open ontoggle=alert(11)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(12)>",
    "data:text/html,<script>alert(13)</script>",
    "<base href='https://evil.example/'>",
    '"; alert(14); //',
    "A" * 10_000 + "<script>alert(15)</script>",
]
#: what may never be found inside a page's content after hostile texts were shown
INJECTED = ", ".join(
    f"#karvdash {tag}"
    for tag in ("script", "img", "iframe", "svg", "base", "style", "details", "math", "b")
)


def clean(watch, *allowed):
    """The page opened no dialog, threw nothing and logged no error (but failed loads of
    the ``allowed`` statuses, which a test provokes)."""
    assert watch.dialogs == [], watch.dialogs
    assert watch.errors == [], watch.errors
    assert watch.console_errors(allowed) == [], watch.console
