"""The identity service (OpenID Connect provider) of a real hub: discovery, JWKS, the
authorization code flow with PKCE behind the hub's own login, the ID token verified
against the JWKS with joserfc, userinfo, and the protocol's refusals. The client is
authlib's (httpx) OAuth2Client; the user is a logged-in requests session."""

from __future__ import annotations

import base64
import json
import secrets
import time
from urllib.parse import urlencode

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from joserfc.errors import BadSignatureError, InvalidClaimError, UnsupportedAlgorithmError
from support.hub import Browser
from support.oidc import TEST_SECRET, follow_until, pkce, query_of, verify_id_token
from support.parts import hub_with

pytestmark = pytest.mark.e2e

#: nothing listens there: the flow stops at the redirect to it
CALLBACK = "http://127.0.0.1:9/oauth/callback"
#: short, for the test of an expired code (every other flow exchanges its code at once)
CODE_LIFETIME = 8
#: trusted: these flows test the protocol; consent is tested in test_identity_apps.py
CLIENTS = [
    {
        "client_id": "app",
        "client_secret": TEST_SECRET,
        "redirect_uris": [CALLBACK],
        "trusted": True,
    },
    {"client_id": "spa", "redirect_uris": [CALLBACK], "name": "A public client", "trusted": True},
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory, kubeconfig):
    h = hub_with(
        tmp_path_factory,
        kubeconfig,
        KARVDASH_IDENTITY="on",
        KARVDASH_OIDC_CLIENTS=json.dumps(CLIENTS),
        KARVDASH_OIDC_CODE_LIFETIME=str(CODE_LIFETIME),
    )
    yield h
    h.stop()


@pytest.fixture(scope="module")
def discovery(hub):
    r = httpx.get(hub.issuer + "/.well-known/openid-configuration", timeout=10)
    assert r.status_code == 200
    return r.json()


@pytest.fixture(scope="module")
def jwks(discovery):
    return httpx.get(discovery["jwks_uri"], timeout=10).json()


@pytest.fixture
def alice(hub, users):
    b = Browser(hub)
    assert b.login("alice", users["alice"])
    return b


def client(discovery, client_id="app", secret=TEST_SECRET, **kw):
    return OAuth2Client(
        client_id,
        secret,
        redirect_uri=CALLBACK,
        scope="openid profile",
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        timeout=10,
        **kw,
    )


def code_flow(discovery, browser, client_id="app", **params):
    """The browser's way through authorize; the URL it is sent back to (the callback)."""
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK}
    query |= {"scope": "openid profile", "state": secrets.token_hex(8)}
    query |= {k: v for k, v in params.items() if v is not None}
    url = discovery["authorization_endpoint"] + "?" + urlencode(query)
    return follow_until(browser.s, url, CALLBACK)


def exchange(discovery, code, verifier=None, client_id="app", secret=TEST_SECRET, **form):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, **form}
    if verifier:
        data["code_verifier"] = verifier
    auth = (client_id, secret) if secret else None
    if not secret:
        data["client_id"] = client_id
    return httpx.post(discovery["token_endpoint"], data=data, auth=auth, timeout=10)


def test_discovery_names_the_issuer_and_every_endpoint_under_it(hub, discovery):
    assert discovery["issuer"] == hub.issuer
    for name in ("authorization", "token", "userinfo", "revocation", "end_session"):
        assert discovery[f"{name}_endpoint"].startswith(hub.issuer + "/")
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]


def test_the_jwks_publishes_public_rs256_keys_with_ids(jwks):
    assert jwks["keys"]
    for key in jwks["keys"]:
        assert key["kty"] == "RSA" and key["kid"] and "d" not in key and "p" not in key


def test_a_logged_in_user_gets_a_verified_id_token_and_userinfo(hub, discovery, jwks, alice):
    verifier, _ = pkce()
    oauth = client(discovery, code_challenge_method="S256")
    nonce = secrets.token_urlsafe(12)
    url, state = oauth.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    back = follow_until(alice.s, url, CALLBACK)
    assert query_of(back)["state"] == state
    token = oauth.fetch_token(
        discovery["token_endpoint"], authorization_response=back, code_verifier=verifier
    )
    claims = verify_id_token(token["id_token"], jwks, hub.issuer, "app").claims
    assert claims["nonce"] == nonce
    assert claims["preferred_username"] == "alice" and claims["name"] == "alice"
    assert claims["karvdash_admin"] is False and isinstance(claims["groups"], list)
    assert claims["auth_time"] <= claims["iat"] < claims["exp"]
    info = oauth.get(discovery["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"] and info["preferred_username"] == "alice"
    # the same account has the same subject at the next login
    again = exchange(discovery, query_of(code_flow(discovery, alice))["code"]).json()
    assert (
        verify_id_token(again["id_token"], jwks, hub.issuer, "app").claims["sub"] == (claims["sub"])
    )


def test_a_visitor_not_logged_in_goes_through_the_hubs_login_and_back(hub, discovery, users):
    visitor = Browser(hub)
    query = {"response_type": "code", "client_id": "app", "redirect_uri": CALLBACK}
    url = discovery["authorization_endpoint"] + "?" + urlencode({**query, "scope": "openid"})
    login = follow_until(visitor.s, url, hub.url + "/hub/login")
    r = visitor.post_form(
        login.removeprefix(hub.url),
        {"username": "bob", "password": users["bob"]},
        allow_redirects=False,
    )
    assert r.status_code == 302
    back = follow_until(visitor.s, requests_url(hub, r.headers["Location"]), CALLBACK)
    token = exchange(discovery, query_of(back)["code"]).json()
    assert token["token_type"].lower() == "bearer"


def requests_url(hub, location: str) -> str:
    return location if location.startswith("http") else hub.url + location


def test_a_code_is_refused_the_second_time(discovery, alice):
    code = query_of(code_flow(discovery, alice))["code"]
    assert exchange(discovery, code).status_code == 200
    second = exchange(discovery, code)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "redirect_uri",
    [CALLBACK + "/", CALLBACK[:-3], CALLBACK.replace("callback", "Callback"), CALLBACK + "x"],
    ids=["trailing-slash", "prefix", "case", "longer"],
)
def test_an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(
    discovery, alice, redirect_uri
):
    query = {"response_type": "code", "client_id": "app", "redirect_uri": redirect_uri}
    r = alice.s.get(
        discovery["authorization_endpoint"] + "?" + urlencode({**query, "scope": "openid"}),
        allow_redirects=False,
    )
    assert r.status_code == 400 and "Location" not in r.headers
    assert "redirect" in r.text.lower()


def test_an_unknown_client_gets_an_error_page(discovery, alice):
    query = {"response_type": "code", "client_id": "nobody", "redirect_uri": CALLBACK}
    r = alice.s.get(
        discovery["authorization_endpoint"] + "?" + urlencode(query), allow_redirects=False
    )
    assert r.status_code == 400 and "Location" not in r.headers


def test_an_expired_code_is_refused(discovery, alice):
    code = query_of(code_flow(discovery, alice))["code"]
    time.sleep(CODE_LIFETIME + 1)
    r = exchange(discovery, code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_a_redirect_uri_different_at_the_token_endpoint_is_refused(discovery, alice):
    code = query_of(code_flow(discovery, alice))["code"]
    r = exchange(discovery, code, redirect_uri=CALLBACK + "/")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("verifier", [None, "w" * 60], ids=["missing", "wrong"])
def test_a_missing_or_wrong_pkce_verifier_is_refused(discovery, alice, verifier):
    _, challenge = pkce()
    back = code_flow(discovery, alice, code_challenge=challenge, code_challenge_method="S256")
    r = exchange(discovery, query_of(back)["code"], verifier)
    assert r.status_code == 400 and r.json()["error"] in ("invalid_request", "invalid_grant")


def test_the_plain_pkce_method_is_refused(discovery, alice):
    back = code_flow(discovery, alice, code_challenge="p" * 50, code_challenge_method="plain")
    assert query_of(back)["error"] == "invalid_request" and "code" not in query_of(back)


def test_a_wrong_client_secret_is_refused(discovery, alice):
    code = query_of(code_flow(discovery, alice))["code"]
    r = exchange(discovery, code, secret="not-the-secret-0123456789")
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_a_public_client_must_use_pkce(discovery, alice):
    back = code_flow(discovery, alice, client_id="spa")
    assert query_of(back)["error"] == "invalid_request"
    verifier, challenge = pkce()
    back = code_flow(
        discovery, alice, client_id="spa", code_challenge=challenge, code_challenge_method="S256"
    )
    r = exchange(discovery, query_of(back)["code"], verifier, client_id="spa", secret=None)
    assert r.status_code == 200 and "id_token" in r.json()


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_an_unsigned_or_tampered_id_token_fails_verification(hub, discovery, jwks, alice):
    token = exchange(discovery, query_of(code_flow(discovery, alice))["code"]).json()
    head, payload, signature = token["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = f"{head}.{b64({**claims, 'preferred_username': 'admin'})}.{signature}"
    with pytest.raises(BadSignatureError):
        verify_id_token(forged, jwks, hub.issuer, "app")
    with pytest.raises(UnsupportedAlgorithmError):
        verify_id_token(f"{b64({'alg': 'none'})}.{payload}.", jwks, hub.issuer, "app")
    # a token issued to one application is not one for another
    with pytest.raises(InvalidClaimError):
        verify_id_token(token["id_token"], jwks, hub.issuer, "spa")


def test_userinfo_refuses_a_token_that_is_not_ours(hub, discovery, tokens):
    for foreign in (tokens["alice"], "made-up-token"):
        r = httpx.get(
            discovery["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {foreign}"},
            timeout=10,
        )
        assert r.status_code == 401 and r.json()["error"] == "invalid_token"


def test_a_revoked_access_token_no_longer_gets_userinfo(discovery, alice):
    token = exchange(discovery, query_of(code_flow(discovery, alice))["code"]).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(discovery["userinfo_endpoint"], headers=bearer, timeout=10).status_code == 200
    r = httpx.post(
        discovery["revocation_endpoint"],
        data={"token": token["access_token"]},
        auth=("app", TEST_SECRET),
        timeout=10,
    )
    assert r.status_code == 200
    assert httpx.get(discovery["userinfo_endpoint"], headers=bearer, timeout=10).status_code == 401


def test_an_admins_id_token_says_so(hub, discovery, jwks, users):
    admin = Browser(hub)
    assert admin.login("admin", users["admin"])
    token = exchange(discovery, query_of(code_flow(discovery, admin))["code"]).json()
    claims = verify_id_token(token["id_token"], jwks, hub.issuer, "app").claims
    assert claims["karvdash_admin"] is True and claims["preferred_username"] == "admin"


def test_end_session_logs_the_visitor_out_of_the_hub(hub, discovery, users):
    visitor = Browser(hub)
    assert visitor.login("bob", users["bob"])
    code_flow(discovery, visitor)
    visitor.s.get(discovery["end_session_endpoint"], timeout=30)
    r = visitor.get("/hub/home", allow_redirects=False)
    assert r.status_code == 302 and "/hub/login" in r.headers["Location"]
    # and the next authorization request goes through the hub's login again
    query = {"response_type": "code", "client_id": "app", "redirect_uri": CALLBACK}
    url = discovery["authorization_endpoint"] + "?" + urlencode({**query, "scope": "openid"})
    assert follow_until(visitor.s, url, hub.url + "/hub/login")
