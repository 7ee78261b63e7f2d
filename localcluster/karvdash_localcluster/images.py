"""The container images the local cluster needs, built here (no public registry is
reachable) from Debian packages (mmdebstrap), PyPI (pip) and our own recipes
(``localcluster/images/<image>/recipe.toml`` and the scripts beside it). Guarantees:

- :func:`build_image` makes an OCI image (umoci) from a root file system that mmdebstrap
  makes from a fixed package list of one Debian suite, once: it is cached by content under
  ``~/.cache/karvdash/images/``, keyed by the recipe folder, suite, mirrors, packages,
  SOURCE_DATE_EPOCH and, for the single-user image, the working tree's ``karvdash_labext``,
  the pinned PyPI versions and the kubectl binary.
- An image is tagged with the true version of what it runs (``version_of``): a build whose
  Debian package has another version than the tag fails and says which version it found.
- :func:`ensure_images` builds what is missing and pushes each image to the registry only
  when the registry does not already serve that digest (``skopeo copy --preserve-digests``:
  the pushed digest is the one built). Names follow the mirror layout of :mod:`.registry`.
- Reproducibility: file times are clamped to SOURCE_DATE_EPOCH and the image's dates set to
  it, so the same packages give the same digest. Not bit-reproducible over time: Debian's
  mirror is not a snapshot (security updates change packages) and PyPI dependencies below
  the pinned ones are resolved at build time; each image records its package versions
  (``meta.json`` in the cache, ``pip-freeze.txt`` in the single-user image).
- Building needs root (mmdebstrap's root mode, chroot) and Debian's mmdebstrap, umoci and
  skopeo; a missing tool or a failed step raises :class:`ClusterError` saying what to do.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from . import rootfs
from .errors import ClusterError
from .gobuild import GO_MODULE_DIR, bin_dir, build, cache_root
from .registry import manifest_digest, mirror_repository, push_oci, split_reference
from .rootfs import MIRROR, SECURITY, SOURCE_DATE_EPOCH, Log

RECIPES_DIR = GO_MODULE_DIR / "images"
REPO_DIR = GO_MODULE_DIR.parent
#: bump when the build steps change what they produce (part of every cache key)
FORMAT = 2


@dataclass(frozen=True)
class Recipe:
    """One image of a ``recipe.toml``: its top level, then its ``[[image]]`` entry."""

    name: str
    folder: Path
    suite: str
    variant: str = "essential"
    packages: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    files: dict = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    setup: str = ""
    customize: str = ""
    finish: str = ""
    config: dict = field(default_factory=dict)
    pip: dict = field(default_factory=dict)
    localcluster_binaries: dict = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    version_of: str | None = None
    tag_is_version: bool = True
    description: str = ""

    @property
    def repository(self) -> str:
        return mirror_repository(self.name)

    @property
    def tag(self) -> str:
        return split_reference(self.name)[2]

    @property
    def slug(self) -> str:
        return self.name.replace("/", "_").replace(":", "_")

    def key(self, build_missing: bool = True) -> str:
        """The content key: equal keys build the same image. A local-cluster binary that
        is not built yet is built first, unless ``build_missing`` is False (then the key
        is one no build has)."""
        digest = hashlib.sha256()
        fields = {k: v for k, v in self.__dict__.items() if k != "folder"}
        digest.update(json.dumps(fields, sort_keys=True, default=str).encode())
        digest.update(json.dumps([FORMAT, SOURCE_DATE_EPOCH, MIRROR, SECURITY]).encode())
        for path in [self.folder, *(REPO_DIR / p for p in self.inputs)]:
            _hash_tree(digest, path)
        for requirement in pip_requirements(self):
            digest.update(requirement.encode())
        for name in self.localcluster_binaries:
            path = _localcluster_binary(name, build_missing)
            digest.update(str(path).encode()) if not path.is_file() else _hash_tree(digest, path)
        return digest.hexdigest()[:16]


@dataclass
class Built:
    """An image in the cache: ``oci_dir`` is an OCI layout holding the tag ``recipe.tag``."""

    recipe: Recipe
    oci_dir: Path
    meta: dict
    built_now: bool

    @property
    def digest(self) -> str:
        return self.meta["digest"]


def project_version() -> str:
    return tomllib.loads((REPO_DIR / "pyproject.toml").read_text())["project"]["version"]


def recipes() -> dict[str, Recipe]:
    """Every image the recipes describe, by name (``postgres:15``, ...)."""
    found: dict[str, Recipe] = {}
    for path in sorted(RECIPES_DIR.glob("*/recipe.toml")):
        data = tomllib.loads(path.read_text())
        for entry in data.pop("image", []):
            merged = {**data, **entry, "config": {**data.get("config", {})}}
            merged["config"].update(entry.get("config", {}))
            name = merged.pop("name").replace("{project_version}", project_version())
            # "{tag}" anywhere in the recipe is the image's tag (a plain version string)
            merged = json.loads(json.dumps(merged).replace("{tag}", split_reference(name)[2]))
            tuples = {k: tuple(v) for k, v in merged.items() if isinstance(v, list)}
            found[name] = Recipe(name=name, folder=path.parent, **{**merged, **tuples})
    return found


def select(names: list[str] | None = None) -> list[Recipe]:
    """The recipes named (``postgres:15``; ``postgres`` or ``registry.k8s.io/pause`` or
    ``pause`` for all the tags of a repository); all when None."""
    known = recipes()
    if not names:
        return list(known.values())
    chosen = []
    for name in names:
        repos = {n: n.rsplit(":", 1)[0] for n in known}
        hits = [r for n, r in known.items() if name in (n, repos[n], repos[n].split("/")[-1])]
        if not hits:
            raise ClusterError(f"no image recipe is named {name!r}; known: {', '.join(known)}")
        chosen += [r for r in hits if r not in chosen]
    return chosen


def images_root() -> Path:
    """Where built images are kept: ``$KARVDASH_IMAGE_CACHE`` or ``<cache>/images``."""
    return Path(os.environ.get("KARVDASH_IMAGE_CACHE") or cache_root() / "images")


def cached(recipe: Recipe, build_missing: bool = True) -> Built | None:
    """The cached build of ``recipe``'s current content, if there is one."""
    folder = images_root() / f"{recipe.slug}-{recipe.key(build_missing)}"
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return Built(recipe, folder / "oci", meta, built_now=False)


def build_image(recipe: Recipe, log: Log = print) -> Built:
    """The image of ``recipe``, built now unless the cache has it. Concurrent builds of
    one image wait on a lock."""
    images_root().mkdir(parents=True, exist_ok=True)
    with open(images_root() / f"{recipe.slug}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = cached(recipe)
        if done is not None:
            return done
        for tool in ("mmdebstrap", "umoci", "skopeo"):
            if shutil.which(tool) is None:
                raise ClusterError(
                    f"{tool} is missing: apt-get install mmdebstrap umoci skopeo (.ci/run does)"
                )
        if os.geteuid() != 0:
            raise ClusterError("building images needs root (mmdebstrap's root mode, chroot)")
        return _build(recipe, log)


def push_image(built: Built, registry_address: str, log: Log = print) -> tuple[str, bool]:
    """Push ``built`` unless the registry already serves its digest under its tag.
    Returns the pushed reference (with digest) and whether anything was sent."""
    recipe = built.recipe
    ref = f"{registry_address}/{recipe.repository}:{recipe.tag}@{built.digest}"
    if manifest_digest(registry_address, recipe.repository, recipe.tag) == built.digest:
        return ref, False
    started = time.monotonic()
    push_oci(built.oci_dir, recipe.tag, registry_address, recipe.repository, built.digest)
    log(f"pushed {recipe.name} in {time.monotonic() - started:.1f}s")
    return ref, True


def ensure_images(
    registry_address: str, names: list[str] | None = None, log: Log = print
) -> dict[str, str]:
    """Build what is missing, push what the registry lacks; name -> pushed reference."""
    return {
        recipe.name: push_image(build_image(recipe, log), registry_address, log)[0]
        for recipe in select(names)
    }


def pip_requirements(recipe: Recipe) -> list[str]:
    """The PyPI requirements of ``recipe``, pinned to the development venv's versions."""
    try:
        pinned = [f"{n}=={importlib.metadata.version(n)}" for n in recipe.pip.get("from_venv", [])]
    except importlib.metadata.PackageNotFoundError as err:
        raise ClusterError(
            f"{err.name} is not installed here: build the images from the project's venv"
            " (.venv/bin/python -m karvdash_localcluster images build)"
        ) from None
    return pinned + list(recipe.pip.get("requirements", []))


# -- the build


def _build(recipe: Recipe, log: Log) -> Built:
    key, started = recipe.key(), time.monotonic()
    log(f"building {recipe.name} from Debian {recipe.suite} ({', '.join(recipe.packages)})")
    work = Path(tempfile.mkdtemp(prefix=f".build-{recipe.slug}-", dir=images_root()))
    try:
        tree = work / "rootfs"  # not "rootfs": that is the module
        _stage(recipe, work)
        rootfs.mmdebstrap(recipe, tree, work, log)
        if recipe.finish:
            rootfs.run(["sh", "-euc", recipe.finish, "sh", str(tree)], f"{recipe.name}: finish")
        packages = rootfs.dpkg_versions(tree)
        pip_freeze = tree / recipe.pip.get("venv", "/-").lstrip("/") / "pip-freeze.txt"
        if pip_freeze.is_file():
            for line in pip_freeze.read_text().splitlines():
                name, _, version = line.partition("==")
                packages[f"pypi:{name.lower()}"] = version
        version = _true_version(recipe, packages)
        rootfs.clean(tree)
        rootfs_size = sum(p.lstat().st_size for p in tree.rglob("*"))
        rootfs.umoci(recipe, tree, work / "oci", key, version)
        index = json.loads((work / "oci" / "index.json").read_text())
        manifest = index["manifests"][0]
        blob = work / "oci" / "blobs" / "sha256" / manifest["digest"].split(":", 1)[1]
        parts = [manifest, json.loads(blob.read_text())["config"]]
        parts += json.loads(blob.read_text())["layers"]
        meta = dict(
            name=recipe.name, repository=recipe.repository, tag=recipe.tag, key=key,
            digest=manifest["digest"], suite=recipe.suite, version=version,
            size=sum(p["size"] for p in parts), rootfs_size=rootfs_size,
            build_seconds=round(time.monotonic() - started, 1),
            built_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            packages=packages,
        )  # fmt: skip
        target = images_root() / f"{recipe.slug}-{key}"
        rootfs.remove(target)
        target.mkdir()
        (work / "oci").rename(target / "oci")
        (target / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    finally:
        rootfs.remove(work)
    for old in images_root().glob(f"{recipe.slug}-*"):
        if old != target:
            rootfs.remove(old)
    log(
        f"built {recipe.name} ({version}) in {meta['build_seconds']:.0f}s:"
        f" {meta['size'] / 1e6:.1f} MB compressed, {meta['digest'][:19]}"
    )
    return Built(recipe, target / "oci", meta, built_now=True)


def _stage(recipe: Recipe, work: Path) -> None:
    """What the hooks copy in: the recipe's files, local binaries, the wheels of the
    working tree and ``requirements.txt`` (pinned requirements and those wheels' names)."""
    files = work / "files"
    copies = [(recipe.folder / src, dest) for src, dest in recipe.files.items()]
    copies += [(_localcluster_binary(n), d) for n, d in recipe.localcluster_binaries.items()]
    for source, target in copies:
        (files / target.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, files / target.lstrip("/"))
    if recipe.pip:
        # the recipe's hook downloads the rest for the image's Python, and installs
        wheels = files / "tmp" / "wheelhouse"
        wheels.mkdir(parents=True)
        local = [str(REPO_DIR / p) for p in recipe.pip.get("wheels", [])]
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "wheel", "--quiet"]
        if local:
            rootfs.run([*pip, "--no-deps", "-w", str(wheels), *local], "pip wheel")
        # pure-Python dependencies PyPI has only as source: wheels built here, at the
        # development venv's version (the image's pip then takes no source at all)
        sdists = [f"{n}=={importlib.metadata.version(n)}" for n in recipe.pip.get("sdists", [])]
        if sdists:
            rootfs.run(
                [*pip, "--no-deps", "--no-binary=:all:", "-w", str(wheels), *sdists], "pip wheel"
            )
        built = {n.lower() for n in recipe.pip.get("sdists", [])}
        names = [
            w.name.split("-")[0]
            for w in sorted(wheels.glob("*.whl"))
            if w.name.split("-")[0].lower() not in built
        ]
        (wheels / "requirements.txt").write_text("\n".join(pip_requirements(recipe) + names))


def _true_version(recipe: Recipe, packages: dict[str, str]) -> str:
    if not recipe.version_of:
        return recipe.tag
    found = packages.get(recipe.version_of) or packages.get(f"pypi:{recipe.version_of}")
    if found is None:
        raise ClusterError(f"{recipe.name}: {recipe.version_of} was not installed")
    upstream = found.split(":", 1)[-1].split("-", 1)[0].split("+", 1)[0]
    parts = recipe.tag.split(".")
    if recipe.tag_is_version and upstream.split(".")[: len(parts)] != parts:
        raise ClusterError(
            f"Debian {recipe.suite}'s {recipe.version_of} is {found}, not {recipe.tag}: an"
            f" image is never tagged with another version; change the tag in"
            f" {recipe.folder / 'recipe.toml'} (and the templates that use it)"
        )
    return found


def _localcluster_binary(name: str, build_missing: bool = True) -> Path:
    path = bin_dir() / name
    return build() / name if build_missing and not path.is_file() else path


SKIPPED_IN_INPUTS = {"__pycache__", "node_modules"}


def _hash_tree(digest, path: Path) -> None:
    if not path.exists():
        raise ClusterError(f"{path} is missing: an image's recipe or input is not there")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        # byte code and npm's dependencies (karvdash_labext/lab/node_modules: the built
        # extension beside it is what the image gets) say nothing of the image
        if SKIPPED_IN_INPUTS & set(f.parts) or f.suffix == ".pyc":
            continue
        digest.update(str(f.relative_to(path.parent)).encode() + b"\0")
        with open(f, "rb") as stream:
            digest.update(hashlib.file_digest(stream, "sha256").digest())
