"""Karvdash 2.4's template files, unchanged, through the API of a real hub onto the local
cluster (kwok node): added as a user's templates, launched (checked by the server's dry
run, created), their objects listed, stopped. Karvdash's Argo Metrics names Prometheus
kinds this cluster has no CRD for: its launch says so, and leaves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

CORPUS = Path(__file__).resolve().parents[1] / "support" / "karvdash2"
FILES = sorted(CORPUS.glob("*.template.yaml"))
NOT_INSTALLED = {"argo-metrics": ["Prometheus (monitoring.coreos.com/v1)"]}


def template_id(path: Path) -> str:
    return f"k2-{path.name.split('.')[0]}"


@pytest.fixture(scope="module")
def added(api):
    """Every file of the corpus, added as one of alice's templates."""
    out = {}
    for path in FILES:
        r = api["alice"](
            "POST", "templates", json={"data": path.read_text(), "id": template_id(path)}
        )
        assert r.status_code == 201, (path.name, r.text)
        out[path.name.split(".")[0]] = r.json()
    return out


def test_every_file_is_added_with_what_was_read_differently(added):
    assert len(added) == 20
    for name, summary in added.items():
        assert summary["warnings"], name
        shown = {v["name"] for v in summary["variables"]}
        assert not shown & {"NAMESPACE", "HOSTNAME", "PRIVATE", "SHARED", "REGISTRY"}, name


@pytest.mark.parametrize("path", FILES, ids=[p.name.split(".")[0] for p in FILES])
def test_a_karvdash_template_launches_unchanged_and_stops(path, api, added, kube, hub):
    name = path.name.split(".")[0]
    r = api["alice"]("POST", "services", json={"template": template_id(path)})
    ns = hub.namespace("alice")
    if name in NOT_INSTALLED:
        assert r.status_code == 422 and r.json()["reason"] == "kind-not-installed", r.text
        for missing in NOT_INSTALLED[name]:
            assert missing in r.json()["message"]
        labelled = client.CoreV1Api(kube).list_namespaced_service(
            ns, label_selector=f"karvdash.io/template={template_id(path)}"
        )
        assert labelled.items == []  # nothing half-made
        return
    assert r.status_code == 201, r.text
    launched = r.json()
    assert launched["warnings"] and launched["namespace"] == ns
    expected = {f"{d['kind']}" for d in _documents(path) if d.get("kind") not in (None, "Template")}
    assert {o.split("/")[0] for o in launched["objects"]} == expected
    listed = api["alice"]("GET", f"services/{launched['name']}").json()
    assert listed["template"] == template_id(path)
    stopped = api["alice"]("DELETE", f"services/{launched['name']}")
    assert stopped.status_code == 200, stopped.text
    assert sorted(stopped.json()["deleted"]) == sorted(launched["objects"])


def _documents(path: Path) -> list[dict]:
    import yaml

    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]


LEGACY_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "templates.karvdash.carv.ics.forth.gr"},
    "spec": {
        "group": "karvdash.carv.ics.forth.gr",
        "scope": "Namespaced",
        "names": {"kind": "Template", "plural": "templates", "singular": "template"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "properties": {"data": {"type": "string"}}}
                        },
                    }
                },
            }
        ],
    },
}


@pytest.fixture
def karvdash_crd(kube):
    """Karvdash 2.x's Template CRD, as an installation that replaces it has it."""
    from support.cluster import wait_for

    ext = client.ApiextensionsV1Api(kube)
    ext.create_custom_resource_definition(LEGACY_CRD)
    custom = client.CustomObjectsApi(kube)

    def served():
        try:
            custom.list_cluster_custom_object("karvdash.carv.ics.forth.gr", "v1", "templates")
            return True
        except client.ApiException:
            return False

    wait_for(served, 30, "the Karvdash 2 CRD to be served")
    yield custom
    ext.delete_custom_resource_definition(LEGACY_CRD["metadata"]["name"])


def test_a_users_karvdash_2_template_object_is_listed_launched_and_removed(
    api, hub, karvdash_crd, added
):
    import base64

    text = (CORPUS / "redis.template.yaml").read_text()
    body = {
        "apiVersion": "karvdash.carv.ics.forth.gr/v1",
        "kind": "Template",
        "metadata": {"name": "old-redis"},
        "spec": {"data": base64.b64encode(text.encode()).decode()},
    }
    ns = hub.namespace("alice")
    karvdash_crd.create_namespaced_custom_object(
        "karvdash.carv.ics.forth.gr", "v1", ns, "templates", body
    )
    from support.cluster import wait_for

    def listed_with_it():  # a cluster without the CRD a moment ago: asked again in seconds
        found = {t["id"]: t for t in api["alice"]("GET", "templates").json()}
        return found if "old-redis" in found else None

    listed = wait_for(listed_with_it, 30, "the Karvdash 2 template listed", interval=1)
    assert "old-redis" in listed and "original Karvdash" in listed["old-redis"]["warnings"][0]
    # another user does not see it
    assert "old-redis" not in {t["id"] for t in api["bob"]("GET", "templates").json()}
    r = api["alice"](
        "POST", "services", json={"template": "old-redis", "variables": {"NAME": "oldr"}}
    )
    assert r.status_code == 201, r.text
    assert api["alice"]("DELETE", "services/oldr").status_code == 200
    assert api["alice"]("DELETE", "templates/old-redis").status_code in (200, 204)
    assert (
        karvdash_crd.list_namespaced_custom_object(
            "karvdash.carv.ics.forth.gr", "v1", ns, "templates"
        )["items"]
        == []
    )
