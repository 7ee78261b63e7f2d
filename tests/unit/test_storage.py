"""The storage layout of karvdash_hub.storage."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from karvdash_hub.rules import names, storage

HOST = {"hostPath": {"path": "/srv/files/private"}}
NFS = {"nfs": {"server": "nfs.example.org", "path": "/exports/private"}}
CSI = {"csi": {"driver": "files.csi.example.org", "volumeHandle": "shared"}}


@given(st.text(min_size=1, max_size=100))
def test_a_private_volume_is_always_the_users_own_folder(username):
    pv = storage.persistent_volume(storage.PRIVATE, HOST, username)
    path = pv["spec"]["hostPath"]["path"]
    assert path == f"/srv/files/private/{names.private_folder(username)}"
    assert path.count("/") == 4  # nothing of the name can climb out of the root


@pytest.mark.parametrize("source", [HOST, NFS])
def test_private_volumes_of_two_users_point_at_two_folders(source):
    kind = next(iter(source))
    a = storage.persistent_volume(storage.PRIVATE, source, "alice")["spec"][kind]["path"]
    b = storage.persistent_volume(storage.PRIVATE, source, "bob")["spec"][kind]["path"]
    assert a.endswith("/alice") and b.endswith("/bob")


def test_the_shared_volume_is_the_same_folder_for_everyone():
    a = storage.persistent_volume(storage.SHARED, NFS, "alice")
    b = storage.persistent_volume(storage.SHARED, NFS, "bob")
    assert a["spec"]["nfs"] == b["spec"]["nfs"] == NFS["nfs"]
    assert a["metadata"]["name"] != b["metadata"]["name"]


def test_a_volume_is_retained_and_pre_bound_to_the_users_claim():
    pv = storage.persistent_volume(storage.PRIVATE, HOST, "alice")
    pvc = storage.persistent_volume_claim(storage.PRIVATE, "alice")
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["claimRef"]["namespace"] == pvc["metadata"]["namespace"] == "karvdash-alice"
    assert pv["spec"]["claimRef"]["name"] == pvc["metadata"]["name"] == "karvdash-private"
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"] == "karvdash-alice-private"
    assert pv["spec"]["storageClassName"] == pvc["spec"]["storageClassName"] == ""


def test_a_source_without_a_path_can_back_shared_storage_only():
    shared = storage.persistent_volume(storage.SHARED, CSI, "alice")
    assert shared["spec"]["csi"] == CSI["csi"]
    with pytest.raises(storage.StorageConfigError, match="private storage needs a hostPath or nfs"):
        storage.persistent_volume(storage.PRIVATE, CSI, "alice")


@pytest.mark.parametrize(
    "source, message",
    [
        ({"hostPath": {"path": "relative"}}, "absolute path"),
        ({"nfs": {"path": "/x"}}, "nfs.server is required"),
        ({}, "one mapping"),
        ({"hostPath": {"path": "/a"}, "nfs": {"path": "/b"}}, "one mapping"),
    ],
)
def test_a_bad_source_is_refused_with_what_to_change(source, message):
    with pytest.raises(storage.StorageConfigError, match=message):
        storage.persistent_volume(storage.PRIVATE, source, "alice")


def test_pods_mount_the_two_claims_at_private_and_shared():
    mounts = {m["mountPath"]: m["name"] for m in storage.pod_volume_mounts()}
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in storage.pod_volumes()}
    assert mounts == {"/private": "karvdash-private", "/shared": "karvdash-shared"}
    assert set(claims.values()) == {"karvdash-private", "karvdash-shared"}
