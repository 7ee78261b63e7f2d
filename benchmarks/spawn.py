"""Benchmark: from login to a ready JupyterLab, a real pod against a local process; and a
PostgreSQL launch until its pods are Ready, on the local cluster's real node.

    python benchmarks/spawn.py [--runs 5] [--launches 3] [--kubeconfig PATH]

Starts two embedded defaults (hub, proxy, dashboard service: real processes, as the end
to end tests do) on one cluster with a real node: one whose notebooks are pods
(``KARVDASH_NOTEBOOKS=pods``: KarvdashSpawner, the single-user image pulled by the node,
``imagePullPolicy: Always`` against the local registry) and, as the anchor, one whose
notebooks are local processes (``processes``: LocalKarvdashSpawner). For each, a user
signed up and approved; then, taking turns, ``--runs`` times:

- login to JupyterLab ready: a new session gets the login page, then the clock runs from
  the login POST, through the start of the server (``POST /hub/api/users/<name>/server``,
  what the home page's Start button does), until ``/user/<name>/lab`` answers 200 through
  the proxy (the single-user server's OAuth with the hub included), asked every 0.1 s;
- then the server is stopped (``DELETE``) and the time until the hub has no server for
  the user (and, for pods, the namespace has no pod) is printed beside it.

One first spawn of each, before the timed ones, is printed on its own: on a new cluster
the node pulls the single-user image then, and the user's namespace is made.

Then, with the pod hub's user: the built-in PostgreSQL template launched through the
dashboard API (``POST services``), timed until every pod of the service is Ready (and,
for reading it, until its container runs: the template's readiness probe first asks 5 s
after the start, then every 10 s, which sets the pace). One first launch (the node pulls
the image), then ``--launches`` timed ones; each is stopped and its pods and volume claim
gone before the next.

p50 (the median), min and max; no figure is checked against a goal. Without
--kubeconfig it starts a local cluster with a real node in a temporary folder (needs root
and a machine that can run containers) and stops it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import karvdash_localcluster as localcluster
from karvdash_localcluster.images import ensure_images
from kubernetes import client, config

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.browser import Api, approve, token_for  # noqa: E402
from support.cluster import wait_for  # noqa: E402
from support.hub import Browser, HubProcess  # noqa: E402

from karvdash_hub import __version__  # noqa: E402

USER, PASSWORD = "bench", "bench-secret-7"
IMAGES = [f"karvdash/singleuser:{__version__}", "postgres:17"]


def pods(core: client.CoreV1Api, namespace: str, selector: str = "") -> list:
    return core.list_namespaced_pod(namespace, label_selector=selector).items


def lab_ready(hub: HubProcess, timeout: float) -> float:
    """Seconds from the login POST until the user's JupyterLab answers."""
    b = Browser(hub)
    b.s.get(hub.url + "/hub/login")
    xsrf = b.xsrf()
    t = time.perf_counter()
    r = b.s.post(
        hub.url + "/hub/login",
        data={"username": USER, "password": PASSWORD, "_xsrf": xsrf},
        allow_redirects=False,
    )
    assert r.status_code == 302, (r.status_code, r.text[:300])
    r = b.api("POST", f"/users/{USER}/server")
    assert r.status_code in (201, 202), (r.status_code, r.text[:300])
    lab = f"/user/{USER}/lab"

    def answers():
        r = b.get(lab, timeout=60)
        return r.status_code == 200 and urlparse(r.url).path == lab and "JupyterLab" in r.text

    wait_for(answers, timeout, f"{lab} on {hub.url}", interval=0.1)
    return time.perf_counter() - t


def stop_server(hub: HubProcess, core: client.CoreV1Api | None) -> float:
    """Seconds until the hub has no server for the user (and their namespace no pod)."""
    b = Browser(hub)
    assert b.login(USER, PASSWORD)
    t = time.perf_counter()
    r = b.api("DELETE", f"/users/{USER}/server")
    assert r.status_code in (202, 204), (r.status_code, r.text[:300])

    def gone():
        model = b.api("GET", f"/users/{USER}").json()
        if model.get("servers", {}).get(""):
            return False
        return core is None or not pods(core, hub.namespace(USER))

    wait_for(gone, 120, "the server to stop")
    return time.perf_counter() - t


def postgres_ready(api: Api, core: client.CoreV1Api, namespace: str, name: str):
    """(seconds until the container runs, until every pod is Ready), from the POST."""
    selector = f"karvdash.io/service={name}"
    t = time.perf_counter()
    r = api(
        "POST",
        "services",
        json={"template": "postgres", "variables": {"NAME": name, "PASSWORD": "bench-pw-42"}},
    )
    assert r.status_code == 201, (r.status_code, r.text[:300])
    assert r.json()["name"] == name, r.text
    running = None
    while time.perf_counter() - t < 300:
        found = pods(core, namespace, selector)
        statuses = [s for p in found for s in (p.status.container_statuses or [])]
        if running is None and statuses and all(s.state.running for s in statuses):
            running = time.perf_counter() - t
        if found and all(
            any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
            for p in found
        ):
            return running or time.perf_counter() - t, time.perf_counter() - t
        time.sleep(0.1)
    raise RuntimeError(f"{name}'s pods were not Ready after 300 s")


def stop_service(api: Api, core: client.CoreV1Api, namespace: str, name: str) -> None:
    selector = f"karvdash.io/service={name}"
    r = api("DELETE", f"services/{name}")
    assert r.status_code == 200, (r.status_code, r.text[:300])
    claims = core.list_namespaced_persistent_volume_claim

    def gone():
        return (
            not pods(core, namespace, selector)
            and not claims(namespace, label_selector=selector).items
        )

    wait_for(gone, 120, f"{name}'s pods and volume claim to be gone")


def show(label: str, values: list[float], extra: str = "") -> None:
    print(
        f"  {label:<34} p50 {statistics.median(values):6.2f} s  min {min(values):6.2f} s"
        f"  max {max(values):6.2f} s  (n={len(values)}){extra}",
        flush=True,
    )


def run(kubeconfig: Path, runs: int, launches: int, work: Path) -> None:
    node = json.loads((kubeconfig.parent / "node.json").read_text())
    if node.get("mode") != "real" or not node.get("registry"):
        raise SystemExit(f"no real node beside {kubeconfig}: {node.get('reason', node)}")
    ensure_images(node["registry"], IMAGES, log=lambda _: None)
    kube = config.new_client_from_config(config_file=str(kubeconfig))
    core = client.CoreV1Api(kube)
    hubs: dict[str, HubProcess] = {}
    try:
        hubs["pod"] = HubProcess(work / "pods", kubeconfig, notebooks="pods")
        hubs["process"] = HubProcess(work / "processes", kubeconfig, notebooks="processes")
        for hub in hubs.values():
            approve(hub, USER, PASSWORD)
        cores = {"pod": core, "process": None}
        labels = {"pod": "real pod (KarvdashSpawner)", "process": "local process (anchor)"}
        print(
            f"login POST to /user/<name>/lab answering 200 through the proxy; {runs} spawns"
            " of each, taking turns, each server stopped before the next"
        )
        for kind, hub in hubs.items():
            first = lab_ready(hub, timeout=600)
            stop_server(hub, cores[kind])
            print(f"  first spawn, {labels[kind]:<34} {first:6.2f} s (untimed in the p50)")
        ready: dict[str, list[float]] = {kind: [] for kind in hubs}
        stops: dict[str, list[float]] = {kind: [] for kind in hubs}
        for _ in range(runs):
            for kind, hub in hubs.items():
                ready[kind].append(lab_ready(hub, timeout=300))
                stops[kind].append(stop_server(hub, cores[kind]))
        for kind in hubs:
            show(labels[kind], ready[kind], f"  stop p50 {statistics.median(stops[kind]):5.2f} s")
        ratio = statistics.median(ready["pod"]) / statistics.median(ready["process"])
        print(f"  p50 real pod / p50 local process: {ratio:4.1f} x", flush=True)

        hub = hubs["pod"]
        api, namespace = Api(hub, token_for(hub, USER, PASSWORD)), hub.namespace(USER)
        print(
            f"PostgreSQL (built-in template, POST services) to all pods Ready on the real node;"
            f" {launches} launches, each stopped before the next"
        )
        running, first = postgres_ready(api, core, namespace, "pg0")
        stop_service(api, core, namespace, "pg0")
        print(f"  {'first launch (image pull)':<34} Ready {first:6.2f} s (running {running:.2f} s)")
        started, ready_pg = [], []
        for i in range(1, launches + 1):
            running, done = postgres_ready(api, core, namespace, f"pg{i}")
            started.append(running)
            ready_pg.append(done)
            stop_service(api, core, namespace, f"pg{i}")
        show("container running", started)
        show("all pods Ready", ready_pg)
    finally:
        for hub in hubs.values():
            hub.stop()
        kube.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="spawns of each kind (default 5)")
    parser.add_argument("--launches", type=int, default=3, help="PostgreSQL launches (3)")
    parser.add_argument("--kubeconfig", type=Path, help="a running cluster with a real node")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="karvdash-spawn-bench-") as tmp:
        work = Path(tmp)
        if args.kubeconfig:
            run(args.kubeconfig, args.runs, args.launches, work)
        else:
            with localcluster.LocalCluster(work / "cluster", node="real") as cluster:
                run(cluster.kubeconfig, args.runs, args.launches, work)


if __name__ == "__main__":
    main()
