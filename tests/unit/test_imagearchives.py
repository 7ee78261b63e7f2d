"""The image archives of support.imagearchives are what they claim: blobs named by their
digests, facts that are those of the file, and each corpus entry broken in its own way."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zlib

import pytest
from support import imagearchives as ia

FILES = {"app/hello.txt": b"hello\n", "app/bin/run": b"#!/bin/sh\n", "etc/motd": b"hi\n"}


def members(path) -> dict[str, bytes | None]:
    """Every member's content (None for what is not a regular file)."""
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() if m.isfile() else None for m in tar}


def blobs_named_by_digest(found: dict[str, bytes | None]) -> bool:
    blobs = {name: data for name, data in found.items() if name.startswith("blobs/sha256/")}
    return all(ia.digest(data) == "sha256:" + name[13:] for name, data in blobs.items())


def test_a_layer_is_deterministic_and_holds_its_files_and_their_folders():
    assert ia.layer(FILES) == ia.layer(dict(reversed(FILES.items())))
    with tarfile.open(fileobj=io.BytesIO(ia.layer(FILES))) as tar:
        found = {m.name: m for m in tar}
    assert sorted(found) == ["app", "app/bin", "app/bin/run", "app/hello.txt", "etc", "etc/motd"]
    assert found["app/bin"].isdir() and found["etc/motd"].isfile()
    assert {(m.mtime, m.uid, m.gid) for m in found.values()} == {(ia.MTIME, 0, 0)}


@pytest.mark.parametrize("compress", [False, True])
def test_a_docker_archive_names_blobs_by_digest_and_lists_uncompressed_diff_ids(tmp_path, compress):
    layers = [ia.layer(FILES), ia.layer({"data/x": b"x" * 5000})]
    facts = ia.docker_archive(tmp_path / "a.tar", layers, compress=compress, entrypoint=["/run"])
    found = members(tmp_path / "a.tar")
    [entry] = json.loads(found["manifest.json"])
    config = found[entry["Config"]]
    assert entry["RepoTags"] == ["example/app:1"] and blobs_named_by_digest(found)
    assert ia.digest(config) == facts["config_digest"]
    assert [ia.digest(found[name]) for name in entry["Layers"]] == facts["layer_digests"]
    unpack = gzip.decompress if compress else bytes
    assert [unpack(found[name]) for name in entry["Layers"]] == layers
    assert facts["diff_ids"] == [ia.digest(data) for data in layers]
    config = json.loads(config)
    assert config["rootfs"] == {"type": "layers", "diff_ids": facts["diff_ids"]}
    assert (config["architecture"], config["os"]) == ("amd64", "linux")
    assert config["config"]["Entrypoint"] == ["/run"] and len(config["history"]) == 2
    assert facts["layers"] == 2 and facts["size"] == (tmp_path / "a.tar").stat().st_size


@pytest.mark.parametrize("compress", [True, False])
def test_an_oci_archive_indexes_a_tagged_manifest_whose_blobs_are_all_there(tmp_path, compress):
    layers = [ia.layer(FILES)]
    facts = ia.oci_archive(tmp_path / "o.tar", layers, tag="v2", compress=compress)
    found = members(tmp_path / "o.tar")
    assert json.loads(found["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    assert blobs_named_by_digest(found)
    [desc] = json.loads(found["index.json"])["manifests"]
    assert desc["digest"] == facts["manifest_digest"]
    assert desc["annotations"] == {ia.REF_NAME: "v2"}
    manifest = json.loads(found[ia.blob_path(desc["digest"])])
    assert manifest["config"]["digest"] == facts["config_digest"]
    [blob] = manifest["layers"]
    assert blob["mediaType"] == ia.OCI_LAYER + ("+gzip" if compress else "")
    assert blob["size"] == len(found[ia.blob_path(blob["digest"])])
    config = json.loads(found[ia.blob_path(facts["config_digest"])])
    assert config["rootfs"]["diff_ids"] == facts["diff_ids"] == [ia.digest(layers[0])]


def test_a_big_archive_holds_the_random_data_asked_for_in_its_layers(tmp_path):
    facts = ia.big_docker_archive(tmp_path / "b.tar", 3 * 2**20 + 7, layers=2)
    found = members(tmp_path / "b.tar")
    [entry] = json.loads(found["manifest.json"])
    data = [found[name] for name in entry["Layers"]]
    assert facts["layers"] == 2 and [ia.digest(d) for d in data] == facts["diff_ids"]
    assert sum(len(d) for d in data) > 3 * 2**20 + 7 and facts["size"] > 3 * 2**20
    random = data[1][2 * ia.BLOCK : 2 * ia.BLOCK + (1 << 16)]  # after the two headers
    assert len(zlib.compress(random)) > len(random)  # incompressible


def test_a_gzip_bomb_is_small_on_disk_and_inflates_to_the_size_claimed(tmp_path):
    facts = ia.gzip_bomb(tmp_path / "g.tar", decompressed=64 * 2**20)
    assert facts["size"] < 64 * 2**20 / 500
    with tarfile.open(tmp_path / "g.tar") as tar:
        [entry] = json.load(tar.extractfile("manifest.json"))
        blob, inflate = tar.extractfile(entry["Layers"][0]), zlib.decompressobj(31)
        h, size = hashlib.sha256(), 0
        while chunk := blob.read(1 << 16):
            out = inflate.decompress(chunk)
            h.update(out)
            size += len(out)
    assert size == facts["decompressed"] == 64 * 2**20 and inflate.eof
    assert facts["diff_ids"] == ["sha256:" + h.hexdigest()]
    with pytest.raises(ValueError, match="multiple of 512"):
        ia.gzip_bomb(tmp_path / "h.tar", decompressed=1000)


def test_many_layers_lists_as_many_layers_as_asked(tmp_path):
    facts = ia.many_layers(tmp_path / "m.tar")
    found = members(tmp_path / "m.tar")
    [entry] = json.loads(found["manifest.json"])
    assert facts["layers"] == len(entry["Layers"]) == len(set(entry["Layers"])) == 1000
    assert len(json.loads(found[entry["Config"]])["rootfs"]["diff_ids"]) == 1000


def test_a_truncated_copy_ends_inside_a_layer_and_one_cut_at_a_member_reads_whole(tmp_path):
    source = tmp_path / "s.tar"
    ia.docker_archive(source, [ia.layer({"data/r": bytes(range(256)) * 256})])
    ia.truncated(tmp_path / "t.tar", source)
    with pytest.raises(tarfile.ReadError, match="unexpected end of data"):
        members(tmp_path / "t.tar")
    ia.truncated_at_member(tmp_path / "m.tar", source)
    assert members(tmp_path / "m.tar") == members(source)
    assert (tmp_path / "m.tar").stat().st_size == source.stat().st_size - 2 * ia.BLOCK
    ia.truncated_at_member(tmp_path / "n.tar", source, member="manifest.json")
    assert set(members(tmp_path / "n.tar")) == set(members(source)) - {"manifest.json"}


def manifest_of(path) -> list[dict]:
    return json.loads(members(path)["manifest.json"])


def config_of(path):
    return json.loads(members(path)[manifest_of(path)[0]["Config"]])


def unreadable(path) -> bool:
    try:
        members(path)
    except tarfile.ReadError:
        return True
    return False


def oci_index(path) -> list[dict]:
    return json.loads(members(path)["index.json"])["manifests"]


def oci_layers(path) -> list[dict]:
    return json.loads(members(path)[ia.blob_path(oci_index(path)[0]["digest"])])["layers"]


def first_layer(path) -> bytes:
    return members(path)[manifest_of(path)[0]["Layers"][0]]


def config_is_not_json(path) -> bool:
    with pytest.raises(json.JSONDecodeError):
        config_of(path)
    return True


BROKEN_AS_NAMED = {
    "not_a_tar": unreadable,
    "truncated": unreadable,
    "truncated_at_member": lambda p: (
        not unreadable(p)
        and "manifest.json" in members(p)
        and p.read_bytes()[-1024:] != bytes(1024)
    ),
    "no_manifest": lambda p: not {"manifest.json", "index.json"} & set(members(p)),
    "missing_layer": lambda p: not set(manifest_of(p)[0]["Layers"]) & set(members(p)),
    "two_images": lambda p: len(manifest_of(p)) == 2,
    "many_layers": lambda p: len(manifest_of(p)[0]["Layers"]) == 1000,
    "zstd_layer": lambda p: first_layer(p)[:4] == ia.ZSTD_MAGIC,
    "bad_config": config_is_not_json,
    "mismatched_diff_ids": lambda p: (
        len(config_of(p)["rootfs"]["diff_ids"]) == 2 and len(manifest_of(p)[0]["Layers"]) == 1
    ),
    "oci_missing_blob": lambda p: ia.blob_path(oci_layers(p)[0]["digest"]) not in members(p),
    "oci_two_manifests": lambda p: len(oci_index(p)) == 2,
    "oci_index_of_indexes": lambda p: oci_index(p)[0]["mediaType"] == ia.OCI_INDEX,
    "path_traversal": lambda p: "../../etc/evil" in members(p) and len(manifest_of(p)) == 1,
}


@pytest.mark.parametrize("name", sorted(BROKEN_AS_NAMED))
def test_a_corpus_entry_is_broken_as_its_name_says(tmp_path, name):
    ia.CORPUS[name](tmp_path / "x.tar")
    assert BROKEN_AS_NAMED[name](tmp_path / "x.tar")
    assert [p.name for p in tmp_path.iterdir()] == ["x.tar"]


def test_every_corpus_entry_is_checked_here_and_the_gzip_bomb_above():
    assert set(ia.CORPUS) == set(BROKEN_AS_NAMED) | {"gzip_bomb"}
    assert not set(ia.ODD_BUT_VALID) & set(ia.CORPUS)


def test_a_symlinked_layer_points_to_an_earlier_layer_of_the_same_content(tmp_path):
    facts = ia.ODD_BUT_VALID["symlinked_layers"](tmp_path / "s.tar")
    with tarfile.open(tmp_path / "s.tar") as tar:
        [entry] = json.load(tar.extractfile("manifest.json"))
        link = tar.getmember(entry["Layers"][1])
        layers = [tar.extractfile(name).read() for name in entry["Layers"]]  # follows the link
        config = tar.extractfile(entry["Config"]).read()
    assert link.issym() and link.linkname == f"../{entry['Layers'][0]}"
    assert [ia.digest(data) for data in layers] == facts["diff_ids"]
    assert json.loads(config)["rootfs"]["diff_ids"] == facts["diff_ids"]
    assert ia.digest(config) == facts["config_digest"] and layers[0] == layers[1]
