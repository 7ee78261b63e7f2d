"""The identity service in a real browser (Debian's Chromium through Playwright): a second,
real JupyterHub configured with oauthenticator's GenericOAuthenticator (the embedded
default with ``KARVDASH_AUTH=generic-oauth``) logs a user in through the first hub's
OpenID Connect provider, consent page included; and the admins' Applications page
registers, shows the secret once, disables and deletes.

The second hub is reached as ``localhost`` and the first as ``127.0.0.1``: the browser
keeps the two hubs' cookies apart (cookies do not care about ports, host names do).
Set KARVDASH_SCREENSHOTS to a folder to keep the screenshots (``identity-*.png``)."""

from __future__ import annotations

import json

import pytest
from karvdash_localcluster import free_ports
from support.parts import hub_with

pytestmark = pytest.mark.e2e

S = "/services/karvdash/"


@pytest.fixture(scope="module")
def hub(tmp_path_factory, kubeconfig):
    h = hub_with(tmp_path_factory, kubeconfig, KARVDASH_IDENTITY="on")
    yield h
    h.stop()


@pytest.fixture(scope="module")
def second_hub(hub, api, tmp_path_factory, kubeconfig):
    """Another JupyterHub whose only login is the first hub's identity service."""
    from support.hub import HubProcess

    ports = free_ports(6)
    callback = f"http://localhost:{ports[0]}/hub/oauth_callback"
    r = api["admin"]("POST", "clients", json={"name": "Second hub", "redirect_uris": [callback]})
    assert r.status_code == 201, r.text
    client = r.json()
    h = HubProcess(
        tmp_path_factory.mktemp("hub2"),
        kubeconfig,
        admin_password=None,
        ports=ports,
        environment={
            "KARVDASH_AUTH": "generic-oauth",
            "KARVDASH_OAUTH_CLIENT_ID": client["client_id"],
            "KARVDASH_OAUTH_CLIENT_SECRET": client["client_secret"],
            "KARVDASH_OAUTH_CALLBACK_URL": callback,
            "KARVDASH_OAUTH_AUTHORIZE_URL": hub.issuer + "/authorize",
            "KARVDASH_OAUTH_TOKEN_URL": hub.issuer + "/token",
            "KARVDASH_OAUTH_USERDATA_URL": hub.issuer + "/userinfo",
        },
    )
    h.browser_url = f"http://localhost:{ports[0]}"
    h.client = client
    yield h
    h.stop()


def test_a_second_jupyterhub_logs_its_user_in_through_the_identity_service(
    browser, hub, second_hub, users, shots
):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(second_hub.browser_url + "/hub/login?next=%2Fhub%2Fhome")
        page.click("a[href*='oauth_login']")
        # the first hub's login page (its own, for its own account)
        page.wait_for_url(lambda url: url.startswith(hub.url + "/hub/login"), timeout=30_000)
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", users["alice"])
        page.click("input[type=submit], button[type=submit]")
        # then what the second hub will learn, asked once
        page.wait_for_selector(".karvdash-consent", timeout=30_000)
        text = page.inner_text(".karvdash-consent")
        assert "Second hub" in text and "alice" in text
        assert f"localhost:{second_hub.port}" in text
        page.screenshot(path=str(shots / "identity-consent.png"), full_page=True)
        page.click("button[value=allow]")
        page.wait_for_url(second_hub.browser_url + "/hub/home", timeout=30_000)
        # the second hub knows alice by the name the first gave (its home page is hers)
        assert page.get_attribute("#karvdash", "data-me") == "alice"
        page.wait_for_function("() => !document.body.innerText.includes('Loading')")
        page.screenshot(path=str(shots / "identity-second-hub.png"))
    finally:
        context.close()


def test_a_second_login_is_not_asked_again(browser, hub, second_hub, users):
    context = browser.new_context()
    page = context.new_page()
    try:
        # logged in to the first hub already: no login page, no consent page (given above)
        page.goto(hub.url + "/hub/login?next=%2Fhub%2Fhome")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", users["alice"])
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_url(hub.url + "/hub/home", timeout=30_000)
        seen = []
        page.on("framenavigated", lambda frame: seen.append(frame.url))
        page.goto(second_hub.browser_url + "/hub/login?next=%2Fhub%2Fhome")
        page.click("a[href*='oauth_login']")
        page.wait_for_url(second_hub.browser_url + "/hub/home", timeout=30_000)
        assert not any(u.startswith(hub.url + "/hub/login") for u in seen), seen
        assert page.query_selector(".karvdash-consent") is None
    finally:
        context.close()


def test_admins_register_disable_and_delete_applications_on_their_page(as_user, hub, api, shots):
    page, watch = as_user("admin")
    page.goto(hub.url + S + "clients")
    page.wait_for_selector("#karvdash-clients tbody tr")
    page.fill("#karvdash-client-name", "Grafana")
    page.fill("#karvdash-client-uris", "https://grafana.example.org/login/generic_oauth")
    page.click("#karvdash-register-form button[type=submit]")
    secret = page.wait_for_selector(".karvdash-client-secret").inner_text()
    client_id = page.inner_text(".karvdash-secret .karvdash-client-id")
    listed = api["admin"]("GET", f"clients/{client_id}").json()
    assert listed["name"] == "Grafana" and "client_secret" not in listed and len(secret) >= 32
    row = f"#karvdash-clients tr[data-client='{client_id}']"
    page.wait_for_selector(row)
    page.screenshot(path=str(shots / "identity-applications.png"), full_page=True)
    page.click(f"{row} button:has-text('Disable')")
    page.wait_for_function(
        f'() => document.querySelector("{row} .karvdash-client-state")'
        ".textContent.includes('disabled')"
    )
    assert api["admin"]("GET", f"clients/{client_id}").json()["disabled"] is True
    # a bad redirect URI: the server's message at the form, nothing registered
    page.fill("#karvdash-client-name", "Plain http")
    page.fill("#karvdash-client-uris", "http://app.example.org/cb")
    page.click("#karvdash-register-form button[type=submit]")
    assert "https" in page.wait_for_selector("#karvdash-register-error .alert").inner_text()
    page.click(f"{row} button:has-text('Delete')")
    page.click("dialog button[value=confirm]")
    page.wait_for_selector(row, state="detached")
    assert api["admin"]("GET", f"clients/{client_id}").status_code == 404
    assert not watch.errors and not watch.dialogs
    assert not watch.console_errors(allowed=("400",))  # the refused registration


def test_the_applications_page_is_not_found_for_users(as_user, hub):
    page, _ = as_user("bob")
    answer = page.goto(hub.url + S + "clients")
    assert answer.status == 404
    assert page.query_selector("#karvdash-register-form") is None
    nav = [a.inner_text() for a in page.query_selector_all("nav a")]
    assert "Applications" not in nav


def test_the_second_hubs_client_is_listed_with_its_facts(api, second_hub):
    clients = {c["client_id"]: c for c in api["admin"]("GET", "clients").json()["clients"]}
    mine = clients[second_hub.client["client_id"]]
    assert mine["redirect_uris"] == [f"{second_hub.browser_url}/hub/oauth_callback"]
    assert mine["created_by"] == "admin" and "client_secret" not in mine
    assert second_hub.client["client_secret"] not in json.dumps(clients)
