"""The installation of docs/install.md on the local cluster's real node: the project's
chart, then the hub image running as a pod of namespace ``karvdash`` with its
ServiceAccount (only the chart's RBAC), configured as ``helm-values.yaml`` configures it
(``tests/support/incluster.py``), with configurable-http-proxy in front. A user logs in
through the proxy, KarvdashSpawner starts their server from the single-user image in
``karvdash-<user>``, the server reaches the hub by its fully qualified name, karvdashctl
in it reaches the dashboard through the proxy, and a service it launches runs.

These need the real node: on CI a machine without one fails them (``missing_part``)."""

from __future__ import annotations

import json
import os
import time

import pytest
from kubernetes import client, dynamic
from support.cluster import exec_in, wait_for
from support.hub import Browser
from support.incluster import ADMIN_PASSWORD, NAMESPACE, helm_objects, hub_objects
from support.parts import real_node_with

from karvdash_hub import __version__

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.timeout(1800)]

HUB = f"karvdash/hub:{__version__}"
SINGLEUSER = f"karvdash/singleuser:{__version__}"
HELLO = "paulbouwer/hello-kubernetes:1.10"


@pytest.fixture(scope="module")
def kube(real_kube):
    return real_kube


@pytest.fixture(scope="module")
def installed(real_cluster, real_kube, tmp_path_factory):
    """The two charts' objects in the real cluster; the proxy's address."""
    from karvdash_localcluster.gobuild import build_helm

    real_node_with(real_cluster, [HUB, SINGLEUSER, HELLO])
    files = tmp_path_factory.mktemp("incluster-files")
    for domain in ("private", "shared", "hub-state"):
        (files / domain).mkdir()
        os.chown(files / domain, 1000, 100)  # jovyan's, as the images run
    core = client.CoreV1Api(real_kube)
    core.create_namespace({"metadata": {"name": NAMESPACE}})
    dyn = dynamic.DynamicClient(real_kube)
    objects = helm_objects(str(build_helm(verbose=False)))
    objects += hub_objects(f"docker.io/{HUB}", f"docker.io/{SINGLEUSER}", files)
    made = []
    for obj in objects:
        res = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        ns = obj["metadata"].get("namespace") if res.namespaced else None
        try:
            dyn.create(res, body=obj, namespace=ns)
            made.append((res, obj["metadata"]["name"], ns))
        except dynamic.exceptions.ConflictError:
            dyn.patch(res, body=obj, namespace=ns, content_type="application/merge-patch+json")
    apps = client.AppsV1Api(real_kube)

    def ready(name):
        for pod in core.list_namespaced_pod(NAMESPACE).items:
            for c in pod.status.container_statuses or []:
                if c.restart_count:  # a crash: say why now, not at the timeout
                    raise AssertionError(f"{pod.metadata.name} restarted")
        status = apps.read_namespaced_deployment(name, NAMESPACE).status
        return (status.ready_replicas or 0) >= 1

    try:
        wait_for(lambda: ready("proxy") and ready("hub"), 300, "the hub and proxy pods ready", 2)
    except AssertionError:
        logs = []
        for p in core.list_namespaced_pod(NAMESPACE).items:
            restarted = any(c.restart_count for c in p.status.container_statuses or [])
            logs.append(
                core.read_namespaced_pod_log(
                    p.metadata.name, NAMESPACE, tail_lines=60, previous=restarted
                )
            )
        raise AssertionError("\n".join(logs)) from None
    ip = core.read_namespaced_service("proxy-public", NAMESPACE).spec.cluster_ip
    yield f"http://{ip}"
    core.delete_namespace(NAMESPACE)
    # what the in-cluster hub made for its users (prefix "karvdash"): their namespaces
    # and the volumes of their files
    for namespace in core.list_namespace(
        label_selector="app.kubernetes.io/managed-by=karvdash"
    ).items:
        if namespace.metadata.name.startswith(f"{NAMESPACE}-"):
            core.delete_namespace(namespace.metadata.name)
    for volume in core.list_persistent_volume().items:
        claim = volume.spec.claim_ref
        if claim and claim.namespace and claim.namespace.startswith(f"{NAMESPACE}-"):
            core.delete_persistent_volume(volume.metadata.name)
    for res, name, ns in made:
        if ns is None and res.kind not in ("CustomResourceDefinition",):
            try:
                dyn.delete(res, name=name)
            except dynamic.exceptions.NotFoundError:
                pass
    wait_for(
        lambda: NAMESPACE not in {n.metadata.name for n in core.list_namespace().items},
        120,
        "the karvdash namespace gone",
        2,
    )


class InCluster:
    """What :class:`support.hub.Browser` needs of a hub: its public URL."""

    def __init__(self, url: str):
        self.url = url


@pytest.fixture(scope="module")
def alice(installed):
    """alice, approved and logged in through the proxy: her Browser."""
    hub = InCluster(installed)
    admin, alice = Browser(hub), Browser(hub)
    assert admin.login("admin", ADMIN_PASSWORD), "the chart's admin password"
    alice.signup("alice", "alice-secret-42")
    admin.get("/hub/authorize/alice")
    assert alice.login("alice", "alice-secret-42")
    return alice


def in_alice_server(real_kubeconfig, command: str) -> str:
    code, out = exec_in(real_kubeconfig, "karvdash-alice", "jupyter-alice", ["sh", "-c", command])
    assert code == 0, out
    return out


def test_a_user_logs_in_and_their_server_and_service_run_in_their_namespace(
    alice, real_kube, real_kubeconfig
):
    started = time.monotonic()
    server = alice.start_server("alice", timeout=420)
    print(f"alice's server ready in {time.monotonic() - started:.0f}s")
    assert server["ready"]
    core = client.CoreV1Api(real_kube)
    pod = core.read_namespaced_pod("jupyter-alice", "karvdash-alice")
    env = {e.name: e.value for e in pod.spec.containers[0].env}
    fqdn = f"hub.{NAMESPACE}.svc.cluster.local"
    assert env["JUPYTERHUB_API_URL"] == f"http://{fqdn}:8081/hub/api"
    assert env["KARVDASH_API_URL"] == (
        f"http://proxy-public.{NAMESPACE}.svc.cluster.local/services/karvdash/api/"
    )
    assert pod.spec.containers[0].image == f"docker.io/{SINGLEUSER}"

    def sh(command: str) -> str:
        return in_alice_server(real_kubeconfig, command)

    assert "hello-kubernetes" in sh("karvdashctl list_templates")
    launched = sh("karvdashctl create_service hello-kubernetes NAME=web")
    assert "launched web in karvdash-alice" in launched
    wait_for(
        lambda: "1/1" in sh("karvdashctl list_services").split("\n", 1)[-1],
        240,
        "the service launched from the in-cluster hub ready",
        2,
    )
    listed = json.loads(sh("karvdashctl --json list_services") or "[]")
    assert [s["name"] for s in listed] == ["web"]


def test_a_restarted_hub_pod_finds_the_running_server_and_services(
    alice, installed, real_kube, real_kubeconfig
):
    """The hub's pod is deleted (an upgrade, a crash, a drained node): its Deployment
    starts another, with the same database, and alice's server and service, which kept
    running meanwhile, are found again: her server answers through the proxy, karvdashctl
    in it still lists her service."""
    core = client.CoreV1Api(real_kube)
    server_pod = core.read_namespaced_pod("jupyter-alice", "karvdash-alice")
    token = alice.api("POST", "/users/alice/tokens", json={"note": "restart"}).json()["token"]
    (old,) = core.list_namespaced_pod(NAMESPACE, label_selector="component=hub").items
    started = time.monotonic()
    core.delete_namespaced_pod(old.metadata.name, NAMESPACE)

    def new_hub_ready() -> bool:
        pods = core.list_namespaced_pod(NAMESPACE, label_selector="component=hub").items
        return any(
            p.metadata.uid != old.metadata.uid
            and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
            for p in pods
        )

    wait_for(new_hub_ready, 300, "the hub's new pod ready", 2)
    print(f"the hub's new pod ready {time.monotonic() - started:.0f}s after the old was deleted")
    import requests

    headers = {"Authorization": f"token {token}"}
    model = requests.get(f"{installed}/hub/api/users/alice", headers=headers, timeout=30).json()
    assert model["servers"][""]["ready"], model
    status = requests.get(f"{installed}/user/alice/api/status", headers=headers, timeout=30)
    assert status.status_code == 200, status.text[:300]
    now = core.read_namespaced_pod("jupyter-alice", "karvdash-alice")
    assert now.metadata.uid == server_pod.metadata.uid  # the same pod, never restarted
    assert not any(c.restart_count for c in now.status.container_statuses)
    listed = json.loads(in_alice_server(real_kubeconfig, "karvdashctl --json list_services"))
    assert [s["name"] for s in listed] == ["web"]
