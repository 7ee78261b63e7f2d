"""karvdashctl's image commands end to end: the real hub, proxy and dashboard service of the
embedded default, the registry the hub starts (Debian's docker-registry behind the
dashboard's tokens, skopeo pushing for the dashboard), real tokens of two users, and
karvdashctl as a process (as a user runs it) pushing archives made by
tests/support/imagearchives.py."""

from __future__ import annotations

import json

import pytest
from support import imagearchives as archives
from support.parts import need_registry

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture(scope="module", autouse=True)
def _registry():
    need_registry()


@pytest.fixture
def hello(ctl) -> dict:
    """``hello.tar`` in karvdashctl's folder: a docker-archive of one small image."""
    return archives.docker_archive(ctl.work / "hello.tar", [archives.layer(archives.HELLO)])


def table(out: str) -> list[list[str]]:
    """What karvdashctl printed, its blank lines left out: each line split into cells (a
    table's are 2+ spaces apart)."""
    lines = [line for line in out.splitlines() if line.strip()]
    return [[c.strip() for c in line.split("  ") if c.strip()] for line in lines]


def test_an_image_goes_up_is_listed_with_its_digest_and_goes_away_with_karvdashctl(ctl, api, hello):
    # up: the references to use, the digest, the blobs sent
    out = ctl("push", "hello.tar", "alice/hello:1").stdout.splitlines()
    registry = api["alice"]("GET", "images").json()["registry"]
    served = api["alice"]("GET", "images/alice/hello:1").json()
    assert out[0] == f"pushed $REGISTRY/alice/hello:1 ({registry}/alice/hello:1)"
    assert out[1] == f"digest {served['digest']}"
    assert served["digest"].startswith("sha256:")
    sent, total = out[2].split()[1], out[2].split()[3]
    assert out[2] == f"sent {sent} of {total} blobs (0 already in the registry)"
    assert sent == total and int(total) >= 2  # a layer and the config
    # the same image again, from standard input: the registry has every blob
    again = json.loads(
        ctl("--json", "push", "-", "alice/hello:latest", stdin=ctl.work / "hello.tar").stdout
    )
    assert again["digest"] == served["digest"]
    assert again["blobs"] == {"total": int(total), "sent": 0, "existing": int(total)}

    # listed: the registry's host, the repository with its tags
    out = ctl("images").stdout
    assert out.splitlines()[0] == f"registry {registry} ($REGISTRY in templates)"
    rows = table(out)
    assert rows[1] == ["NAME", "TAGS"] and ["alice/hello", "1, latest"] in rows[2:]

    # its tags: the digest the API reports (short), the reference for templates
    rows = table(ctl("tags", "alice/hello").stdout)
    assert rows[0] == ["TAG", "DIGEST", "SIZE", "CREATED", "REFERENCE"]
    short = served["digest"][: len("sha256:") + 12]
    assert [(r[0], r[1], r[-1]) for r in rows[1:]] == [
        ("1", short, "$REGISTRY/alice/hello:1"),
        ("latest", short, "$REGISTRY/alice/hello:latest"),
    ]
    assert rows[1][2].endswith(("B", "KiB"))  # a small image

    # a repository is not deleted by mistake; a tag goes with every tag of its image
    error = ctl("rmi", "alice/hello", ok=False).stderr
    assert error.startswith("karvdashctl: alice/hello names no tag") and "--all-tags" in error
    assert ctl("rmi", "alice/hello:1").stdout == (
        "deleted alice/hello:1\n  and with it alice/hello:latest (tags of the same image)\n"
    )
    assert "alice/hello" not in ctl("images").stdout
    error = json.loads(ctl("--json", "tags", "alice/hello", ok=False).stderr)
    assert (error["status"], error["reason"]) == (404, "image-not-found")
    assert api["alice"]("GET", "images/alice/hello").status_code == 404


def test_a_whole_repository_goes_with_all_tags(ctl, hello):
    ctl("push", "hello.tar", "alice/whole:1")
    ctl("push", "hello.tar", "alice/whole:2")
    out = ctl("rmi", "--all-tags", "alice/whole").stdout
    assert out == "deleted alice/whole with all its tags: 1, 2\n"
    assert "alice/whole" not in ctl("images").stdout


def test_bob_can_neither_push_into_alices_images_nor_see_or_delete_them(ctl, hello):
    ctl("push", "hello.tar", "alice/mine:1")
    try:
        error = ctl("push", "hello.tar", "alice/mine:2", who="bob", ok=False).stderr
        assert error.startswith("karvdashctl: you may push to bob/... only")
        error = json.loads(
            ctl("--json", "push", "hello.tar", "alice/x:1", who="bob", ok=False).stderr
        )
        assert (error["status"], error["reason"]) == (403, "not-yours")
        assert "alice/mine" not in ctl("images", who="bob").stdout
        error = json.loads(ctl("--json", "rmi", "alice/mine:1", who="bob", ok=False).stderr)
        assert (error["status"], error["reason"]) == (404, "image-not-found")
        # alice's image is as it was
        assert [r[0] for r in table(ctl("tags", "alice/mine").stdout)[1:]] == ["1"]
    finally:
        ctl("rmi", "--all-tags", "alice/mine")


def test_a_bad_archive_is_refused_with_the_servers_reason(ctl):
    archives.CORPUS["not_a_tar"](ctl.work / "bad.tar")
    error = json.loads(ctl("--json", "push", "bad.tar", "alice/bad:1", ok=False).stderr)
    assert (error["status"], error["reason"]) == (400, "bad-archive")
    assert "nothing was pushed" in error["message"]
    assert "alice/bad" not in ctl("images").stdout
