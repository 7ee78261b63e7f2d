"""The API server dies, for real (its process killed), while the dashboard works: clients
get a clear 503, and once it is back nothing is half-made: a launch is complete or absent,
a deletion finishes when it is tried again. A control plane of this module's own, so that
killing its API server touches no other test."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from karvdash_localcluster import LocalCluster
from kubernetes import client, config
from support.browser import Api
from support.cluster import wait_for
from support.hub import HubProcess

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

COUNT = 60  # ConfigMaps: a launch (and a deletion) long enough to be cut in the middle
BULK = (
    "kind: Template\nname: Bulk\nauth: false\nvariables:\n- name: NAME\n  default: bulk\n"
    "---\napiVersion: v1\nkind: Service\nmetadata: {name: $NAME}\nspec: {ports: [{port: 80}]}\n"
    + "".join(
        f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: $NAME-c{i}}}\ndata: {{i: x}}\n"
        for i in range(COUNT)
    )
)


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory):
    lc = LocalCluster(tmp_path_factory.mktemp("faultcluster"), node="kwok")
    lc.start()
    yield lc
    lc.stop()


@pytest.fixture(scope="module")
def kube(control_plane):
    api = config.new_client_from_config(config_file=str(control_plane.kubeconfig))
    yield api
    api.close()


@pytest.fixture(scope="module")
def hub(tmp_path_factory, control_plane):
    h = HubProcess(tmp_path_factory.mktemp("faulthub"), control_plane.kubeconfig)
    yield h
    h.stop()


@pytest.fixture(scope="module")
def bulk(api):
    r = api["alice"]("POST", "templates", json={"data": BULK, "id": "bulk"})
    assert r.status_code == 201, r.text
    return "bulk"


def kill_apiserver(control_plane) -> None:
    proc = control_plane.processes["kube-apiserver"]
    proc.send_signal(signal.SIGSTOP)  # at once: no request in flight finishes
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def start_apiserver(control_plane) -> None:
    # the launcher's own steps (LocalCluster.start runs them): the same flags and state
    control_plane.start_apiserver()
    control_plane.wait_ready(60)


def config_maps(kube, ns: str, name: str) -> int:
    found = client.CoreV1Api(kube).list_namespaced_config_map(
        ns, label_selector=f"karvdash.io/service={name}"
    )
    return len(found.items)


def in_background(call) -> dict:
    result: dict = {}

    def running():
        try:
            result["r"] = call()
        except Exception as err:  # the caller asserts on it
            result["error"] = err

    thread = threading.Thread(target=running, daemon=True)
    thread.start()
    result["thread"] = thread
    return result


def test_with_the_api_server_down_the_api_answers_503(api, hub, control_plane, bulk):
    assert api["alice"]("GET", "services").status_code == 200  # her namespace exists
    kill_apiserver(control_plane)
    try:
        for method, path, body in [
            ("GET", "services", None),
            ("POST", "services", {"template": "bulk"}),
            ("DELETE", "services/bulk", None),
            ("GET", "namespace", None),
        ]:
            r = api["alice"](method, path, json=body)
            assert r.status_code == 503, (path, r.status_code, r.text)
            assert (
                r.json()["reason"] == "cluster-unreachable" and "try again" in r.json()["message"]
            )
    finally:
        start_apiserver(control_plane)
    assert api["alice"]("GET", "services").json() == []


def test_a_launch_cut_by_the_api_server_is_absent_once_it_returns(
    api, hub, control_plane, kube, bulk
):
    ns = hub.namespace("alice")
    core = client.CoreV1Api(kube)
    launch = in_background(lambda: api["alice"]("POST", "services", json={"template": "bulk"}))
    wait_for(
        lambda: any(s.metadata.name == "bulk" for s in core.list_namespaced_service(ns).items),
        30,
        "the launch's first object",
        0.005,
    )
    kill_apiserver(control_plane)
    launch["thread"].join(60)
    try:
        r = launch["r"]
        assert r.status_code == 503, r.text  # not a 500, and not done
    finally:
        start_apiserver(control_plane)
    made = config_maps(kube, ns, "bulk")
    print(f"the launch was cut after {made} of {COUNT} ConfigMaps")
    assert made < COUNT  # it really was cut in the middle
    # absent for the user at once, and its objects deleted
    assert "bulk" not in {s["name"] for s in api["alice"]("GET", "services").json()}
    wait_for(
        lambda: (
            config_maps(kube, ns, "bulk") == 0
            and not any(s.metadata.name == "bulk" for s in core.list_namespaced_service(ns).items)
        ),
        60,
        "the leftovers deleted",
        0.5,
    )
    again = api["alice"]("POST", "services", json={"template": "bulk"})
    assert again.status_code == 201 and again.json()["name"] == "bulk", again.text


def test_a_deletion_cut_by_the_api_server_finishes_when_tried_again(
    api, hub, control_plane, kube, bulk
):
    ns = hub.namespace("alice")
    if "bulk" not in {s["name"] for s in api["alice"]("GET", "services").json()}:
        assert api["alice"]("POST", "services", json={"template": "bulk"}).status_code == 201
    deletion = in_background(lambda: api["alice"]("DELETE", "services/bulk"))
    wait_for(lambda: config_maps(kube, ns, "bulk") < COUNT, 30, "the deletion started", 0.005)
    kill_apiserver(control_plane)
    deletion["thread"].join(60)
    try:
        assert deletion["r"].status_code == 503, deletion["r"].text
    finally:
        start_apiserver(control_plane)
    left = config_maps(kube, ns, "bulk")
    print(f"the deletion was cut with {left} of {COUNT} ConfigMaps left")
    assert "bulk" in {s["name"] for s in api["alice"]("GET", "services").json()}  # still there
    r = api["alice"]("DELETE", "services/bulk")
    assert r.status_code == 200, r.text
    assert config_maps(kube, ns, "bulk") == 0
    assert api["alice"]("GET", "services").json() == []


def test_a_login_cut_by_the_api_server_says_503_and_the_next_one_provisions(
    hub, control_plane, kube
):
    """The API server dies just after a login made the user's namespace, before the
    rest of it: the login answers 503 and says to try again; the next login finishes
    the namespace (no half-provisioned user stays so)."""
    from kubernetes import watch
    from support.browser import approve
    from support.hub import Browser

    approve(hub, "dave", "dave-secret-9")
    ns = hub.namespace("dave")
    core = client.CoreV1Api(kube)
    stream = watch.Watch()
    events = stream.stream(
        core.list_namespace, field_selector=f"metadata.name={ns}", timeout_seconds=60
    )
    login = Browser(hub)
    answer = in_background(lambda: login.login("dave", "dave-secret-9"))
    for event in events:  # the namespace is the first object a provisioning makes
        if event["type"] == "ADDED":
            kill_apiserver(control_plane)
            break
    stream.stop()
    try:
        answer["thread"].join(60)
        assert answer.get("r") is False, answer
        r = login.last
        assert r.status_code == 503, (r.status_code, r.text[:500])
        assert "could not be prepared" in r.text and "try again" in r.text.lower()
    finally:
        start_apiserver(control_plane)

    def made() -> dict:
        return {
            "quota": len(core.list_namespaced_resource_quota(ns).items),
            "limits": len(core.list_namespaced_limit_range(ns).items),
            "accounts": len(
                core.list_namespaced_service_account(ns, label_selector="karvdash.io/user").items
            ),
            "claims": len(core.list_namespaced_persistent_volume_claim(ns).items),
        }

    cut = made()
    print(f"made when the API server died: {cut}")
    assert 0 in cut.values()  # the cut came in the middle
    assert login.login("dave", "dave-secret-9")
    assert 0 not in made().values()


def test_with_the_registry_down_only_images_answer_503_until_the_hub_restarts_it(api, hub):
    from support.parts import need_registry

    need_registry()
    os.kill(hub.part_pid("docker-registry"), signal.SIGKILL)
    r = api["alice"]("GET", "images")
    assert r.status_code == 503 and r.json()["reason"] == "registry-unavailable", r.text
    assert api["alice"]("GET", "services").status_code == 200
    assert api["alice"]("GET", "templates").status_code == 200
    # JupyterHub starts its managed service again (its poll: about 30 s)
    wait_for(lambda: api["alice"]("GET", "images").status_code == 200, 90, "the registry back", 1)


def test_an_upload_cut_by_the_dashboards_death_leaves_no_file_and_is_swept(api, hub):
    """The dashboard is killed while a file streams in: the client gets an error, no
    file appears (the hidden partial is never listed), what was there is kept, the hub
    starts the dashboard again, and an upload to the folder once the partial is abandoned
    removes it."""
    alice = api["alice"]
    assert alice("PUT", "files/private/kept.txt", data=b"kept\n").status_code == 201
    folder = hub.state / "files" / "private" / "alice"
    killed = threading.Event()

    def slowly():
        yield b"x" * 65536
        while not killed.wait(0.05):
            yield b"x" * 65536

    def partials():
        return [p for p in folder.iterdir() if p.name.startswith(".karvdash-upload-")]

    streaming = in_background(lambda: alice("PUT", "files/private/big.bin", data=slowly()))
    wait_for(lambda: partials() and partials()[0].stat().st_size > 0, 30, "the upload", 0.05)
    os.kill(hub.part_pid("apps.dashboard"), signal.SIGKILL)
    killed.set()
    streaming["thread"].join(60)
    answer = streaming.get("r")
    print(f"the cut upload's answer: {answer.status_code if answer is not None else 'none'}")
    assert answer is None or answer.status_code >= 500
    # JupyterHub starts its managed service again (its poll: about 30 s)
    wait_for(lambda: alice("GET", "files/private/").status_code == 200, 90, "dashboard back", 1)
    listed = {e["name"] for e in alice("GET", "files/private/").json()["entries"]}
    assert "kept.txt" in listed and "big.bin" not in listed
    assert alice("GET", "files/private/kept.txt?download=1").content == b"kept\n"
    (left,) = partials()  # on disk, hidden, until abandoned
    hour_ago = time.time() - 3601  # FileStore.abandoned_write_seconds: an hour
    os.utime(left, (hour_ago, hour_ago))
    assert alice("PUT", "files/private/next.txt", data=b"next").status_code == 201
    assert partials() == []


def test_a_restarted_hub_finds_the_services_again(api, hub, tokens, control_plane):
    r = api["alice"]("POST", "services", json={"template": "redis", "variables": {"NAME": "kept"}})
    assert r.status_code == 201, r.text
    before = {s["name"]: s for s in api["alice"]("GET", "services").json()}
    hub.stop()
    # the same state folder (users, tokens) and the same namespaces
    same = {"KARVDASH_NAMESPACE_PREFIX": hub.prefix}
    again = HubProcess(hub.state, control_plane.kubeconfig, environment=same)
    try:
        after = {s["name"]: s for s in Api(again, tokens["alice"])("GET", "services").json()}
        assert after.keys() == before.keys() and after["kept"]["template"] == "redis"
        assert Api(again, tokens["alice"])("DELETE", "services/kept").status_code == 200
    finally:
        again.stop()


def test_etcd_restarted_under_load_recovers_without_a_hand(tmp_path, control_plane, kube):
    """Launches keep coming while etcd is killed and started again: some fail with a 503,
    and afterwards every service is whole, the leftovers are gone, launches work."""
    from support.browser import approve, token_for

    h = HubProcess(tmp_path / "hub", control_plane.kubeconfig)
    try:
        approve(h, "carol", "carol-secret-9")
        carol = Api(h, token_for(h, "carol", "carol-secret-9"))
        codes: list[int] = []

        def load():
            for i in range(12):
                body = {"template": "redis", "variables": {"NAME": f"e{i}"}}
                codes.append(carol("POST", "services", json=body).status_code)

        worker = in_background(load)
        wait_for(lambda: len(codes) >= 2, 60, "launches under way", 0.05)
        etcd = control_plane.processes["etcd"]
        etcd.kill()
        etcd.wait()
        time.sleep(2)
        control_plane.start_etcd()  # the launcher's own step, same data folder
        control_plane.wait_ready(60)
        worker["thread"].join(300)
        print(f"launch answers while etcd restarted: {codes}")
        assert set(codes) <= {201, 503} and 201 in codes, codes
        listed = carol("GET", "services").json()
        ns = h.namespace("carol")
        wait_for(
            lambda: all(
                "karvdash.io/launch" not in (s.metadata.annotations or {})
                for s in client.CoreV1Api(kube).list_namespaced_service(ns).items
            ),
            60,
            "no incomplete launch left",
            0.5,
        )
        assert len(listed) == codes.count(201)
        r = carol("POST", "services", json={"template": "redis", "variables": {"NAME": "after"}})
        assert r.status_code == 201, r.text
    finally:
        h.stop()
