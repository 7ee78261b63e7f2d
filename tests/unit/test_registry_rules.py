"""The registry's rules (karvdash_hub.rules.registry): names, scopes, who gets what."""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from karvdash_hub.rules import registry as r

ALICE = r.Identity("alice")
BOB = r.Identity("bob")
ADMIN = r.Identity("root", admin=True)
ALICE_PULLS = r.Identity("alice", pull_only=True)
ADMIN_PULLS = r.Identity("root", admin=True, pull_only=True)
ANONYMOUS = r.Identity(None)


def scope(text: str) -> list[r.Scope]:
    return r.parse_scopes([text])


@pytest.mark.parametrize(
    "name", ["alice/app", "library/python", "a/b/c", "a.b/c_d", "a__b/c-d", "x--y/z", "a" * 255]
)
def test_repository_names_of_the_reference_grammar_are_accepted(name):
    assert r.check_repository(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "Alice/app", "alice//app", "/alice", "alice/", "-a/b", "a-/b", "a/b:tag", "a" * 256,
     "a/.b", "a/b..c", "a/b@x", "ä/b", "a b/c", "a\nb"],
)  # fmt: skip
def test_other_repository_names_are_refused_with_what_a_name_may_be(name):
    with pytest.raises(r.RegistryError, match="lower-case letters and digits"):
        r.check_repository(name)


@pytest.mark.parametrize("tag", ["latest", "1.0", "v2-rc.1", "_x", "A" * 128])
def test_tags_of_the_grammar_are_accepted(tag):
    assert r.check_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", ".x", "-x", "a/b", "a:b", "A" * 129, "é", "a b"])
def test_other_tags_are_refused(tag):
    with pytest.raises(r.RegistryError, match="not a tag"):
        r.check_tag(tag)


def test_scopes_split_at_the_first_and_last_colon_and_at_spaces():
    assert r.parse_scopes(["repository:host:5000/alice/app:pull,push", "registry:catalog:*"]) == [
        r.Scope("repository", "host:5000/alice/app", ("pull", "push")),
        r.Scope("registry", "catalog", ("*",)),
    ]
    two = r.parse_scopes(["repository:alice/a:pull repository:library/b:pull"])
    assert [s.name for s in two] == ["alice/a", "library/b"]
    for bad in ["repository", "repository:alice/app", ":alice:pull", "repository::pull"]:
        with pytest.raises(r.RegistryError, match="not a scope"):
            r.parse_scopes([bad])


def test_a_user_pulls_pushes_and_deletes_in_their_own_namespace_only():
    assert r.granted(ALICE, scope("repository:alice/app:pull,push,delete")) == [
        {"type": "repository", "name": "alice/app", "actions": ["pull", "push", "delete"]}
    ]
    assert r.granted(ALICE, scope("repository:bob/app:pull,push,delete")) == []
    assert r.granted(BOB, scope("repository:alice/app:pull")) == []
    # a namespace is the whole first part: "alice" is not "alice2" nor "alic"
    assert r.granted(ALICE, scope("repository:alice2/app:pull")) == []
    assert r.granted(ALICE, scope("repository:alic/app:pull")) == []


def test_library_is_pulled_by_everyone_and_pushed_by_admins():
    ask = scope("repository:library/python:pull,push,delete")
    assert r.granted(ALICE, ask)[0]["actions"] == ["pull"]
    assert r.granted(ADMIN, ask)[0]["actions"] == ["pull", "push", "delete"]


def test_admins_do_anything_and_alone_see_the_catalog():
    assert r.granted(ADMIN, scope("repository:bob/app:*"))[0]["actions"] == list(r.ACTIONS)
    catalog = scope("registry:catalog:*")
    assert r.granted(ADMIN, catalog) == [{"type": "registry", "name": "catalog", "actions": ["*"]}]
    assert r.granted(ALICE, catalog) == []
    assert r.granted(ADMIN_PULLS, catalog) == []


def test_a_pull_secret_only_pulls_its_users_and_library_repositories():
    assert r.granted(ALICE_PULLS, scope("repository:alice/app:pull,push"))[0]["actions"] == ["pull"]
    assert r.granted(ALICE_PULLS, scope("repository:library/x:pull"))[0]["actions"] == ["pull"]
    assert r.granted(ALICE_PULLS, scope("repository:bob/app:pull")) == []
    assert r.granted(ADMIN_PULLS, scope("repository:bob/app:pull")) == []


def test_anonymous_gets_nothing_and_odd_scopes_nothing():
    assert r.granted(ANONYMOUS, scope("repository:library/python:pull")) == []
    assert r.granted(ADMIN, scope("repository:Not/A/Name:pull")) == []
    assert r.granted(ADMIN, scope("blob:alice/app:pull")) == []


def test_a_users_namespace_is_their_slug():
    assert r.namespace_of("Alice.Smith@example.org") == r.names.user_slug("Alice.Smith@example.org")
    assert r.check_repository(r.namespace_of("Alice.Smith@example.org") + "/app")


identities = st.builds(
    r.Identity,
    name=st.one_of(st.none(), st.sampled_from(["alice", "bob", "root", "library"])),
    admin=st.booleans(),
    pull_only=st.booleans(),
)
scopes = st.builds(
    r.Scope,
    type=st.sampled_from(["repository", "registry", "blob"]),
    name=st.one_of(
        st.sampled_from(["alice/app", "bob/x", "library/py", "catalog", "root/a", "a/b/c"]),
        st.text(max_size=20),
    ),
    actions=st.lists(st.sampled_from(["pull", "push", "delete", "*", "x"]), max_size=4).map(tuple),
)


@given(identities, st.lists(scopes, max_size=5))
def test_what_is_granted_is_always_part_of_what_was_asked_and_of_what_is_allowed(who, asked):
    for entry in r.granted(who, asked):
        match = [s for s in asked if (s.type, s.name) == (entry["type"], entry["name"])]
        assert match
        wanted = {a for s in match for a in s.actions}
        assert "*" in wanted or set(entry["actions"]) <= wanted
        if who.name is None:
            raise AssertionError("anonymous was granted something")
        if not who.admin or who.pull_only:
            assert entry["type"] == "repository"
            owner = entry["name"].split("/", 1)[0]
            if owner != r.namespace_of(who.name):
                assert entry["actions"] == ["pull"] and owner == r.LIBRARY
            if who.pull_only:
                assert entry["actions"] == ["pull"]


def test_claims_are_what_distribution_checks():
    c = r.claims(
        issuer="karvdash",
        service="registry",
        subject="alice",
        access=[],
        now=1000,
        lifetime=300,
        token_id="t",
    )
    assert c["aud"] == "registry" and isinstance(c["aud"], str)
    assert (c["iss"], c["sub"], c["exp"], c["jti"]) == ("karvdash", "alice", 1300, "t")
    assert c["nbf"] <= c["iat"] < c["exp"]


def test_the_key_id_is_libtrusts_twelve_groups_of_base32():
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = r.libtrust_key_id(der)
    assert re.fullmatch(r"([A-Z2-7]{4}:){11}[A-Z2-7]{4}", kid)
    assert r.libtrust_key_id(der) == kid and r.libtrust_key_id(der + b"x") != kid


KEY = b"k" * 32


def test_a_pull_credential_pulls_its_users_repositories_only_and_never_expires():
    password = r.credential(KEY, "pull", "alice")
    who = r.read_credential(KEY, "alice", password, now=2_000_000_000)
    assert who == r.Identity("alice", pull_only=True)
    assert r.granted(who, r.parse_scopes(["repository:alice/app:pull,push"])) == [
        {"type": "repository", "name": "alice/app", "actions": ["pull"]}
    ]
    assert r.granted(who, r.parse_scopes(["repository:bob/app:pull"])) == []
    # another user's name, another key, a changed letter: nothing
    assert r.read_credential(KEY, "bob", password, now=0) is None
    assert r.read_credential(b"x" * 32, "alice", password, now=0) is None
    forged = password[:-1] + ("A" if password[-1] != "A" else "B")
    assert r.read_credential(KEY, "alice", forged, now=0) is None


def test_a_push_credential_pushes_its_one_repository_until_it_expires():
    password = r.credential(KEY, "push", "alice", "alice/app", expiry=1000)
    who = r.read_credential(KEY, "alice", password, now=999)
    assert who == r.Identity("alice", repository="alice/app")
    asked = r.parse_scopes(["repository:alice/app:pull,push,delete", "repository:alice/other:pull"])
    assert r.granted(who, asked) == [
        {"type": "repository", "name": "alice/app", "actions": ["pull", "push"]}
    ]
    assert r.granted(who, r.parse_scopes(["registry:catalog:*"])) == []
    assert r.read_credential(KEY, "alice", password, now=1001) is None
    # the repository is signed: naming another one breaks the signature
    kind, expiry, _, signature = password.split(".")[1:]
    other = r._b64(b"alice/other")
    assert r.read_credential(KEY, "alice", f"kd1.{kind}.{expiry}.{other}.{signature}", 0) is None
    # a push credential without an expiry or a repository is not one
    with pytest.raises(r.RegistryError):
        r.credential(KEY, "push", "alice", "Not A Repo", expiry=1)


@pytest.mark.parametrize(
    "password", ["", "kd1", "kd1.pull.0..", "kd1.admin.0..x", "kd1.pull.x..y", "kd1.pull.-1..y"]
)
def test_malformed_credentials_are_no_one(password):
    assert r.read_credential(KEY, "alice", password, now=0) is None


def test_the_pull_secret_is_a_dockerconfigjson_for_the_registry():
    import base64
    import json

    secret = r.pull_secret("karvdash-registry", {"namespace": "ns"}, "reg:5000", "alice", "pw")
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(secret["stringData"][".dockerconfigjson"])
    entry = config["auths"]["reg:5000"]
    assert base64.b64decode(entry["auth"]).decode() == "alice:pw" == f"{entry['username']}:pw"


def test_an_image_is_a_repository_and_maybe_a_tag():
    assert r.split_image("alice/hello:1") == ("alice/hello", "1")
    assert r.split_image("alice/hello") == ("alice/hello", None)
    for bad in ("alice/Hello:1", "alice/hello:", "alice/hello:-1", ":1", "alice//x"):
        with pytest.raises(r.RegistryError):
            r.split_image(bad)


def test_skopeos_debug_output_says_which_blobs_it_sent():
    """skopeo 1.9.3's own lines, as it printed them for a first push and a re-push."""
    from karvdash_hub.imagestore import blob_counts

    first = """Copying blob sha256:1494
level=debug msg="... not present"
level=debug msg="... not present"
level=debug msg="Uploading /v2/a/b/blobs/uploads/"
Copying config sha256:3c7d
level=debug msg="... not present"
level=debug msg="Uploading /v2/a/b/blobs/uploads/"
"""
    again = """Copying blob sha256:1494
Copying blob sha256:5555
Copying config sha256:3c7d
level=debug msg="... not present"
level=debug msg="... already exists"
level=debug msg="Skipping blob sha256:1494 (already present):"
level=debug msg="... already exists"
level=debug msg="... already exists"
"""
    assert blob_counts(first) == {"total": 2, "sent": 2, "existing": 0}
    assert blob_counts(again) == {"total": 3, "sent": 0, "existing": 3}
