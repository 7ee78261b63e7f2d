"""The real node: pods really run there (containerd v2 and runc under the kubelet of the
pinned release), with the images built here under their usual names (through the system
registry), a pod network, ClusterIP Services, cluster DNS, enforced NetworkPolicy and
memory limits. Needs a machine that can run containers: elsewhere ``missing_part`` (a
failure on CI, a skip on a laptop)."""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import subprocess
import threading
import time
import urllib.request

import karvdash_localcluster as localcluster
import pytest
from kubernetes import client
from support.cluster import exec_in, wait_for
from support.parts import missing_part

pytestmark = pytest.mark.integration

#: Karvdash's hello-kubernetes: python3 and a web page on 8080 (built here, from Debian)
HELLO = "paulbouwer/hello-kubernetes:1.10"
SLEEP = ["python3", "-c", "import time; time.sleep(100000)"]
GET = "import sys, urllib.request as u; print(u.urlopen(sys.argv[1], timeout=3).read().decode())"


@pytest.fixture(scope="module")
def node(real_cluster) -> dict:
    """What the real cluster says about its node (node.json); the images it needs."""
    info = real_cluster.info
    if info.get("mode") != "real":
        missing_part(f"a real node that runs containers ({info.get('reason', 'no node.json')})")
    if not info.get("registry"):
        missing_part("the system registry (karvdash_localcluster.registry)")
    from karvdash_localcluster.images import ensure_images

    ensure_images(info["registry"], [HELLO, localcluster.SANDBOX_IMAGE], log=lambda _: None)
    return info


@pytest.fixture
def kubeconfig(real_kubeconfig):
    """This module's tests talk to the real cluster."""
    return real_kubeconfig


@pytest.fixture
def namespace_factory(real_namespace_factory):
    return real_namespace_factory


@pytest.fixture
def core(real_kube) -> client.CoreV1Api:
    return client.CoreV1Api(real_kube)


def crictl(node: dict, *args: str) -> str:
    socket = f"unix://{node['containerd_socket']}"
    cmd = [f"{node['bin']}/crictl", f"--runtime-endpoint={socket}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout


def pod(
    name: str,
    command: list[str] | None = None,
    image: str = HELLO,
    labels: dict | None = None,
    memory: str | None = None,
    restart: str = "Always",
    ready_http: bool = False,
) -> client.V1Pod:
    container = client.V1Container(
        name="main",
        image=image,
        command=command,
        resources=client.V1ResourceRequirements(limits={"memory": memory}) if memory else None,
        readiness_probe=(
            client.V1Probe(http_get=client.V1HTTPGetAction(path="/", port=8080), period_seconds=1)
            if ready_http
            else None
        ),
    )
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {"app": name}),
        spec=client.V1PodSpec(
            containers=[container],
            restart_policy=restart,
            termination_grace_period_seconds=1,
            automount_service_account_token=False,
        ),
    )


def create(core: client.CoreV1Api, ns: str, body: client.V1Pod) -> None:
    """Create a pod, waiting for the namespace's default ServiceAccount if needed."""

    def attempt():
        try:
            return core.create_namespaced_pod(ns, body)
        except client.ApiException as err:
            if "serviceaccount" in (err.body or ""):
                return None
            raise

    wait_for(attempt, 20, f"the default ServiceAccount of {ns}")


def running(core: client.CoreV1Api, ns: str, name: str, timeout: float = 60) -> client.V1Pod:
    def ready():
        p = core.read_namespaced_pod(name, ns)
        statuses = p.status.container_statuses or []
        return p if statuses and all(s.ready for s in statuses) else None

    return wait_for(ready, timeout, f"pod {ns}/{name} running and ready")


def service(core: client.CoreV1Api, ns: str, name: str) -> client.V1Service:
    return core.create_namespaced_service(
        ns,
        client.V1Service(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1ServiceSpec(
                selector={"app": name},
                ports=[client.V1ServicePort(port=80, target_port=8080)],
            ),
        ),
    )


def run_in(kubeconfig, ns: str, name: str, command: list[str]) -> tuple[int, str]:
    """Exec ``command`` in the pod through the API server (and the kubelet): (status, output)."""
    return exec_in(kubeconfig, ns, name, command, timeout=30)


def fetch(kubeconfig, ns: str, name: str, url: str) -> tuple[int, str]:
    return run_in(kubeconfig, ns, name, ["python3", "-c", GET, url])


def reaches(kubeconfig, ns, name, url, want: bool, timeout: float = 30) -> str:
    """Wait until fetching ``url`` from the pod succeeds (``want``) or fails."""
    last = ""

    def check():
        nonlocal last
        code, last = fetch(kubeconfig, ns, name, url)
        return (code == 0) == want

    try:
        wait_for(check, timeout, f"{url} {'reachable' if want else 'refused'} from {ns}/{name}")
    except AssertionError as err:
        raise AssertionError(f"{err}; last answer: {last[-300:]}") from None
    return last


def test_a_pod_runs_and_its_logs_and_exec_work_through_the_api_server(
    node, core, kubeconfig, namespace_factory
):
    ns = namespace_factory("node-run")
    create(core, ns, pod("talker", ["python3", "-c", "print('hello from a real pod', flush=True)"
                                     "; import time; time.sleep(100000)"]))  # fmt: skip
    p = running(core, ns, "talker")
    assert p.spec.node_name == localcluster.REAL_NODE_NAME
    assert p.status.host_ip == node["node_ip"]
    assert ipaddress.ip_address(p.status.pod_ip) in ipaddress.ip_network(node["pod_cidr"])
    assert p.status.container_statuses[0].container_id.startswith("containerd://")
    logs = wait_for(lambda: core.read_namespaced_pod_log("talker", ns) or None, 20, "the pod's log")
    assert "hello from a real pod" in logs
    code, out = run_in(
        kubeconfig, ns, "talker", ["python3", "-c", "import socket; print(socket.gethostname())"]
    )
    assert (code, out.strip()) == (0, "talker")


def test_a_pod_reaches_another_by_cluster_ip_and_by_dns_name_and_the_host_does_too(
    node, core, kubeconfig, namespace_factory
):
    server_ns, client_ns = namespace_factory("node-svc"), namespace_factory("node-cli")
    create(core, server_ns, pod("web", ready_http=True))
    create(core, client_ns, pod("client", SLEEP))
    svc = service(core, server_ns, "web")
    running(core, server_ns, "web")
    running(core, client_ns, "client")
    ip = svc.spec.cluster_ip
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(node["service_cidr"])
    page = reaches(kubeconfig, client_ns, "client", f"http://{ip}/", want=True)
    assert "Hello Kubernetes" in page and "web" in page
    name = f"web.{server_ns}.svc.cluster.local"
    assert "Hello Kubernetes" in reaches(kubeconfig, client_ns, "client", f"http://{name}/", True)
    code, out = run_in(
        kubeconfig,
        client_ns,
        "client",
        ["python3", "-c", f"import socket; print(socket.gethostbyname('{name}'))"],
    )
    assert (code, out.strip()) == (0, ip)
    # the host reaches the Service too (kube-proxy's rules apply to its own traffic)
    with urllib.request.urlopen(f"http://{ip}/", timeout=5) as resp:
        assert b"Hello Kubernetes" in resp.read()


def test_a_pod_reaches_a_server_on_the_host_at_the_node_address(
    node, core, kubeconfig, namespace_factory
):
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello from the host")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((node["host_address"], 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ns = namespace_factory("node-host")
        isolation = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "isolation"},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
            },
        }
        client.NetworkingV1Api(core.api_client).create_namespaced_network_policy(ns, isolation)
        create(core, ns, pod("client", SLEEP))
        running(core, ns, "client")
        url = f"http://{node['host_address']}:{server.server_port}/"
        assert "hello from the host" in reaches(kubeconfig, ns, "client", url, want=True)
    finally:
        server.shutdown()
        server.server_close()


def test_network_policy_isolates_a_namespace_from_another_but_not_from_itself(
    node, core, kubeconfig, namespace_factory
):
    own, other = namespace_factory("node-np"), namespace_factory("node-np-other")
    create(core, own, pod("web", ready_http=True))
    create(core, own, pod("neighbour", SLEEP))
    create(core, other, pod("stranger", SLEEP))
    service(core, own, "web")
    for ns, name in ((own, "web"), (own, "neighbour"), (other, "stranger")):
        running(core, ns, name)
    url = f"http://web.{own}.svc.cluster.local/"
    # without a policy both reach it: what follows is the policy's doing
    reaches(kubeconfig, other, "stranger", url, want=True)
    client.NetworkingV1Api(core.api_client).create_namespaced_network_policy(
        own,
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny-but-own"},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {}}]}],
            },
        },
    )
    reaches(kubeconfig, other, "stranger", url, want=False)
    reaches(kubeconfig, own, "neighbour", url, want=True)
    # and it stays refused (not a passing glitch)
    code, _ = fetch(kubeconfig, other, "stranger", url)
    assert code != 0
    # the host (where the hub and its proxy run) still reaches the isolated pod
    web_ip = core.read_namespaced_pod("web", own).status.pod_ip
    with urllib.request.urlopen(f"http://{web_ip}:8080/", timeout=5) as resp:
        assert b"Hello Kubernetes" in resp.read()


def test_a_container_over_its_memory_limit_is_oom_killed(node, core, namespace_factory):
    ns = namespace_factory("node-oom")
    hog = ["python3", "-c", "b = b'x' * (512 << 20); print(len(b))"]
    create(core, ns, pod("hog", hog, memory="64Mi", restart="Never"))

    def terminated():
        p = core.read_namespaced_pod("hog", ns)
        statuses = p.status.container_statuses or []
        state = statuses[0].state.terminated if statuses else None
        return (p, state) if state and p.status.phase == "Failed" else None

    p, state = wait_for(terminated, 60, "the memory hog to end and its pod to fail")
    assert state.reason == "OOMKilled"
    assert state.exit_code == 137
    assert p.status.phase == "Failed"


def test_deleting_a_pod_stops_its_container(node, core, namespace_factory):
    ns = namespace_factory("node-del")
    create(core, ns, pod("doomed", SLEEP))
    p = running(core, ns, "doomed")
    container = p.status.container_statuses[0].container_id.removeprefix("containerd://")
    assert crictl(node, "ps", "-q", "--id", container).strip() == container
    core.delete_namespaced_pod("doomed", ns, grace_period_seconds=1)

    def gone():
        with contextlib.suppress(client.ApiException):
            core.read_namespaced_pod("doomed", ns)
            return False
        return True

    wait_for(gone, 30, "the pod to be deleted")
    wait_for(
        lambda: crictl(node, "ps", "-a", "-q", "--id", container).strip() == "",
        30,
        "its container to be removed from containerd",
    )


def test_a_kubelet_restart_keeps_running_pods_running(
    real_cluster, node, core, kubeconfig, namespace_factory
):
    cluster = real_cluster
    ns = namespace_factory("node-restart")
    create(core, ns, pod("survivor", SLEEP))
    before = running(core, ns, "survivor").status.container_statuses[0]
    cluster.real_node.restart_kubelet()
    healthz = f"http://127.0.0.1:{cluster.real_node.ports['kubelet-healthz']}/healthz"

    def healthy():
        with contextlib.suppress(OSError), urllib.request.urlopen(healthz, timeout=2) as resp:
            return resp.status == 200
        return False

    wait_for(healthy, 60, "the restarted kubelet")
    time.sleep(3)  # a pod sync of the new kubelet
    after = running(core, ns, "survivor").status.container_statuses[0]
    assert after.container_id == before.container_id
    assert after.restart_count == 0
    code, out = run_in(kubeconfig, ns, "survivor", ["python3", "-c", "print('still here')"])
    assert (code, out.strip()) == (0, "still here")


def test_an_image_nobody_built_fails_to_pull(node, core, namespace_factory):
    ns = namespace_factory("node-pull")
    create(core, ns, pod("ghost", image="docker.io/karvdash/never-built:1"))

    def waiting():
        p = core.read_namespaced_pod("ghost", ns)
        statuses = p.status.container_statuses or []
        state = statuses[0].state.waiting if statuses else None
        return state if state and state.reason in ("ErrImagePull", "ImagePullBackOff") else None

    state = wait_for(waiting, 60, "ErrImagePull")
    if state.reason == "ErrImagePull":
        assert "not found" in state.message
