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
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ClusterError
from .gobuild import GO_MODULE_DIR, bin_dir, build, cache_root
from .registry import manifest_digest, mirror_repository, push_oci, split_reference

RECIPES_DIR = GO_MODULE_DIR / "images"
REPO_DIR = GO_MODULE_DIR.parent
#: bump when the build steps change what they produce (part of every cache key)
FORMAT = 2
#: 2026-01-01T00:00:00Z unless SOURCE_DATE_EPOCH says otherwise
SOURCE_DATE_EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "1767225600"))
MIRROR = os.environ.get("KARVDASH_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SECURITY = os.environ.get("KARVDASH_DEBIAN_SECURITY", "http://deb.debian.org/debian-security")
DPKG_EXCLUDE = tuple(f"/usr/share/{p}/*" for p in ("doc", "man", "info", "locale", "lintian"))
Log = Callable[[str], object]


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
        rootfs = work / "rootfs"
        _stage(recipe, work)
        _mmdebstrap(recipe, rootfs, work, log)
        if recipe.finish:
            _run(["sh", "-euc", recipe.finish, "sh", str(rootfs)], f"{recipe.name}: finish")
        packages = _dpkg_versions(rootfs)
        pip_freeze = rootfs / recipe.pip.get("venv", "/-").lstrip("/") / "pip-freeze.txt"
        if pip_freeze.is_file():
            for line in pip_freeze.read_text().splitlines():
                name, _, version = line.partition("==")
                packages[f"pypi:{name.lower()}"] = version
        version = _true_version(recipe, packages)
        _clean(rootfs)
        rootfs_size = sum(p.lstat().st_size for p in rootfs.rglob("*"))
        _umoci(recipe, rootfs, work / "oci", key, version)
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
        _remove(target)
        target.mkdir()
        (work / "oci").rename(target / "oci")
        (target / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    finally:
        _remove(work)
    for old in images_root().glob(f"{recipe.slug}-*"):
        if old != target:
            _remove(old)
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
            _run([*pip, "--no-deps", "-w", str(wheels), *local], "pip wheel")
        names = [w.name.split("-")[0] for w in sorted(wheels.glob("*.whl"))]
        (wheels / "requirements.txt").write_text("\n".join(pip_requirements(recipe) + names))


def _mmdebstrap(recipe: Recipe, rootfs: Path, work: Path, log: Log) -> None:
    # users with fixed ids, before the packages whose scripts would make them otherwise
    setup = ["set -eu", 'add() { grep -q "$2" "$1/etc/$3" || echo "$4" >> "$1/etc/$3"; }']
    for user in recipe.users:
        name, uid, gid, home, shell = [*user.split(":"), "/usr/sbin/nologin"][:5]
        setup += [f'add "$1" "^[^:]*:[^:]*:{gid}:" group "{name}:x:{gid}:"']
        setup += [f'add "$1" "^{name}:" passwd "{name}:x:{uid}:{gid}::{home}:{shell}"']
        setup += [f'add "$1" "^{name}:" shadow "{name}:*:::::::"']
    (work / "setup.sh").write_text("\n".join([*setup, recipe.setup]) + "\n")
    customize = ["set -eu", f'cp -a "{work}/files/." "$1/"']
    (work / "customize.sh").write_text("\n".join([*customize, recipe.customize]) + "\n")
    excludes = [*DPKG_EXCLUDE, *recipe.exclude]
    # in a mount namespace of its own: the /proc, /sys and /dev mounts of the chroot vanish
    # with it even when it is killed, so that removing a build folder never reaches them
    cmd = ["unshare", "--mount", "--propagation", "private", "mmdebstrap", "--mode=root"]
    cmd += ["--format=directory", f"--variant={recipe.variant}", '--aptopt=Acquire::Retries "3"']
    cmd += [
        *(f"--dpkgopt=path-exclude={p}" for p in excludes),
        "--dpkgopt=path-include=/usr/share/doc/*/copyright",
        f'--essential-hook=sh "{work}/setup.sh" "$1"',
        f'--customize-hook=sh "{work}/customize.sh" "$1"',
    ]
    if recipe.packages:
        cmd.append("--include=" + ",".join(recipe.packages))
    s = recipe.suite
    cmd += [s, str(rootfs), f"deb {MIRROR} {s} main", f"deb {MIRROR} {s}-updates main"]
    cmd.append(f"deb {SECURITY} {s}-security main")
    # what the recipes' hooks may use: the host's Python (its pip and pip cache), the date
    env = dict(os.environ, KARVDASH_PYTHON=sys.executable)
    env["SOURCE_DATE_EPOCH"] = str(SOURCE_DATE_EPOCH)
    _run(cmd, f"mmdebstrap ({recipe.name})", log=log, env=env)


def _dpkg_versions(rootfs: Path) -> dict[str, str]:
    if not (rootfs / "var/lib/dpkg/status").is_file():
        return {}
    query = ["dpkg-query", f"--admindir={rootfs}/var/lib/dpkg", "-W", "-f=${Package} ${Version}\\n"]
    out = subprocess.run(query, capture_output=True, text=True, check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


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


def _clean(rootfs: Path) -> None:
    """Leave out what the runtime provides or what changes from build to build (the logs
    of the build, caches), and clamp every file time to SOURCE_DATE_EPOCH."""
    script = (
        'cd "$1" && rm -rf etc/hostname etc/resolv.conf etc/machine-id var/cache/ldconfig'
        " dev/* tmp/* tmp/.[!.]* var/cache/apt/*"
        " && { [ ! -d var/log ] || find var/log ! -type d -delete; }"
    )
    _run(["sh", "-euc", script, "sh", str(rootfs)], "cleaning the root file system")
    t = SOURCE_DATE_EPOCH
    for path in [rootfs, *rootfs.rglob("*")]:
        if path.lstat().st_mtime > t:
            os.utime(path, (t, t), follow_symlinks=False)


def _umoci(recipe: Recipe, rootfs: Path, oci: Path, key: str, version: str) -> None:
    image = f"{oci}:{recipe.tag}"
    created = datetime.datetime.fromtimestamp(SOURCE_DATE_EPOCH, datetime.UTC)
    when = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    _run(["umoci", "init", "--layout", str(oci)], "umoci init")
    _run(["umoci", "new", "--image", image], "umoci new")
    by = f"mmdebstrap {recipe.suite} {' '.join(recipe.packages)}"
    history = [f"--history.created={when}", f"--history.created_by={by}"]
    _run(["umoci", "insert", "--image", image, *history, str(rootfs), "/"], "umoci insert")
    args = ["umoci", "config", "--image", image, f"--created={when}", "--author=karvdash"]
    args += ["--architecture=amd64", "--os=linux", f"--history.created={when}"]
    # the recipe's [config] uses umoci's names (--config.<name>); env is a table
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    env |= recipe.config.get("env", {})
    config = {**recipe.config, "env": [f"{k}={v}" for k, v in env.items()]}
    for flag, values in config.items():  # lists repeat their flag; a string is one value
        values = [values] if isinstance(values, str) else values
        args += [f"--config.{flag}={v}" for v in values]
    description = recipe.description or f"Debian {recipe.suite}'s {recipe.version_of}, for Karvdash"
    labels = {"title": recipe.name, "description": description, "version": version}
    labels = {f"org.opencontainers.image.{k}": v for k, v in labels.items()}
    labels |= {"io.karvdash.debian-suite": recipe.suite, "io.karvdash.recipe-key": key}
    args += [f"--config.label={k}={v}" for k, v in labels.items()]
    _run(args, "umoci config")
    _run(["umoci", "gc", "--layout", str(oci)], "umoci gc")


def _localcluster_binary(name: str, build_missing: bool = True) -> Path:
    path = bin_dir() / name
    return build() / name if build_missing and not path.is_file() else path


def _remove(path: Path) -> None:
    """``rm -rf`` that never crosses into another file system (a mount left in a root file
    system must not take the host's files with it)."""
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=False)


def _hash_tree(digest, path: Path) -> None:
    if not path.exists():
        raise ClusterError(f"{path} is missing: an image's recipe or input is not there")
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if "__pycache__" in f.parts or f.suffix == ".pyc":
            continue
        digest.update(str(f.relative_to(path.parent)).encode() + b"\0")
        with open(f, "rb") as stream:
            digest.update(hashlib.file_digest(stream, "sha256").digest())


def _run(cmd: list[str], what: str, log: Log | None = None, env=None) -> None:
    """Run ``cmd``; with ``log``, its progress lines (mmdebstrap's ``I:``) are shown."""
    started = time.monotonic()
    out, err = subprocess.PIPE, subprocess.STDOUT
    proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
    assert proc.stdout is not None
    tail: list[str] = []
    for raw in proc.stdout:
        line = raw.rstrip()
        tail = [*tail, line][-40:]
        if log is not None and line.startswith(("I: ", "W: ", "E: ")) and "unsandboxed" not in line:
            log(f"  {time.monotonic() - started:5.1f}s {line}")
    if proc.wait() != 0:
        raise ClusterError(f"{what} failed ({proc.returncode}):\n" + "\n".join(tail))
