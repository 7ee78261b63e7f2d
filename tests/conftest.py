"""Shared fixtures: a real Kubernetes control plane, started once per test run.

On CI (``CI=true``) a part that is missing fails the run with its name; elsewhere the
tests that need it are skipped with the same message.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import karvdash_localcluster as localcluster
import pytest
import pytest_asyncio
from support.parts import missing_part

from karvdash_hub.kube.client import close_clients


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def close_kubernetes_clients():
    """The provisioners' API clients live as long as the test run's event loop."""
    yield
    await close_clients()


def _start_cluster(tmp_path_factory, name: str, node: str) -> localcluster.LocalCluster:
    try:
        binaries = localcluster.build()
    except localcluster.ClusterError as err:
        missing_part(f"the local Kubernetes control plane could not be built: {err}")
    lc = localcluster.LocalCluster(tmp_path_factory.mktemp(name), binaries=binaries, node=node)
    try:
        lc.start(timeout=600)
    except localcluster.ClusterError as err:
        missing_part(f"the local Kubernetes control plane ({node} node) did not start: {err}")
    return lc


@pytest.fixture(scope="session")
def cluster(tmp_path_factory) -> localcluster.LocalCluster | Path:
    """A running control plane with the simulated (kwok) node: the one named by
    KARVDASH_TEST_KUBECONFIG, or a new one in a temporary folder, stopped at the end of
    the run. Pods "run" there without containers: for the tests of Kubernetes objects,
    policies and the API."""
    given = os.environ.get("KARVDASH_TEST_KUBECONFIG")
    if given:
        yield Path(given)
        return
    lc = _start_cluster(tmp_path_factory, "cluster", "kwok")
    yield lc
    lc.stop()


@pytest.fixture(scope="session")
def real_cluster(tmp_path_factory) -> localcluster.LocalCluster:
    """A second control plane whose pods really run: the machine's one real node
    (containerd, kubelet, pod network, DNS, NetworkPolicy) with the project's images in
    its system registry. A machine that cannot run containers skips the tests that use
    it, except on CI, where that fails them (``missing_part``)."""
    lc = _start_cluster(tmp_path_factory, "realcluster", "real")
    yield lc
    lc.stop()


@pytest.fixture(scope="session")
def real_kubeconfig(real_cluster) -> Path:
    return real_cluster.kubeconfig


@pytest.fixture(scope="session")
def real_kube(real_kubeconfig):
    from kubernetes import config

    api = config.new_client_from_config(config_file=str(real_kubeconfig))
    yield api
    api.close()


@pytest.fixture(scope="session")
def kubeconfig(cluster) -> Path:
    return cluster if isinstance(cluster, Path) else cluster.kubeconfig


@pytest.fixture(scope="session")
def kube(kubeconfig):
    """A synchronous kubernetes client (the official one) for the tests' own checks."""
    from kubernetes import config

    api = config.new_client_from_config(config_file=str(kubeconfig))
    yield api
    api.close()


def _namespaces(kube):
    from kubernetes import client

    core = client.CoreV1Api(kube)
    made: list[str] = []

    def make(prefix: str = "t", labels: dict[str, str] | None = None) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        core.create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels or {}))
        )
        made.append(name)
        return name

    yield make
    for name in made:
        try:
            core.delete_namespace(name)
        except client.ApiException as err:
            if err.status != 404:
                raise


@pytest.fixture
def real_namespace_factory(real_kube):
    """Namespaces in the real cluster, deleted after the test."""
    yield from _namespaces(real_kube)


@pytest.fixture
def namespace_factory(kube):
    """Creates namespaces with unique names and deletes them after the test."""
    yield from _namespaces(kube)


@pytest.fixture(scope="module")
def hub(tmp_path_factory, kubeconfig):
    """The embedded default as real processes (hub, proxy, dashboard service), one per
    test module, with namespaces of its own."""
    from support.hub import HubProcess, find_proxy

    if find_proxy() is None:
        missing_part("configurable-http-proxy (npm install)")
    h = HubProcess(tmp_path_factory.mktemp("hub"), kubeconfig)
    yield h
    h.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, driven by Playwright (one per test module)."""
    from support.browser import CHROMIUM_ARGS, chromium_path

    path = chromium_path()
    if path is None:
        missing_part("Chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()
