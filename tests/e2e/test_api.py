"""The dashboard service's REST API end to end: real hub, proxy and service processes,
real tokens of two users and an admin, the local control plane; every response is
checked against the OpenAPI document the service serves."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
import requests
from openapi_spec_validator import validate as validate_spec
from support.browser import approve, token_for
from support.cluster import wait_for
from support.hub import Browser

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

CUSTOM = """
kind: Template
name: Notes Board
description: A tiny web page
variables:
- {name: NAME, default: notes}
- {name: TITLE, default: My notes, help: Page title}
---
apiVersion: v1
kind: Service
metadata: {name: $NAME}
spec: {selector: {app: $NAME}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: $NAME}
spec:
  selector: {matchLabels: {app: $NAME}}
  template:
    metadata: {labels: {app: $NAME}}
    spec:
      containers:
      - {name: web, image: nginx:1.27, env: [{name: TITLE, value: $TITLE}]}
"""


class Api:
    """A token holder talking to the dashboard API, checking every answer against the
    OpenAPI document."""

    def __init__(self, hub, token, spec):
        self.base = hub.url + "/services/karvdash/api/"
        self.token = token
        self.spec = spec

    def call(self, method, path, operation_path=None, **kw):
        headers = kw.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        r = requests.request(method, self.base + path, headers=headers, timeout=60, **kw)
        self.check(r, method.lower(), operation_path or "/" + path.split("?")[0])
        return r

    def check(self, r, method, path):
        op = self.spec["paths"][path][method]
        documented = op["responses"].get(str(r.status_code))
        if documented is None and r.status_code >= 400:
            # only what the document says any operation may answer
            assert r.status_code in (405, 500), (method, path, r.status_code, r.text)
            documented = op["responses"]["default"]
        assert documented is not None, (method, path, r.status_code, r.text)
        content = documented.get("content")
        if not content:
            assert not r.content
            return
        if "application/json" in content:
            schema = {
                **content["application/json"]["schema"],
                "components": self.spec["components"],
            }
            jsonschema.validate(r.json(), schema)
        else:
            assert r.headers["Content-Type"].startswith("application/yaml")


@pytest.fixture(scope="module")
def spec(hub):
    r = requests.get(hub.url + "/services/karvdash/api/openapi.json", timeout=30)
    assert r.status_code == 200
    doc = r.json()
    validate_spec(doc)
    return doc


@pytest.fixture(scope="module")
def api(hub, spec, tokens):
    return {who: Api(hub, token, spec) for who, token in tokens.items()}


def test_the_openapi_document_is_valid_and_names_every_operation(spec):
    ops = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert ops == {
        "whoami",
        "list_services",
        "create_service",
        "delete_service",
        "get_service",
        "service_events",
        "service_logs",
        "namespace",
        "list_templates",
        "add_template",
        "get_template",
        "remove_template",
        "stat_file",
        "upload_file",
        "make_folder",
        "delete_file",
        "create_upload",
        "upload_status",
        "upload_chunk",
        "cancel_upload",
        "list_images",
        "get_image",
        "push_image",
        "delete_image",
        "run_in_service",
        "list_clients",
        "register_client",
        "get_client",
        "change_client",
        "delete_client",
        "new_client_secret",
    }


def test_without_a_token_the_api_answers_401_in_json(hub, spec):
    anonymous = Api(hub, None, spec)
    r = anonymous.call("GET", "services")
    assert r.status_code == 401 and r.json()["reason"] == "not-authenticated"


def test_unknown_endpoints_and_methods_answer_json(hub, tokens, spec):
    headers = {"Authorization": f"token {tokens['bob']}"}
    base = hub.url + "/services/karvdash/api/"
    r = requests.get(base + "no/such/thing", headers=headers, timeout=30)
    assert r.status_code == 404 and r.json()["reason"] == "no-such-endpoint"
    r = requests.put(base + "services", headers=headers, json={}, timeout=30)
    assert r.status_code == 405 and r.json()["reason"] == "method-not-allowed"
    schema = {**spec["components"]["schemas"]["Error"], "components": spec["components"]}
    jsonschema.validate(r.json(), schema)
    assert "openapi.json" in r.json()["message"]


def test_whoami(api, hub):
    assert api["alice"].call("GET", "user").json() == {
        "name": "alice",
        "admin": False,
        "namespace": hub.namespace("alice"),
    }
    assert api["admin"].call("GET", "user").json()["admin"] is True


def test_a_user_launches_lists_and_stops_a_service(api, hub):
    alice = api["alice"]
    templates = alice.call("GET", "templates").json()
    assert len([t for t in templates if t["builtin"]]) >= 12
    r = alice.call(
        "POST", "services", json={"template": "hello-kubernetes", "variables": {"MESSAGE": "hi"}}
    )
    assert r.status_code == 201
    launched = r.json()
    assert launched["name"] == "hello-kubernetes" and launched["namespace"] == hub.namespace(
        "alice"
    )
    # it asks for its owner's login: the local cluster's ingress asks the gateway first
    # (tests/e2e/test_exposure.py follows a browser through it)
    assert launched["url"].startswith("https://hello-kubernetes-alice.localtest.me:")
    assert "warning" not in launched
    listed = alice.call("GET", "services").json()
    assert [s["name"] for s in listed] == ["hello-kubernetes"]
    stopped = alice.call("DELETE", "services/hello-kubernetes", "/services/{name}").json()
    assert "Deployment/hello-kubernetes" in stopped["deleted"]
    assert alice.call("GET", "services").json() == []


def test_a_service_is_described_with_its_objects_events_and_logs_for_its_owner_or_an_admin(
    api, hub
):
    alice, bob, admin = api["alice"], api["bob"], api["admin"]
    assert alice.call("POST", "services", json={"template": "hello-kubernetes"}).status_code == 201
    try:
        one = "/services/{name}"

        def described_with_its_pod():
            answer = alice.call("GET", "services/hello-kubernetes", one).json()
            return answer if answer["pods"] else None

        # the Deployment's pod comes a moment after the launch
        described = wait_for(described_with_its_pod, 60, "the service's pod")
        kinds = {o["kind"] for o in described["objects"]}
        assert {"Service", "Deployment"} <= kinds, described["objects"]
        assert described["namespace"] == hub.namespace("alice")
        events = alice.call("GET", "services/hello-kubernetes/events", one + "/events").json()
        assert all(e["object"].split("/")[0] for e in events)
        logs = alice.call("GET", "services/hello-kubernetes/logs?lines=20", one + "/logs")
        assert logs.status_code == 200, logs.text
        assert [e["container"] for e in logs.json()] == [
            c for p in described["pods"] for c in p["containers"]
        ]
        bad = alice.call("GET", "services/hello-kubernetes/logs?lines=0", one + "/logs")
        assert (bad.status_code, bad.json()["reason"]) == (400, "bad-request")
        # someone else's: not found for a user, seen by an admin who names the owner
        for path in ("", "/events", "/logs"):
            r = bob.call("GET", f"services/hello-kubernetes{path}", one + path)
            assert (r.status_code, r.json()["reason"]) == (404, "service-not-found"), path
            r = bob.call("GET", f"services/hello-kubernetes{path}?user=alice", one + path)
            assert r.status_code == 403, path
            r = admin.call("GET", f"services/hello-kubernetes{path}?user=alice", one + path)
            assert r.status_code == 200, path
        summary = admin.call("GET", "namespace?user=alice").json()
        assert summary["namespace"] == hub.namespace("alice") and summary["services"] == 1
        assert "pods" in {q["resource"] for q in summary["quota"]}
        assert bob.call("GET", "namespace?user=alice").status_code == 403
    finally:
        alice.call("DELETE", "services/hello-kubernetes", "/services/{name}")


def test_a_bad_variable_names_its_field(api):
    r = api["alice"].call(
        "POST", "services", json={"template": "hello-kubernetes", "variables": {"NAME": "No!"}}
    )
    assert (r.status_code, r.json()["where"]) == (400, "variables.NAME"), r.text


def test_users_cannot_see_or_touch_each_others_services_and_templates(api, hub):
    alice, bob, admin = api["alice"], api["bob"], api["admin"]
    alice.call("POST", "services", json={"template": "redis", "variables": {"NAME": "cache"}})
    alice.call("POST", "templates", json={"data": CUSTOM})
    try:
        assert bob.call("GET", "services").json() == []
        assert bob.call("GET", "services?user=alice").status_code == 403
        assert bob.call("DELETE", "services/cache", "/services/{name}").status_code == 404
        assert (
            bob.call("DELETE", "services/cache?user=alice", "/services/{name}").status_code == 403
        )
        assert (
            bob.call("POST", "services", json={"template": "redis", "user": "alice"}).status_code
            == 403
        )
        assert "notes-board" not in {t["id"] for t in bob.call("GET", "templates").json()}
        assert bob.call("GET", "templates/notes-board", "/templates/{id}").status_code == 404
        assert bob.call("DELETE", "templates/notes-board", "/templates/{id}").status_code == 404
        assert bob.call("POST", "services", json={"template": "notes-board"}).status_code == 404
        # alice's things are still there
        assert [s["name"] for s in alice.call("GET", "services").json()] == ["cache"]
        assert alice.call("GET", "templates/notes-board", "/templates/{id}").text == CUSTOM
        # the admin sees and acts on them by naming the user
        assert [s["name"] for s in admin.call("GET", "services?user=alice").json()] == ["cache"]
        assert (
            admin.call("GET", "templates/notes-board?user=alice", "/templates/{id}").status_code
            == 200
        )
        r = admin.call("POST", "services", json={"template": "notes-board", "user": "alice"})
        assert r.status_code == 201 and r.json()["namespace"] == hub.namespace("alice")
        assert admin.call("GET", "services?user=nobody-here").status_code == 404
        assert (
            admin.call("DELETE", "services/cache?user=alice", "/services/{name}").status_code == 200
        )
        assert (
            admin.call("DELETE", "services/notes?user=alice", "/services/{name}").status_code == 200
        )
        assert alice.call("GET", "services").json() == []
    finally:
        alice.call("DELETE", "templates/notes-board", "/templates/{id}")


@pytest.mark.parametrize(
    "body, status, reason",
    [
        ({"template": "no-such-thing"}, 404, "template-not-found"),
        ({}, 400, "missing-template"),
        (
            {"template": "hello-kubernetes", "variables": {"NAME": "Not A Name"}},
            400,
            "bad-variables",
        ),
        (
            {"template": "hello-kubernetes", "variables": {"NAMESPACE": "kube-system"}},
            400,
            "bad-variables",
        ),
        ({"template": "hello-kubernetes", "variables": ["x"]}, 400, "bad-variables"),
        ({"template": "hello-kubernetes", "user": ["bob"]}, 400, "bad-user"),
        ({"template": ["hello-kubernetes"]}, 400, "missing-template"),
    ],
)
def test_bad_launches_get_a_clear_error_and_create_nothing(api, body, status, reason):
    r = api["bob"].call("POST", "services", json=body)
    assert (r.status_code, r.json()["reason"]) == (status, reason)
    assert r.json()["message"]
    assert api["bob"].call("GET", "services").json() == []


def test_bad_templates_get_a_422_that_says_where(api):
    bob = api["bob"]
    r = bob.call(
        "POST",
        "templates",
        data=CUSTOM.replace("$TITLE", "$NOPE"),
        headers={"Content-Type": "application/yaml"},
    )
    assert r.status_code == 422 and r.json()["reason"] == "invalid-template"
    assert "NOPE" in r.json()["message"] and r.json()["where"].startswith("document")
    r = bob.call(
        "POST", "templates", data=b"not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["reason"] == "bad-json"
    r = bob.call("POST", "templates", json={"data": CUSTOM, "id": 5})
    assert r.status_code == 400 and r.json()["reason"] == "bad-template-id"
    deep = (
        CUSTOM + "---\napiVersion: v1\nkind: ConfigMap\ndata: {a: " + "[" * 500 + "]" * 500 + "}\n"
    )
    r = bob.call("POST", "templates", json={"data": deep, "id": "deep"})
    assert r.status_code == 422 and "nests more than" in r.json()["message"]
    assert "notes-board" not in {t["id"] for t in bob.call("GET", "templates").json()}
    evil = (
        CUSTOM
        + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: $NAME-crb}\n"
    )
    added = bob.call("POST", "templates", json={"data": evil, "id": "evil"})
    assert added.status_code == 201  # a valid template...
    r = bob.call("POST", "services", json={"template": "evil"})
    assert r.status_code == 422 and r.json()["reason"] == "template-not-allowed"  # ...not allowed
    assert any("ClusterRoleBinding" in v for v in r.json()["violations"])
    assert bob.call("GET", "services").json() == []
    assert bob.call("DELETE", "templates/postgres", "/templates/{id}").status_code == 403
    assert bob.call("DELETE", "templates/evil", "/templates/{id}").status_code == 204


def test_karvdashctl_drives_the_api(hub, tokens, tmp_path):
    env = {
        "KARVDASH_API_URL": hub.url + "/services/karvdash/api/",
        "KARVDASH_API_TOKEN": tokens["bob"],
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }

    def ctl(*args, ok=True):
        r = subprocess.run(
            [sys.executable, "-m", "karvdash_labext.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (r.returncode == 0) == ok, r.stderr
        return r

    launched = ctl("create_service", "postgres", "NAME=pg", "PASSWORD=s3cret").stdout
    assert f"launched pg in {hub.namespace('bob')}" in launched
    assert "note:" not in launched  # postgres has no web address to lose
    out = ctl("list_services").stdout.splitlines()
    assert out[0].split()[:3] == ["NAME", "TEMPLATE", "READY"] and out[1].split()[:2] == [
        "pg",
        "postgres",
    ]
    listed = json.loads(ctl("--json", "list_services").stdout)
    assert [s["name"] for s in listed] == ["pg"]
    assert "kind: Template" in ctl("get_template", "postgres").stdout
    (tmp_path / "t.yaml").write_text(CUSTOM)
    assert "added template notes-board" in ctl("add_template", str(tmp_path / "t.yaml")).stdout
    assert "notes-board" in ctl("list_templates").stdout
    assert "removed template notes-board" in ctl("remove_template", "notes-board").stdout
    failed = ctl("create_service", "postgres", "NAME=pg", ok=True)  # taken: gets a suffix
    assert "launched pg-" in failed.stdout
    err = ctl("delete_service", "nothing-here", ok=False)
    assert "there is no service 'nothing-here'" in err.stderr
    err = ctl("--json", "create_service", "nope", ok=False)
    assert json.loads(err.stderr)["reason"] == "template-not-found"
    for s in json.loads(ctl("--json", "list_services").stdout):
        ctl("delete_service", s["name"])
    assert json.loads(ctl("--json", "list_services").stdout) == []
    assert "usage: karvdashctl" in ctl("--help").stdout
    assert "NAME=VALUE" in ctl("create_service", "--help").stdout


def server_process(hub, user):
    """The pid and environment of ``user``'s server: the embedded default runs it as a
    process the hub starts on this machine, so /proc shows what the spawner gave it."""
    from pathlib import Path

    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            raw = (proc / "environ").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile, or not ours to read
        env = dict(v.split("=", 1) for v in raw.decode(errors="replace").split("\0") if "=" in v)
        if (
            parent == hub.proc.pid
            and env.get("JUPYTERHUB_USER") == user
            and env.get("JUPYTERHUB_API_TOKEN")
        ):
            found.append((int(proc.name), env))
    assert len(found) == 1, f"{len(found)} server processes of {user} under the hub"
    return found[0]


def test_a_users_server_token_may_call_the_dashboard_service(hub, spec, tokens):
    """karvdashctl in a user's JupyterLab uses the server's own token and finds the
    service through KARVDASH_API_URL: the token acts as its owner, and only as them."""
    from pathlib import Path

    dan, admin = Browser(hub), Browser(hub)
    dan.signup("dan", "dan-secret-55")
    assert admin.login("admin", hub.admin_password)
    admin.get("/hub/authorize/dan")
    assert dan.login("dan", "dan-secret-55")
    dan.start_server("dan")
    pid = None
    try:
        pid, env = server_process(hub, "dan")
        assert env.get("KARVDASH_API_URL") == hub.url + "/services/karvdash/api/"
        server = Api(hub, env["JUPYTERHUB_API_TOKEN"], spec)
        server.base = env["KARVDASH_API_URL"]
        r = server.call("GET", "user")
        assert r.status_code == 200, r.text
        assert r.json() == {"name": "dan", "admin": False, "namespace": hub.namespace("dan")}
        assert "alice" in tokens  # another user who exists
        r = server.call("GET", "services?user=alice")
        assert r.status_code in (401, 403), r.text
    finally:
        r = dan.api("DELETE", "/users/dan/server")
        assert r.status_code in (202, 204), r.text
        wait_for(
            lambda: not dan.api("GET", "/users/dan").json()["servers"],
            60,
            "dan's server to stop",
        )
        if pid is not None:
            wait_for(lambda: not Path(f"/proc/{pid}").exists(), 30, "dan's server to exit")


def test_a_deleted_users_token_cannot_bring_their_namespace_back(hub, spec, kube):
    """The service caches what the hub says of a token for a minute; a write asks the
    hub again, so a deleted user cannot recreate their namespace in that minute."""
    from kubernetes import client
    from support.cluster import namespace_gone, wait_for

    approve(hub, "gina", "gina-secret-4")
    token = token_for(hub, "gina", "gina-secret-4")
    gina = Api(hub, token, spec)
    assert gina.call("GET", "services").json() == []  # the service now knows the token
    admin = Browser(hub)
    assert admin.login("admin", hub.admin_password)
    assert admin.api("DELETE", "/users/gina").status_code == 204
    r = gina.call("POST", "services", json={"template": "hello-kubernetes"})
    assert r.status_code == 401, r.text
    core = client.CoreV1Api(kube)
    wait_for(lambda: namespace_gone(core, hub.namespace("gina")), 90, "gina's namespace to go")
