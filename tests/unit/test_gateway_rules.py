"""The gateway's rules (karvdash_hub.rules.gateway): which hosts are services', where a
visitor may be sent back, the tokens of the login round trip, who may enter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from karvdash_hub.rules import gateway

DOMAIN = "localtest.me"
KEY = b"k" * 32


@pytest.mark.parametrize(
    "host, label",
    [
        ("web-alice.localtest.me", "web-alice"),
        ("WEB-alice.LocalTest.me:8443", "web-alice"),
        ("web-alice.localtest.me.", "web-alice"),
        ("localtest.me", None),
        ("a.b.localtest.me", None),
        ("web-alice.localtest.me.evil.org", None),
        ("web-alicelocaltest.me", None),
        ("-x.localtest.me", None),
        ("x_y.localtest.me", None),
        ("", None),
        ("[::1]:8443", None),
    ],
)
def test_a_host_is_a_services_only_when_it_is_one_label_under_the_domain(host, label):
    assert gateway.service_label(host, DOMAIN) == label


@pytest.mark.parametrize(
    "rd, back",
    [
        ("https://web-alice.localtest.me/", ("https", "web-alice.localtest.me", "/")),
        (
            "https://web-alice.localtest.me:8443/a?b=1",
            ("https", "web-alice.localtest.me:8443", "/a?b=1"),
        ),
        ("http://web-alice.localtest.me", ("http", "web-alice.localtest.me", "/")),
    ],
)
def test_a_return_address_under_the_domain_is_followed(rd, back):
    assert gateway.return_address(rd, DOMAIN) == back


@pytest.mark.parametrize(
    "rd",
    [
        "https://evil.org/",
        "https://localtest.me/",
        "https://web-alice.localtest.me.evil.org/",
        "https://evil.org\\@web-alice.localtest.me/",
        "https://user@web-alice.localtest.me/",
        "//web-alice.localtest.me/",
        "/services/karvdash/",
        "javascript:alert(1)//web-alice.localtest.me",
        "https://web-alice.localtest.me:99999/",
        "https://web-alice.localtest.me/\n",
        "ftp://web-alice.localtest.me/",
        "",
    ],
)
def test_a_return_address_elsewhere_is_refused(rd):
    assert gateway.return_address(rd, DOMAIN) is None


@pytest.mark.parametrize(
    "rd, path",
    [
        ("/notebooks/a?b=1", "/notebooks/a?b=1"),
        ("//evil.org/", "/"),
        ("https://evil.org/", "/"),
        ("/\\evil.org", "/"),
        (None, "/"),
        ("a/b", "/"),
    ],
)
def test_the_callback_goes_back_to_a_path_of_the_same_host_only(rd, path):
    assert gateway.local_path(rd) == path


def test_a_token_is_good_for_its_kind_its_host_and_until_it_expires():
    token = gateway.sign(KEY, "cookie", "alice", "web-alice.localtest.me:8443", 1000)
    assert gateway.verify(KEY, token, "cookie", "web-alice.localtest.me", 999)["u"] == "alice"
    assert gateway.verify(KEY, token, "cookie", "web-alice.localtest.me", 1000) is None
    assert gateway.verify(KEY, token, "code", "web-alice.localtest.me", 999) is None
    assert gateway.verify(KEY, token, "cookie", "web-bob.localtest.me", 999) is None
    assert gateway.verify(b"x" * 32, token, "cookie", "web-alice.localtest.me", 999) is None


def test_a_tampered_token_is_refused():
    token = gateway.sign(KEY, "cookie", "alice", "web-bob.localtest.me", 1000)
    payload, mac = token.split(".")
    forged = gateway.sign(b"other-key", "cookie", "bob", "web-bob.localtest.me", 1000)
    assert (
        gateway.verify(KEY, f"{forged.split('.')[0]}.{mac}", "cookie", "web-bob.localtest.me", 1)
        is None
    )
    for bad in (payload, f"{payload}.", f"{payload}.{mac}x", f"{payload}..{mac}", None, 7):
        assert gateway.verify(KEY, bad, "cookie", "web-bob.localtest.me", 1) is None


@given(st.text(max_size=200))
def test_no_text_is_a_valid_token(text):
    assert gateway.verify(KEY, text, "cookie", "web-alice.localtest.me", 0) is None


def test_the_owner_and_admins_enter_and_nobody_else():
    assert gateway.may_enter("alice", False, "alice")
    assert gateway.may_enter("root", True, "alice")
    assert not gateway.may_enter("bob", False, "alice")
    assert not gateway.may_enter("alice", True, None)  # a host nobody holds


def test_the_cookie_is_host_only_http_only_lax_and_secure_on_https():
    header = gateway.cookie_header("v", secure=True)
    parts = [p.strip() for p in header.split(";")]
    assert parts[0] == f"{gateway.COOKIE}=v" and "HttpOnly" in parts and "Secure" in parts
    assert "SameSite=Lax" in parts and "Path=/" in parts
    assert not any(p.lower().startswith("domain") for p in parts)
    assert "Secure" not in gateway.cookie_header("v", secure=False)
    assert gateway.cookie_of(f"a=1; {gateway.COOKIE}=tok; b=2") == "tok"
    assert gateway.cookie_of("a=1") is None and gateway.cookie_of(None) is None
