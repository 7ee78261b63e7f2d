"""Karvdash's own chart (``chart/karvdash-cluster``: what the Zero to JupyterHub chart does
not make) linted and rendered by helm (built from its Go module at the pinned release),
its objects checked (least privilege, the release's namespace substituted), and accepted
by the real API server (server-side dry run)."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
import yaml
from kubernetes import dynamic

pytestmark = pytest.mark.integration

CHART = Path(__file__).resolve().parents[2] / "chart" / "karvdash-cluster"
MANIFESTS = Path(__file__).resolve().parents[2] / "karvdash_hub" / "manifests"


@pytest.fixture(scope="module")
def helm() -> str:
    from karvdash_localcluster.gobuild import build_helm

    return str(build_helm(verbose=False))


def render(helm: str, *args: str, namespace: str = "lab") -> list[dict]:
    out = subprocess.run(
        [helm, "template", "karvdash", str(CHART), "--namespace", namespace, *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def by_kind(objects: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for o in objects:
        found.setdefault(o["kind"], []).append(o)
    return found


@pytest.mark.parametrize(
    "values",
    [[], ["--set", "adminPassword.existingSecret=mine", "--set", "admission.install=false"]],
)
def test_the_chart_lints_with_default_and_other_values(helm, values):
    done = subprocess.run(
        [helm, "lint", "--strict", str(CHART), *values], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in done.stdout


def test_the_hubs_permissions_are_the_documented_ones_bound_in_the_releases_namespace(helm):
    kinds = by_kind(render(helm, namespace="science"))
    (binding,) = kinds["ClusterRoleBinding"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "hub", "namespace": "science"}
    ]
    roles = {r["metadata"]["name"]: r for r in kinds["ClusterRole"]}
    shipped = [d for d in yaml.safe_load_all((MANIFESTS / "hub-rbac.yaml").read_text()) if d]
    assert roles["karvdash-hub"]["rules"] == shipped[0]["rules"]  # the file itself
    for rule in roles["karvdash-hub"]["rules"]:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"]
        assert "*" not in rule.get("apiGroups", [])
        assert "secrets" not in rule["resources"]  # no Secret outside user namespaces
        if "bind" in rule["verbs"] or "escalate" in rule["verbs"]:
            assert rule.get("resourceNames") == ["admin"] and "escalate" not in rule["verbs"]
        if "impersonate" in rule["verbs"]:
            pytest.fail(f"the hub may impersonate: {rule}")
    assert binding["roleRef"]["name"] == "karvdash-hub"


def test_the_custom_resource_and_the_admission_policies_are_karvdashs_files(helm):
    kinds = by_kind(render(helm))
    (crd,) = kinds["CustomResourceDefinition"]
    assert crd["metadata"]["name"] == "templates.karvdash.io"
    assert kinds["ValidatingAdmissionPolicy"][0]["metadata"]["name"] == "karvdash-user-namespaces"
    assert kinds["MutatingAdmissionPolicy"][0]["metadata"]["name"] == "karvdash-user-mounts"
    off = by_kind(
        render(helm, "--set", "admission.install=false", "--set", "templates.install=false")
    )
    assert not {"CustomResourceDefinition", "ValidatingAdmissionPolicy"} & set(off)
    mounts_off = by_kind(render(helm, "--set", "admission.mounts=false"))
    assert "MutatingAdmissionPolicy" not in mounts_off and "ValidatingAdmissionPolicy" in mounts_off


def test_the_admins_password_is_given_kept_or_random(helm):
    (given,) = by_kind(render(helm, "--set", "adminPassword.value=s3cret-admin"))["Secret"]
    assert given["metadata"]["name"] == "karvdash-admin"
    assert base64.b64decode(given["data"]["password"]).decode() == "s3cret-admin"
    (random_one,) = by_kind(render(helm))["Secret"]
    (another,) = by_kind(render(helm))["Secret"]
    assert len(base64.b64decode(random_one["data"]["password"])) == 24
    assert random_one["data"]["password"] != another["data"]["password"]
    assert random_one["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert "Secret" not in by_kind(render(helm, "--set", "adminPassword.existingSecret=mine"))


def test_the_api_server_accepts_every_object(helm, kube):
    """Server-side dry run of each rendered object on the local control plane."""
    dyn = dynamic.DynamicClient(kube)
    for obj in render(helm, namespace="default"):
        res = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        namespace = "default" if res.namespaced else None
        try:
            dyn.create(res, body=obj, namespace=namespace, query_params=[("dryRun", "All")])
        except dynamic.exceptions.ConflictError:
            pass  # the hub of another test made it already: it exists, so it was valid
