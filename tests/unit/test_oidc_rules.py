"""The OpenID Connect provider's pure rules (karvdash_hub.rules.oidc)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from karvdash_hub.rules import oidc

REGISTERED = ("https://app.example.org/oauth/callback",)


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example.org/cb",
        "https://app.example.org:8443/oauth/callback?x=1",
        "http://127.0.0.1:8080/cb",
        "http://127.5.6.7/cb",
        "http://localhost:9000/hub/oauth_callback",
        "http://[::1]:9000/cb",
    ],
)
def test_https_and_loopback_http_redirect_uris_can_be_registered(uri):
    assert oidc.redirect_uri_problem(uri) is None


@pytest.mark.parametrize(
    "uri, why",
    [
        ("http://app.example.org/cb", "https"),
        ("http://10.0.0.1/cb", "https"),
        ("https://app.example.org/cb#frag", "fragment"),
        ("https://app.example.org/cb#", "fragment"),
        ("/relative/cb", "absolute"),
        ("app.example.org/cb", "absolute"),
        ("https:///cb", "absolute"),
        ("https://user:pw@app.example.org/cb", "user information"),
        ("https://app.example.org/c b", "spaces"),
        ("javascript:alert(1)", "absolute"),
        ("", "non-empty"),
        (None, "non-empty"),
    ],
)
def test_a_redirect_uri_that_is_not_absolute_https_or_has_a_fragment_is_refused(uri, why):
    assert why in oidc.redirect_uri_problem(uri)


@pytest.mark.parametrize(
    "given_uri",
    [
        "https://app.example.org/oauth/callback/",  # trailing slash
        "https://app.example.org/oauth/callbac",  # prefix
        "https://app.example.org/oauth",  # prefix
        "https://app.example.org/oauth/callback/more",  # longer
        "https://app.example.org/oauth/callback?x=1",  # added query
        "https://APP.example.org/oauth/callback",  # case of the host
        "HTTPS://app.example.org/oauth/callback",  # case of the scheme
        "https://app.example.org/OAuth/callback",  # case of the path
        "https://app.example.org/oauth%2Fcallback",  # percent-encoding
        "https://app.example.org/%6Fauth/callback",  # percent-encoded letter
        "https://app.example.org:443/oauth/callback",  # explicit default port
        "https://app.example.org.evil.net/oauth/callback",
        "",
        None,
    ],
)
def test_a_redirect_uri_matches_only_character_for_character(given_uri):
    assert not oidc.redirect_uri_matches(REGISTERED, given_uri)
    assert oidc.redirect_uri_matches(REGISTERED, REGISTERED[0])


@given(st.text(max_size=60), st.lists(st.text(max_size=60), max_size=4))
def test_a_redirect_uri_matches_exactly_when_it_is_registered(given_uri, registered):
    assert oidc.redirect_uri_matches(registered, given_uri) == (given_uri in registered)


@given(st.text(min_size=1, max_size=30))
def test_no_proper_prefix_or_extension_of_a_registered_uri_matches(suffix):
    assert not oidc.redirect_uri_matches(REGISTERED, REGISTERED[0] + suffix)
    assert not oidc.redirect_uri_matches([REGISTERED[0] + suffix], REGISTERED[0])


def client(**kw):
    entry = {"client_id": "grafana", "redirect_uris": ["https://grafana.example.org/login"]}
    entry.update(kw)
    return entry


def test_a_client_with_a_secret_is_confidential_and_one_without_is_public():
    confidential = oidc.client_from_config(client(client_secret="s" * 16, name="Grafana"))
    assert not confidential.public and confidential.auth_method == "client_secret_basic"
    assert confidential.name == "Grafana" and not confidential.trusted
    public = oidc.client_from_config(client(trusted=True))
    assert public.public and public.auth_method == "none" and public.trusted
    assert public.name == "grafana"


@pytest.mark.parametrize(
    "entry, why",
    [
        (client(client_id=""), "client_id"),
        (client(client_id="has space"), "client_id"),
        (client(client_id=7), "client_id"),
        (client(client_secret="short"), "at least 16"),
        (client(client_secret=12345678901234567), "at least 16"),
        (client(redirect_uris=[]), "non-empty list"),
        (client(redirect_uris="https://grafana.example.org/login"), "non-empty list"),
        (client(redirect_uris=["http://grafana.example.org/login"]), "https"),
        (client(redirect_uris=["https://grafana.example.org/login#x"]), "fragment"),
        (client(trusted="yes"), "boolean"),
        (client(secret="x" * 20), "unknown keys: secret"),
        ("grafana", "dict"),
    ],
)
def test_a_client_that_cannot_work_is_refused_with_the_reason(entry, why):
    with pytest.raises(oidc.ClientConfigError, match=why):
        oidc.client_from_config(entry)


def test_a_client_id_configured_twice_is_refused():
    with pytest.raises(oidc.ClientConfigError, match="twice"):
        oidc.clients_from_config([client(), client()])
    assert set(oidc.clients_from_config([client(), client(client_id="gitea")])) == {
        "grafana",
        "gitea",
    }


names = st.text(min_size=1, max_size=20)
created = st.text(max_size=30)


@given(names, created)
def test_the_subject_is_stable_for_the_same_account(name, when):
    assert oidc.subject(b"k" * 32, name, when) == oidc.subject(b"k" * 32, name, when)


@given(names, created, created)
def test_an_account_created_again_with_the_same_name_has_another_subject(name, first, second):
    if first != second:
        assert oidc.subject(b"k" * 32, name, first) != oidc.subject(b"k" * 32, name, second)


@given(names, names, created)
def test_different_users_have_different_subjects(one, other, when):
    if one != other:
        assert oidc.subject(b"k" * 32, one, when) != oidc.subject(b"k" * 32, other, when)


def test_the_subject_reveals_neither_the_name_nor_depends_only_on_it():
    sub = oidc.subject(b"k" * 32, "alice", "2026-01-01T00:00:00Z")
    assert "alice" not in sub and len(sub) == 43
    assert sub != oidc.subject(b"j" * 32, "alice", "2026-01-01T00:00:00Z")


def test_the_claims_say_who_the_user_is_their_groups_and_whether_admin():
    user = {"name": "alice", "admin": False, "groups": ["physics", "astro"], "created": "x"}
    claims = oidc.user_claims(user, "SUB", ["openid", "profile", "email"])
    assert claims == {
        "sub": "SUB",
        "preferred_username": "alice",
        "name": "alice",
        "karvdash_admin": False,
        "groups": ["astro", "physics"],
    }
    admin = oidc.user_claims({"name": "admin", "admin": True, "email": "a@x.org"}, "S")
    assert admin["karvdash_admin"] is True and admin["email"] == "a@x.org"
    assert admin["groups"] == []


def test_only_the_subject_is_said_without_the_profile_scope():
    user = {"name": "alice", "admin": True, "groups": ["g"], "email": "a@x.org"}
    assert oidc.user_claims(user, "SUB", ["openid"]) == {"sub": "SUB"}


def test_the_newest_key_signs_and_a_replaced_key_stays_published_for_the_retention():
    keys = [("old", 0.0), ("new", 1000.0)]
    assert oidc.published_keys(keys, now=1500.0, retention=600) == ["new", "old"]
    assert oidc.published_keys(keys, now=1700.0, retention=600) == ["new"]
    assert oidc.new_key_due(keys, now=1500.0, rotation=600) is False
    assert oidc.new_key_due(keys, now=1600.0, rotation=600) is True
    assert oidc.new_key_due([], now=0.0, rotation=600) is True


@given(
    st.lists(
        st.tuples(st.text(min_size=1), st.floats(0, 1e6)), min_size=1, unique_by=lambda k: k[0]
    )
)
def test_the_newest_key_is_always_published(keys):
    newest = max(keys, key=lambda k: k[1])
    shown = oidc.published_keys(keys, now=2e6, retention=10)
    assert newest[1] == max(c for k, c in keys if k in shown)


def test_only_the_hash_of_a_secret_is_kept_and_it_checks_in_constant_time():
    confidential = oidc.client_from_config(client(client_secret="s" * 16))
    assert confidential.secret_hash == oidc.hash_secret("s" * 16) != "s" * 16
    assert confidential.check_secret("s" * 16)
    for wrong in ("s" * 15, "s" * 17, "", None, 7):
        assert not confidential.check_secret(wrong)
    assert not oidc.client_from_config(client()).check_secret("")


@given(st.text(min_size=1))
def test_a_public_client_accepts_no_secret_at_all(given_secret):
    assert not oidc.client_from_config(client()).check_secret(given_secret)


GOOD = {"name": "Grafana", "redirect_uris": ["https://grafana.example.org/login/generic_oauth"]}


def test_a_registration_is_read_with_its_defaults():
    assert oidc.registration(GOOD) == {**GOOD, "public": False, "trusted": False}
    assert oidc.registration({**GOOD, "public": True, "trusted": True})["public"] is True
    assert oidc.registration({"disabled": True}, partial=True) == {"disabled": True}
    assert oidc.registration({}, partial=True) == {}


@pytest.mark.parametrize(
    "body, why",
    [
        ({**GOOD, "name": ""}, "name"),
        ({**GOOD, "name": "x" * 101}, "name"),
        ({**GOOD, "name": "a\nb"}, "name"),
        ({**GOOD, "redirect_uris": []}, "non-empty"),
        ({**GOOD, "redirect_uris": "https://a.example.org/cb"}, "non-empty"),
        ({**GOOD, "redirect_uris": ["https://a.example.org/cb"] * 2}, "twice"),
        ({**GOOD, "redirect_uris": [f"https://a.example.org/{i}" for i in range(21)]}, "at most"),
        ({**GOOD, "redirect_uris": ["http://a.example.org/cb"]}, "https"),
        ({**GOOD, "public": "yes"}, "public"),
        ({**GOOD, "client_secret": "mine-0123456789abcdef"}, "unknown fields: client_secret"),
        ({**GOOD, "disabled": True}, "unknown fields: disabled"),
        ({**GOOD, "client_id": "grafana"}, "unknown fields: client_id"),
        (["Grafana"], "JSON object"),
    ],
)
def test_a_registration_that_cannot_work_is_refused_with_the_reason(body, why):
    with pytest.raises(oidc.ClientConfigError, match=why):
        oidc.registration(body)


def test_a_change_cannot_make_a_confidential_client_public_or_give_its_secret():
    for body in ({"public": True}, {"client_secret": "x" * 20}, {"trusted": 1}):
        with pytest.raises(oidc.ClientConfigError):
            oidc.registration(body, partial=True)


ACCOUNT = ("alice", "2026-11-01")


@pytest.mark.parametrize(
    "granted, asked, covered",
    [
        (("alice", "2026-11-01", "openid profile"), "openid profile", True),
        (("alice", "2026-11-01", "openid profile email"), "openid", True),
        (("alice", "2026-11-01", "openid"), "openid profile", False),
        (("alice", "2026-12-01", "openid profile"), "openid", False),
        (("bob", "2026-11-01", "openid profile"), "openid", False),
        (None, "openid", False),
    ],
)
def test_a_consent_covers_only_what_the_same_account_granted(granted, asked, covered):
    assert oidc.consent_covers(granted, ACCOUNT, asked) is covered
