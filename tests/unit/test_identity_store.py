"""The identity service's store (karvdash_hub.identitystore) on a real SQLite file: what
two processes (the dashboard and the identity service) share, and what a copy of it
gives away (nothing usable)."""

from __future__ import annotations

import os

import pytest

from karvdash_hub.identitystore import IdentityStore
from karvdash_hub.rules import oidc

ALICE = {"name": "alice", "created": "2026-11-01T00:00Z", "admin": False}
CALLBACK = "https://app.example.org/cb"


@pytest.fixture
def store(tmp_path):
    return IdentityStore(db_file=str(tmp_path / "identity.sqlite"))


def client(client_id="app", secret="s" * 32, **kw) -> oidc.Client:
    return oidc.Client(
        client_id, (CALLBACK,), secret and oidc.hash_secret(secret), source="admin", **kw
    )


def issue(store, client_id="app", user=ALICE, family="f1", access="a1", refresh="r1"):
    store.save_tokens(access, refresh, family, client_id, user, "openid", 3600, 86400)


def test_the_database_is_its_owners_only_and_holds_no_secret_in_clear(store, tmp_path):
    store.add_client(client(secret="the-client-secret-0123456789"), "admin")
    issue(store, access="the-access-token", refresh="the-refresh-token")
    path = tmp_path / "identity.sqlite"
    assert os.stat(path).st_mode & 0o777 == 0o600
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("identity.sqlite*"))
    for secret in (b"the-client-secret-0123456789", b"the-access-token", b"the-refresh-token"):
        assert secret not in raw
    assert store.client("app").check_secret("the-client-secret-0123456789")
    assert not store.client("app").check_secret("the-client-secret-012345678")


def test_a_change_made_by_one_process_is_seen_by_the_other(store, tmp_path):
    other = IdentityStore(db_file=str(tmp_path / "identity.sqlite"))
    assert store.add_client(client(), "admin")
    assert other.client("app").name == ""
    other.update_client("app", disabled=True, name="App")
    assert store.client("app").disabled and store.client("app").name == "App"


def test_a_client_id_is_registered_once(store):
    assert store.add_client(client(), "admin")
    assert not store.add_client(client(secret=None), "bob")
    assert not store.client("app").public


def test_disabling_or_a_new_secret_revokes_the_clients_tokens_and_only_its(store):
    store.add_client(client(), "admin")
    store.add_client(client("other"), "admin")
    issue(store)
    issue(store, "other", family="f2", access="a2", refresh="r2")
    store.update_client("app", trusted=True)
    assert store.by_access_token("a1").state == "active"
    store.update_client("app", secret_hash=oidc.hash_secret("n" * 32))
    assert store.by_access_token("a1").state == "revoked"
    assert store.by_access_token("a2").state == "active"
    store.update_client("other", disabled=True)
    assert store.by_refresh_token("r2").state == "revoked"


def test_deleting_a_client_forgets_its_tokens_and_consents(store):
    store.add_client(client(), "admin")
    issue(store)
    store.consent(ALICE, "app", "openid profile")
    assert store.delete_client("app") and not store.delete_client("app")
    assert store.by_access_token("a1") is None and store.client("app") is None
    assert not store.consented(ALICE, "app", "openid")


def test_a_consent_covers_the_scopes_given_by_the_same_account_only(store):
    store.consent(ALICE, "app", "openid profile")
    assert store.consented(ALICE, "app", "openid profile")
    assert store.consented(ALICE, "app", "openid")
    assert not store.consented(ALICE, "app", "openid email")
    assert not store.consented(ALICE, "other", "openid")
    again = {**ALICE, "created": "2026-12-01T00:00Z"}  # deleted, then made again
    assert not store.consented(again, "app", "openid")


def test_revoking_a_family_revokes_every_token_descended_from_one_authorization(store):
    store.add_client(client(), "admin")
    issue(store)
    store.mark(store.by_refresh_token("r1"), "rotated")
    issue(store, access="a2", refresh="r2")  # the rotated pair's successor
    issue(store, family="f9", access="a9", refresh="r9")  # another login
    assert store.revoke_family("f1") == 2
    assert {store.by_access_token(a).state for a in ("a1", "a2")} == {"revoked"}
    assert store.by_access_token("a9").state == "active"


def test_the_configured_clients_are_exactly_the_configurations(store):
    configured = oidc.clients_from_config(
        [{"client_id": "grafana", "client_secret": "g" * 20, "redirect_uris": [CALLBACK]}]
    )
    store.add_client(client(), "admin")
    store.sync_configured(configured)
    assert store.client("grafana").source == "config"
    assert store.client("grafana").check_secret("g" * 20)
    store.sync_configured({})
    assert store.client("grafana") is None and store.client("app") is not None


def test_no_database_means_no_registered_clients():
    empty = IdentityStore()
    assert not empty.enabled and empty.clients() == [] and empty.client("app") is None
