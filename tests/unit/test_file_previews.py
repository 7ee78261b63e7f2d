"""What a file entry says the browser may preview (``preview``), the one decision that the
page's Preview button and the download's ``inline`` answer both follow."""

from __future__ import annotations

import os

import pytest

from karvdash_hub.rules import files as rules

EXPECTED = {
    "a.png": "image", "b.JPG": "image", "c.gif": "image", "d.webp": "image",
    "e.txt": "text", "f.csv": "text", "g.json": "text", "h.yaml": "text", "i.md": "text",
    "j.html": "text", "k.svg": "text", "l.js": "text", "m.ipynb": "text",
    "n.bin": None, "o.parquet": None, "p.zip": None, "noextension": None, ".hidden": None,
}  # fmt: skip


@pytest.mark.parametrize(("name", "preview"), EXPECTED.items())
def test_images_are_previewed_as_images_any_text_as_text_and_nothing_else(name, preview):
    st = os.stat_result((0o100644, 0, 0, 1, 0, 0, 3, 0, 0, 0))
    assert rules.entry("private", (name,), st)["preview"] == preview
    headers = rules.download_headers(name, inline=True)
    assert headers["Content-Disposition"].startswith("inline;" if preview else "attachment;")
    if preview == "text":  # pages and scripts too: never as themselves
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
