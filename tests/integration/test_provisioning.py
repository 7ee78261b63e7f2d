"""Provisioning of user namespaces against the local control plane."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
import uuid

import pytest
import yaml
from kubernetes import client
from kubernetes_asyncio.client.exceptions import ApiException
from support.cluster import deployment, impersonating, namespace_gone, wait_for
from support.config import karvdash_config

from karvdash_hub import provisioning
from karvdash_hub.rules import storage
from karvdash_hub.services import ServiceManager

pytestmark = pytest.mark.integration


@pytest.fixture
def files(tmp_path):
    (tmp_path / "private").mkdir()
    (tmp_path / "shared").mkdir()
    return tmp_path


@pytest.fixture
def provisioner(kubeconfig, files):
    cfg = karvdash_config(kubeconfig, files, private_root=True)
    cfg.Provisioner.ingress_namespaces = ["jupyterhub"]
    return provisioning.Provisioner(config=cfg)


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
    # out: anywhere but the cloud's instance metadata address
    assert policy.spec.policy_types == ["Ingress", "Egress"]
    blocked = [b for rule in policy.spec.egress for t in rule.to if (b := t.ip_block)]
    assert [(b.cidr, b._except) for b in blocked] == [
        ("0.0.0.0/0", ["169.254.169.254/32"]),
        ("::/0", ["fd00:ec2::254/128"]),
    ]
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


async def test_a_deleted_users_files_are_kept_aside_and_a_new_account_of_that_name_starts_empty(
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
    # the files are kept, out of the way of a new account of the same name
    assert not (files / "private" / user).exists()
    (kept,) = provisioner.files.kept_folders(user)
    assert kept.parent == files / "private" / ".deleted"
    assert re.fullmatch(rf"{user}-\d{{8}}T\d{{6}}\.\d{{6}}Z", kept.name)
    assert (kept / "results.csv").read_text() == "1,2,3\n"

    # a new account with the same name gets an empty folder
    ns = await provisioner.ensure(user)
    assert list((files / "private" / user).iterdir()) == []
    (files / "private" / user / "new.txt").write_text("mine")
    # with pods running, the files are moved only once the namespace (and its pods) is gone
    apps = client.AppsV1Api(kube)
    apps.create_namespaced_deployment(ns, deployment("worker"))
    wait_for(lambda: core.list_namespaced_pod(ns).items, 30, "the worker's pod to be created")
    await provisioner.delete(user)
    assert namespace_gone(core, ns)
    older, newer = provisioner.files.kept_folders(user)
    assert (older, [p.name for p in newer.iterdir()]) == (kept, ["new.txt"])
    # another user's kept folder is not theirs, even with a name that starts the same
    other = f"{user}-20250101"
    await provisioner.ensure(other)
    (files / "private" / other / "x").write_text("x")
    await provisioner.delete(other)
    assert provisioner.files.kept_folders(user) == [older, newer]

    # an admin's purge removes what is kept of the user, and only that
    await provisioner.delete(user, purge_files=True)
    assert not (files / "private" / user).exists()
    assert provisioner.files.kept_folders(user) == []
    assert [p.name for p in (files / "private").iterdir()] == [".deleted"]
    (other_kept,) = (files / "private" / ".deleted").iterdir()
    assert other_kept.name.startswith(f"{other}-") and (other_kept / "x").exists()


async def test_a_user_being_deleted_is_not_provisioned_again_and_a_second_deletion_works(
    provisioner, users, kube, files
):
    """While the namespace of a deleted user is going (its pods stopping), a login or a
    launch of that user is refused instead of waiting and making it again; deleting the
    user again meanwhile (an admin's retry) is not an error."""
    user = users("twice")
    ns = await provisioner.ensure(user)
    (files / "private" / user / "a.txt").write_text("a")
    core = client.CoreV1Api(kube)
    client.AppsV1Api(kube).create_namespaced_deployment(ns, deployment("worker"))
    wait_for(lambda: core.list_namespaced_pod(ns).items, 30, "the worker's pod")
    first = asyncio.create_task(provisioner.delete(user))
    for _ in range(100):
        if core.read_namespace(ns).metadata.deletion_timestamp:
            break
        await asyncio.sleep(0.1)
    for attempt in (provisioner.ensure(user), provisioner.ensure_exists(user)):
        with pytest.raises(provisioning.ProvisioningError, match="is being deleted"):
            await attempt
    await provisioner.delete(user)  # the namespace answers 409 (terminating): fine
    await first
    assert namespace_gone(core, ns)
    (kept,) = provisioner.files.kept_folders(user)
    assert (kept / "a.txt").read_text() == "a"


@pytest.mark.parametrize(
    "labels, annotations",
    [
        ({"team": "monitoring"}, None),
        # Karvdash's labels without the annotation naming this very user
        ({"app.kubernetes.io/managed-by": "karvdash", "karvdash.io/user": "NAME"}, None),
        (
            {"app.kubernetes.io/managed-by": "karvdash", "karvdash.io/user": "NAME"},
            {"karvdash.io/username": "someone-else"},
        ),
    ],
    ids=["foreign", "no-username", "another-user"],
)
async def test_a_namespace_not_made_by_karvdash_for_the_user_is_never_taken_over_or_deleted(
    provisioner, users, kube, files, labels, annotations
):
    user = users("monitoring")
    ns = f"karvdash-{user}"
    core = client.CoreV1Api(kube)
    labels = {k: v.replace("NAME", user) for k, v in labels.items()}
    core.create_namespace(
        client.V1Namespace(
            metadata=client.V1ObjectMeta(name=ns, labels=labels, annotations=annotations)
        )
    )
    # a volume labelled for the user, as Karvdash makes them, and one of another
    # installation (another prefix) for a user of the same name
    pvs = [
        storage.persistent_volume(
            storage.PRIVATE, {"hostPath": {"path": str(files / "private")}}, user, prefix=prefix
        )
        for prefix in ("karvdash", "elsewhere")
    ]
    for pv in pvs:
        core.create_persistent_volume(pv)
    try:
        before = core.read_namespace(ns).metadata
        for attempt in (provisioner.ensure, provisioner.ensure_exists):
            with pytest.raises(provisioning.NamespaceConflict) as refused:
                await attempt(user)
            message = str(refused.value)
            assert f"namespace {ns} already exists and was not made by Karvdash" in message
            assert "An administrator must resolve this" in message
        after = core.read_namespace(ns).metadata
        assert (after.labels, after.annotations) == (before.labels, before.annotations)
        assert after.resource_version == before.resource_version
        assert {k: len(v) for k, v in namespaced_objects(kube, ns).items()} == {
            "serviceaccounts": 0,
            "rolebindings": 0,
            "resourcequotas": 0,
            "limitranges": 0,
            "networkpolicies": 0,
            "pvcs": 0,
        }
        assert not (files / "private" / user).exists()

        # deleting the user leaves the namespace alone, and removes the user's volume
        await provisioner.delete(user)
        still = core.read_namespace(ns)
        assert still.metadata.deletion_timestamp is None and still.status.phase == "Active"
        assert still.metadata.labels == before.labels

        def volumes():
            return {
                p.metadata.name
                for p in core.list_persistent_volume(
                    label_selector=f"karvdash.io/user={user}"
                ).items
                if p.metadata.deletion_timestamp is None
            }

        wait_for(lambda: volumes() == {f"elsewhere-{user}-private"}, 30, "the user's volume to go")
    finally:
        core.delete_namespace(ns)
        for pv in pvs:
            with contextlib.suppress(client.ApiException):
                core.delete_persistent_volume(pv["metadata"]["name"])


async def test_a_deletion_the_cluster_refuses_fails_and_leaves_everything_in_place(
    provisioner, users, kube, kubeconfig, files, tmp_path
):
    """Only a missing namespace is ignored: a 403 stops the deletion before the volumes
    and the files are touched (the hub can then delete the user again)."""
    user = users("refused")
    ns = await provisioner.ensure(user)
    (files / "private" / user / "keep.txt").write_text("keep")
    rbac = client.RbacAuthorizationV1Api(kube)
    suffix = uuid.uuid4().hex[:6]
    # an identity that may delete volumes but not namespaces
    role = f"karvdash-test-no-ns-delete-{suffix}"
    rbac.create_cluster_role(
        {
            "metadata": {"name": role},
            "rules": [
                {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list"]},
                {
                    "apiGroups": [""],
                    "resources": ["persistentvolumes"],
                    "verbs": ["get", "list", "delete", "deletecollection"],
                },
            ],
        }
    )
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": role},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role,
            },
            "subjects": [{"kind": "ServiceAccount", "name": "karvdash-user", "namespace": ns}],
        }
    )
    try:
        reader = _service_account_kubeconfig(kube, kubeconfig, ns, "karvdash-user", tmp_path)
        # in a process of its own: the Kubernetes configuration is per process
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _DELETE_AS,
            str(reader),
            str(files / "private"),
            user,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()
        assert out.decode().split() == ["ForbiddenError", "403"], err.decode()
    finally:
        rbac.delete_cluster_role_binding(role)
        rbac.delete_cluster_role(role)
    core = client.CoreV1Api(kube)
    namespace = core.read_namespace(ns)
    assert namespace.metadata.deletion_timestamp is None and namespace.status.phase == "Active"
    volumes = core.list_persistent_volume(label_selector=f"karvdash.io/user={user}").items
    assert len(volumes) == 2 and all(v.metadata.deletion_timestamp is None for v in volumes)
    assert (files / "private" / user / "keep.txt").read_text() == "keep"
    assert provisioner.files.kept_folders(user) == []


_DELETE_AS = """
import asyncio, sys
from traitlets.config import Config
from karvdash_hub.provisioning import Provisioner

kubeconfig, root, user = sys.argv[1:]
cfg = Config()
cfg.Provisioner.kubeconfig = kubeconfig
cfg.UserFiles.private_root = root
try:
    asyncio.run(Provisioner(config=cfg).delete(user))
except Exception as err:
    print(type(err).__name__, getattr(err, "status", ""))
else:
    print("deleted")
"""


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
    hub_kubeconfig = _service_account_kubeconfig(kube, kubeconfig, hub_ns, "hub", tmp_path)
    token = yaml.safe_load(hub_kubeconfig.read_text())["users"][0]["user"]["token"]

    cfg = karvdash_config(hub_kubeconfig, files, private_root=True)
    cfg.Provisioner.hub_service_account = f"{hub_ns}/hub"
    # with a registry: the namespace's pull secret is written with the hub's rights too
    cfg.Installation.registry = "registry.example.org"
    cfg.RegistryAuth.key_file = str(tmp_path / "registry-token.key")
    manager = ServiceManager(config=cfg)
    prov = manager.provisioner
    user = f"rbac-{uuid.uuid4().hex[:6]}"
    other = f"x-{user}"  # "web" of this user and "web-x" of the first make one host
    try:
        # the hub's own identity is used, not the admin's: it cannot read secrets
        # in kube-system, for example
        hub_api = client.ApiClient(_token_config(kube, token))
        with pytest.raises(client.ApiException) as denied:
            client.CoreV1Api(hub_api).list_namespaced_secret("kube-system")
        assert denied.value.status == 403
        # the hub installs the user-namespace admission policy itself (deleted first, in
        # case another test made it with the admin's identity)
        admission = client.AdmissionregistrationV1Api(kube)
        with contextlib.suppress(client.ApiException):
            admission.delete_validating_admission_policy_binding("karvdash-user-namespaces")
        with contextlib.suppress(client.ApiException):
            admission.delete_validating_admission_policy("karvdash-user-namespaces")
        ns = await prov.ensure(user)
        assert prov._guarded
        policy = admission.read_validating_admission_policy("karvdash-user-namespaces")
        assert "karvdash" in {m.manager for m in policy.metadata.managed_fields}
        admission.read_validating_admission_policy_binding("karvdash-user-namespaces")
        assert {o.metadata.name for o in namespaced_objects(kube, ns)["rolebindings"]} == {
            "karvdash-user-admin",
            "karvdash-hub-admin",
        }
        secret = core.read_namespaced_secret("karvdash-registry", ns)
        assert secret.type == "kubernetes.io/dockerconfigjson"
        # and, through its binding in the user's namespace, runs the dashboard's work
        launched = await manager.launch(user, "postgres", {})
        assert "Secret/postgres" in launched["objects"]
        # an Ingress, and the host check: it reads Ingresses in the namespace of the
        # one user who could hold the host (the hub is admin there)
        held = await manager.launch(other, "minio", {"NAME": "web"})
        exposed = await manager.launch(user, "minio", {"NAME": "web-x"})
        assert held["url"] == f"https://web-x-{user}.localtest.me/"
        assert exposed["name"].startswith("web-x-") and "Ingress/" in str(exposed["objects"])
        listed = sorted(s["name"] for s in await manager.list(user))
        assert listed == sorted(["postgres", exposed["name"]])
        # custom templates: the hub installs the CRD and its ClusterRole itself (removed
        # first, in case another test made them with the admin's identity)
        extensions = client.ApiextensionsV1Api(kube)
        with contextlib.suppress(client.ApiException):
            extensions.delete_custom_resource_definition("templates.karvdash.io")
        with contextlib.suppress(client.ApiException):
            client.RbacAuthorizationV1Api(kube).delete_cluster_role("karvdash-templates-edit")

        def crd_gone():
            try:
                extensions.read_custom_resource_definition("templates.karvdash.io")
            except client.ApiException as err:
                return err.status == 404
            return False

        await asyncio.to_thread(wait_for, crd_gone, 60, "the Template CRD to be deleted")
        await manager.templates.add(user, SINGLE)
        assert (await manager.templates.get(user, "tiny")).name == "Tiny"
        crd = extensions.read_custom_resource_definition("templates.karvdash.io")
        assert "karvdash" in {m.manager for m in crd.metadata.managed_fields}
        client.RbacAuthorizationV1Api(kube).read_cluster_role("karvdash-templates-edit")
        await manager.stop(user, "postgres")
        await manager.stop(user, exposed["name"])
        # the provisioner's own client is the hub's identity, not the admin's that an
        # earlier test of this process loaded: it may not read kube-system's secrets
        dyn = await prov.client()
        secrets_res = await dyn.resources.get(api_version="v1", kind="Secret")
        with pytest.raises(ApiException) as hub_denied:
            await dyn.get(secrets_res, namespace="kube-system")
        assert hub_denied.value.status == 403
        # not in another namespace
        with pytest.raises(client.ApiException) as denied:
            client.CoreV1Api(hub_api).list_namespaced_secret(hub_ns)
        assert denied.value.status == 403
    finally:
        await prov.delete(user)
        await prov.delete(other)
        for doc in docs:
            if doc["kind"] == "ClusterRole":
                client.RbacAuthorizationV1Api(kube).delete_cluster_role(doc["metadata"]["name"])
            else:
                client.RbacAuthorizationV1Api(kube).delete_cluster_role_binding(
                    doc["metadata"]["name"]
                )
    # deleted (delete waits for the namespace to go only when pods were still there)
    assert namespace_gone(core, ns) or core.read_namespace(ns).metadata.deletion_timestamp


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


def _service_account_kubeconfig(kube, kubeconfig, namespace, name, folder):
    """A kubeconfig that logs in as a ServiceAccount with a token of its own."""
    token = (
        client.CoreV1Api(kube)
        .create_namespaced_service_account_token(
            name, namespace, client.AuthenticationV1TokenRequest(spec={"audiences": []})
        )
        .status.token
    )
    conf = yaml.safe_load(kubeconfig.read_text())
    conf["users"] = [{"name": name, "user": {"token": token}}]
    conf["contexts"][0]["context"]["user"] = name
    path = folder / f"{namespace}-{name}-kubeconfig"
    path.write_text(json.dumps(conf))
    return path


def _token_config(kube, token):
    conf = client.Configuration()
    conf.host = kube.configuration.host
    conf.ssl_ca_cert = kube.configuration.ssl_ca_cert
    conf.api_key = {"authorization": f"Bearer {token}"}
    return conf
