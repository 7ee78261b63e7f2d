"""Launching, listing and stopping services against the local control plane."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient
from support.cluster import wait_for
from support.config import karvdash_config

from karvdash_hub.errors import ApiError
from karvdash_hub.rules import policy
from karvdash_hub.services import ServiceManager
from karvdash_hub.templatestore import builtin_templates

pytestmark = pytest.mark.integration

ALLOWED = sorted(policy.ALLOWED_KINDS)


@pytest.fixture
def manager(kubeconfig, tmp_path):
    cfg = karvdash_config(kubeconfig, tmp_path, private_root=True)
    cfg.Installation.domain = "example.org"
    cfg.ServiceManager.auth_annotations = AUTH
    return ServiceManager(config=cfg)


#: what an installation with ingress-nginx would set (the hub answers the auth request)
AUTH = {"nginx.ingress.kubernetes.io/auth-url": "http://hub.example/hub/karvdash/auth"}


@pytest.fixture
async def user(manager):
    name = f"s{uuid.uuid4().hex[:6]}"
    yield name
    await manager.provisioner.delete(name)


def labelled(kube, ns, selector):
    """Every object of the allowed kinds in ``ns`` that matches ``selector`` and that a
    launch made (not the pods its workloads' controllers made)."""
    dyn = DynamicClient(kube)
    found = []
    for api_version, kind in ALLOWED:
        items = dyn.resources.get(api_version=api_version, kind=kind).get(
            namespace=ns, label_selector=selector
        )
        found += [
            f"{kind}/{i.metadata.name}"
            for i in items.items
            if not (kind == "Pod" and i.metadata.ownerReferences)
        ]
    return found


def wait_running(kube, ns, service, timeout=60):
    core = client.CoreV1Api(kube)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(ns, label_selector=f"karvdash.io/service={service}").items
        if pods and all(p.status.phase in ("Running", "Succeeded") for p in pods):
            return pods
        time.sleep(0.3)
    raise AssertionError(
        f"{service}: pods not running: {[(p.metadata.name, p.status.phase) for p in pods]}"
    )


@pytest.mark.parametrize("template_id", sorted(builtin_templates()))
async def test_every_builtin_template_launches_runs_with_the_files_and_stops(
    manager, user, kube, template_id
):
    launched = await manager.launch(user, template_id, {})
    ns, name = launched["namespace"], launched["name"]
    assert name == builtin_templates()[template_id].variable("NAME").default
    pods = await asyncio.to_thread(wait_running, kube, ns, name)
    for pod in pods:
        assert pod.spec.node_name == "kwok-node-0"
        claims = {
            v.persistent_volume_claim.claim_name
            for v in pod.spec.volumes
            if v.persistent_volume_claim
        }
        assert {"karvdash-private", "karvdash-shared"} <= claims
        for c in pod.spec.containers:
            mounts = {m.mount_path for m in c.volume_mounts}
            assert {"/private", "/shared"} <= mounts, (c.name, mounts)
            env = {e.name: e.value for e in c.env or []}
            assert env["KARVDASH_NAMESPACE"] == ns
    listed = await manager.list(user)
    (entry,) = [s for s in listed if s["name"] == name]
    assert entry["template"] == template_id
    assert entry["status"]["total"] >= 1
    assert entry["status"]["ready"] == entry["status"]["total"]
    if any(o.startswith("Ingress/") for o in launched["objects"]):
        assert entry["url"] == launched["url"] == f"https://{name}-{user}.example.org/"
    selector = f"karvdash.io/service={name}"
    assert len(labelled(kube, ns, selector)) == len(launched["objects"])
    stopped = await manager.stop(user, name)
    assert sorted(stopped["deleted"]) == sorted(launched["objects"])
    assert labelled(kube, ns, selector) == []
    assert [s for s in await manager.list(user) if s["name"] == name] == []


async def test_a_taken_name_gets_a_suffix_and_a_singleton_runs_once(manager, user):
    first = await manager.launch(user, "hello-kubernetes", {"NAME": "greeter"})
    second = await manager.launch(user, "hello-kubernetes", {"NAME": "greeter"})
    assert first["name"] == "greeter"
    assert second["name"].startswith("greeter-") and len(second["name"]) == len("greeter-") + 5
    once = await manager.templates.add(user, SINGLETON)
    await manager.launch(user, once["id"], {})
    with pytest.raises(ApiError) as twice:
        await manager.launch(user, once["id"], {"NAME": "other"})
    assert twice.value.status == 409 and twice.value.reason == "singleton"


async def test_twenty_concurrent_launches_make_twenty_services(manager, user):
    await manager.provisioner.ensure(user)
    launched = await asyncio.gather(
        *(manager.launch(user, "hello-kubernetes", {}) for _ in range(20))
    )
    names = {x["name"] for x in launched}
    assert len(names) == 20
    assert {s["name"] for s in await manager.list(user)} == names


SINGLETON = """
kind: Template
name: Only Once
singleton: true
variables:
- {name: NAME, default: once}
---
apiVersion: v1
kind: Service
metadata: {name: $NAME}
spec: {ports: [{port: 80}]}
"""

HALF_WAY = """
kind: Template
name: Half Way
variables:
- {name: NAME, default: halfway}
---
apiVersion: v1
kind: Service
metadata: {name: $NAME}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: $NAME-config}
data: {a: b}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $NAME-one}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 150Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $NAME-two}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 150Gi}}}
"""


async def test_a_launch_that_fails_half_way_leaves_nothing_behind(manager, user, kube):
    """Each claim fits the namespace's storage quota alone (so the dry run passes), the
    two together do not: the second creation fails after three objects exist."""
    added = await manager.templates.add(user, HALF_WAY)
    with pytest.raises(ApiError) as failed:
        await manager.launch(user, added["id"], {})
    assert failed.value.status == 422 and failed.value.reason == "rejected-by-cluster"
    assert (
        "exceeded quota" in failed.value.message
        and "nothing was left behind" in failed.value.message
    )
    ns = manager.provisioner.namespace(user)
    # deleted at once; a bound claim goes when its protection finalizer is lifted
    await asyncio.to_thread(
        wait_for, lambda: labelled(kube, ns, "karvdash.io/service") == [], 30, "the rollback"
    )
    assert labelled(kube, ns, "karvdash.io/service") == []
    assert await manager.list(user) == []


EVIL = {
    "cluster role": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: $NAME-cr}\nrules: []\n",
    "role binding": "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: $NAME-rb}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: default, namespace: $NAMESPACE}]\n",
    "other namespace": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: $NAME-cm, namespace: default}\n",
    "host path": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: $NAME-h}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: x}]\n      volumes: [{name: root, hostPath: {path: /}}]\n",
    "privileged": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: $NAME-p}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: x, securityContext: {privileged: true}}]\n",
    "nfs volume": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: $NAME-n}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: x}]\n      volumes: [{name: files, nfs: {server: nfs.example.org, path: /exports}}]\n",
    "external name": "apiVersion: v1\nkind: Service\nmetadata: {name: $NAME-x}\nspec: {type: ExternalName, externalName: zeppelin.karvdash-bob.svc.cluster.local}\n",
}


@pytest.mark.parametrize("case", sorted(EVIL))
async def test_a_template_asking_for_too_much_creates_nothing(manager, user, kube, case):
    text = SINGLETON.replace("singleton: true", "singleton: false") + "---\n" + EVIL[case]
    try:
        added = await manager.templates.add(user, text)
    except ApiError as err:  # refused when added
        assert err.status == 422
        return
    with pytest.raises(ApiError) as refused:
        await manager.launch(user, added["id"], {})
    assert refused.value.status == 422
    ns = manager.provisioner.namespace(user)
    assert labelled(kube, ns, "karvdash.io/service") == []
    assert labelled(kube, "default", "app.kubernetes.io/managed-by=karvdash") == []
    rbac = client.RbacAuthorizationV1Api(kube)
    assert rbac.list_cluster_role(label_selector="karvdash.io/service").items == []


async def test_custom_templates_are_objects_in_the_users_namespace(manager, user, kube):
    other = f"o{uuid.uuid4().hex[:6]}"
    try:
        added = await manager.templates.add(user, SINGLETON)
        assert added == {**added, "id": "only-once", "builtin": False}
        crs = DynamicClient(kube).resources.get(api_version="karvdash.io/v1", kind="Template")
        objs = crs.get(namespace=f"karvdash-{user}").items
        assert [o.metadata.name for o in objs] == ["only-once"]
        assert objs[0].spec.name == "Only Once"
        ids = {t["id"] for t in await manager.templates.list(user)}
        assert "only-once" in ids and ids >= set(builtin_templates())
        assert (await manager.templates.get(user, "only-once")).source == SINGLETON
        # another user sees only the built-in ones, and cannot use or remove it
        await manager.provisioner.ensure(other)
        assert "only-once" not in {t["id"] for t in await manager.templates.list(other)}
        for attempt in (
            manager.templates.get(other, "only-once"),
            manager.templates.remove(other, "only-once"),
            manager.launch(other, "only-once", {}),
        ):
            with pytest.raises(ApiError) as err:
                await attempt
            assert err.value.status == 404
        with pytest.raises(ApiError) as taken:
            await manager.templates.add(user, SINGLETON)
        assert taken.value.status == 409
        with pytest.raises(ApiError) as builtin:
            await manager.templates.remove(user, "postgres")
        assert builtin.value.status == 403
        await manager.templates.remove(user, "only-once")
        assert "only-once" not in {t["id"] for t in await manager.templates.list(user)}
    finally:
        await manager.provisioner.delete(other)


@pytest.mark.parametrize(
    "values, reason",
    [
        ({"NAME": "Bad Name"}, "bad-variables"),
        ({"NAMESPACE": "kube-system"}, "bad-variables"),
        ({"NOPE": "x"}, "bad-variables"),
        ({"MESSAGE": "x\n---\nkind: ClusterRole"}, None),  # harmless: launches as text
    ],
)
async def test_bad_values_are_refused_and_harmless_ones_stay_text(
    manager, user, kube, values, reason
):
    if reason:
        with pytest.raises(ApiError) as err:
            await manager.launch(user, "hello-kubernetes", values)
        assert err.value.status == 400 and err.value.reason == reason
        assert labelled(kube, manager.provisioner.namespace(user), "karvdash.io/service") == []
    else:
        launched = await manager.launch(user, "hello-kubernetes", values)
        dep = client.AppsV1Api(kube).read_namespaced_deployment(
            launched["name"], launched["namespace"]
        )
        env = {e.name: e.value for e in dep.spec.template.spec.containers[0].env}
        assert env["MESSAGE"] == values["MESSAGE"]


async def test_an_unknown_template_or_service_is_a_404(manager, user):
    for attempt in (manager.launch(user, "no-such-template", {}), manager.stop(user, "ghost")):
        with pytest.raises(ApiError) as err:
            await attempt
        assert err.value.status == 404


async def test_a_service_that_asks_for_login_gets_no_address_while_login_is_not_configured(
    manager, user, kube
):
    """Without auth_annotations an 'auth: true' service would be open to anyone who
    reaches the ingress: it runs without its Ingress. 'auth: false' ones keep theirs."""
    open_manager = ServiceManager(config=manager.config.copy())
    open_manager.auth_annotations = {}
    ns = manager.provisioner.namespace(user)
    guarded = await open_manager.launch(user, "hello-kubernetes", {})
    assert guarded["url"] is None and "no address" in guarded["warning"]
    assert not any(o.startswith("Ingress/") for o in guarded["objects"])
    inside_only = await open_manager.launch(user, "redis", {})  # it has no Ingress anyway
    assert inside_only["url"] is None and "warning" not in inside_only
    public = await open_manager.launch(user, "minio", {})
    assert public["url"] == f"https://minio-{user}.example.org/"
    networking = client.NetworkingV1Api(kube)
    ingresses = networking.list_namespaced_ingress(ns).items
    assert [i.metadata.labels["karvdash.io/service"] for i in ingresses] == ["minio"]
    # with the installation's login configured, the Ingress carries it
    login = await manager.launch(user, "hello-kubernetes", {"NAME": "behind-login"})
    ing = networking.read_namespaced_ingress("behind-login", ns)
    assert AUTH.items() <= ing.metadata.annotations.items()
    assert login["url"] == f"https://behind-login-{user}.example.org/"


async def test_an_address_held_by_another_user_is_not_taken_over(manager, user, kube):
    """NAME 'web-x' of user U and NAME 'web' of user 'x-U' make the same host name: the
    second launch gets another name, and each host has one Ingress in the cluster."""
    other = f"x-{user}"
    try:
        first = await manager.launch(user, "hello-kubernetes", {"NAME": "web-x"})
        second = await manager.launch(other, "hello-kubernetes", {"NAME": "web"})
        assert first["url"] == f"https://web-x-{user}.example.org/"
        assert second["name"].startswith("web-") and second["url"] != first["url"]
        networking = client.NetworkingV1Api(kube)
        holders = networking.list_ingress_for_all_namespaces(
            label_selector=f"karvdash.io/host=web-x-{user}"
        ).items
        assert [i.metadata.namespace for i in holders] == [first["namespace"]]
    finally:
        await manager.provisioner.delete(other)


FIXED_NAME = """
kind: Template
name: Fixed Name
variables:
- {name: NAME, default: fixed}
---
apiVersion: v1
kind: Service
metadata: {name: $NAME}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: b}
"""


async def test_an_object_whose_name_does_not_follow_name_is_named_when_it_collides(
    manager, user, kube
):
    added = await manager.templates.add(user, FIXED_NAME)
    first = await manager.launch(user, added["id"], {})
    with pytest.raises(ApiError) as taken:
        await manager.launch(user, added["id"], {"NAME": "again"})
    assert taken.value.status == 409 and taken.value.reason == "object-exists"
    assert "ConfigMap settings" in taken.value.message
    ns = manager.provisioner.namespace(user)
    assert labelled(kube, ns, "karvdash.io/service") == labelled(
        kube, ns, f"karvdash.io/service={first['name']}"
    )


STATEFUL = """
kind: Template
name: Stateful
variables:
- {name: NAME, default: stateful}
---
apiVersion: v1
kind: Service
metadata: {name: $NAME}
spec: {clusterIP: None, selector: {app: $NAME}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: $NAME}
spec:
  serviceName: $NAME
  replicas: 2
  selector: {matchLabels: {app: $NAME}}
  template:
    metadata: {labels: {app: $NAME}}
    spec:
      containers:
      - name: db
        image: postgres:16
        volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"""


async def test_stopping_a_stateful_service_removes_the_claims_its_controller_made(
    manager, user, kube
):
    added = await manager.templates.add(user, STATEFUL)
    launched = await manager.launch(user, added["id"], {})
    ns, name = launched["namespace"], launched["name"]
    await asyncio.to_thread(wait_running, kube, ns, name)
    core = client.CoreV1Api(kube)
    selector = f"karvdash.io/service={name}"
    claims = core.list_namespaced_persistent_volume_claim(ns, label_selector=selector).items
    assert sorted(c.metadata.name for c in claims) == [f"data-{name}-0", f"data-{name}-1"]
    stopped = await manager.stop(user, name)
    assert f"PersistentVolumeClaim/data-{name}-0" in stopped["deleted"]

    def claims_gone():
        left = core.list_namespaced_persistent_volume_claim(ns, label_selector=selector)
        return left.items == []

    await asyncio.to_thread(wait_for, claims_gone, 60, "the StatefulSet's claims to go")
