"""Karvdash 2.4's REST API, as its Python client ``karvdash_client`` (Karvdash v2.4.3,
``client/karvdash_client/api.py``) calls it, against a real hub, its dashboard service
and the local control plane: the same methods, paths (with their trailing slash),
``Authorization: Token`` header and JSON bodies, and Karvdash's answers (``{"objects"}``
lists, its statuses, ``{"error"}`` errors)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

REDIS = Path(__file__).resolve().parents[1] / "support" / "karvdash2" / "redis.template.yaml"
TEMPLATE_KEYS = {"id", "name", "description", "singleton", "auth", "datasets", "variables"}


class Karvdash2Client:
    """The requests of karvdash_client's ``API`` (api.py), one method each, answering the
    response instead of raising on an error status."""

    def __init__(self, hub, token: str | None):
        # its configuration: base_url = https://<hub>/services/karvdash/karvdash2/api
        self.base_url = hub.url + "/services/karvdash/karvdash2/api"
        self.token = token

    @property
    def _headers(self) -> dict:  # api.py:65-66
        return {"Authorization": f"Token {self.token.lower()}"} if self.token else {}

    def _call(self, method, path, **kw) -> requests.Response:
        return requests.request(
            method, self.base_url + path, headers=self._headers, timeout=120, **kw
        )

    def list_services(self):  # api.py:91
        return self._call("GET", "/services/")

    def create_service(self, identifier, variables):  # api.py:105-107
        parameters = {k.upper(): v for k, v in variables.items()}
        parameters["id"] = identifier
        return self._call("POST", "/services/", json=parameters)

    def exec_service(self, name, command, all_pods=False):  # api.py:121-123
        parameters = {"command": command, "all_pods": 1 if all_pods else 0}
        return self._call("POST", f"/services/{name}/", json=parameters)

    def delete_service(self, name):  # api.py:134
        return self._call("DELETE", f"/services/{name}/")

    def list_templates(self):  # api.py:161
        return self._call("GET", "/templates/")

    def add_template(self, data):  # api.py:173-174
        return self._call("POST", "/templates/", json={"data": data})

    def get_template(self, identifier):  # api.py:186
        return self._call("GET", f"/templates/{identifier}/")

    def remove_template(self, identifier):  # api.py:197
        return self._call("DELETE", f"/templates/{identifier}/")


@pytest.fixture(scope="module")
def k2(hub, tokens):
    return {who: Karvdash2Client(hub, token) for who, token in tokens.items()}


def error_of(r: requests.Response, status: int) -> str:
    """The message of a Karvdash error answer of that status."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and body["error"], body
    return body["error"]


@pytest.fixture
def redis_template(k2):
    """Karvdash's Redis template file, added as one of alice's templates."""
    r = k2["alice"].add_template(REDIS.read_bytes().decode())
    assert r.status_code == 200, r.text
    added = r.json()
    yield added
    k2["alice"].remove_template(added["id"])


def test_the_clients_requests_add_a_template_launch_list_and_stop_a_service(k2):
    alice, bob = k2["alice"], k2["bob"]
    listed = alice.list_templates()
    assert listed.status_code == 200, listed.text
    before = listed.json()["objects"]
    builtin = next(t for t in before if t["id"] == "redis")
    assert set(builtin) >= TEMPLATE_KEYS and builtin["custom"] is False
    assert builtin["filename"] == "redis.template.yaml" and builtin["datasets"] is False
    assert all(set(v) == {"name", "default", "help"} for t in before for v in t["variables"])

    r = alice.add_template(REDIS.read_bytes().decode())
    assert r.status_code == 200, r.text
    added = r.json()
    tid = added["id"]
    try:
        assert set(added) >= TEMPLATE_KEYS and added["name"] == "Redis"
        assert tid != "redis" and tid.startswith("redis")  # the built-in has "redis"
        assert {"name": "NAME", "default": "redis", "help": ""} in added["variables"]
        mine = [t for t in alice.list_templates().json()["objects"] if t["id"] == tid]
        assert len(mine) == 1 and mine[0]["custom"] is True and "filename" not in mine[0]
        got = alice.get_template(tid)
        assert got.status_code == 200 and got.json()["data"] == REDIS.read_text()

        r = alice.create_service(tid, {"name": "cache"})
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["name"] == "cache" and created["actions"] is True
        assert set(created) == {"name", "url", "actions", "template"}
        assert created["template"]["id"] == tid
        assert created["template"]["values"] == {"NAME": "cache"}
        try:
            services = alice.list_services()
            assert services.status_code == 200, services.text
            (cache,) = [s for s in services.json()["objects"] if s["name"] == "cache"]
            assert set(cache) == {"name", "url", "created", "actions", "template"}
            assert cache["created"].endswith("+00:00") and cache["actions"] is True
            assert cache["template"]["id"] == tid and cache["template"]["custom"] is True
            assert cache["template"]["values"] == {"NAME": "cache"}

            # exec (it runs for real in tests/e2e/test_exec.py, on the real node): another
            # user's service is not found, and neither is a service that does not exist
            error_of(bob.exec_service("cache", ["redis-cli", "ping"]), 404)
            error_of(alice.exec_service("nothing-here", ["true"]), 404)
        finally:
            deleted = alice.delete_service("cache")
        assert deleted.status_code == 204 and deleted.content == b""
        names = [s["name"] for s in alice.list_services().json()["objects"]]
        assert "cache" not in names
    finally:
        removed = alice.remove_template(tid)
    assert removed.status_code == 200 and removed.content == b""
    assert tid not in {t["id"] for t in alice.list_templates().json()["objects"]}
    error_of(alice.get_template(tid), 404)


def test_adding_a_template_twice_gives_the_second_its_own_id(k2, redis_template):
    r = k2["alice"].add_template(REDIS.read_text())
    assert r.status_code == 200, r.text
    second = r.json()["id"]
    try:
        assert second != redis_template["id"] and second.startswith("redis-")
    finally:
        assert k2["alice"].remove_template(second).status_code == 200


def test_a_launch_of_an_unknown_template_or_without_a_name_is_refused(k2, redis_template):
    alice = k2["alice"]
    assert "no-such-template" in error_of(alice.create_service("no-such-template", {}), 404)
    assert "NAME" in error_of(alice.create_service(redis_template["id"], {"other": "x"}), 400)
    assert "NAME" in error_of(alice.create_service(redis_template["id"], {"name": "Not OK"}), 400)
    error_of(alice.add_template("kind: Template\nname: broken\n"), 400)


def test_another_users_services_and_templates_are_not_found(k2, redis_template):
    alice, bob = k2["alice"], k2["bob"]
    r = alice.create_service(redis_template["id"], {"name": "private-cache"})
    assert r.status_code == 201, r.text
    try:
        error_of(bob.delete_service("private-cache"), 404)
        bobs = bob.list_services()
        assert bobs.status_code == 200
        assert "private-cache" not in {s["name"] for s in bobs.json()["objects"]}
        error_of(bob.get_template(redis_template["id"]), 404)
        error_of(bob.remove_template(redis_template["id"]), 404)
        error_of(bob.create_service(redis_template["id"], {"name": "stolen"}), 404)
        alices = {s["name"] for s in alice.list_services().json()["objects"]}
        assert "private-cache" in alices
    finally:
        assert alice.delete_service("private-cache").status_code == 204


def test_builtin_templates_cannot_be_removed(k2):
    error_of(k2["bob"].remove_template("redis"), 403)
    assert k2["bob"].get_template("redis").json()["filename"] == "redis.template.yaml"


def test_without_a_token_or_with_a_wrong_one_the_answer_is_401(hub):
    for token in (None, "0" * 32):
        anonymous = Karvdash2Client(hub, token)
        error_of(anonymous.list_services(), 401)
        error_of(anonymous.create_service("redis", {"name": "x"}), 401)
        error_of(anonymous.remove_template("redis"), 401)


def test_paths_without_the_trailing_slash_and_unknown_ones(k2):
    bob = k2["bob"]
    r = requests.get(bob.base_url + "/templates", headers=bob._headers, timeout=60)
    assert r.status_code == 200 and r.json()["objects"]
    assert "datasets" in error_of(bob._call("GET", "/datasets/"), 404)
    error_of(bob._call("GET", "/no/such/thing/"), 404)
    error_of(bob._call("GET", "/services/anything/"), 501)  # Karvdash had no such GET
    error_of(bob._call("PUT", "/templates/"), 501)
    bad = requests.post(bob.base_url + "/services/", data=b"{", headers=bob._headers, timeout=60)
    error_of(bad, 400)


def test_the_original_karvdash_client_itself_works_against_it(hub, tokens, tmp_path):
    """karvdash-client 1.3.1 (PyPI), unchanged, configured as its users configure it."""
    from karvdash_client.api import API

    config = tmp_path / "config.ini"
    base = f"{hub.url}/services/karvdash/karvdash2/api"
    config.write_text(f"[Karvdash]\nbase_url = {base}\ntoken = {tokens['alice']}\n")
    client = API(str(config))
    added = client.add_template(REDIS.read_text())
    try:
        assert added["id"] in {t["id"] for t in client.list_templates()["objects"]}
        assert client.get_template(added["id"])["data"] == REDIS.read_text()
        created = client.create_service(added["id"], {"name": "viaclient"})
        assert created["name"] == "viaclient"
        try:
            listed = {s["name"]: s for s in client.list_services()["objects"]}
            assert listed["viaclient"]["template"]["values"] == {"NAME": "viaclient"}
        finally:
            client.delete_service("viaclient")
        assert "viaclient" not in {s["name"] for s in client.list_services()["objects"]}
    finally:
        client.remove_template(added["id"])
    with pytest.raises(requests.HTTPError):  # what its users see for an error
        client.get_template(added["id"])
