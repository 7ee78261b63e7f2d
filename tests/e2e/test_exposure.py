"""Services exposed under one HTTPS endpoint, behind their owner's login, for real: the
local cluster's ingress (Caddy, built from its Go module) serves the Ingress of a service
that runs on the real node, over HTTPS with its own certificate authority, and asks the
gateway (the dashboard's gateway/check) before letting anyone in. Driven by Chromium (the
login round trip) and by an HTTPS client that checks the certificate (cookies by hand).

These need the real node: on CI a machine without one fails them (``missing_part``)."""

from __future__ import annotations

import http.client
import socket
import ssl
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import yaml
from support.browser import CHROMIUM_ARGS, chromium_path
from support.cluster import wait_for
from support.hub import Browser, HubProcess
from support.oidc import follow_until
from support.parts import missing_part, real_node_with

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

HELLO = "paulbouwer/hello-kubernetes:1.10"
COOKIE = "_karvdash_gateway"


@pytest.fixture(scope="module")
def ingress(real_cluster) -> dict:
    info = real_node_with(real_cluster, [HELLO])
    if not info.get("ingress"):
        missing_part("the local cluster's ingress (Caddy, built from localcluster/ingress)")
    return info["ingress"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory, real_kubeconfig, ingress):
    h = HubProcess(tmp_path_factory.mktemp("exposurehub"), real_kubeconfig)
    yield h
    h.stop()


@pytest.fixture(scope="module")
def browser(ingress):
    """Chromium that finds every service host on this machine (no DNS here)."""
    path = chromium_path()
    if path is None:
        missing_part("Chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        args = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP *.localtest.me 127.0.0.1"]
        b = pw.chromium.launch(executable_path=path, args=args)
        yield b
        b.close()


def launch(api, who: str, template: str, message: str, ca: str) -> str:
    name = f"hello-{uuid.uuid4().hex[:4]}"
    body = {"template": template, "variables": {"NAME": name, "MESSAGE": message}}
    r = api[who]("POST", "services", json=body)
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert url and url.startswith("https://"), r.json()

    def ready():
        found = api[who]("GET", f"services/{r.json()['name']}").json()
        return found["status"]["ready"] >= 1

    wait_for(ready, 240, f"{name} ready on the real node", interval=1)
    # and the ingress has its endpoints (it looks at the cluster every second)
    wait_for(lambda: get(url, ca).status != 503, 30, f"the ingress serving {name}", interval=0.5)
    return url


@pytest.fixture(scope="module")
def owned(api, ingress):
    """A service of alice that asks for her login (the catalogue's hello-kubernetes)."""
    return launch(api, "alice", "hello-kubernetes", "only for alice", ingress["root_certificate"])


@pytest.fixture(scope="module")
def public(api, ingress):
    """A service of alice whose template says ``auth: false``."""
    import karvdash_hub

    catalogue = Path(karvdash_hub.__file__).parent / "catalogue"
    docs = list(yaml.safe_load_all((catalogue / "hello-kubernetes.template.yaml").read_text()))
    docs[0] = {**docs[0], "name": "Open hello", "auth": False}
    text = yaml.safe_dump_all(docs, sort_keys=False)
    r = api["alice"]("POST", "templates", json={"data": text, "id": "open-hello"})
    assert r.status_code == 201, r.text
    return launch(api, "alice", "open-hello", "open to all", ingress["root_certificate"])


def get(url: str, ca: str, cookie: str | None = None) -> http.client.HTTPResponse:
    """GET over HTTPS to the local ingress, the certificate checked against its CA for
    the URL's host name (which is resolved to this machine, as the browser's is). A
    connection closed before any answer is tried once more, as browsers do: the ingress
    reloads its configuration when a service comes or goes, and a connection it had just
    accepted may be closed then."""
    try:
        return _get(url, ca, cookie)
    except (http.client.RemoteDisconnected, ConnectionResetError):
        return _get(url, ca, cookie)


def _get(url: str, ca: str, cookie: str | None) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=ca)
    sock = socket.create_connection(("127.0.0.1", parts.port or 443), timeout=30)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=context)
    conn.sock = context.wrap_socket(sock, server_hostname=parts.hostname)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn.request("GET", target, headers={"Cookie": cookie} if cookie else {})
    answer = conn.getresponse()
    answer.body = answer.read()
    conn.close()
    return answer


def visit(browser, hub, url: str, who: str, password: str):
    """A browser that opens ``url`` and logs in at the hub when sent there: its page, the
    answer it ended at, and its context (to read cookies)."""
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    answer = page.goto(url)
    if page.url.startswith(hub.url + "/hub/login"):
        page.fill("input[name=username]", who)
        page.fill("input[name=password]", password)
        with page.expect_navigation(
            url=lambda u: not u.startswith(hub.url + "/hub/login"), timeout=30_000
        ) as navigation:
            page.click("input[type=submit], button[type=submit]")
        answer = navigation.value
    return page, answer, context


def test_an_anonymous_visitor_logs_in_and_comes_back_to_the_service(browser, hub, users, owned):
    page, _, context = visit(browser, hub, owned, "alice", users["alice"])
    try:
        page.wait_for_url(lambda u: u.startswith(owned), timeout=30_000)
        assert "only for alice" in page.content()
        (cookie,) = [c for c in context.cookies() if c["name"] == COOKIE]
        host = urlsplit(owned).hostname
        assert cookie["domain"] == host  # host-only: no other service gets it
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
    finally:
        context.close()


def test_the_certificate_is_the_local_cas_for_the_services_host(owned, ingress):
    answer = get(owned, ingress["root_certificate"])
    assert answer.status == 302  # to the hub's sign-in: not logged in
    with pytest.raises(ssl.SSLError):
        get(owned, ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")


def test_another_user_is_refused_and_an_admin_gets_through(browser, hub, users, owned):
    page, answer, context = visit(browser, hub, owned, "bob", users["bob"])
    try:
        assert answer.status == 403 and "Not yours" in page.content()
        assert not page.url.startswith(owned)
        assert not [c for c in context.cookies() if c["name"] == COOKIE]
    finally:
        context.close()
    page, _, context = visit(browser, hub, owned, "admin", users["admin"])
    try:
        page.wait_for_url(lambda u: u.startswith(owned), timeout=30_000)
        assert "only for alice" in page.content()
    finally:
        context.close()


def test_a_cookie_of_one_host_gives_nothing_on_another(browser, hub, api, users, owned, ingress):
    page, _, context = visit(browser, hub, owned, "alice", users["alice"])
    try:
        page.wait_for_url(lambda u: u.startswith(owned), timeout=30_000)
        (cookie,) = [c for c in context.cookies() if c["name"] == COOKIE]
    finally:
        context.close()
    ca = ingress["root_certificate"]
    with_cookie = f"{COOKIE}={cookie['value']}"
    assert get(owned, ca, with_cookie).status == 200
    # bob's service, and another of alice's own: the cookie is bound to its host
    bobs = launch(api, "bob", "hello-kubernetes", "only for bob", ca)
    for other in (bobs, launch(api, "alice", "hello-kubernetes", "alice again", ca)):
        answer = get(other, ca, with_cookie)
        assert answer.status == 302 and "/gateway/signin" in answer.getheader("Location")
    # a forged or stale cookie is no cookie
    assert get(owned, ca, f"{COOKIE}={cookie['value'][:-2]}xx").status == 302


def test_a_service_whose_template_says_auth_false_is_public(public, ingress):
    answer = get(public, ingress["root_certificate"])
    assert answer.status == 200 and b"open to all" in answer.body


def test_the_callback_takes_a_code_once_and_no_forged_one(hub, users, owned, ingress):
    ca, host = ingress["root_certificate"], urlsplit(owned).netloc
    for code in ("nonsense", "a.b"):
        answer = get(f"https://{host}/_karvdash/callback?code={code}&rd=/", ca)
        assert answer.status == 403 and not answer.getheader("Set-Cookie")
    alice = Browser(hub)
    assert alice.login("alice", users["alice"])
    signin = f"{hub.url}/services/karvdash/gateway/signin?rd={quote(owned, safe='')}"
    callback = follow_until(alice.s, signin, f"https://{host}/_karvdash/callback")
    first = get(callback, ca)
    assert first.status == 302 and first.getheader("Location") == "/"
    assert first.getheader("Set-Cookie").startswith(f"{COOKIE}=")
    again = get(callback, ca)  # the same code, replayed
    assert again.status == 403 and not again.getheader("Set-Cookie")
