"""KarvdashSpawner against the local control plane: the notebook pod runs in the user's
namespace, as the user's service account, with the file domains mounted."""

from __future__ import annotations

import uuid

import pytest
from jupyterhub.objects import Hub
from kubernetes import client
from support.config import karvdash_config

from karvdash_hub.hub.spawner import KarvdashSpawner
from karvdash_hub.provisioning import Provisioner

pytestmark = pytest.mark.integration


class HubUser:
    """What the hub hands a spawner about its user (JupyterHub's User wraps a database
    row; a spawner reads only these attributes)."""

    def __init__(self, name):
        self.name = name
        self.id = 1
        self.url = f"/user/{name}/"
        self.escaped_name = name
        self.groups = []
        self.settings = {}
        self.spawners = {}


@pytest.fixture
def spawner_config(kubeconfig, tmp_path):
    cfg = karvdash_config(kubeconfig, tmp_path)
    cfg.Installation.registry = "registry.example.org"
    cfg.KarvdashSpawner.image = "quay.io/jupyter/minimal-notebook:latest"
    cfg.KarvdashSpawner.start_timeout = 60
    return cfg


async def test_a_notebook_pod_runs_in_the_users_namespace_with_the_files_mounted(
    spawner_config, kube
):
    name = f"nb{uuid.uuid4().hex[:6]}"
    hub = Hub(connect_ip="hub.example.org", port=8081, base_url="/hub/")
    spawner = KarvdashSpawner(
        user=HubUser(name),
        hub=hub,
        config=spawner_config,
        api_token="secret-token",
        oauth_client_id=f"jupyterhub-user-{name}",
    )
    assert spawner.namespace == f"karvdash-{name}"
    core = client.CoreV1Api(kube)
    try:
        url = await spawner.start()
        assert url.startswith("http://")
        pod = core.read_namespaced_pod(spawner.pod_name, spawner.namespace)
        assert pod.status.phase == "Running"
        assert pod.spec.node_name == "kwok-node-0"
        assert pod.spec.service_account_name == "karvdash-user"
        container = pod.spec.containers[0]
        mounts = {m.mount_path: m.name for m in container.volume_mounts}
        assert mounts["/private"] == "karvdash-private" and mounts["/shared"] == "karvdash-shared"
        claims = {v.name: v.persistent_volume_claim for v in pod.spec.volumes}
        assert claims["karvdash-private"].claim_name == "karvdash-private"
        assert container.working_dir == "/private"
        env = {e.name: e.value for e in container.env}
        assert env["KARVDASH_NAMESPACE"] == f"karvdash-{name}"
        assert env["KARVDASH_PRIVATE_DIR"] == "/private"
        assert env["KARVDASH_SHARED_DIR"] == "/shared"
        assert env["KARVDASH_REGISTRY"] == "registry.example.org"
        assert env["KARVDASH_API_URL"] == "http://hub.example.org:8081/services/karvdash/api/"
        assert env["JUPYTERHUB_ROOT_DIR"] == "/private"
        # the namespace was provisioned before the pod, with its claims
        pvcs = core.list_namespaced_persistent_volume_claim(spawner.namespace).items
        assert {p.metadata.name for p in pvcs} == {"karvdash-private", "karvdash-shared"}
        assert await spawner.poll() is None
    finally:
        await spawner.stop()
    pods = core.list_namespaced_pod(spawner.namespace).items
    assert [p.metadata.name for p in pods if p.metadata.deletion_timestamp is None] == []
    await Provisioner(config=spawner_config).delete(name)
