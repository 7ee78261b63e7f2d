"""The images API end to end: real hub, dashboard, the registry the hub starts (Debian's
docker-registry with the dashboard's token auth), skopeo pushing and inspecting, and
archives made by tests/support/imagearchives.py."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support import imagearchives as archives
from support.parts import missing_part, need_registry

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

#: small limits, so that the bounds are tested with small archives
MAX_UNPACKED = 64 << 20
MAX_LAYERS = 40


@pytest.fixture(scope="module")
def hub(tmp_path_factory, kubeconfig):
    from support.hub import HubProcess, find_proxy

    if find_proxy() is None:
        missing_part("configurable-http-proxy (npm install)")
    need_registry()
    h = HubProcess(
        tmp_path_factory.mktemp("hub"),
        kubeconfig,
        environment={
            "KARVDASH_IMAGE_MAX_UNPACKED_BYTES": str(MAX_UNPACKED),
            "KARVDASH_IMAGE_MAX_LAYERS": str(MAX_LAYERS),
        },
    )
    yield h
    h.stop()


@pytest.fixture(scope="module")
def hello(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("archives") / "hello.tar"
    facts = archives.docker_archive(path, [archives.layer(archives.HELLO)])
    return path, facts


def put(api, image: str, path: Path):
    with open(path, "rb") as f:
        return api("PUT", f"images/{image}", data=f, headers={"Content-Type": "application/x-tar"})


def inspect(hub, reference: str, creds: str, raw=False) -> subprocess.CompletedProcess:
    command = ["skopeo", "inspect", "--tls-verify=false", "--creds", creds]
    command += ["--raw"] if raw else []
    return subprocess.run(
        [*command, f"docker://{hub.registry}/{reference}"], capture_output=True, text=True
    )


def stored_repositories(hub) -> set[str]:
    """The repositories the registry keeps on disk (whatever the API shows)."""
    root = Path(hub.state) / "registry" / "docker" / "registry" / "v2" / "repositories"
    if not root.exists():
        return set()
    return {str(p.parent.relative_to(root)) for p in root.glob("**/_manifests")} | {
        str(p.parent.relative_to(root)) for p in root.glob("**/_uploads")
    }


def test_a_pushed_archive_is_listed_with_the_digest_the_registry_serves(hub, api, tokens, hello):
    path, facts = hello
    assert api["alice"]("GET", "images").json() == {
        "registry": hub.registry,
        "namespace": "alice",
        "repositories": [],
    }
    r = put(api["alice"], "alice/hello:1", path)
    assert r.status_code == 201, r.text
    pushed = r.json()
    assert pushed["format"] == "docker-archive"
    assert pushed["reference"] == f"{hub.registry}/alice/hello:1"
    assert pushed["template_reference"] == "$REGISTRY/alice/hello:1"
    # the registry, asked by skopeo with alice's token, serves that digest and config
    seen = inspect(hub, "alice/hello:1", f"alice:{tokens['alice']}")
    assert seen.returncode == 0, seen.stderr
    assert json.loads(seen.stdout)["Digest"] == pushed["digest"]
    raw = json.loads(inspect(hub, "alice/hello:1", f"alice:{tokens['alice']}", raw=True).stdout)
    assert raw["config"]["digest"] == facts["config_digest"]
    assert pushed["size"] == raw["config"]["size"] + sum(x["size"] for x in raw["layers"])
    assert pushed["created"] == archives.CREATED and pushed["architecture"] == "amd64"
    listed = api["alice"]("GET", "images").json()["repositories"]
    assert listed == [
        {
            "name": "alice/hello",
            "owner": "alice",
            "tags": ["1"],
            "can_push": True,
            "can_delete": True,
        }
    ]
    described = api["alice"]("GET", "images/alice/hello").json()
    assert [d["digest"] for d in described["details"]] == [pushed["digest"]]
    assert api["alice"]("GET", "images/alice/hello:1").json()["digest"] == pushed["digest"]


def test_blobs_the_registry_has_are_not_sent_again(api, hello):
    path, _ = hello
    r = put(api["alice"], "alice/again:1", path)
    assert r.status_code == 201, r.text
    first = r.json()["blobs"]
    r = put(api["alice"], "alice/again:2", path)
    assert r.status_code == 201, r.text
    second = r.json()["blobs"]
    assert first["total"] == second["total"] >= 2  # a layer and the config
    assert second == {"total": first["total"], "sent": 0, "existing": first["total"]}


def test_an_oci_archive_keeps_its_manifest_digest(api, tmp_path):
    facts = archives.oci_archive(tmp_path / "oci.tar", [archives.layer({"a.txt": b"oci\n"})])
    r = put(api["alice"], "alice/oci:1", tmp_path / "oci.tar")
    assert r.status_code == 201, r.text
    assert r.json()["digest"] == facts["manifest_digest"]
    assert r.json()["format"] == "oci-archive"


def test_a_gzipped_archive_is_accepted(api, tmp_path, hello):
    import gzip

    path, _ = hello
    with open(path, "rb") as src, gzip.open(tmp_path / "hello.tar.gz", "wb") as out:
        shutil.copyfileobj(src, out)
    r = put(api["alice"], "alice/zipped:1", tmp_path / "hello.tar.gz")
    assert r.status_code == 201, r.text


def test_others_neither_see_nor_change_a_users_images(hub, api, tokens, hello):
    path, _ = hello
    assert put(api["alice"], "alice/private:1", path).status_code == 201
    names = {x["name"] for x in api["bob"]("GET", "images").json()["repositories"]}
    assert not any(n.startswith("alice/") for n in names)
    for method in ("GET", "DELETE"):
        r = api["bob"](method, "images/alice/private:1")
        assert (r.status_code, r.json()["reason"]) == (404, "image-not-found"), r.text
    r = put(api["bob"], "alice/private:2", path)
    assert (r.status_code, r.json()["reason"]) == (403, "not-yours"), r.text
    r = put(api["bob"], "library/mine:1", path)
    assert (r.status_code, r.json()["reason"]) == (403, "not-yours"), r.text
    # still there, untouched
    assert api["alice"]("GET", "images/alice/private").json()["tags"] == ["1"]
    # admins see and may delete everyone's
    assert api["admin"]("GET", "images/alice/private:1").status_code == 200


def test_library_is_pushed_by_admins_and_listed_for_everyone(api, hello):
    path, _ = hello
    r = put(api["admin"], "library/base:1", path)
    assert r.status_code == 201, r.text
    for user in ("alice", "bob"):
        listed = {x["name"]: x for x in api[user]("GET", "images").json()["repositories"]}
        assert listed["library/base"]["can_push"] is False
        assert listed["library/base"]["can_delete"] is False
    r = api["bob"]("DELETE", "images/library/base:1")
    assert (r.status_code, r.json()["reason"]) == (403, "not-yours"), r.text


def test_deleting_a_tag_deletes_its_image_with_every_tag_of_it(api, hello):
    path, _ = hello
    for tag in ("1", "2"):
        assert put(api["alice"], f"alice/two:{tag}", path).status_code == 201
    digest = api["alice"]("GET", "images/alice/two:1").json()["digest"]
    r = api["alice"]("DELETE", "images/alice/two:1")
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "alice/two", "digests": [digest], "tags": ["1", "2"]}
    r = api["alice"]("GET", "images/alice/two")
    assert (r.status_code, r.json()["reason"]) == (404, "image-not-found")
    assert "alice/two" not in {
        x["name"] for x in api["alice"]("GET", "images").json()["repositories"]
    }
    # a whole repository
    assert put(api["alice"], "alice/whole:1", path).status_code == 201
    assert api["alice"]("DELETE", "images/alice/whole").json()["tags"] == ["1"]
    r = api["alice"]("DELETE", "images/alice/whole")
    assert (r.status_code, r.json()["reason"]) == (404, "image-not-found")


@pytest.mark.parametrize("image", ["alice/Hello:1", "alice/hello", "alice/hello:-x", "alice//x:1"])
def test_a_bad_reference_is_refused_before_the_body(api, hello, image):
    r = put(api["alice"], image, hello[0])
    assert (r.status_code, r.json()["reason"]) == (400, "bad-reference"), r.text


@pytest.mark.parametrize("name", sorted(archives.CORPUS))
def test_a_bad_archive_is_refused_and_leaves_nothing(hub, api, tmp_path, name):
    path = tmp_path / f"{name}.tar"
    archives.CORPUS[name](path)
    before = stored_repositories(hub)
    repository = f"alice/bad-{name.replace('_', '-')}"
    r = put(api["alice"], f"{repository}:1", path)
    assert (r.status_code, r.json()["reason"]) == (400, "bad-archive"), r.text
    assert "nothing was pushed" in r.json()["message"]
    assert stored_repositories(hub) == before
    assert repository not in stored_repositories(hub)
    # and no archive is left in the dashboard's work folder
    assert not list((Path(hub.state) / "image-uploads").glob("karvdash-*"))


def test_the_limits_are_what_the_bad_archives_hit(api, tmp_path):
    """The corpus's bounds are refused for the bound, with the limit in the message."""
    archives.many_layers(tmp_path / "many.tar", n=MAX_LAYERS + 1)
    r = put(api["alice"], "alice/many:1", tmp_path / "many.tar")
    assert f"at most {MAX_LAYERS}" in r.json()["message"], r.text
    archives.gzip_bomb(tmp_path / "bomb.tar", decompressed=MAX_UNPACKED + (1 << 20))
    r = put(api["alice"], "alice/bomb:1", tmp_path / "bomb.tar")
    assert "unpack to more than" in r.json()["message"], r.text
    # at the limits, both are fine
    archives.many_layers(tmp_path / "ok.tar", n=MAX_LAYERS)
    assert put(api["alice"], "alice/many:1", tmp_path / "ok.tar").status_code == 201


def test_a_body_larger_than_the_limit_is_refused_at_once(hub, tokens):
    host, port = hub.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.putrequest("PUT", "/services/karvdash/api/images/alice/huge:1")
    conn.putheader("Authorization", f"token {tokens['alice']}")
    conn.putheader("Content-Length", str(1 << 46))
    conn.endheaders()
    conn.send(b"x" * 65536)
    answer = conn.getresponse()
    assert answer.status == 413
    assert json.loads(answer.read())["reason"] == "too-large"


@pytest.mark.parametrize("name", sorted(archives.ODD_BUT_VALID))
def test_odd_but_valid_archives_are_accepted(api, tmp_path, name):
    archives.ODD_BUT_VALID[name](tmp_path / "odd.tar")
    r = put(api["alice"], f"alice/odd-{name.replace('_', '-')}:1", tmp_path / "odd.tar")
    assert r.status_code == 201, r.text
