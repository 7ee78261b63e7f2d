"""Container image archives for tests and benchmarks, in pure Python: no docker, no pulls.

- ``layer`` is deterministic: the same files give the same bytes (fixed mtime, owner 0,
  parent folders as directory entries, sorted).
- ``docker_archive`` writes what ``docker save`` writes since Docker 25 (``manifest.json``,
  blobs in ``blobs/sha256/``), ``oci_archive`` an OCI image layout. A blob is named by the
  sha256 of its bytes; a config's ``diff_ids`` are the sha256 of the uncompressed layers.
- Blobs are streamed and hashed while written: ``big_docker_archive`` and ``gzip_bomb`` never
  hold an archive, a layer or a decompressed stream in memory.
- The facts returned (digests, layer count, size on disk) are those of the file written.

``CORPUS`` maps a name to a function(path) writing an archive that the dashboard must refuse,
``ODD_BUT_VALID`` one that it must accept. What skopeo 1.9.3 alone made of them (``inspect``
reads manifest and config, ``copy`` to ``oci:`` every layer too):

- refused by ``inspect``: not_a_tar, truncated (docker save writes manifest.json last),
  no_manifest, missing_layer, two_images, zstd_layer (it tries to decompress it),
  bad_config, mismatched_diff_ids, oci_two_manifests.
- refused by ``copy`` only: oci_missing_blob.
- accepted by both: truncated_at_member, many_layers, gzip_bomb (``copy`` inflates it all),
  oci_index_of_indexes (copied as an index), path_traversal; and symlinked_layers.

A docker-archive copied as a Docker v2 image (``dir:``, a registry) keeps its config_digest,
and skopeo reads its layers uncompressed (as diff_ids); copied to ``oci:`` it gets a new config.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import shutil
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

MTIME = 1_704_067_200
CREATED = "2024-01-01T00:00:00Z"
BLOCK = tarfile.BLOCKSIZE
CHUNK = 1 << 20
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
REF_NAME = "org.opencontainers.image.ref.name"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
HELLO = {"app/hello.txt": b"hello from an image archive\n"}


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _header(name: str, size=0, kind=tarfile.REGTYPE, mode=0o644, link="") -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mode, info.linkname, info.mtime = size, kind, mode, link, MTIME
    return info.tobuf(tarfile.GNU_FORMAT)


class _TarWriter:
    """Writes tar members in turn; a blob is streamed, then named by its digest."""

    def __init__(self, f):
        self.f = f

    def file(self, name: str, data: bytes, mode=0o644):
        self.f.write(_header(name, len(data), mode=mode) + data + bytes(-len(data) % BLOCK))

    def dir(self, name: str):
        self.f.write(_header(name.rstrip("/") + "/", kind=tarfile.DIRTYPE, mode=0o755))

    def blob(self, chunks: Iterable[bytes], keep=True) -> tuple[str, int]:
        """Writes ``blobs/sha256/<hex>`` (or only hashes, unless ``keep``): digest, size.
        The header, one block in GNU format, is written last in the block kept for it."""
        h, size, start = hashlib.sha256(), 0, self.f.tell()
        put = self.f.write if keep else lambda _: None
        put(bytes(BLOCK))
        for chunk in chunks:
            h.update(chunk)
            size += len(chunk)
            put(chunk)
        put(bytes(-size % BLOCK))
        if keep:
            end = self.f.tell()
            self.f.seek(start)
            self.f.write(_header(f"blobs/sha256/{h.hexdigest()}", size))
            self.f.seek(end)
        return "sha256:" + h.hexdigest(), size


@contextlib.contextmanager
def _archive(path) -> Iterator[_TarWriter]:
    with open(path, "wb") as f:
        yield _TarWriter(f)
        f.write(bytes(2 * BLOCK))


def layer(files: dict[str, bytes], mode=0o644) -> bytes:
    """An uncompressed layer tar holding ``files`` (path -> content) and their folders."""
    folders = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
    out = io.BytesIO()
    w = _TarWriter(out)
    for name in sorted(folders | set(files)):
        if name in folders:
            w.dir(name)
        else:
            w.file(name, files[name], mode)
    return out.getvalue() + bytes(2 * BLOCK)


def _stream_layer(name: str, size: int, piece: Callable[[int], bytes]) -> Iterator[bytes]:
    """A layer tar with one file of ``size`` bytes made of ``piece(n)``, in 1 MiB pieces."""
    yield _header(name.rpartition("/")[0] + "/", kind=tarfile.DIRTYPE, mode=0o755)
    yield _header(name, size)
    for start in range(0, size, CHUNK):
        yield piece(min(CHUNK, size - start))
    yield bytes(-size % BLOCK + 2 * BLOCK)


def _hashing(chunks: Iterable[bytes], h, compress: bool) -> Iterator[bytes]:
    """The chunks, gzipped if ``compress``; ``h`` sees the uncompressed stream."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    for chunk in chunks:
        h.update(chunk)
        yield z.compress(chunk) if compress else chunk
    yield z.flush() if compress else b""


def _image(w: _TarWriter, layers, *, compress=False, missing=(), config=None, **config_args):
    """Writes one image's layers (but those whose index is in ``missing``) and config (made
    by ``_config`` unless given as bytes): the config's and layers' (digest, size), facts."""
    diff_ids, blobs = [], []
    for i, data in enumerate(layers):
        h = hashlib.sha256()
        chunks = [data] if isinstance(data, bytes) else data
        blobs.append(w.blob(_hashing(chunks, h, compress), keep=i not in missing))
        diff_ids.append("sha256:" + h.hexdigest())
    config_blob = w.blob([config or _config(diff_ids, **config_args)])
    facts = {"config_digest": config_blob[0], "diff_ids": diff_ids, "layers": len(blobs)}
    return config_blob, blobs, facts | {"layer_digests": [d for d, _ in blobs]}


def _config(diff_ids: list[str], entrypoint=None, config_extra=None) -> bytes:
    """An image config; ``config_extra`` adds or replaces top-level keys."""
    run = {"Env": [PATH_ENV]}
    run.update({"Entrypoint": entrypoint} if entrypoint else {"Cmd": ["/bin/sh"]})
    config = {"architecture": "amd64", "os": "linux", "created": CREATED, "config": run}
    config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    history = [{"created": CREATED, "created_by": f"layer {n}"} for n in range(len(diff_ids))]
    config["history"] = history
    return _json(config | (config_extra or {}))


def blob_path(blob_digest: str) -> str:
    """Where a blob of this digest lives in an archive."""
    return "blobs/sha256/" + blob_digest.removeprefix("sha256:")


def _docker(path, *images: dict, extra_files: dict[str, bytes] | None = None) -> dict:
    """A docker-archive of ``images`` (``_image`` arguments and a ``repo_tag``), after
    ``extra_files``: the first image's facts and the file's size."""
    entries, facts = [], []
    with _archive(path) as w:
        for name, data in (extra_files or {}).items():
            w.file(name, data)
        for image in images:
            repo_tag = image.pop("repo_tag", "example/app:1")
            (config, _), blobs, image_facts = _image(w, **image)
            layers = [blob_path(d) for d, _ in blobs]
            entries.append({"Config": blob_path(config), "RepoTags": [repo_tag], "Layers": layers})
            facts.append(image_facts)
        w.file("manifest.json", _json(entries))
    return facts[0] | {"size": os.path.getsize(path)}


def docker_archive(
    path, layers, *, repo_tag="example/app:1", compress=False, config_extra=None, entrypoint=None
) -> dict:
    """A docker-archive (``docker save``) of one image of these layer tars (bytes, or
    iterables of bytes), gzipped in the archive if ``compress``: {config_digest, diff_ids,
    layer_digests, layers, size}."""
    image = {"layers": layers, "repo_tag": repo_tag, "compress": compress}
    return _docker(path, image | {"config_extra": config_extra, "entrypoint": entrypoint})


def big_docker_archive(path, size_bytes: int, layers=1) -> dict:
    """A docker-archive of ``layers`` layers holding ``size_bytes`` of random data in all."""
    sizes = [size_bytes // layers] * layers
    sizes[-1] += size_bytes % layers
    streams = [_stream_layer(f"data/random-{i}.bin", n, os.urandom) for i, n in enumerate(sizes)]
    return docker_archive(path, streams)


def _desc(media_type: str, blob_digest: str, size: int, tag=None) -> dict:
    desc = {"mediaType": media_type, "digest": blob_digest, "size": size}
    return desc | ({"annotations": {REF_NAME: tag}} if tag else {})


def _index(manifests: list[dict]) -> bytes:
    return _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})


def _oci(path, *images: dict, nest=False) -> dict:
    """An OCI archive of ``images`` (``_image`` arguments and a ``tag``), listed in
    index.json or, if ``nest``, in an index that index.json names as tag 1: the first
    image's facts and the file's size."""
    descs, facts = [], []
    with _archive(path) as w:
        w.file("oci-layout", _json({"imageLayoutVersion": "1.0.0"}))
        for image in images:
            tag = image.pop("tag", "1")
            image.setdefault("compress", True)
            (config, config_size), blobs, image_facts = _image(w, **image)
            layer_type = OCI_LAYER + ("+gzip" if image["compress"] else "")
            layers = [_desc(layer_type, d, size) for d, size in blobs]
            manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": layers}
            manifest["config"] = _desc(OCI_CONFIG, config, config_size)
            manifest_digest, size = w.blob([_json(manifest)])
            descs.append(_desc(OCI_MANIFEST, manifest_digest, size, None if nest else tag))
            facts.append(image_facts | {"manifest_digest": manifest_digest})
        if nest:
            nested, size = w.blob([_index(descs)])
            descs = [_desc(OCI_INDEX, nested, size, tag="1")]
        w.file("index.json", _index(descs))
    return facts[0] | {"size": os.path.getsize(path)}


def oci_archive(
    path, layers, *, tag="1", compress=True, config_extra=None, entrypoint=None
) -> dict:
    """An OCI image layout archive of one image named ``tag``: {manifest_digest,
    config_digest, diff_ids, layer_digests, layers, size}. Pushed with
    ``--preserve-digests``, the image keeps ``manifest_digest``."""
    image = {"layers": layers, "tag": tag, "compress": compress}
    return _oci(path, image | {"config_extra": config_extra, "entrypoint": entrypoint})


# The corpus: archives that are not what they claim, or that a registry should not get.


def not_a_tar(path):
    """A PNG header and random bytes."""
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(8 * BLOCK))


def truncated(path, source):
    """A copy of ``source`` cut in the middle of its largest member (a layer, here)."""
    with tarfile.open(source) as tar:
        big = max(tar.getmembers(), key=lambda m: m.size)
    shutil.copyfile(source, path)
    os.truncate(path, big.offset_data + big.size // 2)


def truncated_at_member(path, source, member: str | None = None):
    """A copy of ``source`` cut where the header of ``member`` starts, or by default after
    the last member: tarfile reads it without error, only the end-of-archive blocks are
    missing."""
    with tarfile.open(source) as tar:
        members = tar.getmembers()
    last = members[-1]
    length = last.offset_data + last.size + -last.size % BLOCK
    if member is not None:
        length = next(m.offset for m in members if m.name == member)
    shutil.copyfile(source, path)
    os.truncate(path, length)


def no_manifest(path):
    """A layer blob, but neither manifest.json nor index.json."""
    with _archive(path) as w:
        w.blob([layer(HELLO)])


def missing_layer(path):
    """manifest.json names a layer blob that the archive does not hold."""
    _docker(path, dict(layers=[layer(HELLO)], missing={0}))


def two_images(path):
    """manifest.json with two images."""
    _docker(path, *(dict(layers=[layer({n: n.encode()})], repo_tag=f"x/{n}:1") for n in "ab"))


def many_layers(path, n=1000) -> dict:
    """A valid docker-archive of ``n`` tiny layers."""
    return docker_archive(path, [layer({f"layers/{i}.txt": b"%d\n" % i}) for i in range(n)])


def gzip_bomb(path, decompressed=256 * 2**20) -> dict:
    """A valid docker-archive whose one gzip layer inflates to ``decompressed`` bytes (a
    multiple of 512), nearly all zeros; a few hundred KB on disk for the default."""
    if decompressed % BLOCK or decompressed < 4 * BLOCK:
        raise ValueError(f"decompressed must be a multiple of {BLOCK}, at least {4 * BLOCK}")
    stream = _stream_layer("data/zeros", decompressed - 4 * BLOCK, bytes)
    return docker_archive(path, [stream], compress=True) | {"decompressed": decompressed}


def zstd_layer(path) -> dict:
    """A docker-archive whose layer blob starts with the zstd magic (not valid zstd)."""
    return docker_archive(path, [ZSTD_MAGIC + bytes(range(256)) * 16])


def bad_config(path):
    """The image config is not JSON."""
    _docker(path, dict(layers=[layer(HELLO)], config=b"{this is not json"))


def mismatched_diff_ids(path) -> dict:
    """The config lists two diff_ids for the one layer."""
    data = layer(HELLO)
    rootfs = {"type": "layers", "diff_ids": [digest(data), digest(b"no such layer")]}
    return docker_archive(path, [data], config_extra={"rootfs": rootfs})


def oci_missing_blob(path):
    """index.json -> manifest -> a layer whose blob is not in the archive."""
    _oci(path, dict(layers=[layer(HELLO)], missing={0}))


def oci_two_manifests(path):
    """index.json with two images, tagged 1 and 2."""
    _oci(path, *(dict(layers=[layer({"tag": tag.encode()})], tag=tag) for tag in "12"))


def oci_index_of_indexes(path):
    """index.json names (as tag 1) a nested image index that names the image."""
    _oci(path, dict(layers=[layer(HELLO)]), nest=True)


def path_traversal(path):
    """A valid image, and before it a member named ../../etc/evil."""
    evil = {"../../etc/evil": b"written outside the extraction folder\n"}
    _docker(path, dict(layers=[layer(HELLO)]), extra_files=evil)


def symlinked_layers(path) -> dict:
    """A valid archive as docker before 25 wrote it (``<id>/layer.tar``, ``<hex>.json``):
    the second layer, equal to the first, is a symlink to the first one's layer.tar."""
    datas = [layer(HELLO), layer(HELLO), layer({"app/more.txt": b"more\n"})]
    diff_ids = [digest(data) for data in datas]
    ids = [hashlib.sha256(f"{i}:{d}".encode()).hexdigest() for i, d in enumerate(diff_ids)]
    config = _config(diff_ids)
    config_hex = digest(config).removeprefix("sha256:")
    with _archive(path) as w:
        for i, (data, v1) in enumerate(zip(datas, ids, strict=True)):
            w.dir(v1)
            w.file(f"{v1}/VERSION", b"1.0")
            w.file(f"{v1}/json", _json({"id": v1, "created": CREATED}))
            if i == 1:
                link = f"../{ids[0]}/layer.tar"
                w.f.write(_header(f"{v1}/layer.tar", kind=tarfile.SYMTYPE, mode=0o777, link=link))
            else:
                w.file(f"{v1}/layer.tar", data)
        w.file(f"{config_hex}.json", config)
        layers = [f"{v1}/layer.tar" for v1 in ids]
        entry = {"Config": f"{config_hex}.json", "RepoTags": ["example/app:1"], "Layers": layers}
        w.file("manifest.json", _json([entry]))
        w.file("repositories", _json({"example/app": {"1": ids[-1]}}))
    facts = {"config_digest": digest(config), "diff_ids": diff_ids, "layers": len(datas)}
    return facts | {"size": os.path.getsize(path)}


def _cut_valid(cut: Callable, path):
    """``cut(path, source)`` of a valid docker-archive with a 64 KiB random layer."""
    source = Path(f"{path}.source")
    docker_archive(source, [layer(HELLO), layer({"data/random.bin": os.urandom(1 << 16)})])
    cut(path, source)
    source.unlink()


#: name -> function(path) writing an archive that the dashboard must refuse
CORPUS: dict[str, Callable] = {
    "not_a_tar": not_a_tar,
    "truncated": functools.partial(_cut_valid, truncated),
    "truncated_at_member": functools.partial(_cut_valid, truncated_at_member),
    "no_manifest": no_manifest,
    "missing_layer": missing_layer,
    "two_images": two_images,
    "many_layers": many_layers,
    "gzip_bomb": gzip_bomb,
    "zstd_layer": zstd_layer,
    "bad_config": bad_config,
    "mismatched_diff_ids": mismatched_diff_ids,
    "oci_missing_blob": oci_missing_blob,
    "oci_two_manifests": oci_two_manifests,
    "oci_index_of_indexes": oci_index_of_indexes,
    "path_traversal": path_traversal,
}
#: name -> function(path) writing an unusual archive that the dashboard must accept
ODD_BUT_VALID: dict[str, Callable] = {"symlinked_layers": symlinked_layers}
