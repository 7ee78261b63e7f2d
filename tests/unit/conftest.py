"""Fixtures of the unit tests of the API client and karvdashctl."""

from __future__ import annotations

import pytest


@pytest.fixture
def nothing_configured(monkeypatch, tmp_path):
    """No URL or token from the environment or a config file, unless a test sets one."""
    for name in ("KARVDASH_API_URL", "KARVDASH_API_TOKEN", "JUPYTERHUB_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
