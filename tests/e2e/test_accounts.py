"""End to end, with real processes: the embedded default's hub, proxy, JupyterLab
servers and the local control plane."""

from __future__ import annotations

import stat
import uuid

import pytest
from kubernetes import client
from support.config import karvdash_config
from support.hub import Browser, HubProcess

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def test_a_new_user_signs_up_is_approved_and_works_in_their_own_folder(hub, kube):
    alice, admin = Browser(hub), Browser(hub)

    page = alice.signup("alice", "alice-secret-9")
    assert page.status_code == 200 and "sent to the admin" in page.text
    assert not alice.login("alice", "alice-secret-9")
    assert "has not been authorized" in alice.last.text

    assert admin.login("admin", "admin-pass-1")
    pending = admin.get("/hub/authorize")
    assert pending.status_code == 200 and "alice" in pending.text
    assert admin.get("/hub/authorize/alice").status_code == 200

    assert alice.login("alice", "alice-secret-9")
    # the namespace exists from the first login, before any server
    ns = client.CoreV1Api(kube).read_namespace(hub.namespace("alice"))
    assert ns.metadata.labels["karvdash.io/user"] == "alice"

    alice.start_server("alice")
    lab = alice.get("/user/alice/lab")
    assert lab.status_code == 200 and lab.url.endswith("/user/alice/lab")
    assert "JupyterLab" in lab.text
    root = alice.get("/user/alice/api/contents").json()
    assert {item["name"] for item in root["content"]} == {"private", "shared"}

    written = alice.s.put(
        hub.url + "/user/alice/api/contents/private/notes.txt",
        json={"type": "file", "format": "text", "content": "alice's notes"},
        headers={"X-XSRFToken": alice.xsrf("/user/alice/")},
    )
    assert written.status_code == 201, written.text
    files = hub.state / "files" / "private"
    assert (files / "alice" / "notes.txt").read_text() == "alice's notes"

    # bob, approved too, does not see alice's file and cannot reach her server
    bob = Browser(hub)
    bob.signup("bob", "bob-secret-99")
    admin.get("/hub/authorize/bob")
    assert bob.login("bob", "bob-secret-99")
    bob.start_server("bob")
    assert bob.get("/user/bob/lab").status_code == 200  # logs bob in to his server
    bob_private = bob.get("/user/bob/api/contents/private").json()
    assert [i["name"] for i in bob_private["content"] if not i["name"].startswith(".")] == []
    assert not (files / "bob" / "notes.txt").exists()
    assert bob.get("/user/bob/api/contents/private/notes.txt").status_code == 404
    forbidden = bob.get("/user/alice/api/contents/private/notes.txt", allow_redirects=True)
    assert forbidden.status_code == 403
    assert "alice's notes" not in forbidden.text
    assert bob.api("GET", "/users/alice").status_code == 404  # not even listed to bob

    # a file in /shared is seen by both
    alice.s.put(
        hub.url + "/user/alice/api/contents/shared/readme.md",
        json={"type": "file", "format": "text", "content": "for everyone"},
        headers={"X-XSRFToken": alice.xsrf("/user/alice/")},
    )
    shared = bob.get("/user/bob/api/contents/shared/readme.md").json()
    assert shared["content"] == "for everyone"


def test_a_user_changes_their_password_and_an_admin_resets_it(hub):
    carol, admin = Browser(hub), Browser(hub)
    carol.signup("carol", "carol-secret-1")
    assert admin.login("admin", "admin-pass-1")
    admin.get("/hub/authorize/carol")
    assert carol.login("carol", "carol-secret-1")

    changed = carol.post_form(
        "/hub/change-password",
        {
            "old_password": "carol-secret-1",
            "new_password": "carol-secret-2",
            "new_password_confirmation": "carol-secret-2",
        },
    )
    assert changed.status_code == 200 and "changed successfully" in changed.text.lower()
    assert not Browser(hub).login("carol", "carol-secret-1")
    assert Browser(hub).login("carol", "carol-secret-2")

    reset = admin.post_form(
        "/hub/change-password/carol",
        {"new_password": "carol-reset-3", "new_password_confirmation": "carol-reset-3"},
    )
    assert reset.status_code == 200
    assert Browser(hub).login("carol", "carol-reset-3")
    # a user is not an admin: carol cannot reset someone else's password
    assert carol.get("/hub/change-password/admin").status_code == 403


def test_deleting_a_user_removes_the_namespace_and_an_admin_can_purge_files(hub, kube):
    dave, admin = Browser(hub), Browser(hub)
    dave.signup("dave", "dave-secret-1")
    assert admin.login("admin", "admin-pass-1")
    admin.get("/hub/authorize/dave")
    assert dave.login("dave", "dave-secret-1")
    folder = hub.state / "files" / "private" / "dave"
    (folder / "data.csv").write_text("x\n")
    core = client.CoreV1Api(kube)
    assert core.read_namespace(hub.namespace("dave")).status.phase == "Active"
    # a running server: its root is HOME, with the user's dotfiles
    dave.start_server("dave")
    home = hub.state / "sessions" / "dave"
    (home / ".bash_history").write_text("ls\n")
    assert (home / "private").resolve() == folder.resolve()

    # a user cannot delete anyone
    assert dave.get("/hub/karvdash/delete-user/dave").status_code == 403
    assert admin.api("DELETE", "/users/dave").status_code == 204
    ns = _read_or_none(core, hub.namespace("dave"))
    assert ns is None or ns.metadata.deletion_timestamp is not None
    # files are kept by default, moved aside so that a new "dave" starts empty
    assert not folder.exists()
    (kept,) = (folder.parent / ".deleted").glob("dave-*")
    assert (kept / "data.csv").read_text() == "x\n"
    # the server was stopped and its root (HOME) went with the account
    assert not home.exists()
    assert not dave.login("dave", "dave-secret-1")

    page = admin.get("/hub/karvdash/delete-user/dave")
    assert page.status_code == 200 and 'name="purge_files"' in page.text
    purged = admin.post_form("/hub/karvdash/delete-user/dave", {"purge_files": "on"})
    assert purged.status_code == 200
    assert not kept.exists() and not folder.exists()
    page = admin.get("/hub/karvdash/delete-user/dave")
    assert "The user has no private files" in page.text


def test_a_user_whose_namespace_name_is_taken_by_another_namespace_cannot_log_in(hub, kube):
    core = client.CoreV1Api(kube)
    ns = hub.namespace("mallory")
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=ns, labels={"team": "monitoring"}))
    )
    try:
        mallory, admin = Browser(hub), Browser(hub)
        mallory.signup("mallory", "mallory-secret-1")
        assert admin.login("admin", "admin-pass-1")
        admin.get("/hub/authorize/mallory")
        assert not mallory.login("mallory", "mallory-secret-1")
        assert mallory.last.status_code == 409
        assert f"namespace {ns} already exists and was not made by Karvdash" in mallory.last.text
        assert "An administrator must resolve this" in mallory.last.text
        taken = core.read_namespace(ns)
        assert taken.metadata.labels == {"team": "monitoring", "kubernetes.io/metadata.name": ns}
        assert client.RbacAuthorizationV1Api(kube).list_namespaced_role_binding(ns).items == []
    finally:
        core.delete_namespace(ns)


async def test_a_deletion_that_cannot_be_done_keeps_the_account_and_its_login(
    kubeconfig, kube, tmp_path
):
    """Purging files the hub cannot reach is refused up front: the namespace, the hub
    user and the login stay, so that the user can be deleted again once it is fixed."""
    from jupyterhub import orm
    from tornado import web

    from karvdash_hub.hub.accounts import KarvdashNativeAuthenticator

    cfg = karvdash_config(kubeconfig, tmp_path, prefix=f"kd{uuid.uuid4().hex[:6]}")
    cfg.KarvdashNativeAuthenticator.purge_files_on_delete = True  # but no private_root
    db = orm.new_session_factory(f"sqlite:///{tmp_path / 'hub.sqlite'}")()
    auth = KarvdashNativeAuthenticator(config=cfg, db=db)
    prov = auth.provisioner
    try:
        auth.create_user("erin", "erin-secret-1").is_authorized = True
        db.commit()
        login = {"username": "erin", "password": "erin-secret-1"}
        assert await auth.authenticate(None, login) == "erin"
        ns = await prov.ensure("erin")
        user = orm.User(name="erin")
        db.add(user)
        db.commit()

        with pytest.raises(web.HTTPError) as refused:
            await auth.delete_user(user)
        assert refused.value.status_code == 409
        assert "cannot purge the files of 'erin'" in refused.value.log_message
        assert "UserFiles.private_root is not set" in refused.value.log_message
        assert "Nothing was deleted" in refused.value.log_message

        assert await auth.authenticate(None, login) == "erin"  # can still log in
        assert orm.User.find(db, "erin") is not None
        namespace = client.CoreV1Api(kube).read_namespace(ns)
        assert namespace.metadata.deletion_timestamp is None
        volumes = client.CoreV1Api(kube).list_persistent_volume(
            label_selector="karvdash.io/user=erin"
        )
        assert {v.metadata.name for v in volumes.items} >= {
            f"{ns}-private",
            f"{ns}-shared",
        }
    finally:
        await prov.delete("erin")
        db.close()


def test_the_first_admin_password_is_generated_and_kept_when_not_given(tmp_path, kubeconfig):
    h = HubProcess(tmp_path / "hub", kubeconfig, admin_password=None)
    try:
        saved = h.state / "admin-password"
        password = saved.read_text().strip()
        assert len(password) >= 12 and stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert password in h.log.read_text()  # printed once, at the first start
        assert Browser(h).login("admin", password)
        assert not Browser(h).login("admin", "admin-pass-1")
    finally:
        h.stop()


def _read_or_none(core, name):
    try:
        return core.read_namespace(name)
    except client.ApiException as err:
        if err.status == 404:
            return None
        raise


def test_wrong_passwords_are_refused_and_five_lock_the_account_for_a_minute(hub):
    """The password check (bcrypt, in a thread) keeps NativeAuthenticator's rules: a
    wrong password is refused, and after five (allowed_failed_logins) even the right
    one is, until seconds_before_next_try have passed."""
    erin, admin = Browser(hub), Browser(hub)
    erin.signup("erin", "erin-secret-9")
    assert admin.login("admin", "admin-pass-1")
    admin.get("/hub/authorize/erin")
    assert erin.login("erin", "erin-secret-9")
    dave = Browser(hub)
    assert not dave.login("erin", "not-her-password")
    assert not dave.login("nobody-at-all", "erin-secret-9")
    for _ in range(4):
        assert not dave.login("erin", "still-wrong")
    assert not Browser(hub).login("erin", "erin-secret-9")  # locked
    assert admin.get("/hub/home").status_code == 200  # the hub serves meanwhile
