"""Fixtures of the end-to-end tests: two approved users and the admin, their API tokens,
logged-in browser contexts, a screenshots folder, karvdashctl as a process (``ctl``). A
module may define a fixture of the same name for its own needs (it takes precedence)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.browser import DESKTOP, Api, approve, open_logged_in, screenshots_folder, token_for

PASSWORDS = {"alice": "alice-secret-9", "bob": "bob-secret-99"}


@pytest.fixture(scope="module")
def users(hub):
    """alice and bob, signed up and approved; name -> password (and the admin's)."""
    for name, password in PASSWORDS.items():
        approve(hub, name, password)
    return {**PASSWORDS, "admin": hub.admin_password}


@pytest.fixture(scope="module")
def tokens(hub, users):
    """A hub API token of each of them (what scripts and karvdashctl send)."""
    return {name: token_for(hub, name, password) for name, password in users.items()}


@pytest.fixture(scope="module")
def api(hub, tokens):
    return {name: Api(hub, token) for name, token in tokens.items()}


@pytest.fixture
def shots(tmp_path):
    return screenshots_folder(tmp_path)


@pytest.fixture
def as_user(browser, hub, users):
    """Open a logged-in browser context: ``as_user("alice")`` -> (page, watch)."""
    contexts = []

    def open_as(name, viewport=DESKTOP):
        context, page, watch = open_logged_in(browser, hub, name, users[name], viewport)
        contexts.append(context)
        return page, watch

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def ctl(hub, tokens, tmp_path):
    """karvdashctl as ``who`` (alice unless said), run in ``tmp_path/work``; ``stdin`` a
    file to read standard input from."""
    work = tmp_path / "work"
    work.mkdir()

    def run(*args, ok=True, who="alice", stdin=None):
        env = {
            "KARVDASH_API_URL": hub.url + "/services/karvdash/api/",
            "KARVDASH_API_TOKEN": tokens[who],
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
        }
        with open(stdin or "/dev/null", "rb") as given:
            r = subprocess.run(
                [sys.executable, "-m", "karvdash_labext.cli", *args],
                env=env,
                cwd=work,
                stdin=given,
                capture_output=True,
                timeout=300,
            )
        out, err = r.stdout.decode(), r.stderr.decode()
        assert (r.returncode == 0) == ok, (args, out, err)
        return subprocess.CompletedProcess(r.args, r.returncode, out, err)

    run.work = work
    return run
