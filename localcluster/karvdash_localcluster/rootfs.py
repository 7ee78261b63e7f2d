"""The steps that make an image's root file system and its OCI image (for
:mod:`.images`): mmdebstrap in a mount namespace of its own, cleaning and clamping file
times to SOURCE_DATE_EPOCH, umoci, and running a tool with its progress shown and its
failure explained."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ClusterError

if TYPE_CHECKING:
    from .images import Recipe

#: 2026-01-01T00:00:00Z unless SOURCE_DATE_EPOCH says otherwise
SOURCE_DATE_EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "1767225600"))
MIRROR = os.environ.get("KARVDASH_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SECURITY = os.environ.get("KARVDASH_DEBIAN_SECURITY", "http://deb.debian.org/debian-security")
DPKG_EXCLUDE = tuple(f"/usr/share/{p}/*" for p in ("doc", "man", "info", "locale", "lintian"))
Log = Callable[[str], object]


def mmdebstrap(recipe: Recipe, rootfs: Path, work: Path, log: Log) -> None:
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
    # what the recipes' hooks may use: the host's Python (its pip and pip cache), the date,
    # the repository (for the files a recipe lists in its inputs)
    env = dict(os.environ, KARVDASH_PYTHON=sys.executable)
    env["KARVDASH_REPO"] = str(Path(__file__).resolve().parents[2])  # its named inputs
    env["SOURCE_DATE_EPOCH"] = str(SOURCE_DATE_EPOCH)
    run(cmd, f"mmdebstrap ({recipe.name})", log=log, env=env)


def dpkg_versions(rootfs: Path) -> dict[str, str]:
    if not (rootfs / "var/lib/dpkg/status").is_file():
        return {}
    query = ["dpkg-query", f"--admindir={rootfs}/var/lib/dpkg", "-W", "-f=${Package} ${Version}\\n"]
    out = subprocess.run(query, capture_output=True, text=True, check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def clean(rootfs: Path) -> None:
    """Leave out what the runtime provides or what changes from build to build (the logs
    of the build, caches), and clamp every file time to SOURCE_DATE_EPOCH."""
    script = (
        'cd "$1" && rm -rf etc/hostname etc/resolv.conf etc/machine-id var/cache/ldconfig'
        " dev/* tmp/* tmp/.[!.]* var/cache/apt/*"
        " && { [ ! -d var/log ] || find var/log ! -type d -delete; }"
    )
    run(["sh", "-euc", script, "sh", str(rootfs)], "cleaning the root file system")
    t = SOURCE_DATE_EPOCH
    for path in [rootfs, *rootfs.rglob("*")]:
        if path.lstat().st_mtime > t:
            os.utime(path, (t, t), follow_symlinks=False)


def umoci(recipe: Recipe, rootfs: Path, oci: Path, key: str, version: str) -> None:
    image = f"{oci}:{recipe.tag}"
    created = datetime.datetime.fromtimestamp(SOURCE_DATE_EPOCH, datetime.UTC)
    when = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    run(["umoci", "init", "--layout", str(oci)], "umoci init")
    run(["umoci", "new", "--image", image], "umoci new")
    by = f"mmdebstrap {recipe.suite} {' '.join(recipe.packages)}"
    history = [f"--history.created={when}", f"--history.created_by={by}"]
    run(["umoci", "insert", "--image", image, *history, str(rootfs), "/"], "umoci insert")
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
    run(args, "umoci config")
    run(["umoci", "gc", "--layout", str(oci)], "umoci gc")


def remove(path: Path) -> None:
    """``rm -rf`` that never crosses into another file system (a mount left in a root file
    system must not take the host's files with it)."""
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=False)


def run(cmd: list[str], what: str, log: Log | None = None, env=None) -> None:
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
