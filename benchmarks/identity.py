"""Benchmark: the identity service and the gateway, on this machine, each against an anchor.

    python benchmarks/identity.py [--runs 100]

Starts a local cluster with its real node and ingress (Caddy) in a temporary folder and
the embedded default on it with the identity service on (real processes), and times from
the client over loopback (p50 and p95 of ``--runs`` requests, after a warm-up):

- OpenID Connect: a whole login of an application whose user is logged in to the hub
  (authorize, redirected with a code, then the token request), a refresh, and userinfo;
  the anchor is the hub's own REST API answering who a token belongs to
  (``GET /hub/api/user``), the cheapest authenticated request there is;
- the gateway: a GET of a running service's page through the ingress with the owner's
  cookie (Caddy asks ``gateway/check`` first), against the same page of a service whose
  template says ``auth: false`` (no forward authentication: the anchor).
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import ssl
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import karvdash_localcluster as localcluster
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.browser import approve, token_for  # noqa: E402
from support.hub import Browser, HubProcess  # noqa: E402
from support.oidc import TEST_SECRET, follow_until, query_of  # noqa: E402

CALLBACK = "http://127.0.0.1:9/cb"
USER, PASSWORD = "bench", "bench-secret-7"


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def timed(gets: dict, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in gets}
    for turn in range(runs + 3):
        for name, get in gets.items():
            t = time.perf_counter()
            get()
            if turn >= 3:
                times[name].append((time.perf_counter() - t) * 1000)
    return times


def https_get(url: str, ca: str, cookie: str | None = None) -> int:
    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=ca)
    sock = socket.create_connection(("127.0.0.1", parts.port), timeout=30)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=context)
    conn.sock = context.wrap_socket(sock, server_hostname=parts.hostname)
    conn.request("GET", parts.path or "/", headers={"Cookie": cookie} if cookie else {})
    answer = conn.getresponse()
    answer.read()
    conn.close()
    return answer.status


def launch(api_get, api_post, template: str, name: str) -> str:
    r = api_post("services", {"template": template, "variables": {"NAME": name}})
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if api_get(f"services/{name}").json()["status"]["ready"] >= 1:
            return r.json()["url"]
        time.sleep(1)
    raise SystemExit(f"{name} did not get ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cluster = localcluster.LocalCluster(Path(tmp) / "cluster", node="real").start(600)
        try:
            from karvdash_localcluster.images import ensure_images

            ensure_images(cluster.info["registry"], ["paulbouwer/hello-kubernetes:1.10"])
            clients = [
                {
                    "client_id": "bench",
                    "client_secret": TEST_SECRET,
                    "redirect_uris": [CALLBACK],
                    "trusted": True,
                }
            ]
            hub = HubProcess(
                Path(tmp) / "hub",
                cluster.kubeconfig,
                environment={
                    "KARVDASH_IDENTITY": "on",
                    "KARVDASH_OIDC_CLIENTS": json.dumps(clients),
                },
            )
            try:
                run(hub, cluster, args.runs)
            finally:
                hub.stop()
        finally:
            cluster.stop()


def run(hub: HubProcess, cluster, runs: int) -> None:
    approve(hub, USER, PASSWORD)
    token = token_for(hub, USER, PASSWORD)
    headers = {"Authorization": f"token {token}"}
    api = hub.url + "/services/karvdash/api/"
    browser = Browser(hub)
    assert browser.login(USER, PASSWORD)
    discovery = httpx.get(hub.issuer + "/.well-known/openid-configuration").json()
    query = {"response_type": "code", "client_id": "bench", "redirect_uri": CALLBACK}
    authorize = (
        discovery["authorization_endpoint"]
        + "?scope=openid%20profile&"
        + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    )
    state = {}

    def login():
        back = follow_until(browser.s, authorize, CALLBACK)
        data = {"grant_type": "authorization_code", "code": query_of(back)["code"]}
        data["redirect_uri"] = CALLBACK
        r = httpx.post(discovery["token_endpoint"], data=data, auth=("bench", TEST_SECRET))
        state.update(r.json())

    login()

    def refresh():
        data = {"grant_type": "refresh_token", "refresh_token": state["refresh_token"]}
        r = httpx.post(discovery["token_endpoint"], data=data, auth=("bench", TEST_SECRET))
        state.update(r.json())

    def userinfo():
        bearer = {"Authorization": f"Bearer {state['access_token']}"}
        assert httpx.get(discovery["userinfo_endpoint"], headers=bearer).status_code == 200

    def hub_user():
        assert requests.get(hub.url + "/hub/api/user", headers=headers).status_code == 200

    oidc = timed(
        {
            "hub API /user (anchor)": hub_user,
            "userinfo": userinfo,
            "refresh": refresh,
            "login": login,
        },
        runs,
    )

    def api_get(path):
        return requests.get(api + path, headers=headers, timeout=60)

    def api_post(path, body):
        return requests.post(api + path, headers=headers, json=body, timeout=120)

    owned = launch(api_get, api_post, "hello-kubernetes", "owned")
    text = (REPO / "karvdash_hub" / "catalogue" / "hello-kubernetes.template.yaml").read_text()
    public_text = text.replace("auth: true", "auth: false").replace("Hello Kubernetes", "Open")
    assert api_post("templates", {"data": public_text, "id": "open"}).status_code == 201
    public = launch(api_get, api_post, "open", "public")
    ca = cluster.info["ingress"]["root_certificate"]
    signin = f"{hub.url}/services/karvdash/gateway/signin?rd={quote(owned, safe='')}"
    callback = follow_until(browser.s, signin, f"https://{urlsplit(owned).netloc}/_karvdash/")
    parts = urlsplit(callback)
    context = ssl.create_default_context(cafile=ca)
    sock = socket.create_connection(("127.0.0.1", parts.port), timeout=30)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=context)
    conn.sock = context.wrap_socket(sock, server_hostname=parts.hostname)
    conn.request("GET", f"{parts.path}?{parts.query}")
    cookie = conn.getresponse().getheader("Set-Cookie").split(";", 1)[0]
    conn.close()
    for _ in range(30):  # the ingress has the endpoints
        if https_get(public, ca) == 200 and https_get(owned, ca, cookie) == 200:
            break
        time.sleep(1)
    gateway = timed(
        {
            "auth: false page (anchor)": lambda: https_get(public, ca),
            "owner's page through gateway/check": lambda: https_get(owned, ca, cookie),
        },
        runs,
    )
    print(f"identity and gateway, {runs} runs each (ms)")
    for name, values in {**oidc, **gateway}.items():
        print(f"  {name:40} p50 {pct(values, 50):7.1f}  p95 {pct(values, 95):7.1f}")


if __name__ == "__main__":
    main()
