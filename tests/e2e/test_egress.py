"""Pods in a user namespace cannot reach the cloud's instance metadata address
(169.254.169.254): the namespace's NetworkPolicy denies that egress, enforced by the real
node's policy enforcer (kube-router). The address is made to answer on this machine (on
its loopback interface) so that the refusal is the policy's: the same pod reaches it once
the policy is gone.

These need the real node: on CI a machine without one fails them (``missing_part``)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from kubernetes import client
from support.cluster import wait_for
from support.hub import HubProcess
from support.parts import missing_part, real_node_with

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

HELLO = "paulbouwer/hello-kubernetes:1.10"
METADATA = "169.254.169.254"
PORT = 8775
FETCH = (
    "import urllib.request as u\n"
    "try:\n"
    f"    print(u.urlopen('http://{METADATA}:{PORT}/', timeout=5).read().decode())\n"
    "except OSError as e:\n"
    "    print('refused:', e)\n"
)


@pytest.fixture(scope="module")
def real_node(real_cluster) -> dict:
    return real_node_with(real_cluster, [HELLO])


@pytest.fixture(scope="module")
def kube(real_kube):
    """This module's checks use the real cluster."""
    return real_kube


@pytest.fixture(scope="module")
def metadata_server(real_node):
    """An HTTP server at 169.254.169.254 on this machine, as a cloud would have it."""
    added = subprocess.run(
        ["ip", "addr", "add", f"{METADATA}/32", "dev", "lo"], capture_output=True, text=True
    )
    if added.returncode != 0 and "File exists" not in added.stderr:
        missing_part(f"an address of its own for {METADATA} ({added.stderr.strip()})")
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import http.server as h\n"
            "class H(h.BaseHTTPRequestHandler):\n"
            "    def do_GET(self):\n"
            "        self.send_response(200); self.end_headers()\n"
            "        self.wfile.write(b'instance-secret')\n"
            f"h.HTTPServer(('{METADATA}', {PORT}), H).serve_forever()\n",
        ],
    )
    time.sleep(0.5)
    yield server
    server.terminate()
    server.wait(10)
    subprocess.run(["ip", "addr", "del", f"{METADATA}/32", "dev", "lo"], capture_output=True)


@pytest.fixture(scope="module")
def hub(tmp_path_factory, real_kubeconfig, real_node):
    h = HubProcess(tmp_path_factory.mktemp("egresshub"), real_kubeconfig, notebooks="auto")
    yield h
    h.stop()


@pytest.fixture(scope="module")
def pod(api):
    r = api["alice"](
        "POST", "services", json={"template": "hello-kubernetes", "variables": {"NAME": "probe"}}
    )
    assert r.status_code == 201, r.text
    wait_for(
        lambda: api["alice"]("GET", "services/probe").json()["status"]["ready"] >= 1,
        240,
        "probe ready on the real node",
        interval=1,
    )
    yield "probe"
    api["alice"]("DELETE", "services/probe")


def fetch(api) -> str:
    r = api["alice"]("POST", "services/probe/exec", json={"command": ["python3", "-c", FETCH]})
    assert r.status_code == 200, r.text
    return r.json()[0]["output"]


def test_a_user_pod_cannot_reach_the_metadata_address_and_can_once_the_policy_is_gone(
    api, hub, kube, pod, metadata_server
):
    assert fetch(api).startswith("refused:")
    ns = hub.namespace("alice")
    net = client.NetworkingV1Api(kube)
    policy = net.read_namespaced_network_policy("karvdash-isolation", ns)
    assert "Egress" in policy.spec.policy_types
    net.delete_namespaced_network_policy("karvdash-isolation", ns)
    try:
        wait_for(lambda: "instance-secret" in fetch(api), 30, "the address once allowed", 1)
    finally:
        policy.metadata.resource_version = None
        net.create_namespaced_network_policy(ns, policy)
    wait_for(lambda: fetch(api).startswith("refused:"), 30, "the address refused again", 1)
