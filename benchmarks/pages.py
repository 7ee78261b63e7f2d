"""Benchmark: server time of the dashboard's pages, against JupyterHub's own home page.

    python benchmarks/pages.py [--runs 40] [--kubeconfig PATH]

Starts the embedded default (hub, proxy, dashboard service: real processes, as the end to
end tests do) and, as the anchor, a stock JupyterHub (its own home page, no Karvdash),
both behind configurable-http-proxy on this machine. A user with 1, 100 and 1,000
services (Services and Ingresses labelled as Karvdash labels them, made directly in the
user's namespace) is logged in to both, and each request is timed from the client over
loopback (p50 and p95 of ``--runs`` requests, after a warm-up):

- the hub's home page (the HTML; its services box is filled by the page's script with
  the services list below, which is timed on its own);
- the dashboard's services page (the HTML) and the services list it shows
  (``GET api/services``, as the page's script asks for it: cookie and XSRF token);
- the stock JupyterHub home page of a user of that hub (the anchor).

The issue's goal: the home page no slower than 1.5 x the stock one at 100 services.
Without --kubeconfig it starts a local cluster in a temporary folder and stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import karvdash_localcluster as localcluster
import requests
from karvdash_localcluster import free_ports
from kubernetes_asyncio import client as kclient
from kubernetes_asyncio import config as kconfig

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.browser import approve  # noqa: E402
from support.hub import Browser, HubProcess, find_proxy  # noqa: E402

USER, PASSWORD = "bench", "bench-secret-7"


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def timed(gets: dict, runs: int) -> dict[str, list[float]]:
    """Each request ``runs`` times, taking turns (so that the machine's load falls on all
    of them alike), after 3 turns to warm up caches and connections."""
    times: dict[str, list[float]] = {name: [] for name in gets}
    for turn in range(runs + 3):
        for name, get in gets.items():
            t = time.perf_counter()
            r = get()
            elapsed = time.perf_counter() - t
            assert r.status_code == 200, (r.status_code, r.url, r.text[:300])
            if turn >= 3:
                times[name].append(elapsed)
    return times


def line(label: str, values: list[float], anchor: float | None = None) -> None:
    ratio = f"  {pct(values, 50) / anchor:4.2f} x anchor" if anchor else ""
    print(
        f"{label:<52} p50 {pct(values, 50) * 1000:7.1f} ms  p95 {pct(values, 95) * 1000:7.1f} ms"
        + ratio,
        flush=True,
    )


class StockHub:
    """A stock JupyterHub (its own pages and templates, a dummy authenticator)."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.port, hub_port, proxy_port = free_ports(3)
        self.url = f"http://127.0.0.1:{self.port}"
        config = folder / "jupyterhub_config.py"
        config.write_text(
            "c = get_config()  # noqa\n"
            f"c.JupyterHub.bind_url = '{self.url}'\n"
            f"c.JupyterHub.hub_port = {hub_port}\n"
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{proxy_port}'\n"
            f"c.ConfigurableHTTPProxy.auth_token = '{secrets.token_hex(16)}'\n"
            "c.JupyterHub.authenticator_class = 'dummy'\n"
            f"c.DummyAuthenticator.password = '{PASSWORD}'\n"
            "c.Authenticator.allow_all = True\n"
            f"c.JupyterHub.db_url = 'sqlite:///{folder / 'jupyterhub.sqlite'}'\n"
            f"c.JupyterHub.cookie_secret_file = '{folder / 'cookie_secret'}'\n"
        )
        path = [str(Path(find_proxy()).parent), str(Path(sys.executable).parent)]
        env = {**os.environ, "PATH": ":".join([*path, os.environ["PATH"]])}
        self.log = open(folder / "hub.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=folder,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/hub/api/", timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise RuntimeError("the stock hub did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


async def fill(kubeconfig: Path, namespace: str, have: int, want: int) -> None:
    """Make the user's services up to ``want``: a Service and an Ingress each."""
    api = await kconfig.new_client_from_config(config_file=str(kubeconfig))
    try:
        core, net = kclient.CoreV1Api(api), kclient.NetworkingV1Api(api)
        await core.patch_namespaced_resource_quota(
            "karvdash-quota", namespace, {"spec": {"hard": {"services": "5000"}}}
        )
        sem = asyncio.Semaphore(30)

        async def one(i):
            name = f"svc-{i}"
            labels = {
                "app.kubernetes.io/managed-by": "karvdash",
                "karvdash.io/user": USER,
                "karvdash.io/service": name,
                "karvdash.io/template": "hello-kubernetes",
            }
            meta = {"name": name, "labels": labels}
            backend = {"service": {"name": name, "port": {"number": 80}}}
            rule = {
                "host": f"{name}-{USER}.localtest.me",
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
            }
            async with sem:
                await core.create_namespaced_service(
                    namespace, {"metadata": meta, "spec": {"ports": [{"port": 80}]}}
                )
                await net.create_namespaced_ingress(
                    namespace, {"metadata": meta, "spec": {"rules": [rule]}}
                )

        await asyncio.gather(*(one(i) for i in range(have, want)))
    finally:
        await api.close()


def run(kubeconfig: Path, runs: int, work: Path) -> None:
    hub = HubProcess(work / "karvdash", kubeconfig)
    stock = StockHub(work / "stock")
    try:
        approve(hub, USER, PASSWORD)
        user = Browser(hub)
        assert user.login(USER, PASSWORD)
        # the service's login cookie, through the hub's OAuth (as a browser gets it)
        assert user.get("/services/karvdash/services").ok
        xsrf = next(c.value for c in user.s.cookies if c.name == "_xsrf" and "karvdash" in c.path)
        anchor_user = Browser(stock)
        r = anchor_user.post_form(
            "/hub/login", {"username": USER, "password": PASSWORD}, allow_redirects=False
        )
        assert r.status_code == 302, r.status_code

        def home():
            return user.get("/hub/home", timeout=60)

        def services_page():
            return user.get("/services/karvdash/services", timeout=60)

        def services_list():
            return user.get(
                "/services/karvdash/api/services", headers={"X-XSRFToken": xsrf}, timeout=60
            )

        def anchor():
            return anchor_user.get("/hub/home", timeout=60)

        have = 0
        print(
            f"{runs} requests each, taking turns, after 3 turns to warm up; times from the"
            " client over loopback"
        )
        for count in (1, 100, 1000):
            asyncio.run(fill(kubeconfig, hub.namespace(USER), have, count))
            have = count
            assert len(services_list().json()) == count
            t = timed(
                {
                    "anchor": anchor,
                    "home": home,
                    "page": services_page,
                    "list": services_list,
                },
                runs,
            )
            base = pct(t["anchor"], 50)
            print(f"-- {count} services")
            line("JupyterHub's own home page (anchor)", t["anchor"])
            line("hub home page (Karvdash's)", t["home"], base)
            line("dashboard services page", t["page"], base)
            line("services list the pages show (api/services)", t["list"], base)
    finally:
        stock.stop()
        hub.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--kubeconfig", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.kubeconfig:
            run(args.kubeconfig, args.runs, work)
        else:
            with localcluster.LocalCluster(work / "cluster") as cluster:
                run(cluster.kubeconfig, args.runs, work)


if __name__ == "__main__":
    main()
