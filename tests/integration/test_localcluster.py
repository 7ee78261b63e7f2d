"""The local control plane is a real Kubernetes: RBAC, Pod Security admission,
controllers and a node that runs pods."""

from __future__ import annotations

import json

import karvdash_localcluster as localcluster
import pytest
from kubernetes import client
from support.cluster import deployment, impersonating, namespace_gone, wait_for

pytestmark = pytest.mark.integration


def test_a_namespace_admin_can_deploy_in_its_namespace_and_is_forbidden_in_another(
    kube, kubeconfig, namespace_factory
):
    ns_a, ns_b = namespace_factory("rbac-a"), namespace_factory("rbac-b")
    core, rbac = client.CoreV1Api(kube), client.RbacAuthorizationV1Api(kube)
    core.create_namespaced_service_account(
        ns_a, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="worker"))
    )
    rbac.create_namespaced_role_binding(
        ns_a,
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="worker-admin"),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="admin"
            ),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name="worker", namespace=ns_a)],
        ),
    )
    worker = impersonating(kubeconfig, f"system:serviceaccount:{ns_a}:worker")
    try:
        apps = client.AppsV1Api(worker)
        created = apps.create_namespaced_deployment(ns_a, deployment("allowed"))
        assert created.metadata.namespace == ns_a
        with pytest.raises(client.ApiException) as denied:
            apps.create_namespaced_deployment(ns_b, deployment("denied"))
        assert denied.value.status == 403
        assert "forbidden" in denied.value.body
        # nothing was created in B
        assert client.AppsV1Api(kube).list_namespaced_deployment(ns_b).items == []
    finally:
        worker.close()


@pytest.mark.parametrize(
    "unsafe",
    [
        {
            "volumes": [
                client.V1Volume(name="host", host_path=client.V1HostPathVolumeSource(path="/etc"))
            ]
        },
        {
            "containers": [
                client.V1Container(
                    name="main",
                    image="example.org/busybox:1",
                    security_context=client.V1SecurityContext(privileged=True),
                )
            ]
        },
    ],
    ids=["hostPath volume", "privileged container"],
)
def test_pod_security_baseline_rejects_unsafe_pods(kube, namespace_factory, unsafe):
    ns = namespace_factory("psa", labels={"pod-security.kubernetes.io/enforce": "baseline"})
    core = client.CoreV1Api(kube)
    spec = {"containers": [client.V1Container(name="main", image="example.org/busybox:1")]}
    spec.update(unsafe)

    def pod(name, **s):
        return client.V1Pod(metadata=client.V1ObjectMeta(name=name), spec=client.V1PodSpec(**s))

    with pytest.raises(client.ApiException) as rejected:
        core.create_namespaced_pod(ns, pod("unsafe", **spec))
    assert rejected.value.status == 403
    assert "violates PodSecurity" in rejected.value.body
    # the same pod without the unsafe part is admitted: the rejection is the policy's
    safe = core.create_namespaced_pod(
        ns, pod("safe", containers=[client.V1Container(name="main", image="example.org/busybox:1")])
    )
    assert safe.metadata.name == "safe"
    assert [p.metadata.name for p in core.list_namespaced_pod(ns).items] == ["safe"]


def test_a_deployment_pod_runs_on_a_simulated_node(kube, namespace_factory):
    ns = namespace_factory("run")
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    # the service account controller makes the namespace's default account
    wait_for(
        lambda: any(
            sa.metadata.name == "default" for sa in core.list_namespaced_service_account(ns).items
        ),
        30,
        "the default ServiceAccount",
    )
    apps.create_namespaced_deployment(ns, deployment("hello", replicas=2))

    def running():
        pods = core.list_namespaced_pod(ns, label_selector="app=hello").items
        if len(pods) == 2 and all(p.status.phase == "Running" for p in pods):
            return pods
        return None

    pods = wait_for(running, 60, "two Running pods")
    assert {p.spec.node_name for p in pods} == {localcluster.NODE_NAME}
    assert all(p.status.pod_ip for p in pods)

    def deployment_ready():
        status = apps.read_namespaced_deployment("hello", ns).status
        return status if status.ready_replicas == 2 else None

    status = wait_for(deployment_ready, 30, "the Deployment to report 2 ready replicas")
    assert status.available_replicas == 2


def test_deleting_a_namespace_completes_and_removes_its_objects(kube, namespace_factory):
    ns = namespace_factory("del")
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    apps.create_namespaced_deployment(ns, deployment("doomed"))
    wait_for(lambda: core.list_namespaced_pod(ns).items, 60, "the pod to be created")
    core.delete_namespace(ns)
    wait_for(lambda: namespace_gone(core, ns), 90, f"namespace {ns} to finish deleting")
    # a namespace that vanished with its objects orphaned in storage would hand them back
    # when it is made again; a deleted one comes back empty (the fixture deletes it again)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    assert apps.list_namespaced_deployment(ns).items == []
    assert apps.list_namespaced_replica_set(ns).items == []
    assert core.list_namespaced_pod(ns).items == []


def test_the_node_is_ready_and_an_anonymous_request_is_forbidden(kube):
    node = client.CoreV1Api(kube).read_node(localcluster.NODE_NAME)
    ready = [c for c in node.status.conditions if c.type == "Ready"]
    assert ready and ready[0].status == "True"
    # a request without credentials is system:anonymous, which RBAC grants nothing
    conf = client.Configuration()
    conf.host = kube.configuration.host
    conf.ssl_ca_cert = kube.configuration.ssl_ca_cert
    with client.ApiClient(conf) as anonymous, pytest.raises(client.ApiException) as denied:
        client.CoreV1Api(anonymous).list_namespace()
    assert denied.value.status == 403
    message = json.loads(denied.value.body)["message"]
    assert 'User "system:anonymous" cannot list resource "namespaces"' in message


def test_a_claim_gets_a_local_volume_and_gives_it_back_when_deleted(kube, namespace_factory):
    """The local storage provisioner (the default StorageClass): a claim is bound to a
    new hostPath volume, whose folder exists; once the claim is deleted, the volume and
    the folder are gone."""
    from pathlib import Path

    ns = namespace_factory("pvc")
    core = client.CoreV1Api(kube)
    claim = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    core.create_namespaced_persistent_volume_claim(ns, claim)

    def bound():
        found = core.read_namespaced_persistent_volume_claim("data", ns)
        return found if found.status.phase == "Bound" else None

    wait_for(bound, 60, "the claim bound")
    volume = core.read_persistent_volume(bound().spec.volume_name)
    folder = Path(volume.spec.host_path.path)
    assert volume.spec.storage_class_name == "karvdash-local" and folder.is_dir()
    core.delete_namespaced_persistent_volume_claim("data", ns)

    def released():
        names = {v.metadata.name for v in core.list_persistent_volume().items}
        return volume.metadata.name not in names and not folder.exists()

    wait_for(released, 60, "the volume and its folder gone")
