"""A service whose template has ``api: true`` gets the dashboard's API URL and a hub token
of its owner scoped to the dashboard only; the token is revoked when it stops, and never
outlives a launch that failed. Real hub, dashboard and API server (the pods' own use of
it, on the real node, is in test_exec)."""

from __future__ import annotations

import base64

import pytest
import requests
from kubernetes import client
from support.browser import Api

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WORKER = """kind: Template
name: Worker with API access
description: Launches and stops its owner's services
api: true
variables:
- name: NAME
  default: worker
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
      - name: main
        image: paulbouwer/hello-kubernetes:1.10
        resources: {limits: {cpu: 100m, memory: 64Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: $NAME}
spec:
  selector: {app: $NAME}
  ports: [{port: 8080}]
"""
#: its creation fails after its dry run passed (two ConfigMaps of one name): every
#: attempt's token must be revoked again
CLASHING = (
    WORKER.replace("name: Worker with", "name: Clashing worker with")
    + ("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: $NAME-conf}\n") * 2
)
#: claims the name of the service's token Secret
SQUATTER = WORKER.replace("name: Worker with", "name: Squatter with") + (
    "---\napiVersion: v1\nkind: Secret\nmetadata: {name: $NAME-karvdash-api}\n"
)


def service_tokens(hub, token: str, user: str) -> list[dict]:
    r = requests.get(
        f"{hub.url}/hub/api/users/{user}/tokens",
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return [t for t in r.json()["api_tokens"] if (t["note"] or "").startswith("Karvdash service")]


@pytest.fixture(scope="module")
def worker(api):
    for tid, text in [("worker", WORKER), ("clashing", CLASHING), ("squatter", SQUATTER)]:
        r = api["alice"]("POST", "templates", json={"data": text, "id": tid})
        assert r.status_code == 201, r.text
    r = api["alice"]("POST", "services", json={"template": "worker"})
    assert r.status_code == 201, r.text
    yield r.json()
    api["alice"]("DELETE", f"services/{r.json()['name']}")


def test_the_template_says_it_uses_the_api(api, worker):
    listed = {t["id"]: t for t in api["alice"]("GET", "templates").json()}
    assert listed["worker"]["api"] is True and listed["redis"]["api"] is False


def test_the_pods_get_the_url_and_a_token_from_the_services_secret(kube, hub, worker, tokens):
    ns = hub.namespace("alice")
    deployment = client.AppsV1Api(kube).read_namespaced_deployment("worker", ns)
    env = {e.name: e for e in deployment.spec.template.spec.containers[0].env}
    assert env["KARVDASH_API_URL"].value.endswith("/services/karvdash/api/")
    ref = env["KARVDASH_API_TOKEN"].value_from.secret_key_ref
    assert (ref.name, ref.key) == ("worker-karvdash-api", "token")
    assert env["KARVDASH_API_TOKEN"].value is None  # not in the pod's spec
    secret = client.CoreV1Api(kube).read_namespaced_secret("worker-karvdash-api", ns)
    assert secret.metadata.labels["karvdash.io/service"] == "worker"
    (made,) = service_tokens(hub, tokens["alice"], "alice")
    assert made["note"] == "Karvdash service worker"
    # the hub adds what any token has: reading its own user's name and groups
    extra = set(made["scopes"]) - {"access:services!service=karvdash"}
    assert "access:services!service=karvdash" in made["scopes"]
    assert extra <= {"read:users:name!user=alice", "read:users:groups!user=alice"}, extra
    assert secret.metadata.annotations["karvdash.io/hub-token-id"] == made["id"]


def secret_token(kube, hub, name="worker") -> str:
    secret = client.CoreV1Api(kube).read_namespaced_secret(
        f"{name}-karvdash-api", hub.namespace("alice")
    )
    return base64.b64decode(secret.data["token"]).decode()


def test_the_token_is_its_owners_dashboard_access_and_nothing_more(kube, hub, worker):
    token = secret_token(kube, hub)
    as_service = Api(hub, token)
    assert "worker" in {s["name"] for s in as_service("GET", "services").json()}
    r = as_service("POST", "services", json={"template": "redis", "variables": {"NAME": "spawned"}})
    assert r.status_code == 201, r.text
    assert as_service("DELETE", "services/spawned").status_code == 200
    assert as_service("GET", "services?user=bob").status_code == 403
    headers = {"Authorization": f"token {token}"}
    for method, path in [
        ("GET", "/hub/api/users/alice/tokens"),
        ("POST", "/hub/api/users/alice/server"),
        ("GET", "/hub/api/users"),
    ]:
        r = requests.request(method, hub.url + path, headers=headers, timeout=30)
        assert r.status_code in (403, 404), (path, r.status_code)


def test_a_template_without_it_gets_neither(api, kube, hub, worker):
    r = api["alice"]("POST", "services", json={"template": "redis", "variables": {"NAME": "plain"}})
    assert r.status_code == 201, r.text
    try:
        objects = r.json()["objects"]
        assert not any(o.endswith("-karvdash-api") for o in objects)
        apps = (
            client.AppsV1Api(kube)
            .list_namespaced_deployment(
                hub.namespace("alice"), label_selector="karvdash.io/service=plain"
            )
            .items
            + client.AppsV1Api(kube)
            .list_namespaced_stateful_set(
                hub.namespace("alice"), label_selector="karvdash.io/service=plain"
            )
            .items
        )
        assert apps
        for app in apps:
            for c in app.spec.template.spec.containers:
                names = {e.name for e in c.env or []}
                assert not names & {"KARVDASH_API_URL", "KARVDASH_API_TOKEN"}
    finally:
        api["alice"]("DELETE", "services/plain")


def test_a_launch_that_fails_leaves_no_token(api, hub, tokens, worker):
    before = service_tokens(hub, tokens["alice"], "alice")
    r = api["alice"]("POST", "services", json={"template": "clashing"})
    assert r.status_code == 409 and r.json()["reason"] == "name-taken", r.text
    assert service_tokens(hub, tokens["alice"], "alice") == before
    r = api["alice"]("POST", "services", json={"template": "squatter"})
    assert r.status_code == 422 and r.json()["reason"] == "template-not-allowed", r.text
    assert "karvdash-api" in r.json()["message"]
    assert service_tokens(hub, tokens["alice"], "alice") == before


def test_stopping_revokes_the_token(api, kube, hub, tokens, worker):
    r = api["alice"](
        "POST", "services", json={"template": "worker", "variables": {"NAME": "brief"}}
    )
    assert r.status_code == 201, r.text
    token = secret_token(kube, hub, "brief")
    assert Api(hub, token)("GET", "services").status_code == 200
    assert len(service_tokens(hub, tokens["alice"], "alice")) == 2
    assert api["alice"]("DELETE", "services/brief").status_code == 200
    assert Api(hub, token)("GET", "services").status_code == 401  # no such token
    (left,) = service_tokens(hub, tokens["alice"], "alice")
    assert left["note"] == "Karvdash service worker"
