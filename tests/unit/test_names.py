"""The name rules of karvdash_hub.names, checked for arbitrary user names."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from karvdash_hub.rules import names

DNS_LABEL = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")
usernames = st.text(min_size=1, max_size=200)


@given(usernames)
def test_a_user_slug_is_always_a_short_dns_label(username):
    slug = names.user_slug(username)
    assert DNS_LABEL.match(slug), slug
    assert len(slug) <= names.USER_SLUG_MAX


@given(usernames)
def test_a_namespace_is_always_a_valid_namespace_name(username):
    ns = names.namespace_for(username)
    assert ns.startswith("karvdash-")
    assert DNS_LABEL.match(ns) and len(ns) <= 63


@given(usernames, usernames)
def test_different_users_never_share_a_namespace(a, b):
    if a != b:
        assert names.namespace_for(a) != names.namespace_for(b)


@given(usernames)
def test_the_private_folder_is_one_path_component(username):
    folder = names.private_folder(username)
    assert "/" not in folder and folder not in (".", "..", "")


@pytest.mark.parametrize("username", ["test", "alice", "user1", "data-science"])
def test_a_simple_user_name_is_kept_as_it_is(username):
    assert names.namespace_for(username) == f"karvdash-{username}"


@pytest.mark.parametrize("username", ["Alice", "a.b", "../etc", "x--y", "名前", "a" * 60])
def test_a_name_that_needs_changing_gets_a_hash(username):
    slug = names.user_slug(username)
    assert slug != username and "---" in slug


def test_an_empty_user_name_is_refused():
    with pytest.raises(ValueError, match="cannot be empty"):
        names.user_slug("")


@pytest.mark.parametrize("prefix", ["", "Karvdash", "-x", "a" * 15, "x_y"])
def test_a_bad_namespace_prefix_is_refused(prefix):
    with pytest.raises(ValueError, match="namespace prefix"):
        names.namespace_for("alice", prefix)


NEAR_COLLISIONS = [
    ("A", "a"),
    ("a.b", "a-b"),
    ("x--y", "x-y"),
    ("a_b", "a-b"),
    ("alice", "alice-"),
    ("Ü", "u"),
    ("a" * 60 + "x", "a" * 60 + "y"),
    ("a" * (names.USER_SLUG_MAX - 1) + "x", "a" * (names.USER_SLUG_MAX - 1) + "y"),
    ("a" * names.USER_SLUG_MAX + "x", "a" * names.USER_SLUG_MAX + "y"),
]


@pytest.mark.parametrize(("a", "b"), NEAR_COLLISIONS)
def test_names_that_differ_only_slightly_get_different_slugs(a, b):
    slug_a, slug_b = names.user_slug(a), names.user_slug(b)
    assert slug_a != slug_b
    for slug in (slug_a, slug_b):
        assert DNS_LABEL.match(slug), slug
        assert len(slug) <= names.USER_SLUG_MAX
