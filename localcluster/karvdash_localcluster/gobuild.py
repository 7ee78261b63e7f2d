"""Building the cluster's binaries from the Go modules, once, into a cache.

Two Go modules, each built into a folder of its own:

- the control plane's, the folder that holds this package (``localcluster/``: go.mod,
  go.sum, tools.go, cmd/etcd): etcd, kube-apiserver, kube-controller-manager,
  kube-scheduler, kubectl, kwok, and the node agents of the same Kubernetes pin, kubelet
  and kube-proxy (:func:`build`, :data:`COMMANDS`);
- the real node's, ``localcluster/node/`` (go.mod, go.sum, tools.go): containerd v2, its
  runc shim, ctr, crictl, CoreDNS, kube-router and the CNI plugins (:func:`build_node`,
  :data:`NODE_COMMANDS`). A module of its own because its dependencies (a newer
  client-go, grpc, otel) must not move the Kubernetes pin's, and so that a change of its
  pins does not rebuild the control plane;
- the ingress's, ``localcluster/ingress/``: Caddy (:func:`build_ingress`), for the same
  reasons a module of its own;
- helm's, ``localcluster/helm/``: helm v4 (:func:`build_helm`), which the chart tests
  render Karvdash's own chart with.

The cache lives outside the repository, under ``~/.cache/karvdash/localcluster/<key>/bin``
(``$KARVDASH_CACHE`` or ``$XDG_CACHE_HOME`` move it); a key depends only on its module's
go.mod, go.sum (and cmd/etcd/main.go) and command list, so a second build with the same
pins is a no-op. Concurrent builds wait on a lock.
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
NODE_MODULE_DIR = GO_MODULE_DIR / "node"
INGRESS_MODULE_DIR = GO_MODULE_DIR / "ingress"
#: command name -> Go package of the ingress's module, built by :func:`build_ingress`
INGRESS_COMMANDS = {"caddy": "github.com/caddyserver/caddy/v2/cmd/caddy"}
HELM_MODULE_DIR = GO_MODULE_DIR / "helm"
HELM_COMMANDS = {"helm": "helm.sh/helm/v4/cmd/helm"}

#: command name -> Go package, built by :func:`build`
COMMANDS = {
    "etcd": "./cmd/etcd",
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
    "kubectl": "k8s.io/kubernetes/cmd/kubectl",
    "kwok": "sigs.k8s.io/kwok/cmd/kwok",
    "kubelet": "k8s.io/kubernetes/cmd/kubelet",
    "kube-proxy": "k8s.io/kubernetes/cmd/kube-proxy",
}

_CNI = "github.com/containernetworking/plugins/plugins"
_CONTAINERD = "github.com/containerd/containerd/v2/cmd"
#: command name -> Go package of the node's module, built by :func:`build_node`
NODE_COMMANDS = {
    "containerd": f"{_CONTAINERD}/containerd",
    "containerd-shim-runc-v2": f"{_CONTAINERD}/containerd-shim-runc-v2",
    "ctr": f"{_CONTAINERD}/ctr",
    "crictl": "sigs.k8s.io/cri-tools/cmd/crictl",
    "coredns": "github.com/coredns/coredns",
    "kube-router": "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router",
    "bridge": f"{_CNI}/main/bridge",
    "host-local": f"{_CNI}/ipam/host-local",
    "loopback": f"{_CNI}/main/loopback",
    "portmap": f"{_CNI}/meta/portmap",
}

#: the files whose content makes the cache key (paths relative to the Go module)
KEY_FILES = ("go.mod", "go.sum", "cmd/etcd/main.go")
NODE_KEY_FILES = ("go.mod", "go.sum")

#: the pinned modules whose versions :func:`pinned_versions` reports
VERSIONED = {
    "k8s.io/kubernetes": "kubernetes",
    "sigs.k8s.io/kwok": "kwok",
    "go.etcd.io/etcd/server/v3": "etcd",
    "github.com/containerd/containerd/v2": "containerd",
    "github.com/coredns/coredns": "coredns",
    "github.com/cloudnativelabs/kube-router/v2": "kube-router",
    "github.com/containernetworking/plugins": "cni-plugins",
    "sigs.k8s.io/cri-tools": "cri-tools",
    "github.com/caddyserver/caddy/v2": "caddy",
    "helm.sh/helm/v4": "helm",
}


def _module_file(module_dir: Path, name: str) -> Path:
    path = module_dir / name
    if not path.is_file():
        raise ClusterError(
            f"{path} is missing: the launcher builds from the Go module next to it;"
            " install it from the repository with 'pip install -e ./localcluster'"
        )
    return path


def pinned_versions(module_dir: Path = GO_MODULE_DIR) -> dict[str, str]:
    """The pinned releases, read from the Go modules' go.mod (the control plane's, and
    the node's when ``module_dir`` is the control plane's)."""
    found: dict[str, str] = {}
    files = [_module_file(module_dir, "go.mod")]
    if module_dir == GO_MODULE_DIR and (NODE_MODULE_DIR / "go.mod").is_file():
        files.append(NODE_MODULE_DIR / "go.mod")
    for path in files:
        for line in path.read_text().splitlines():
            parts = line.split()
            if parts[:1] == ["require"]:  # a one-line require
                parts = parts[1:]
            if len(parts) >= 2 and parts[0] in VERSIONED:
                found.setdefault(VERSIONED[parts[0]], parts[1])
    return found


def cache_root() -> Path:
    base = os.environ.get("KARVDASH_CACHE") or os.environ.get("XDG_CACHE_HOME")
    if base:
        root = Path(base)
        return root if os.environ.get("KARVDASH_CACHE") else root / "karvdash"
    return Path.home() / ".cache" / "karvdash"


def _ldflags(module_dir: Path) -> str:
    """Strip the binaries, and stamp the pinned release where the command reports it
    (the Kubernetes binaries' /version and the node's kubeletVersion; containerd's)."""
    v = pinned_versions(module_dir)
    stamps = []
    if module_dir == GO_MODULE_DIR and v.get("kubernetes"):
        major, minor = v["kubernetes"].lstrip("v").split(".")[:2]
        base = "k8s.io/component-base/version"
        stamps = [
            f"{base}.gitVersion={v['kubernetes']}",
            f"{base}.gitMajor={major}",
            f"{base}.gitMinor={minor}",
            f"{base}.gitTreeState=clean",
        ]
    elif v.get("containerd"):
        stamps = [f"github.com/containerd/containerd/v2/version.Version={v['containerd']}"]
    elif v.get("helm"):
        stamps = [f"helm.sh/helm/v4/internal/version.version={v['helm']}"]
    return " ".join(["-s", "-w", *(f"-X {stamp}" for stamp in stamps)])


def _digest(module_dir: Path, key_files: tuple[str, ...], commands: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in key_files:
        digest.update(name.encode())
        digest.update(_module_file(module_dir, name).read_bytes())
    digest.update(repr(sorted(commands.items())).encode())
    digest.update(_ldflags(module_dir).encode())
    return digest.hexdigest()[:12]


def build_key(module_dir: Path = GO_MODULE_DIR) -> str:
    versions = pinned_versions(module_dir)
    digest = _digest(module_dir, KEY_FILES, COMMANDS)
    return f"k8s-{versions.get('kubernetes', 'unknown')}-{digest}"


def node_build_key(module_dir: Path = NODE_MODULE_DIR) -> str:
    versions = pinned_versions(module_dir)
    digest = _digest(module_dir, NODE_KEY_FILES, NODE_COMMANDS)
    return f"node-containerd-{versions.get('containerd', 'unknown')}-{digest}"


def ingress_bin_dir(module_dir: Path = INGRESS_MODULE_DIR) -> Path:
    version = pinned_versions(module_dir).get("caddy", "unknown")
    digest = _digest(module_dir, NODE_KEY_FILES, INGRESS_COMMANDS)
    return cache_root() / "localcluster" / f"ingress-caddy-{version}-{digest}" / "bin"


def build_ingress(module_dir: Path = INGRESS_MODULE_DIR, verbose: bool = True) -> Path:
    """Build Caddy, the local cluster's ingress proxy, into the cache, if not there yet."""
    what = f"the ingress (caddy {pinned_versions(module_dir).get('caddy')})"
    return _build(module_dir, INGRESS_COMMANDS, ingress_bin_dir(module_dir), what, "1-3", verbose)


def build_helm(module_dir: Path = HELM_MODULE_DIR, verbose: bool = True) -> Path:
    """Build helm into the cache, if not there yet; the path of the binary."""
    version = pinned_versions(module_dir).get("helm", "unknown")
    digest = _digest(module_dir, NODE_KEY_FILES, HELM_COMMANDS)
    target = cache_root() / "localcluster" / f"helm-{version}-{digest}" / "bin"
    return _build(module_dir, HELM_COMMANDS, target, f"helm {version}", "2-4", verbose) / "helm"


def bin_dir(module_dir: Path = GO_MODULE_DIR) -> Path:
    return cache_root() / "localcluster" / build_key(module_dir) / "bin"


def node_bin_dir(module_dir: Path = NODE_MODULE_DIR) -> Path:
    return cache_root() / "localcluster" / node_build_key(module_dir) / "bin"


def build(module_dir: Path = GO_MODULE_DIR, verbose: bool = True) -> Path:
    """Build the control plane binaries (and kubelet, kube-proxy) into the cache, if not
    there yet. Returns the folder that holds them."""
    versions = pinned_versions(module_dir)
    what = "the control plane (kubernetes {}, kwok {}, etcd {})".format(
        versions.get("kubernetes"), versions.get("kwok"), versions.get("etcd")
    )
    return _build(module_dir, COMMANDS, bin_dir(module_dir), what, "15-30", verbose)


def build_node(module_dir: Path = NODE_MODULE_DIR, verbose: bool = True) -> Path:
    """Build the real node's binaries (containerd, CoreDNS, kube-router, CNI plugins,
    crictl) into the cache, if not there yet. Returns the folder that holds them."""
    v = pinned_versions(module_dir)
    what = "the real node (containerd {}, coredns {}, kube-router {}, cni-plugins {})".format(
        v.get("containerd"), v.get("coredns"), v.get("kube-router"), v.get("cni-plugins")
    )
    return _build(module_dir, NODE_COMMANDS, node_bin_dir(module_dir), what, "8-15", verbose)


def _build(
    module_dir: Path,
    commands: dict[str, str],
    target: Path,
    what: str,
    minutes: str,
    verbose: bool,
) -> Path:
    if all((target / name).is_file() for name in commands):
        return target
    if shutil.which("go") is None:
        raise ClusterError(f"the Go toolchain ('go') is needed to build {what}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if all((target / name).is_file() for name in commands):
            return target
        staging = Path(tempfile.mkdtemp(prefix="bin-", dir=target.parent))
        log(
            f"building {what} once into {target};"
            f" a cold build takes {minutes} minutes on 2 cores, later starts reuse it"
        )
        env = dict(os.environ, CGO_ENABLED="0")
        start = time.monotonic()
        ldflags = f"-ldflags={_ldflags(module_dir)}"
        cmd = ["go", "build", "-v", ldflags, "-o", str(staging) + "/", *commands.values()]
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
