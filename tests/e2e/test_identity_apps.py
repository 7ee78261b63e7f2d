"""Applications of the identity service against a real hub: admins register them through
the dashboard's API (secret shown once), users consent once per application, refresh
tokens rotate, a disabled application or a new secret stops what was issued, a deleted
account's refresh token is refused. The applications are played by authlib's client and
a requests session (the user's browser)."""

from __future__ import annotations

import json
import re
import secrets
from urllib.parse import urlencode

import httpx
import pytest
from support.browser import approve
from support.hub import Browser
from support.oidc import TEST_SECRET, follow_until, query_of, verify_id_token
from support.parts import hub_with

pytestmark = pytest.mark.e2e

CALLBACK = "http://127.0.0.1:9/oauth/callback"
CONFIGURED = [
    {"client_id": "configured", "client_secret": TEST_SECRET, "redirect_uris": [CALLBACK]}
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory, kubeconfig):
    h = hub_with(
        tmp_path_factory,
        kubeconfig,
        KARVDASH_IDENTITY="on",
        KARVDASH_OIDC_CLIENTS=json.dumps(CONFIGURED),
    )
    yield h
    h.stop()


@pytest.fixture(scope="module")
def discovery(hub):
    return httpx.get(hub.issuer + "/.well-known/openid-configuration", timeout=10).json()


@pytest.fixture
def register(api):
    """Register an application as the admin: the API's answer (with its secret)."""
    made = []

    def run(name="Notebook viewer", public=False, trusted=False, uris=(CALLBACK,)):
        body = {"name": name, "redirect_uris": list(uris), "public": public, "trusted": trusted}
        r = api["admin"]("POST", "clients", json=body)
        assert r.status_code == 201, r.text
        made.append(r.json()["client_id"])
        return r.json()

    yield run
    for client_id in made:
        api["admin"]("DELETE", f"clients/{client_id}")


def logged_in(hub, name, password) -> Browser:
    b = Browser(hub)
    assert b.login(name, password)
    return b


def authorize_url(discovery, client_id, scope="openid profile", **extra) -> str:
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK}
    query |= {"scope": scope, "state": secrets.token_hex(6), **extra}
    return discovery["authorization_endpoint"] + "?" + urlencode(query)


def consent_page(browser, url):
    """The page the authorization request ends at (a consent page), after the redirects."""
    r = browser.s.get(url, timeout=30)
    assert r.status_code == 200 and "consent" in r.text, r.text[:500]
    return r


def decide(browser, page, decision: str):
    """Answer the consent form as the browser does: its action, its XSRF token."""
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    url = requests_url(page.url, action.replace("&amp;", "&"))
    r = browser.s.post(url, data={"_xsrf": xsrf, "consent": decision}, allow_redirects=False)
    assert r.status_code == 302, r.text[:500]
    return r.headers["Location"]


def requests_url(base: str, path: str) -> str:
    return path if path.startswith("http") else re.match(r"https?://[^/]+", base).group(0) + path


def tokens_for(discovery, client, code, secret=None):
    auth = (client["client_id"], secret or client["client_secret"])
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    return httpx.post(discovery["token_endpoint"], data=data, auth=auth, timeout=10)


def refresh(discovery, client, refresh_token, secret=None):
    auth = (client["client_id"], secret or client["client_secret"])
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return httpx.post(discovery["token_endpoint"], data=data, auth=auth, timeout=10)


def userinfo(discovery, access_token):
    headers = {"Authorization": f"Bearer {access_token}"}
    return httpx.get(discovery["userinfo_endpoint"], headers=headers, timeout=10)


def login_through(discovery, browser, client):
    """A trusted application's login: the tokens it gets."""
    back = follow_until(browser.s, authorize_url(discovery, client["client_id"]), CALLBACK)
    r = tokens_for(discovery, client, query_of(back)["code"])
    assert r.status_code == 200, r.text
    return r.json()


def test_only_admins_see_and_register_applications(api):
    for who in ("alice", "bob"):
        r = api[who]("GET", "clients")
        assert r.status_code == 403 and r.json()["reason"] == "forbidden"
        r = api[who]("POST", "clients", json={"name": "x", "redirect_uris": [CALLBACK]})
        assert r.status_code == 403
    listed = api["admin"]("GET", "clients").json()
    assert listed["issuer"].endswith("/services/identity")
    assert [c["client_id"] for c in listed["clients"]] == ["configured"]


def test_a_registered_secret_is_shown_once_and_works(api, register, discovery, hub, users):
    client = register()
    assert client["client_secret"] and client["source"] == "admin" and not client["public"]
    shown = api["admin"]("GET", f"clients/{client['client_id']}").json()
    assert "client_secret" not in shown and shown["name"] == "Notebook viewer"
    listed = api["admin"]("GET", "clients").text
    assert client["client_secret"] not in listed
    api["admin"]("PATCH", f"clients/{client['client_id']}", json={"trusted": True})
    tokens = login_through(discovery, logged_in(hub, "alice", users["alice"]), client)
    claims = verify_id_token(
        tokens["id_token"],
        httpx.get(discovery["jwks_uri"], timeout=10).json(),
        hub.issuer,
        client["client_id"],
    ).claims
    assert claims["preferred_username"] == "alice"


@pytest.mark.parametrize(
    "body, reason",
    [
        ({"name": "x", "redirect_uris": ["http://app.example.org/cb"]}, "bad-client"),
        ({"name": "x", "redirect_uris": [CALLBACK + "#f"]}, "bad-client"),
        ({"name": "", "redirect_uris": [CALLBACK]}, "bad-client"),
        (
            {"name": "x", "redirect_uris": [CALLBACK], "client_secret": "chosen-by-me-1234"},
            "bad-client",
        ),
    ],
)
def test_a_bad_registration_is_refused_and_registers_nothing(api, body, reason):
    r = api["admin"]("POST", "clients", json=body)
    assert r.status_code == 400 and r.json()["reason"] == reason
    assert len(api["admin"]("GET", "clients").json()["clients"]) == 1


def test_an_application_of_the_configuration_is_read_only_here(api):
    for method, path, body in [
        ("PATCH", "clients/configured", {"disabled": True}),
        ("DELETE", "clients/configured", None),
        ("POST", "clients/configured/secret", None),
    ]:
        r = api["admin"](method, path, json=body)
        assert r.status_code == 403 and r.json()["reason"] == "configured-client", r.text
    assert api["admin"]("PATCH", "clients/nobody", json={"trusted": True}).status_code == 404


def test_a_user_consents_once_and_a_denial_gives_the_application_nothing(
    register, discovery, hub, users
):
    client = register(name="Shared notes")
    bob = logged_in(hub, "bob", users["bob"])
    page = consent_page(bob, authorize_url(discovery, client["client_id"]))
    assert "Shared notes" in page.text and "127.0.0.1:9" in page.text
    denied = query_of(decide(bob, page, "deny"))
    assert denied["error"] == "access_denied" and "code" not in denied
    # asked again, and this time allowed: a code that works
    page = consent_page(bob, authorize_url(discovery, client["client_id"]))
    code = query_of(decide(bob, page, "allow"))["code"]
    assert tokens_for(discovery, client, code).status_code == 200
    # the next login is not asked about ...
    back = follow_until(bob.s, authorize_url(discovery, client["client_id"]), CALLBACK)
    assert "code" in query_of(back)
    # ... unless the application asks for more than was allowed
    consent_page(bob, authorize_url(discovery, client["client_id"], scope="openid profile email"))


def test_a_consent_posted_without_the_pages_xsrf_token_is_not_taken(
    register, discovery, hub, users
):
    client = register(name="Forged")
    alice = logged_in(hub, "alice", users["alice"])
    url = authorize_url(discovery, client["client_id"])
    r = alice.s.post(url, data={"consent": "allow"}, allow_redirects=False)
    assert "code=" not in r.headers.get("Location", "")
    # and no consent was recorded: the page is shown again
    consent_page(alice, url)


def test_a_trusted_application_asks_no_consent(register, discovery, hub, users):
    client = register(name="Team wiki", trusted=True)
    back = follow_until(
        logged_in(hub, "bob", users["bob"]).s,
        authorize_url(discovery, client["client_id"]),
        CALLBACK,
    )
    assert "code" in query_of(back)


def test_refresh_tokens_rotate_and_a_reused_one_ends_the_session(register, discovery, hub, users):
    client = register(name="Dashboards", trusted=True)
    first = login_through(discovery, logged_in(hub, "alice", users["alice"]), client)
    r = refresh(discovery, client, first["refresh_token"])
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert userinfo(discovery, second["access_token"]).json()["preferred_username"] == "alice"
    reused = refresh(discovery, client, first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # the copy revoked everything of that login, the rightful holder's tokens too
    assert refresh(discovery, client, second["refresh_token"]).json()["error"] == "invalid_grant"
    assert userinfo(discovery, second["access_token"]).status_code == 401


def test_a_disabled_application_stops_at_once_and_can_come_back(
    api, register, discovery, hub, users
):
    client = register(name="Old tool", trusted=True)
    alice = logged_in(hub, "alice", users["alice"])
    tokens = login_through(discovery, alice, client)
    path = f"clients/{client['client_id']}"
    assert api["admin"]("PATCH", path, json={"disabled": True}).json()["disabled"] is True
    r = alice.s.get(authorize_url(discovery, client["client_id"]), allow_redirects=False)
    assert r.status_code == 400 and "disabled" in r.text and "Location" not in r.headers
    assert refresh(discovery, client, tokens["refresh_token"]).json()["error"] == "invalid_client"
    assert userinfo(discovery, tokens["access_token"]).status_code == 401
    api["admin"]("PATCH", path, json={"disabled": False})
    login_through(discovery, alice, client)
    # what was issued before it was disabled stays revoked
    assert userinfo(discovery, tokens["access_token"]).status_code == 401


def test_a_new_secret_replaces_the_old_one(api, register, discovery, hub, users):
    client = register(name="Rotating", trusted=True)
    tokens = login_through(discovery, logged_in(hub, "bob", users["bob"]), client)
    r = api["admin"]("POST", f"clients/{client['client_id']}/secret")
    new = r.json()["client_secret"]
    assert r.status_code == 200 and new != client["client_secret"]
    old = refresh(discovery, client, tokens["refresh_token"])
    assert old.status_code == 401 and old.json()["error"] == "invalid_client"
    assert refresh(discovery, client, tokens["refresh_token"], new).json()["error"] == (
        "invalid_grant"  # revoked with the old secret
    )
    login_through(discovery, logged_in(hub, "bob", users["bob"]), {**client, "client_secret": new})


def test_a_deleted_accounts_refresh_token_is_refused(register, discovery, hub, users):
    client = register(name="Lab notebook", trusted=True)
    approve(hub, "carol", "carol-secret-1")
    tokens = login_through(discovery, logged_in(hub, "carol", "carol-secret-1"), client)
    admin = logged_in(hub, "admin", users["admin"])
    assert admin.api("DELETE", "/users/carol").status_code == 204
    r = refresh(discovery, client, tokens["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert userinfo(discovery, tokens["access_token"]).status_code == 401


def test_deleting_an_application_forgets_its_consents(api, register, discovery, hub, users):
    client = register(name="Short-lived")
    alice = logged_in(hub, "alice", users["alice"])
    page = consent_page(alice, authorize_url(discovery, client["client_id"]))
    decide(alice, page, "allow")
    assert api["admin"]("DELETE", f"clients/{client['client_id']}").status_code == 200
    r = alice.s.get(authorize_url(discovery, client["client_id"]), allow_redirects=False)
    assert r.status_code == 400 and "Location" not in r.headers
    assert api["admin"]("GET", f"clients/{client['client_id']}").status_code == 404


def test_the_secret_is_not_a_test_constant(register):
    # what the API makes is random and long, not something a test (or person) chose
    one, two = register(name="One"), register(name="Two")
    assert one["client_secret"] != two["client_secret"] != TEST_SECRET
    assert len(one["client_secret"]) >= 32 and one["client_id"].startswith("one-")
