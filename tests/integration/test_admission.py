"""The API server's own guard on user namespaces (karvdash_hub/admission.py): what a
user's service account may not create there even with kubectl, against the local
control plane."""

from __future__ import annotations

import time
import uuid

import pytest
from kubernetes import client
from support.cluster import impersonating
from support.config import karvdash_config

from karvdash_hub import admission
from karvdash_hub.provisioning import Provisioner

pytestmark = pytest.mark.integration


@pytest.fixture
async def provisioner(kubeconfig, tmp_path):
    return Provisioner(config=karvdash_config(kubeconfig, tmp_path))


def pod(name: str, volume: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "volumeMounts": [{"name": "v", "mountPath": "/v"}],
                }
            ],
            "volumes": [{"name": "v", **volume}],
        },
    }


def refused(attempt) -> client.ApiException:
    with pytest.raises(client.ApiException) as err:
        attempt()
    return err.value


def enforced(core, ns, timeout=30):
    """A new policy is enforced once the API server has compiled it (about a second)."""
    deadline = time.monotonic() + timeout
    nfs = pod("probe", {"nfs": {"server": "nfs.example.org", "path": "/"}})
    while time.monotonic() < deadline:
        try:
            core.create_namespaced_pod(ns, nfs, dry_run="All")
        except client.ApiException as err:
            if "Karvdash user namespace" in err.body:
                return
            raise
        time.sleep(0.3)
    raise AssertionError("the admission policy was not enforced")


async def test_a_user_cannot_mount_network_storage_or_proxy_another_service_with_kubectl(
    provisioner, kubeconfig, kube, namespace_factory
):
    assert await admission.ensure_policy(await provisioner.client())
    assert await admission.ensure_policy(await provisioner.client())  # idempotent
    user = f"adm{uuid.uuid4().hex[:6]}"
    ns = await provisioner.ensure(user)
    try:
        enforced(client.CoreV1Api(kube), ns)
        as_user = impersonating(kubeconfig, f"system:serviceaccount:{ns}:karvdash-user")
        core = client.CoreV1Api(as_user)
        for name, volume in {
            "nfs": {"nfs": {"server": "nfs.example.org", "path": "/exports/karvdash/private"}},
            "iscsi": {
                "iscsi": {
                    "targetPortal": "10.0.0.1:3260",
                    "iqn": "iqn.2024-01.org.example:files",
                    "lun": 0,
                }
            },
            "csi": {"csi": {"driver": "nfs.csi.k8s.io", "volumeAttributes": {"share": "/"}}},
        }.items():
            err = refused(lambda v=volume, n=name: core.create_namespaced_pod(ns, pod(n, v)))
            assert err.status in (403, 422) and "only configMap, secret" in err.body, err.body
        for name, spec, says in (
            ("elsewhere", {"type": "ExternalName", "externalName": "x.other.svc"}, "ExternalName"),
            ("grab", {"ports": [{"port": 80}], "externalIPs": ["10.96.0.10"]}, "externalIPs"),
        ):
            service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}}
            err = refused(
                lambda s=service, sp=spec: core.create_namespaced_service(ns, {**s, "spec": sp})
            )
            assert says in err.body, (name, err.body)
        # Ingresses: the user's own service accounts may not write any (a host name
        # <name>-<user> can be another user's: only Karvdash checks who holds it) ...
        net = client.NetworkingV1Api(as_user)
        backend = {"service": {"name": "web", "port": {"number": 80}}}

        def ingress(name, spec):
            return {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"name": name},
                "spec": spec,
            }

        rule = {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
        mine = ingress("mine", {"rules": [{"host": f"web-{user}.lab.example.org", **rule}]})
        err = refused(lambda: net.create_namespaced_ingress(ns, mine))
        assert "Ingresses are made by Karvdash" in err.body, err.body
        # ... and whoever writes one there (the hub; here the cluster's admin) serves
        # only host names of that user, with no catch-all
        hub_net = client.NetworkingV1Api(kube)
        for name, spec in {
            "theirs": {"rules": [{"host": "zeppelin-bob.lab.example.org", **rule}]},
            "catch-all": {"rules": [rule]},
            "default": {"defaultBackend": backend},
            "their-tls": {
                "rules": [{"host": f"web-{user}.lab.example.org", **rule}],
                "tls": [{"hosts": ["zeppelin-bob.lab.example.org"]}],
            },
        }.items():
            err = refused(
                lambda n=name, sp=spec: hub_net.create_namespaced_ingress(ns, ingress(n, sp))
            )
            assert "serves only host names of its user" in err.body, (name, err.body)
        hub_net.create_namespaced_ingress(ns, mine, dry_run="All")
        # what users do every day still works: their files, config, scratch space
        for name, volume in {
            "files": {"persistentVolumeClaim": {"claimName": "karvdash-private"}},
            "config": {"configMap": {"name": "kube-root-ca.crt"}},
            "scratch": {"emptyDir": {}},
        }.items():
            core.create_namespaced_pod(ns, pod(name, volume), dry_run="All")
        assert core.list_namespaced_pod(ns).items == []
        # namespaces that are not Karvdash's are not its business
        other = namespace_factory("not-karvdash")
        client.CoreV1Api(kube).create_namespaced_pod(
            other, pod("nfs", {"nfs": {"server": "nfs.example.org", "path": "/"}}), dry_run="All"
        )
    finally:
        await provisioner.delete(user)


def _mounted(pod_obj) -> tuple[set, set, dict]:
    spec = pod_obj.spec
    volumes = {v.name for v in spec.volumes or []}
    container = spec.containers[0]
    mounts = {m.mount_path for m in container.volume_mounts or []}
    env = {e.name: e.value for e in container.env or []}
    return volumes, mounts, env


async def test_every_pod_made_in_a_user_namespace_gets_the_files_and_environment(
    provisioner, kubeconfig, kube
):
    """Whatever makes the pod (the user's kubectl: a bare Pod, a Deployment's ReplicaSet,
    a Job), the cluster adds /private, /shared and KARVDASH_*, as Karvdash's webhook did;
    a pod with the opt-out label, and one that has them already, are left as they are."""
    from support.cluster import wait_for

    dyn = await provisioner.client()
    assert await admission.ensure_policy(dyn, path=admission.MOUNTS_FILE)
    user = f"mnt{uuid.uuid4().hex[:6]}"
    ns = await provisioner.ensure(user)
    try:
        as_user = impersonating(kubeconfig, f"system:serviceaccount:{ns}:karvdash-user")
        core, apps, batch = (
            client.CoreV1Api(as_user),
            client.AppsV1Api(as_user),
            client.BatchV1Api(as_user),
        )
        container = {"name": "c", "image": "busybox", "command": ["sleep", "60"]}

        def probe():  # a new policy takes a moment to be compiled by the API server
            made = core.create_namespaced_pod(
                ns,
                {"metadata": {"name": "probe"}, "spec": {"containers": [container]}},
                dry_run="All",
            )
            return "/private" in _mounted(made)[1]

        wait_for(probe, 30, "the mounts policy to be enforced")
        bare = core.create_namespaced_pod(
            ns, {"metadata": {"name": "bare"}, "spec": {"containers": [container]}}
        )
        volumes, mounts, env = _mounted(bare)
        assert {"karvdash-private", "karvdash-shared"} <= volumes
        assert {"/private", "/shared"} <= mounts
        assert env["KARVDASH_NAMESPACE"] == ns and env["KARVDASH_PRIVATE_DIR"] == "/private"
        template = {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": [container]}}
        apps.create_namespaced_deployment(
            ns,
            {
                "metadata": {"name": "w"},
                "spec": {"selector": {"matchLabels": {"app": "w"}}, "template": template},
            },
        )
        job_template = {"spec": {"containers": [container], "restartPolicy": "Never"}}
        batch.create_namespaced_job(
            ns, {"metadata": {"name": "j"}, "spec": {"template": job_template}}
        )

        def made_by(prefix):
            pods = [
                p for p in core.list_namespaced_pod(ns).items if p.metadata.name.startswith(prefix)
            ]
            return pods[0] if pods else None

        for prefix in ("w-", "j-"):
            made = wait_for(lambda p=prefix: made_by(p), 60, f"a pod of {prefix}")
            assert {"/private", "/shared"} <= _mounted(made)[1], prefix
            assert _mounted(made)[2]["KARVDASH_NAMESPACE"] == ns
        opted_out = core.create_namespaced_pod(
            ns,
            {
                "metadata": {"name": "plain", "labels": {"karvdash.io/no-mounts": "true"}},
                "spec": {"containers": [container]},
            },
        )
        assert "karvdash-private" not in _mounted(opted_out)[0]
        assert not _mounted(opted_out)[1] & {"/private", "/shared"}
        own = pod("own", {"persistentVolumeClaim": {"claimName": "karvdash-private"}})
        own["spec"]["volumes"][0]["name"] = "karvdash-private"
        own["spec"]["containers"][0]["volumeMounts"][0]["name"] = "karvdash-private"
        made = core.create_namespaced_pod(ns, own)
        assert not _mounted(made)[1] & {"/private", "/shared"}
        assert "KARVDASH_NAMESPACE" not in _mounted(made)[2]
    finally:
        await provisioner.delete(user)
