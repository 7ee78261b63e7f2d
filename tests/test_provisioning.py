"""Provisioning of user namespaces against the local control plane."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from kubernetes import client
from test_localcluster import deployment, impersonating, namespace_gone, wait_for
from traitlets.config import Config

from karvdash_hub import provisioning
from karvdash_hub.services import ServiceManager

pytestmark = pytest.mark.integration


@pytest.fixture
def files(tmp_path):
    (tmp_path / "private").mkdir()
    (tmp_path / "shared").mkdir()
    return tmp_path


@pytest.fixture
def provisioner(kubeconfig, files):
    return provisioning.Provisioner(
        kubeconfig=str(kubeconfig),
        private_root=str(files / "private"),
        private_volume={"hostPath": {"path": str(files / "private")}},
        shared_volume={"hostPath": {"path": str(files / "shared")}},
        ingress_namespaces=["jupyterhub"],
    )


@pytest.fixture
async def users(provisioner):
    """Unique user names; their namespaces are deleted after the test."""
    made: list[str] = []

    def make(prefix="u"):
        name = f"{prefix}{uuid.uuid4().hex[:6]}"
        made.append(name)
        return name

    yield make
    await asyncio.gather(*(provisioner.delete(u) for u in made))


def namespaced_objects(kube, ns):
    core, rbac = client.CoreV1Api(kube), client.RbacAuthorizationV1Api(kube)
    net = client.NetworkingV1Api(kube)
    return {
        "serviceaccounts": [
            o
            for o in core.list_namespaced_service_account(ns).items
            if o.metadata.name != "default"
        ],
        "rolebindings": rbac.list_namespaced_role_binding(ns).items,
        "resourcequotas": core.list_namespaced_resource_quota(ns).items,
        "limitranges": core.list_namespaced_limit_range(ns).items,
        "networkpolicies": net.list_namespaced_network_policy(ns).items,
        "pvcs": core.list_namespaced_persistent_volume_claim(ns).items,
    }


async def test_a_user_gets_a_namespace_with_every_object(provisioner, users, kube, files):
    user = users("alice")
    ns = await provisioner.ensure(user)
    assert ns == f"karvdash-{user}"
    core = client.CoreV1Api(kube)
    namespace = core.read_namespace(ns)
    labels = namespace.metadata.labels
    assert labels["app.kubernetes.io/managed-by"] == "karvdash"
    assert labels["karvdash.io/user"] == user
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"

    objs = namespaced_objects(kube, ns)
    assert [o.metadata.name for o in objs["serviceaccounts"]] == ["karvdash-user"]
    (binding,) = objs["rolebindings"]
    assert (binding.role_ref.kind, binding.role_ref.name) == ("ClusterRole", "admin")
    assert [(s.kind, s.name, s.namespace) for s in binding.subjects] == [
        ("ServiceAccount", "karvdash-user", ns)
    ]
    (quota,) = objs["resourcequotas"]
    assert quota.spec.hard["pods"] == "50" and quota.spec.hard["requests.cpu"] == "8"
    (limits,) = objs["limitranges"]
    assert limits.spec.limits[0].default_request == {"cpu": "100m", "memory": "256Mi"}
    (policy,) = objs["networkpolicies"]
    sources = policy.spec.ingress[0]._from
    assert sources[0].pod_selector is not None and sources[0].namespace_selector is None
    assert sources[1].namespace_selector.match_labels == {
        "kubernetes.io/metadata.name": "jupyterhub"
    }
    assert policy.spec.policy_types == ["Ingress"]
    for o in [namespace, *(x for group in objs.values() for x in group)]:
        assert o.metadata.labels["app.kubernetes.io/managed-by"] == "karvdash"

    def bound():
        pvcs = core.list_namespaced_persistent_volume_claim(ns).items
        return len(pvcs) == 2 and all(p.status.phase == "Bound" for p in pvcs) and pvcs

    pvcs = wait_for(bound, 30, "both claims to be Bound")
    volumes = {p.metadata.name: core.read_persistent_volume(p.spec.volume_name) for p in pvcs}
    assert volumes["karvdash-private"].spec.host_path.path == str(files / "private" / user)
    assert volumes["karvdash-shared"].spec.host_path.path == str(files / "shared")
    assert (files / "private" / user).is_dir()


async def test_provisioning_twice_changes_nothing(provisioner, users, kube):
    user = users("idem")
    ns = await provisioner.ensure(user)

    def versions():
        objs = namespaced_objects(kube, ns)
        # controllers write the status of quotas and claims on their own: compare
        # their specs, and every other object's resourceVersion
        return {
            (kind, o.metadata.name): (
                o.spec.to_dict()
                if kind in ("pvcs", "resourcequotas")
                else o.metadata.resource_version
            )
            for kind, group in objs.items()
            for o in group
        }

    before = versions()
    await provisioner.ensure(user)
    await asyncio.gather(*(provisioner.ensure(user) for _ in range(5)))
    assert versions() == before
    assert len(before) == 7


async def test_fifty_users_provisioned_concurrently(provisioner, users, kube):
    names = [users("many") for _ in range(50)]
    started = time.monotonic()
    namespaces = await asyncio.gather(*(provisioner.ensure(u) for u in names))
    elapsed = time.monotonic() - started
    print(f"\n50 users provisioned concurrently in {elapsed:.2f}s")
    assert len(set(namespaces)) == 50
    core = client.CoreV1Api(kube)
    listed = core.list_namespace(label_selector="app.kubernetes.io/managed-by=karvdash").items
    assert set(namespaces) <= {n.metadata.name for n in listed}
    for ns in namespaces:
        objs = namespaced_objects(kube, ns)
        assert {k: len(v) for k, v in objs.items()} == {
            "serviceaccounts": 1,
            "rolebindings": 1,
            "resourcequotas": 1,
            "limitranges": 1,
            "networkpolicies": 1,
            "pvcs": 2,
        }, ns


async def test_a_users_service_account_is_forbidden_in_another_users_namespace(
    provisioner, users, kube, kubeconfig
):
    a, b = users("a"), users("b")
    ns_a, ns_b = await asyncio.gather(provisioner.ensure(a), provisioner.ensure(b))
    as_a = impersonating(kubeconfig, f"system:serviceaccount:{ns_a}:karvdash-user")
    try:
        apps, core = client.AppsV1Api(as_a), client.CoreV1Api(as_a)
        apps.create_namespaced_deployment(ns_a, deployment("mine"))
        for attempt in (
            lambda: apps.create_namespaced_deployment(ns_b, deployment("theirs")),
            lambda: core.list_namespaced_pod(ns_b),
            lambda: core.read_namespaced_persistent_volume_claim("karvdash-private", ns_b),
            # nor can it lift its own limits or leave its namespace
            lambda: core.delete_namespaced_resource_quota("karvdash-quota", ns_a),
            lambda: core.delete_namespace(ns_a),
            lambda: core.list_persistent_volume(),
        ):
            with pytest.raises(client.ApiException) as denied:
                attempt()
            assert denied.value.status == 403
    finally:
        as_a.close()


async def test_pod_security_rejects_a_privileged_pod_in_a_user_namespace(provisioner, users, kube):
    ns = await provisioner.ensure(users("psa"))
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="root"),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="main",
                    image="example.org/busybox:1",
                    security_context=client.V1SecurityContext(privileged=True),
                )
            ]
        ),
    )
    with pytest.raises(client.ApiException) as rejected:
        client.CoreV1Api(kube).create_namespaced_pod(ns, pod)
    assert rejected.value.status == 403 and "violates PodSecurity" in rejected.value.body


async def test_deleting_a_user_removes_the_namespace_and_keeps_the_files(
    provisioner, users, kube, files
):
    user = users("gone")
    ns = await provisioner.ensure(user)
    (files / "private" / user / "results.csv").write_text("1,2,3\n")
    core = client.CoreV1Api(kube)
    await provisioner.delete(user)
    wait_for(lambda: namespace_gone(core, ns), 90, f"namespace {ns} to be deleted")
    selector = f"karvdash.io/user={user}"
    assert core.list_persistent_volume(label_selector=selector).items == []
    assert (files / "private" / user / "results.csv").read_text() == "1,2,3\n"

    # provisioning again (the user comes back) finds the files where they were
    await provisioner.ensure(user)
    assert (files / "private" / user / "results.csv").exists()
    # and an admin's purge removes them
    await provisioner.delete(user, purge_files=True)
    assert not (files / "private" / user).exists()
    assert [p.name for p in (files / "private").iterdir() if user in p.name] == []


async def test_a_bad_storage_configuration_creates_nothing(kubeconfig, kube, users):
    bad = provisioning.Provisioner(
        kubeconfig=str(kubeconfig),
        private_volume={"csi": {"driver": "x", "volumeHandle": "y"}},
    )
    user = users("bad")
    with pytest.raises(provisioning.ProvisioningError, match="private storage needs"):
        await bad.ensure(user)
    with pytest.raises(client.ApiException) as missing:
        client.CoreV1Api(kube).read_namespace(f"karvdash-{user}")
    assert missing.value.status == 404


async def test_the_documented_hub_permissions_are_enough_to_provision_and_delete(
    kube, kubeconfig, namespace_factory, files, tmp_path
):
    """The hub's ServiceAccount, bound to karvdash_hub/manifests/hub-rbac.yaml and
    nothing else, logs in with its own token and provisions and deletes a user."""
    import json

    import yaml
    from kubernetes import utils

    from karvdash_hub import REPO_MANIFESTS

    hub_ns = namespace_factory("hub")
    core = client.CoreV1Api(kube)
    core.create_namespaced_service_account(
        hub_ns, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="hub"))
    )
    docs = list(yaml.safe_load_all((REPO_MANIFESTS / "hub-rbac.yaml").read_text()))
    suffix = hub_ns.split("-")[-1]
    for doc in docs:
        doc["metadata"]["name"] = f"karvdash-hub-{suffix}"
        if doc["kind"] == "ClusterRoleBinding":
            doc["roleRef"]["name"] = f"karvdash-hub-{suffix}"
            doc["subjects"][0]["namespace"] = hub_ns
    utils.create_from_yaml(kube, yaml_objects=docs)
    token = core.create_namespaced_service_account_token(
        "hub", hub_ns, client.AuthenticationV1TokenRequest(spec={"audiences": []})
    ).status.token
    admin_conf = yaml.safe_load(kubeconfig.read_text())
    admin_conf["users"] = [{"name": "hub", "user": {"token": token}}]
    admin_conf["contexts"][0]["context"]["user"] = "hub"
    hub_kubeconfig = tmp_path / "hub-kubeconfig"
    hub_kubeconfig.write_text(json.dumps(admin_conf))

    cfg = Config()
    cfg.Provisioner.kubeconfig = str(hub_kubeconfig)
    cfg.Provisioner.private_root = str(files / "private")
    cfg.Provisioner.private_volume = {"hostPath": {"path": str(files / "private")}}
    cfg.Provisioner.shared_volume = {"hostPath": {"path": str(files / "shared")}}
    cfg.Provisioner.hub_service_account = f"{hub_ns}/hub"
    provisioning.Provisioner.clear_instance()
    manager = ServiceManager(config=cfg)
    prov = manager.provisioner
    user = f"rbac{uuid.uuid4().hex[:6]}"
    try:
        # the hub's own identity is used, not the admin's: it cannot read secrets
        # in kube-system, for example
        hub_api = client.ApiClient(_token_config(kube, token))
        with pytest.raises(client.ApiException) as denied:
            client.CoreV1Api(hub_api).list_namespaced_secret("kube-system")
        assert denied.value.status == 403
        ns = await prov.ensure(user)
        assert {o.metadata.name for o in namespaced_objects(kube, ns)["rolebindings"]} == {
            "karvdash-user-admin",
            "karvdash-hub-admin",
        }
        # and, through its binding in the user's namespace, runs the dashboard's work
        launched = await manager.launch(user, "postgres", {})
        assert "Secret/postgres" in launched["objects"]
        assert [s["name"] for s in await manager.list(user)] == ["postgres"]
        await manager.templates.add(user, SINGLE)
        assert (await manager.templates.get(user, "tiny")).name == "Tiny"
        await manager.stop(user, "postgres")
        # not in another namespace
        with pytest.raises(client.ApiException) as denied:
            client.CoreV1Api(hub_api).list_namespaced_secret(hub_ns)
        assert denied.value.status == 403
    finally:
        provisioning.Provisioner.clear_instance()
        await prov.delete(user)
        for doc in docs:
            if doc["kind"] == "ClusterRole":
                client.RbacAuthorizationV1Api(kube).delete_cluster_role(doc["metadata"]["name"])
            else:
                client.RbacAuthorizationV1Api(kube).delete_cluster_role_binding(
                    doc["metadata"]["name"]
                )
    assert core.read_namespace(ns).metadata.deletion_timestamp is not None


SINGLE = """
kind: Template
name: Tiny
variables: [{name: NAME, default: tiny}]
---
apiVersion: v1
kind: Service
metadata: {name: $NAME}
spec: {ports: [{port: 80}]}
"""


def _token_config(kube, token):
    conf = client.Configuration()
    conf.host = kube.configuration.host
    conf.ssl_ca_cert = kube.configuration.ssl_ca_cert
    conf.api_key = {"authorization": f"Bearer {token}"}
    return conf
