"""The identity service's provider (authlib's server with our grant, PKCE, ID token and
stores) driven in process with real tornado requests: the protocol's answers and errors,
without a hub. The same flows run against a real hub in tests/e2e/test_identity.py."""

from __future__ import annotations

import base64
import json
import os
import time
from urllib.parse import urlencode

import pytest
from authlib.oauth2.rfc6749.errors import OAuth2Error
from joserfc.errors import BadSignatureError, InvalidClaimError, UnsupportedAlgorithmError
from support.oidc import TEST_SECRET, basic, pkce, query_of, request, verify_id_token

from karvdash_hub.apps.identity.keys import KeyStore, subject_secret
from karvdash_hub.apps.identity.server import Provider
from karvdash_hub.identitystore import IdentityStore
from karvdash_hub.rules import oidc as rules

ISSUER = "http://127.0.0.1:8000/services/identity"
CALLBACK = "http://127.0.0.1:9999/oauth_callback"
ALICE = {"name": "alice", "admin": False, "groups": ["physics"], "created": "2026-11-01T00:00Z"}


@pytest.fixture
def provider(tmp_path):
    clients = rules.clients_from_config(
        [
            {"client_id": "app", "client_secret": TEST_SECRET, "redirect_uris": [CALLBACK]},
            {"client_id": "spa", "redirect_uris": [CALLBACK]},
        ]
    )
    keys = KeyStore(tmp_path / "keys", rotation=3600, retention=600)
    store = IdentityStore(db_file=str(tmp_path / "identity.sqlite"))
    return Provider(
        ISSUER, clients, keys, subject_secret(tmp_path / "sub"), store, code_lifetime=60
    )


def authorize(provider, user=ALICE, **params):
    """The provider's answer to an authorization request by a logged-in ``user``."""
    query = {"response_type": "code", "client_id": "app", "redirect_uri": CALLBACK}
    query |= {"scope": "openid profile", "state": "st", "nonce": "n-1"}
    query |= params
    query = {k: v for k, v in query.items() if v is not None}
    try:
        oauth_request, grant = provider.check_authorization(
            request("GET", f"{ISSUER}/authorize?{urlencode(query)}")
        )
    except OAuth2Error as error:
        if not error.redirect_uri:
            raise
        return provider.handle_error_response(None, error)
    return provider.authorize(oauth_request, grant, user, auth_time=1000)


def code_for(provider, challenge=None, **params):
    status, _, headers = authorize(
        provider,
        code_challenge=challenge,
        code_challenge_method="S256" if challenge else None,
        **params,
    )
    assert status == 302
    found = query_of(dict(headers)["Location"])
    assert found["state"] == "st"
    return found["code"]


def exchange(provider, code, verifier=None, client="app", secret=TEST_SECRET, **form):
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    if verifier:
        body["code_verifier"] = verifier
    headers = {}
    if secret is not None:
        headers = basic(client, secret)
    else:
        body["client_id"] = client
    status, answer, _ = provider.create_token_response(
        request("POST", f"{ISSUER}/token", {**body, **form}, headers)
    )
    return status, answer if isinstance(answer, dict) else json.loads(answer)


def test_a_code_exchanged_with_its_verifier_gives_a_signed_id_token_with_the_claims(provider):
    verifier, challenge = pkce()
    status, token = exchange(provider, code_for(provider, challenge), verifier)
    assert status == 200, token
    assert token["token_type"].lower() == "bearer" and token["refresh_token"]
    claims = verify_id_token(token["id_token"], provider.keys.public_jwks(), ISSUER, "app").claims
    assert claims["nonce"] == "n-1" and claims["auth_time"] == 1000
    assert claims["preferred_username"] == "alice" and claims["groups"] == ["physics"]
    assert claims["karvdash_admin"] is False
    assert claims["sub"] == provider.subject(ALICE) and claims["exp"] - claims["iat"] == 300


def test_userinfo_answers_for_our_access_token_only(provider):
    _, token = exchange(provider, code_for(provider))
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    status, body, _ = provider.create_endpoint_response(
        "userinfo", request("GET", f"{ISSUER}/userinfo", headers=auth)
    )
    assert status == 200 and body["sub"] == provider.subject(ALICE)
    status, body, _ = provider.create_endpoint_response(
        "userinfo", request("GET", f"{ISSUER}/userinfo", headers={"Authorization": "Bearer x"})
    )
    body = body if isinstance(body, dict) else json.loads(body)
    assert status == 401 and body["error"] == "invalid_token"


def test_a_code_is_used_once(provider):
    code = code_for(provider)
    assert exchange(provider, code)[0] == 200
    status, body = exchange(provider, code)
    assert status == 400 and body["error"] == "invalid_grant"


def test_an_expired_code_is_refused(provider):
    code = code_for(provider)
    provider.codes[code].expires_at = time.time() - 1
    assert exchange(provider, code)[1]["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_refused(provider):
    status, body = exchange(provider, code_for(provider), secret="wrong-secret-0123456789")
    assert status == 401 and body["error"] == "invalid_client"


@pytest.mark.parametrize("verifier", [None, "w" * 50])
def test_a_missing_or_wrong_pkce_verifier_is_refused(provider, verifier):
    _, challenge = pkce()
    status, body = exchange(provider, code_for(provider, challenge), verifier)
    assert status == 400 and body["error"] in ("invalid_request", "invalid_grant")


def test_the_plain_pkce_method_is_refused(provider):
    status, _, headers = authorize(provider, code_challenge="p" * 50, code_challenge_method="plain")
    assert status == 302 and query_of(dict(headers)["Location"])["error"] == "invalid_request"


def test_a_public_client_without_pkce_is_refused(provider):
    status, _, headers = authorize(provider, client_id="spa")
    assert status == 302 and query_of(dict(headers)["Location"])["error"] == "invalid_request"


def test_a_public_client_with_pkce_needs_no_secret(provider):
    verifier, challenge = pkce()
    status, token = exchange(
        provider, code_for(provider, challenge, client_id="spa"), verifier, "spa", None
    )
    assert status == 200 and "id_token" in token


@pytest.mark.parametrize(
    "redirect_uri",
    [CALLBACK + "/", CALLBACK[:-1], CALLBACK.upper(), CALLBACK.replace("oauth_", "oauth%5F")],
)
def test_an_unregistered_redirect_uri_is_an_error_without_redirect(provider, redirect_uri):
    with pytest.raises(OAuth2Error) as err:
        authorize(provider, redirect_uri=redirect_uri)
    assert not err.value.redirect_uri


def test_an_unknown_client_is_an_error_without_redirect(provider):
    with pytest.raises(OAuth2Error) as err:
        authorize(provider, client_id="nobody")
    assert err.value.error == "invalid_client" and not err.value.redirect_uri


def refresh(provider, refresh_token, client="app", secret=TEST_SECRET, **form):
    body = {"grant_type": "refresh_token", "refresh_token": refresh_token, **form}
    headers = basic(client, secret) if secret is not None else {}
    if secret is None:
        body["client_id"] = client
    status, answer, _ = provider.create_token_response(
        request("POST", f"{ISSUER}/token", body, headers)
    )
    return status, answer if isinstance(answer, dict) else json.loads(answer)


def userinfo(provider, access_token):
    status, body, _ = provider.create_endpoint_response(
        "userinfo",
        request("GET", f"{ISSUER}/userinfo", headers={"Authorization": f"Bearer {access_token}"}),
    )
    return status, body if isinstance(body, dict) else json.loads(body)


def test_a_refresh_token_gives_new_tokens_once_and_the_old_access_token_still_works(provider):
    _, first = exchange(provider, code_for(provider))
    status, second = refresh(provider, first["refresh_token"])
    assert status == 200, second
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert userinfo(provider, second["access_token"])[0] == 200
    assert userinfo(provider, first["access_token"])[0] == 200  # until it expires
    status, third = refresh(provider, second["refresh_token"])
    assert status == 200 and userinfo(provider, third["access_token"])[0] == 200


def test_a_rotated_refresh_token_used_again_revokes_the_whole_authorization(provider):
    _, first = exchange(provider, code_for(provider))
    _, second = refresh(provider, first["refresh_token"])
    status, body = refresh(provider, first["refresh_token"])  # a copy, used again
    assert status == 400 and body["error"] == "invalid_grant"
    # everything descended from that authorization is gone, the thief's and the owner's
    assert refresh(provider, second["refresh_token"])[1]["error"] == "invalid_grant"
    for access in (first["access_token"], second["access_token"]):
        status, body = userinfo(provider, access)
        assert status == 401 and body["error"] == "invalid_token"


def test_a_refresh_token_is_bound_to_its_client_and_scope(provider):
    verifier, challenge = pkce()
    _, token = exchange(
        provider, code_for(provider, challenge, client_id="spa"), verifier, "spa", None
    )
    status, body = refresh(provider, token["refresh_token"])  # another client's
    assert status == 400 and body["error"] == "invalid_grant"
    status, body = refresh(provider, token["refresh_token"], "spa", None, scope="openid email")
    assert status == 400 and body["error"] == "invalid_scope"
    status, body = refresh(provider, token["refresh_token"], "spa", None)  # the public client
    assert status == 200 and body["refresh_token"]


def test_an_expired_refresh_token_is_refused(provider):
    _, token = exchange(provider, code_for(provider))
    record = provider.store.by_refresh_token(token["refresh_token"])
    with provider.store._transaction() as db:
        db.execute("UPDATE tokens SET refresh_expires = 0 WHERE family = ?", (record.family,))
    assert refresh(provider, token["refresh_token"])[1]["error"] == "invalid_grant"


def test_revoking_a_refresh_token_revokes_its_access_tokens(provider):
    _, token = exchange(provider, code_for(provider))
    status, _, _ = provider.create_endpoint_response(
        "revocation",
        request(
            "POST",
            f"{ISSUER}/revoke",
            {"token": token["refresh_token"], "token_type_hint": "refresh_token"},
            basic("app", TEST_SECRET),
        ),
    )
    assert status == 200
    assert userinfo(provider, token["access_token"])[1]["error"] == "invalid_token"
    assert refresh(provider, token["refresh_token"])[1]["error"] == "invalid_grant"


def test_a_disabled_client_gets_no_code_no_token_and_its_tokens_stop(provider):
    _, token = exchange(provider, code_for(provider))
    code = code_for(provider)
    provider.store.update_client("app", disabled=True)
    with pytest.raises(OAuth2Error) as err:
        authorize(provider)
    assert err.value.error == "invalid_client" and not err.value.redirect_uri
    assert exchange(provider, code)[1]["error"] == "invalid_client"
    assert refresh(provider, token["refresh_token"])[1]["error"] == "invalid_client"
    assert userinfo(provider, token["access_token"])[1]["error"] == "invalid_token"


def test_tokens_are_kept_as_hashes_and_survive_a_new_provider(provider, tmp_path):
    _, token = exchange(provider, code_for(provider))
    raw = (tmp_path / "identity.sqlite").read_bytes()
    for secret in (token["access_token"], token["refresh_token"], TEST_SECRET):
        assert secret.encode() not in raw
    again = Provider(
        ISSUER,
        {"app": provider.lookup_client("app")},
        provider.keys,
        provider.subject_secret,
        IdentityStore(db_file=str(tmp_path / "identity.sqlite")),
    )
    assert userinfo(again, token["access_token"])[0] == 200
    assert refresh(again, token["refresh_token"])[0] == 200


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_an_unsigned_or_tampered_id_token_fails_verification(provider):
    _, token = exchange(provider, code_for(provider))
    head, payload, signature = token["id_token"].split(".")
    forged = f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    with pytest.raises(BadSignatureError):
        verify_id_token(forged, provider.keys.public_jwks(), ISSUER, "app")
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    with pytest.raises(UnsupportedAlgorithmError):
        verify_id_token(unsigned, provider.keys.public_jwks(), ISSUER, "app")
    with pytest.raises(InvalidClaimError):
        verify_id_token(token["id_token"], provider.keys.public_jwks(), ISSUER, "other")


def test_keys_are_files_only_their_owner_reads_and_two_stores_agree(tmp_path):
    one = KeyStore(tmp_path / "k", rotation=3600, retention=600)
    two = KeyStore(tmp_path / "k", rotation=3600, retention=600)
    one.refresh()
    two.refresh()
    assert one.signing_key().kid == two.signing_key().kid
    (path,) = (tmp_path / "k").glob("*.json")
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_a_rotated_key_stays_in_the_jwks_until_its_retention_passes(tmp_path):
    store = KeyStore(tmp_path / "k", rotation=100, retention=50)
    store.refresh(now=1000)
    old = store.signing_key().kid
    store.refresh(now=1100)
    new = store.signing_key().kid
    assert new != old
    assert {k["kid"] for k in store.public_jwks()["keys"]} == {old, new}
    store.refresh(now=1160)
    assert {k["kid"] for k in store.public_jwks()["keys"]} == {new}


def test_the_service_reads_its_clients_from_its_config_file_and_refuses_a_wrong_one(tmp_path):
    from traitlets import TraitError

    from karvdash_hub.apps.identity.app import IdentityApp

    good = {"client_id": "app", "client_secret": TEST_SECRET, "redirect_uris": [CALLBACK]}
    config = tmp_path / "identity.json"
    config.write_text(json.dumps({"IdentityApp": {"issuer": ISSUER, "clients": [good]}}))
    app = IdentityApp()
    app.initialize(["--config", str(config)])
    assert app.issuer == ISSUER and app.clients == [good]
    with pytest.raises(TraitError, match="fragment"):
        app.clients = [{**good, "redirect_uris": [CALLBACK + "#x"]}]
