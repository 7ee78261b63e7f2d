"""What an uploaded image archive holds, checked whole before anything reaches the registry.

:func:`check_archive` reads a ``docker save`` tarball (docker-archive: ``manifest.json``)
or an OCI image layout tarball (oci-archive: ``oci-layout`` and ``index.json``), gzipped
or not (:func:`unpack_gzip` first), and answers its :class:`Archive` facts or raises
:class:`ArchiveError` with a message that says what is wrong:

- not a tar; truncated (a member's data runs past the end, or the end-of-archive blocks
  are missing: a cut exactly between two members), or damaged headers;
- a member whose name climbs out of the archive (``..``, absolute) or a link that does;
- neither manifest; a manifest that is not JSON or too large; more than one image (or a
  multi-platform index: save one platform); a config or layer it names that the archive
  does not have (links inside the archive are followed, as older ``docker save`` writes
  them); a config whose ``rootfs.diff_ids`` do not match the layers;
- more layers than ``max_layers``; layers that unpack to more than ``max_unpacked`` bytes
  in all (gzip layers are decompressed to count, and the count stops at the limit); a
  layer compression other than none and gzip (zstd).

Blob digests are not recomputed here: skopeo and the registry verify every blob they move
(a wrong one fails the push, and the tag is never written).
"""

from __future__ import annotations

import gzip
import json
import os
import posixpath
import tarfile
import zlib
from dataclasses import dataclass, field

BLOCK = 512
#: the most members read from an archive (a header bomb is refused early)
MAX_MEMBERS = 100_000
MAX_JSON = 4 << 20
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


class ArchiveError(ValueError):
    """Not an image archive this dashboard can push; the message says why."""


@dataclass
class Archive:
    format: str  # docker-archive or oci-archive
    layers: int
    unpacked: int  # bytes, the layers unpacked
    blobs: list[str] = field(default_factory=list)  # the config and layers, by member name


def is_gzip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def unpack_gzip(path: str, into: str, limit: int) -> None:
    """Decompress a gzipped archive ``path`` to ``into`` (at most ``limit`` bytes)."""
    written = 0
    try:
        with gzip.open(path, "rb") as src, open(into, "wb") as out:
            while piece := src.read(1 << 20):
                written += len(piece)
                if written > limit:
                    raise ArchiveError(f"the archive unpacks to more than {limit} bytes")
                out.write(piece)
    except (OSError, EOFError, zlib.error) as err:
        raise ArchiveError(f"the gzip archive is damaged or truncated ({err})") from None


class _Members:
    """The members of a plain tar, by normalised name, checked for truncation."""

    def __init__(self, path: str):
        self.path = path
        self.size = os.path.getsize(path)
        self.files: dict[str, tarfile.TarInfo] = {}
        self.links: dict[str, str] = {}
        try:
            self.tar = tarfile.open(path, "r:")  # noqa: SIM115 (closed by check_archive)
        except tarfile.TarError:
            raise ArchiveError(
                "this is not a tar archive (docker save, or an OCI layout)"
            ) from None
        end = 0
        try:
            for count, member in enumerate(self.tar, 1):
                if count > MAX_MEMBERS:
                    raise ArchiveError(f"the archive has more than {MAX_MEMBERS} members")
                self._add(member)
                end = member.offset_data + -(-member.size // BLOCK) * BLOCK
        except (tarfile.TarError, EOFError) as err:
            raise ArchiveError(f"the archive is truncated or damaged ({err})") from None
        if not self.files and not self.links:
            raise ArchiveError("the archive is empty")
        self._check_end(end)

    def _add(self, member: tarfile.TarInfo) -> None:
        name = self._safe(member.name)
        if member.offset_data + member.size > self.size:
            raise ArchiveError(f"the archive is truncated: {member.name!r} is cut short")
        if member.issym() or member.islnk():
            if member.issym():
                target = posixpath.join(posixpath.dirname(name), member.linkname)
            else:
                target = member.linkname
            self.links[name] = self._safe(target, of=member.name)
        elif member.isfile():
            self.files[name] = member

    @staticmethod
    def _safe(name: str, of: str | None = None) -> str:
        normal = posixpath.normpath(name)
        if name.startswith("/") or normal == ".." or normal.startswith("../"):
            where = f"{of!r} links to {name!r}" if of else f"{name!r}"
            raise ArchiveError(f"the archive's member {where}, outside the archive")
        return normal

    def _check_end(self, end: int) -> None:
        with open(self.path, "rb") as f:
            f.seek(end)
            tail = f.read(2 * BLOCK)
        if len(tail) < 2 * BLOCK or tail.strip(b"\0"):
            raise ArchiveError("the archive is truncated: it has no end-of-archive blocks")

    def member(self, name: str, what: str) -> tarfile.TarInfo:
        """The regular file ``name`` names, links followed; ArchiveError when missing."""
        current = self._safe(name)
        for _ in range(16):
            if current in self.files:
                return self.files[current]
            if current not in self.links:
                break
            current = self.links[current]
        raise ArchiveError(f"the archive has no {what} {name!r} (its manifest names it)")

    def json(self, name: str, what: str):
        member = self.member(name, what)
        if member.size > MAX_JSON:
            raise ArchiveError(f"the {what} {name!r} is larger than {MAX_JSON} bytes")
        try:
            return json.loads(self.tar.extractfile(member).read())
        except (ValueError, UnicodeDecodeError):
            raise ArchiveError(f"the {what} {name!r} is not JSON") from None

    def unpacked(self, member: tarfile.TarInfo, budget: int) -> int:
        """The layer's size unpacked, counting at most ``budget`` + 1 bytes."""
        with self.tar.extractfile(member) as f:
            head = f.read(4)
            if head.startswith(ZSTD_MAGIC):
                raise ArchiveError(
                    f"layer {member.name!r} is zstd-compressed: push layers that are plain"
                    " or gzip-compressed"
                )
            if not head.startswith(GZIP_MAGIC):
                return member.size
            f.seek(0)
            inflate, total = zlib.decompressobj(16 + zlib.MAX_WBITS), 0
            try:
                while (piece := f.read(1 << 20)) and total <= budget:
                    total += len(inflate.decompress(piece, budget + 1 - total))
                    while inflate.unconsumed_tail and total <= budget:
                        total += len(
                            inflate.decompress(inflate.unconsumed_tail, budget + 1 - total)
                        )
            except zlib.error as err:
                raise ArchiveError(f"layer {member.name!r} is damaged gzip ({err})") from None
            return total


def _check_layers(members: _Members, names: list[str], max_layers: int, max_unpacked: int) -> int:
    if not names:
        raise ArchiveError("the image has no layers")
    if len(names) > max_layers:
        raise ArchiveError(f"the image has {len(names)} layers; at most {max_layers} are allowed")
    total, seen = 0, set()
    for name in names:
        member = members.member(name, "layer")
        if member.name in seen:
            continue
        seen.add(member.name)
        total += members.unpacked(member, max_unpacked - total)
        if total > max_unpacked:
            raise ArchiveError(
                f"the image's layers unpack to more than {max_unpacked} bytes, the limit"
            )
    return total


def _docker(members: _Members, limits: tuple[int, int]) -> Archive:
    manifest = members.json("manifest.json", "manifest")
    if not isinstance(manifest, list) or not manifest:
        raise ArchiveError("manifest.json names no image")
    if len(manifest) > 1:
        raise ArchiveError(f"the archive holds {len(manifest)} images: save one image per archive")
    entry = manifest[0]
    config_name, layers = entry.get("Config"), entry.get("Layers")
    if not isinstance(config_name, str) or not isinstance(layers, list):
        raise ArchiveError("manifest.json's entry has no Config and Layers")
    if not all(isinstance(layer, str) for layer in layers):
        raise ArchiveError("manifest.json's Layers are not file names")
    config = members.json(config_name, "image config")
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") if isinstance(config, dict) else None
    if not isinstance(diff_ids, list) or len(diff_ids) != len(layers):
        raise ArchiveError(
            f"the image config lists {len(diff_ids or [])} layers and the manifest {len(layers)}"
        )
    unpacked = _check_layers(members, layers, *limits)
    return Archive("docker-archive", len(layers), unpacked, [config_name, *layers])


def _blob(descriptor, what: str) -> str:
    digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
    algorithm, _, encoded = (digest or "").partition(":")
    if not algorithm or not encoded or "/" in digest or not algorithm.isalnum():
        raise ArchiveError(f"the {what}'s descriptor has no valid digest")
    return f"blobs/{algorithm}/{encoded}"


def _oci(members: _Members, limits: tuple[int, int]) -> Archive:
    index = members.json("index.json", "OCI index")
    found = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(found, list) or not found:
        raise ArchiveError("index.json names no image")
    if len(found) > 1:
        raise ArchiveError(f"the archive holds {len(found)} images: save one image per archive")
    if found[0].get("mediaType") in INDEX_TYPES:
        raise ArchiveError("the archive holds a multi-platform index: save one platform")
    manifest = members.json(_blob(found[0], "manifest"), "image manifest")
    if not isinstance(manifest, dict) or manifest.get("mediaType") in INDEX_TYPES:
        raise ArchiveError("the archive's manifest is not an image manifest")
    config = _blob(manifest.get("config"), "config")
    members.member(config, "image config")
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise ArchiveError("the image manifest has no layers")
    names = [_blob(layer, "layer") for layer in layers]
    unpacked = _check_layers(members, names, *limits)
    return Archive("oci-archive", len(names), unpacked, [config, *names])


def check_archive(path: str, *, max_layers: int, max_unpacked: int) -> Archive:
    """The facts of the plain tar at ``path``, or :class:`ArchiveError`."""
    members = _Members(path)
    try:
        if "manifest.json" in members.files or "manifest.json" in members.links:
            return _docker(members, (max_layers, max_unpacked))
        if "index.json" in members.files and "oci-layout" in members.files:
            return _oci(members, (max_layers, max_unpacked))
        raise ArchiveError(
            "the archive has neither manifest.json (docker save) nor index.json and"
            " oci-layout (an OCI image layout)"
        )
    finally:
        members.tar.close()
