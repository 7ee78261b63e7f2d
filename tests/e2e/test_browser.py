"""The same journey in a real browser (Chromium through Playwright): sign-up page,
admin approval page, the hub's home page and JupyterLab with /private and /shared.

Set KARVDASH_SCREENSHOTS to a folder to keep the screenshots (``make screenshots``
writes the documentation's)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.hub import Browser

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("KARVDASH_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_sign_up_approval_and_jupyterlab_in_a_browser(browser, hub, shots):
    page = browser.new_page(viewport={"width": 1200, "height": 760})
    page.goto(hub.url + "/hub/signup")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=signup_password]", "erin-secret-7")
    page.fill("input[name=signup_password_confirmation]", "erin-secret-7")
    page.screenshot(path=str(shots / "signup.png"))
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_selector("text=/sent to the admin/", timeout=30_000)

    page.goto(hub.url + "/hub/login")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "erin-secret-7")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_selector("text=/has not been authorized/", timeout=30_000)
    page.screenshot(path=str(shots / "login-not-approved.png"))

    admin = browser.new_page(viewport={"width": 1200, "height": 760})
    admin.goto(hub.url + "/hub/login")
    admin.fill("input[name=username]", "admin")
    admin.fill("input[name=password]", hub.admin_password)
    admin.click("input[type=submit], button[type=submit]")
    admin.wait_for_url("**/hub/**spawn**", timeout=30_000)
    admin.goto(hub.url + "/hub/authorize")
    assert "erin" in admin.content()
    admin.screenshot(path=str(shots / "authorize.png"))
    admin.goto(hub.url + "/hub/authorize/erin")

    page.goto(hub.url + "/hub/login")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "erin-secret-7")
    page.click("input[type=submit], button[type=submit]")
    # the default: log in, the server starts, JupyterLab opens in /private
    try:
        page.wait_for_url("**/user/erin/lab**", timeout=120_000)
        page.wait_for_selector(".jp-DirListing-content", timeout=90_000)
    except Exception:
        page.screenshot(path=str(shots / "failed-lab.png"))
        raise AssertionError(
            f"JupyterLab did not open: at {page.url}: {page.inner_text('body')[:800]}"
            f"\nhub log: {hub.log.read_text()[-3000:]}"
        ) from None
    page.screenshot(path=str(shots / "jupyterlab.png"))
    page.goto(hub.url + "/user/erin/lab/tree")
    # The listing's items can be laid out lazily (and count as hidden to Playwright
    # on a loaded machine), so wait for the names in the listing's DOM instead.
    listed = """() => Array.from(
        document.querySelectorAll('.jp-DirListing-content .jp-DirListing-itemText'),
        (item) => item.textContent.trim())"""
    page.wait_for_function(f"() => ({listed})().includes('shared')", timeout=60_000)
    names = page.evaluate(listed)
    assert "private" in names and "shared" in names, names

    admin.goto(hub.url + "/hub/admin")
    admin.wait_for_load_state("networkidle")
    admin.screenshot(path=str(shots / "admin.png"))
    assert "erin" in admin.inner_text("body"), admin.inner_text("body")[:500]

    page.goto(hub.url + "/hub/home")
    assert "Stop My Server" in page.content()
    page.screenshot(path=str(shots / "home.png"))
    page.close()
    admin.close()


def browser_login(browser, hub, name, password):
    page = browser.new_page(viewport={"width": 1200, "height": 760})
    page.goto(hub.url + "/hub/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(lambda url: "/hub/login" not in url, timeout=30_000)
    return page


def page_json(page, url):
    response = page.goto(url)
    return response.status, json.loads(page.inner_text("body"))


def fetch(page, method, url, body=None, xsrf=False):
    """fetch() from the page itself: the browser sends its own cookies."""
    return page.evaluate(
        """async ([method, url, body, xsrf]) => {
            const headers = {"Content-Type": "application/json"};
            if (xsrf) {
                const found = document.cookie.split("; ").find((c) => c.startsWith("_xsrf="));
                headers["X-XSRFToken"] = found ? found.slice(6) : "";
            }
            const r = await fetch(url, {method, headers, credentials: "same-origin",
                body: body === null ? undefined : JSON.stringify(body)});
            return [r.status, await r.json()];
        }""",
        [method, url, body, xsrf],
    )


def test_the_dashboard_api_in_a_browser_logs_in_through_the_hub(browser, hub):
    """HubOAuth: a logged-in browser reaches the API without a token; a write needs the
    service's XSRF token (a cross-site form or script cannot launch anything); a user
    only ever gets their own services."""
    signup, admin = Browser(hub), Browser(hub)
    signup.signup("frank", "frank-secret-5")
    assert admin.login("admin", hub.admin_password)
    admin.get("/hub/authorize/frank")

    page = browser_login(browser, hub, "frank", "frank-secret-5")
    api = hub.url + "/services/karvdash/api/"
    status, me = page_json(page, api + "user")
    assert status == 200 and me["name"] == "frank" and me["admin"] is False, me
    assert me["namespace"] == hub.namespace("frank")
    # the OAuth round trip ended back on the service, which set its own cookie
    assert page.url == api + "user"

    launch = {"template": "hello-kubernetes", "variables": {"NAME": "hello"}}
    status, body = fetch(page, "POST", api + "services", launch)
    assert status in (401, 403), (status, body)
    assert page_json(page, api + "services") == (200, [])

    status, body = fetch(page, "POST", api + "services", launch, xsrf=True)
    assert status == 201, (status, body)
    assert body["name"] == "hello" and body["namespace"] == hub.namespace("frank"), body
    status, listed = page_json(page, api + "services")
    assert status == 200 and [s["name"] for s in listed] == ["hello"], listed

    status, body = page_json(page, api + "services?user=admin")
    assert status == 403 and body["reason"] == "not-yours", body

    status, body = fetch(page, "DELETE", api + "services/hello", xsrf=True)
    assert status == 200 and body["name"] == "hello" and body["deleted"], (status, body)
    assert page_json(page, api + "services") == (200, [])
    page.close()


def test_a_browser_stays_logged_in_to_the_dashboard_across_a_restart(browser, kubeconfig, tmp_path):
    """Restarting loses nothing: the service's login cookie is signed with a secret kept
    in the state folder, so a page's API calls keep working after the hub, the proxy and
    the service restart (scripts cannot follow a login redirect)."""
    from support.hub import HubProcess

    first = HubProcess(tmp_path / "state", kubeconfig)
    try:
        signup, admin = Browser(first), Browser(first)
        signup.signup("hana", "hana-secret-8")
        assert admin.login("admin", first.admin_password)
        admin.get("/hub/authorize/hana")
        page = browser_login(browser, first, "hana", "hana-secret-8")
        status, me = page_json(page, first.url + "/services/karvdash/api/user")
        assert (status, me["name"]) == (200, "hana")
    finally:
        first.stop()
    again = HubProcess(tmp_path / "state", kubeconfig)
    try:
        # the same browser, the same cookies (cookies are per host, not per port); a
        # page of the new origin (that needs no login) makes the call
        page.goto(again.url + "/services/karvdash/api/openapi.json")
        status, me = fetch(page, "GET", again.url + "/services/karvdash/api/user", xsrf=True)
        assert (status, me.get("name")) == (200, "hana"), me
        page.close()
    finally:
        again.stop()
