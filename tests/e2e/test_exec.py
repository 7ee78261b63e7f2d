"""Running a command in a service's pods, for real: a service on the local cluster's
real node, the command run by the API server's exec in its container, through the API
(exit code, output, its bounds in time and size), karvdashctl, the service page in
Chromium, and Karvdash 2's API; owner and admins only.

These need the real node: on CI a machine without one fails them (``missing_part``)."""

from __future__ import annotations

import pytest
from support.browser import open_page
from support.cluster import wait_for
from support.hub import HubProcess
from support.parts import real_node_with

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

HELLO = "paulbouwer/hello-kubernetes:1.10"
S = "/services/karvdash/"


@pytest.fixture(scope="module")
def real_node(real_cluster) -> dict:
    return real_node_with(real_cluster, [HELLO])


@pytest.fixture(scope="module")
def hub(tmp_path_factory, real_kubeconfig, real_node):
    # notebooks "auto": the hub and the dashboard listen where the node's pods reach them
    # (a service with API access calls the dashboard from its pod)
    h = HubProcess(tmp_path_factory.mktemp("exechub"), real_kubeconfig, notebooks="auto")
    yield h
    h.stop()


@pytest.fixture(scope="module")
def hello(api):
    r = api["alice"](
        "POST", "services", json={"template": "hello-kubernetes", "variables": {"NAME": "runner"}}
    )
    assert r.status_code == 201, r.text

    def ready():
        return api["alice"]("GET", "services/runner").json()["status"]["ready"] >= 1

    wait_for(ready, 240, "runner ready on the real node", interval=1)
    yield r.json()
    api["alice"]("DELETE", "services/runner")


def run(api, who, body, name="runner"):
    return api[who]("POST", f"services/{name}/exec", json=body)


def test_a_command_runs_in_the_pod_with_its_exit_code_and_output(api, hello):
    r = run(
        api, "alice", {"command": ["sh", "-c", "echo out; echo err >&2; ls -d /private; exit 3"]}
    )
    assert r.status_code == 200, r.text
    (result,) = r.json()
    assert result["exit_code"] == 3 and not result["truncated"]
    assert {"out", "err", "/private"} <= set(result["output"].split())
    assert result["pod"].startswith("runner-") and result["container"] == "hello-kubernetes"


def test_output_and_time_are_bounded(api, hello):
    (big,) = run(
        api, "alice", {"command": ["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a"]}
    ).json()
    assert big["truncated"] and 0 < len(big["output"]) <= 64 * 1024 and big["exit_code"] == 0
    (slow,) = run(api, "alice", {"command": ["sleep", "20"], "timeout": 2}).json()
    assert slow["timed_out"] and slow["exit_code"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"command": "ls"},
        {"command": []},
        {"command": ["ls"], "timeout": 500},
        {"command": ["a\x00b"]},
    ],
)
def test_a_bad_request_is_refused_and_runs_nothing(api, hello, body):
    r = run(api, "alice", body)
    assert r.status_code == 400 and r.json()["reason"] == "bad-request"


def test_only_the_owner_and_admins_run_commands(api, hello):
    r = run(api, "bob", {"command": ["true"]})
    assert r.status_code == 404  # not in bob's namespace
    r = run(api, "bob", {"command": ["true"], "user": "alice"})
    assert r.status_code == 403 and r.json()["reason"] == "not-yours"
    r = run(api, "admin", {"command": ["echo", "admin was here"], "user": "alice"})
    assert r.status_code == 200 and r.json()[0]["output"] == "admin was here\n"


def test_karvdashctl_runs_a_command(ctl, hello):
    out = ctl("run_in_service", "runner", "--", "sh", "-c", "echo from ctl").stdout
    assert "from ctl" in out and "(exit 0)" in out


def test_karvdash_2s_exec_answers_its_shape(hub, tokens, hello):
    import requests

    r = requests.post(
        f"{hub.url}/services/karvdash/karvdash2/api/services/runner/",
        json={"command": ["echo", "compat"], "all_pods": 0},
        headers={"Authorization": f"Token {tokens['alice']}"},
        timeout=60,
    )
    assert r.status_code == 200 and r.json() == {"result": ["compat\n"]}


def test_the_service_page_runs_a_command(as_user, hub, hello, shots):
    page, watch = as_user("alice")
    open_page(page, hub.url + S + "services/runner", "#karvdash-run-command")
    page.fill("#karvdash-run-command", "echo page; id -u")
    page.click("#karvdash-run-form button[type=submit]")
    result = page.wait_for_selector(".karvdash-run-result pre", timeout=60_000)
    assert result.inner_text().split()[0] == "page"
    assert "exit 0" in page.inner_text(".karvdash-run-result")
    assert not watch.errors and not watch.dialogs
    page.locator("section:has(#karvdash-run-form)").screenshot(path=str(shots / "service-run.png"))


CALL_API = (
    "import json, os, urllib.request;"
    "r = urllib.request.Request(os.environ['KARVDASH_API_URL'] + 'services',"
    " headers={'Authorization': 'token ' + os.environ['KARVDASH_API_TOKEN']});"
    "print(sorted(s['name'] for s in json.load(urllib.request.urlopen(r, timeout=20))))"
)


def test_a_service_with_api_access_calls_the_api_from_its_pod(api, hello):
    """``api: true``: the pod has the API's URL and its owner's token, and reaches the
    dashboard with them from the real node."""
    from pathlib import Path

    import yaml

    import karvdash_hub

    path = Path(karvdash_hub.__file__).parent / "catalogue" / "hello-kubernetes.template.yaml"
    docs = list(yaml.safe_load_all(path.read_text()))
    docs[0] = {**docs[0], "name": "Hello with API access", "api": True}
    docs = [d for d in docs if d.get("kind") != "Ingress"]
    text = yaml.safe_dump_all(docs, sort_keys=False)
    r = api["alice"]("POST", "templates", json={"data": text, "id": "hello-api"})
    assert r.status_code == 201, r.text
    r = api["alice"](
        "POST", "services", json={"template": "hello-api", "variables": {"NAME": "caller"}}
    )
    assert r.status_code == 201, r.text
    try:
        wait_for(
            lambda: api["alice"]("GET", "services/caller").json()["status"]["ready"] >= 1,
            240,
            "caller ready on the real node",
            interval=1,
        )
        (result,) = run(api, "alice", {"command": ["python3", "-c", CALL_API]}, "caller").json()
        assert result["exit_code"] == 0, result
        assert result["output"].strip() == "['caller', 'runner']"
    finally:
        api["alice"]("DELETE", "services/caller")
        api["alice"]("DELETE", "templates/hello-api")
