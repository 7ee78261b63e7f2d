"""Building the control plane's binaries from the Go module, once, into a cache.

The Go module is the folder that holds this package (``localcluster/``: go.mod, go.sum,
tools.go, cmd/etcd). The cache lives outside the repository, under
``~/.cache/karvdash/localcluster/<key>/bin`` (``$KARVDASH_CACHE`` or ``$XDG_CACHE_HOME``
move it); the key depends only on the content of go.mod, go.sum and cmd/etcd/main.go,
so a second build with the same pins is a no-op. Concurrent builds wait on a lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .errors import ClusterError, log

GO_MODULE_DIR = Path(__file__).resolve().parent.parent

#: command name -> Go package, built by :func:`build`
COMMANDS = {
    "etcd": "./cmd/etcd",
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
    "kubectl": "k8s.io/kubernetes/cmd/kubectl",
    "kwok": "sigs.k8s.io/kwok/cmd/kwok",
}

#: the files whose content makes the cache key (paths relative to the Go module)
KEY_FILES = ("go.mod", "go.sum", "cmd/etcd/main.go")


def _module_file(module_dir: Path, name: str) -> Path:
    path = module_dir / name
    if not path.is_file():
        raise ClusterError(
            f"{path} is missing: the launcher builds from the Go module next to it;"
            " install it from the repository with 'pip install -e ./localcluster'"
        )
    return path


def pinned_versions(module_dir: Path = GO_MODULE_DIR) -> dict[str, str]:
    """The pinned releases, read from the Go module's go.mod."""
    wanted = {
        "k8s.io/kubernetes": "kubernetes",
        "sigs.k8s.io/kwok": "kwok",
        "go.etcd.io/etcd/server/v3": "etcd",
    }
    found: dict[str, str] = {}
    for line in _module_file(module_dir, "go.mod").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in wanted:
            found[wanted[parts[0]]] = parts[1]
    return found


def cache_root() -> Path:
    base = os.environ.get("KARVDASH_CACHE") or os.environ.get("XDG_CACHE_HOME")
    if base:
        root = Path(base)
        return root if os.environ.get("KARVDASH_CACHE") else root / "karvdash"
    return Path.home() / ".cache" / "karvdash"


def build_key(module_dir: Path = GO_MODULE_DIR) -> str:
    digest = hashlib.sha256()
    for name in KEY_FILES:
        digest.update(name.encode())
        digest.update(_module_file(module_dir, name).read_bytes())
    versions = pinned_versions(module_dir)
    return f"k8s-{versions.get('kubernetes', 'unknown')}-{digest.hexdigest()[:12]}"


def bin_dir(module_dir: Path = GO_MODULE_DIR) -> Path:
    return cache_root() / "localcluster" / build_key(module_dir) / "bin"


def build(module_dir: Path = GO_MODULE_DIR, verbose: bool = True) -> Path:
    """Build the control plane binaries into the cache, if not there yet.

    Returns the folder that holds them.
    """
    target = bin_dir(module_dir)
    if all((target / name).is_file() for name in COMMANDS):
        return target
    if shutil.which("go") is None:
        raise ClusterError("the Go toolchain ('go') is needed to build the control plane")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all((target / name).is_file() for name in COMMANDS):
            return target
        staging = Path(tempfile.mkdtemp(prefix="bin-", dir=target.parent))
        versions = pinned_versions(module_dir)
        log(
            "building the control plane once (kubernetes {}, kwok {}, etcd {}) into {};"
            " a cold build takes 15-30 minutes on 2 cores, later starts reuse it".format(
                versions.get("kubernetes"), versions.get("kwok"), versions.get("etcd"), target
            )
        )
        env = dict(os.environ, CGO_ENABLED="0")
        start = time.monotonic()
        cmd = ["go", "build", "-v", "-ldflags=-s -w", "-o", str(staging) + "/", *COMMANDS.values()]
        proc = subprocess.Popen(
            cmd,
            cwd=module_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        last_report = 0.0
        tail: list[str] = []
        for compiled, raw in enumerate(proc.stdout, start=1):
            line = raw.rstrip()
            tail = [*tail, line][-40:]
            now = time.monotonic()
            if verbose and (now - last_report > 10 or "/cmd/" in line):
                log(f"  {compiled} packages compiled, {now - start:.0f}s: {line}")
                last_report = now
        if proc.wait() != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise ClusterError("go build failed:\n" + "\n".join(tail))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
        log(f"built in {time.monotonic() - start:.0f}s")
    return target
