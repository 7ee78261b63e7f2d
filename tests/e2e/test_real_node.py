"""The embedded default on the local cluster's real node: a user's JupyterLab is a pod
started by KarvdashSpawner (the same code path as a cluster), its files are the user's
own on the host, code in it launches services that really run, and other users' pods
cannot reach them.

These need a real node (containerd and the kubelet): on CI a machine without one fails
them (``missing_part``)."""

from __future__ import annotations

import base64
import uuid

import pytest
import requests
import yaml
from kubernetes import client
from support.browser import open_logged_in
from support.cluster import exec_in, wait_for
from support.hostile import HOSTILE, INJECTED, clean
from support.hub import Browser, HubProcess
from support.parts import missing_part

from karvdash_hub import __version__

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

SINGLEUSER = f"karvdash/singleuser:{__version__}"
POSTGRES = "postgres:17"
HELLO = "paulbouwer/hello-kubernetes:1.10"


@pytest.fixture(scope="module")
def real_node(real_cluster) -> dict:
    info = real_cluster.info
    if info.get("mode") != "real" or not info.get("registry"):
        missing_part(f"a real node with its registry ({info.get('reason', 'no node.json')})")
    from karvdash_localcluster.images import ensure_images

    ensure_images(info["registry"], [SINGLEUSER, POSTGRES], log=lambda _: None)
    return info


@pytest.fixture(scope="module")
def kube(real_kube):
    """This module's hub and checks use the real cluster."""
    return real_kube


@pytest.fixture(scope="module")
def hub(tmp_path_factory, real_kubeconfig, real_node):
    h = HubProcess(tmp_path_factory.mktemp("podhub"), real_kubeconfig, notebooks="pods")
    yield h
    h.stop()


def signed_up(hub, name, password) -> Browser:
    user, admin = Browser(hub), Browser(hub)
    user.signup(name, password)
    assert admin.login("admin", hub.admin_password)
    admin.get(f"/hub/authorize/{name}")
    assert user.login(name, password)
    return user


def password_of(who: str) -> str:
    return f"{who}-secret-42"


@pytest.fixture(scope="module")
def users(hub, kube):
    """Two users whose servers run as pods: (name, browser, pod name) each."""
    out = {}
    for who in ("alice", "bob"):
        name = f"{who}{uuid.uuid4().hex[:4]}"
        browser = signed_up(hub, name, password_of(who))
        server = browser.start_server(name, timeout=300)
        assert server["ready"]
        out[who] = (name, browser, f"jupyter-{name}")
    return out


def sh(kubeconfig, ns, pod, script: str, timeout: float = 120) -> str:
    code, out = exec_in(kubeconfig, ns, pod, ["sh", "-c", script], timeout=timeout)
    assert code == 0, out
    return out


def test_a_users_server_is_a_pod_and_jupyterlab_answers_through_the_hub(
    hub, users, kube, real_node
):
    name, browser, pod_name = users["alice"]
    pod = client.CoreV1Api(kube).read_namespaced_pod(pod_name, hub.namespace(name))
    assert pod.spec.node_name == real_node["node"]
    (status,) = pod.status.container_statuses
    assert status.ready and status.state.running is not None
    assert status.image_id  # pulled by the container runtime
    lab = browser.get(f"/user/{name}/lab")
    assert lab.status_code == 200 and "JupyterLab" in lab.text
    # karvdash_labext's server extension in the pod reaches the dashboard with the pod's
    # own token: the browser holds none
    info = browser.get(f"/user/{name}/karvdash/info").json()
    assert info["user"] == name and info["configured"] is True, info
    me = browser.get(f"/user/{name}/karvdash/api/user").json()
    assert me["name"] == name and me["namespace"] == hub.namespace(name), me
    # the pod's own view: it runs as the notebook user, in /private, with the env
    out = sh(hub.kubeconfig, hub.namespace(name), pod_name, "id -u; pwd; echo $KARVDASH_NAMESPACE")
    assert out.split() == ["1000", "/private", hub.namespace(name)]


def test_files_written_in_a_pod_are_the_users_own_on_the_host_and_shared_is_shared(hub, users):
    (alice, _, alice_pod), (bob, _, bob_pod) = users["alice"], users["bob"]
    mark = uuid.uuid4().hex
    sh(hub.kubeconfig, hub.namespace(alice), alice_pod, f"echo {mark} > /private/notes.txt")
    sh(hub.kubeconfig, hub.namespace(alice), alice_pod, f"echo {mark} > /shared/{mark}.txt")
    files = hub.state / "files"
    assert (files / "private" / alice / "notes.txt").read_text().strip() == mark
    assert not (files / "private" / bob / "notes.txt").exists()
    assert sh(hub.kubeconfig, hub.namespace(bob), bob_pod, "ls /private").strip() == ""
    seen = sh(hub.kubeconfig, hub.namespace(bob), bob_pod, f"cat /shared/{mark}.txt")
    assert seen.strip() == mark and (files / "shared" / f"{mark}.txt").exists()


def test_the_files_api_and_the_pods_see_the_same_files_owned_by_the_notebooks_user(hub, users):
    """What the dashboard writes is in the pod at /private, and the notebook's user (uid
    1000) may change it; what the pod writes is listed and downloaded by the dashboard;
    karvdashctl in the pod reaches the same files."""
    (alice, browser, alice_pod), (bob, _, bob_pod) = users["alice"], users["bob"]
    ns = hub.namespace(alice)
    token = browser.api("POST", f"/users/{alice}/tokens", json={"note": "files"}).json()["token"]
    api = hub.url + "/services/karvdash/api/"
    auth = {"Authorization": f"token {token}"}
    mark = uuid.uuid4().hex
    r = requests.put(api + "files/private/up/from-dashboard.txt?parents=1", data=mark, headers=auth)
    assert r.status_code == 201, r.text
    assert sh(hub.kubeconfig, ns, alice_pod, "cat /private/up/from-dashboard.txt") == mark
    # the notebook's user owns it: it can write to it and in its folder
    sh(hub.kubeconfig, ns, alice_pod, "echo more >> /private/up/from-dashboard.txt")
    sh(hub.kubeconfig, ns, alice_pod, "echo pod > /private/up/from-pod.txt && id -u")
    listed = requests.get(api + "files/private/up", headers=auth).json()["entries"]
    assert [e["name"] for e in listed] == ["from-dashboard.txt", "from-pod.txt"]
    got = requests.get(api + "files/private/up/from-pod.txt?download=1", headers=auth)
    assert got.text == "pod\n"
    # karvdashctl in the pod, straight to the dashboard
    out = sh(hub.kubeconfig, ns, alice_pod, "karvdashctl ls /private/up")
    assert "from-dashboard.txt" in out and "from-pod.txt" in out
    sh(hub.kubeconfig, ns, alice_pod, "karvdashctl cp /private/up/from-pod.txt /shared/p.txt")
    assert sh(hub.kubeconfig, hub.namespace(bob), bob_pod, "cat /shared/p.txt") == "pod\n"
    # bob's pod cannot name alice's private files through the API either
    code, out = exec_in(
        hub.kubeconfig,
        hub.namespace(bob),
        bob_pod,
        ["karvdashctl", "--user", alice, "ls", "/private/up"],
    )
    assert code != 0 and "no such folder" in out and "from-dashboard" not in out, out


def test_karvdashctl_in_the_pod_launches_postgres_that_only_its_namespace_reaches(hub, users):
    (alice, _, alice_pod), (bob, _, bob_pod) = users["alice"], users["bob"]
    ns = hub.namespace(alice)
    launched = sh(
        hub.kubeconfig,
        ns,
        alice_pod,
        "karvdashctl create_service postgres NAME=db PASSWORD=s3cret-pw",
    )
    assert f"launched db in {ns}" in launched

    def ready():
        listed = sh(hub.kubeconfig, ns, alice_pod, "karvdashctl list_services")
        return "1/1" in listed.split("\n", 1)[-1]

    wait_for(ready, 240, "the PostgreSQL service to be ready")
    host = f"db.{ns}.svc.cluster.local"
    query = f"PGPASSWORD=s3cret-pw psql -h {host} -U postgres -tAc 'select 40 + 2'"
    assert sh(hub.kubeconfig, ns, alice_pod, query).strip() == "42"
    # another user's pod: the NetworkPolicy of alice's namespace refuses it
    refused = f"PGPASSWORD=s3cret-pw PGCONNECT_TIMEOUT=5 psql -h {host} -U postgres -c 'select 1'"
    code, out = exec_in(hub.kubeconfig, hub.namespace(bob), bob_pod, ["sh", "-c", refused])
    # kube-router rejects what a policy refuses (the server answered alice a moment ago)
    assert code != 0 and any(w in out.lower() for w in ("refused", "timeout")), out
    assert "42" not in out.split()  # no answer (the address may hold a 42: 10.96.142.96)
    assert "deleted" in sh(hub.kubeconfig, ns, alice_pod, "karvdashctl delete_service db")


def launch(hub, browser, name, template: str) -> dict:
    token = browser.api("POST", f"/users/{name}/tokens", json={"note": "t"}).json()["token"]
    api = hub.url + "/services/karvdash/api/"
    headers = {"Authorization": f"token {token}"}
    added = requests.post(api + "templates", data=template, headers=headers, timeout=60)
    assert added.status_code == 201, added.text
    made = requests.post(
        api + "services", json={"template": added.json()["id"]}, headers=headers, timeout=60
    )
    assert made.status_code == 201, made.text
    return {"api": api, "headers": headers, "name": made.json()["name"]}


def status_of(service: dict) -> dict:
    listed = requests.get(service["api"] + "services", headers=service["headers"], timeout=60)
    return next(s for s in listed.json() if s["name"] == service["name"])["status"]


HOG = """\
kind: Template
name: Memory hog
variables:
- name: NAME
  default: hog
---
apiVersion: v1
kind: Service
metadata: {name: $NAME}
spec:
  selector: {app: $NAME}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: $NAME}
spec:
  selector: {matchLabels: {app: $NAME}}
  template:
    metadata: {labels: {app: $NAME}}
    spec:
      containers:
      - name: hog
        image: paulbouwer/hello-kubernetes:1.10
        command: [python3, -c, "b = bytearray(400 * 2**20); import time; time.sleep(600)"]
        resources: {limits: {memory: 64Mi, cpu: 200m}, requests: {memory: 32Mi, cpu: 50m}}
"""

MISSING = HOG.replace("Memory hog", "Missing image").replace("default: hog", "default: nope")
MISSING = MISSING.replace("paulbouwer/hello-kubernetes:1.10", "example/never-built:1")


def test_a_service_over_its_memory_limit_is_oomkilled_and_stopping_it_stops_its_pods(
    hub, users, real_node, kube
):
    from karvdash_localcluster.images import ensure_images

    ensure_images(real_node["registry"], [HELLO], log=lambda _: None)
    name, browser, _ = users["alice"]
    service = launch(hub, browser, name, HOG)
    st = wait_for(
        lambda: (s := status_of(service))["reason"] == "OOMKilled" and s, 180, "OOMKilled"
    )
    assert "more memory than its limit" in st["warning"] and st["ready"] == 0
    stopped = requests.delete(
        service["api"] + f"services/{service['name']}", headers=service["headers"], timeout=60
    )
    assert stopped.status_code == 200
    core, selector = client.CoreV1Api(kube), f"karvdash.io/service={service['name']}"
    wait_for(
        lambda: not core.list_namespaced_pod(hub.namespace(name), label_selector=selector).items,
        120,
        "the service's pods (and so their containers) to be gone",
    )


def test_an_image_nobody_built_is_errimagepull_in_the_list_with_the_runtimes_words(hub, users):
    name, browser, _ = users["bob"]
    service = launch(hub, browser, name, MISSING)
    st = wait_for(
        lambda: (s := status_of(service))["reason"] in ("ErrImagePull", "ImagePullBackOff") and s,
        180,
        "a pull error in the list",
    )
    assert "example/never-built:1" in st["warning"]


def printer(text: str) -> str:
    """A template whose one container prints ``text`` (its UTF-8 bytes, passed as base64
    so that no template variable or YAML can touch them), then sleeps: the python3 of
    the hello-kubernetes image, as the unprivileged user the restricted policy asks for."""
    script = (
        "import base64, sys, time; sys.stdout.buffer.write(base64.b64decode(sys.argv[1]));"
        " sys.stdout.flush(); time.sleep(3600)"
    )
    container = {
        "name": "printer",
        "image": HELLO,
        "command": ["python3", "-c", script, base64.b64encode(text.encode()).decode()],
        "resources": {
            "limits": {"memory": "64Mi", "cpu": "200m"},
            "requests": {"memory": "16Mi", "cpu": "10m"},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    docs = [
        {
            "kind": "Template",
            "name": "Log printer",
            "variables": [{"name": "NAME", "default": "printer"}],
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "$NAME"},
            "spec": {"selector": {"app": "$NAME"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "$NAME"},
            "spec": {
                "selector": {"matchLabels": {"app": "$NAME"}},
                "template": {
                    "metadata": {"labels": {"app": "$NAME"}},
                    "spec": {"terminationGracePeriodSeconds": 1, "containers": [container]},
                },
            },
        },
    ]
    return yaml.safe_dump_all(docs, sort_keys=False)


def test_what_a_container_prints_is_shown_on_its_service_page_as_text_and_runs_nothing(
    hub, users, real_node, browser
):
    from karvdash_localcluster.images import ensure_images

    ensure_images(real_node["registry"], [HELLO], log=lambda _: None)
    name, user, _ = users["alice"]
    corpus = "\n".join(HOSTILE) + "\n"
    service = launch(hub, user, name, printer(corpus))
    logs_url = service["api"] + f"services/{service['name']}/logs"
    context = None
    try:
        # the real endpoint: the container's output, read by the kubelet, as it was printed
        def printed():
            r = requests.get(logs_url, headers=service["headers"], timeout=60)
            assert r.status_code == 200, r.text
            return next((e for e in r.json() if e["log"] == corpus), None)

        entry = wait_for(printed, 180, "the container's output in its log")
        assert entry["container"] == "printer" and not entry["truncated"]
        # the service's page in Chromium: the lines as text, verbatim; no script, no dialog
        context, page, watch = open_logged_in(browser, hub, name, password_of("alice"))
        page.goto(hub.url + f"/services/karvdash/services/{service['name']}")
        log = page.wait_for_selector("pre.karvdash-log-text", timeout=30_000)
        assert log.evaluate("e => e.textContent") == corpus
        assert log.is_visible() and page.is_visible("#karvdash-logs h3")
        shown = log.inner_text()
        assert all(line in shown for line in HOSTILE)
        assert page.inner_text("#karvdash-logs h3") == f"{entry['pod']} · printer"
        page.wait_for_timeout(500)  # a late script's error or dialog
        assert page.evaluate("() => window.__pwned") is None
        assert page.query_selector_all(INJECTED) == []
        clean(watch)
    finally:
        if context is not None:
            context.close()
        requests.delete(
            service["api"] + f"services/{service['name']}", headers=service["headers"], timeout=60
        )


# the hog's Deployment, running the image of $IMAGE in the users' registry as it is
REGISTRY_TEMPLATE = (
    HOG.replace("Memory hog", "From my registry")
    .replace("default: hog", "default: mine\n- name: IMAGE\n  default: x")
    .replace("image: paulbouwer/hello-kubernetes:1.10", "image: $REGISTRY/$IMAGE")
)
REGISTRY_TEMPLATE = "\n".join(
    line for line in REGISTRY_TEMPLATE.splitlines() if "bytearray" not in line
)


def test_a_template_runs_the_image_its_user_uploaded_and_another_namespace_cannot_pull_it(
    hub, users, real_node, kube, tmp_path
):
    """Upload through the API, then $REGISTRY/<user>/<image> in a template: the node pulls
    it with the namespace's pull secret; in another user's namespace the same reference is
    refused by the registry."""
    import subprocess

    from karvdash_localcluster.images import ensure_images

    ensure_images(real_node["registry"], [HELLO], log=lambda _: None)
    archive = tmp_path / "hello.tar"
    copied = subprocess.run(
        [
            "skopeo",
            "copy",
            "--src-tls-verify=false",
            f"docker://{real_node['registry']}/{HELLO}",
            f"docker-archive:{archive}",
        ],
        capture_output=True,
        text=True,
    )
    assert copied.returncode == 0, copied.stderr
    name, user, _ = users["alice"]
    other, other_user, _ = users["bob"]
    token = user.api("POST", f"/users/{name}/tokens", json={"note": "t"}).json()["token"]
    with open(archive, "rb") as body:
        pushed = requests.put(
            hub.url + f"/services/karvdash/api/images/{name}/hello:1",
            data=body,
            headers={"Authorization": f"token {token}"},
            timeout=600,
        )
    assert pushed.status_code == 201, pushed.text
    template = REGISTRY_TEMPLATE.replace("default: x", f"default: {name}/hello:1")
    mine = launch(hub, user, name, template)
    wait_for(lambda: status_of(mine)["phase"] == "Running" or None, 240, "alice's pod to run")
    core = client.CoreV1Api(kube)
    selector = f"karvdash.io/service={mine['name']}"
    (pod,) = core.list_namespaced_pod(hub.namespace(name), label_selector=selector).items
    assert pod.spec.containers[0].image == f"{hub.registry}/{name}/hello:1"
    assert pod.status.container_statuses[0].image_id.endswith(pushed.json()["digest"])
    # bob's namespace has its own pull secret, which does not open alice's repositories
    theirs = launch(hub, other_user, other, template)
    st = wait_for(
        lambda: (s := status_of(theirs))["reason"] in ("ErrImagePull", "ImagePullBackOff") and s,
        180,
        "a pull error in bob's namespace",
    )
    assert f"{name}/hello:1" in st["warning"]
