"""Which node a cluster gets (``real`` or ``kwok``), what callers learn about it
(``<state>/node.json``), the system registry the real node pulls its images from, and
the ingress (Caddy and :mod:`karvdash_localcluster.ingress`), in both modes.

``node.json`` (:func:`read_node_info`), written when a cluster is ready::

    {"mode": "real", "reason": "...", "node": "karvdash-node", "node_ip": "10.244.0.1",
     "host_address": "10.244.0.1", "pod_cidr": "10.244.0.0/24", ...,
     "registry": "127.0.0.1:PORT", "containerd_socket": "/run/karvdash-localcluster/...",
     "bin": "<the node's binaries>",
     "ingress": {"https_port": 8443, "root_certificate": "...", "class": "karvdash-local"}}

In mode ``kwok`` the real node's entries are null.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from . import nodeconfig as cfg
from . import nodehost
from .errors import ClusterError, log
from .gobuild import build_node, node_bin_dir
from .ports import free_ports, port_is_free

if TYPE_CHECKING:
    from .cluster import LocalCluster

MODES = ("auto", "real", "kwok")

#: the environment variable that sets the default of ``node`` (CLI and test fixture)
NODE_ENV = "KARVDASH_NODE"


def default_node() -> str:
    value = os.environ.get(NODE_ENV, "auto").strip().lower() or "auto"
    if value not in MODES:
        raise ClusterError(f"{NODE_ENV}={value!r}: use one of {', '.join(MODES)}")
    return value


def decide_mode(
    requested: str, state_dir: Path, binaries: Path, node_binaries: Path | None
) -> tuple[str, str, Path | None]:
    """(mode, why, the node's binaries): ``real`` when asked for or when ``auto`` and
    the machine can run containers; building the node's binaries when needed. Raises
    when ``real`` was asked for and is not possible."""
    if requested not in MODES:
        raise ClusterError(f"node={requested!r}: use one of {', '.join(MODES)}")
    if requested == "kwok":
        return "kwok", "asked for a kwok-only cluster", None
    problem = nodehost.machine_problem() or nodehost.foreign_node(state_dir)
    if problem is None:
        missing = [n for n in ("kubelet", "kube-proxy") if not (binaries / n).is_file()]
        if missing:
            problem = f"{', '.join(missing)} missing from {binaries}"
    if problem is None:
        try:
            node_binaries = node_binaries or build_node()
        except ClusterError as err:
            problem = f"the node's binaries could not be built: {err}"
    if problem is None:
        return "real", "this machine can run containers", node_binaries
    if requested == "real":
        raise ClusterError(f"no real node: {problem}")
    return "kwok", f"no real node: {problem}", None


def node_info(mode: str, reason: str, state_dir: Path) -> dict:
    real = mode == "real"
    return {
        "mode": mode,
        "reason": reason,
        "node": cfg.REAL_NODE_NAME if real else None,
        "node_ip": cfg.NODE_IP if real else None,
        "host_address": cfg.NODE_IP if real else None,
        "pod_cidr": cfg.POD_CIDR if real else None,
        "cluster_cidr": cfg.CLUSTER_CIDR,
        "service_cidr": cfg.SERVICE_CIDR,
        "cluster_dns": cfg.CLUSTER_DNS if real else None,
        "cluster_domain": cfg.CLUSTER_DOMAIN,
        "kwok_node": "kwok-node-0",
        "kwok_taint": cfg.KWOK_TAINT if real else None,
        "registry": None,
        "containerd_socket": str(nodehost.CONTAINERD_SOCKET) if real else None,
        "bin": str(node_bin_dir()) if real else None,
    }


def write_node_info(state_dir: Path, info: dict) -> None:
    tmp = state_dir / "node.json.tmp"
    tmp.write_text(json.dumps(info, indent=2))
    tmp.replace(state_dir / "node.json")


def read_node_info(state_dir: Path) -> dict | None:
    """What a running cluster of ``state_dir`` says about its node (None if none runs)."""
    try:
        return json.loads((Path(state_dir) / "node.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


# -- the system registry (karvdash_localcluster.registry, .images)


def start_registry(cluster: LocalCluster) -> dict:
    """Start the system registry (one of the cluster's processes) and make containerd
    resolve the mirrored registries' names through it. Returns node.json's entries."""
    try:
        from .registry import SystemRegistry
    except ImportError as err:
        log(f"no system registry ({err}): images must be imported with ctr")
        return {"registry": None}
    registry = SystemRegistry(cluster.state_dir / "registry")
    registry.start()
    assert registry.process is not None and cluster.real_node is not None
    cluster.adopt("registry", registry.process)
    cluster.real_node.set_registry_hosts(
        {upstream: registry.hosts_toml(upstream) for upstream in cfg.MIRRORED_REGISTRIES}
    )
    log(f"containerd resolves {', '.join(cfg.MIRRORED_REGISTRIES)} through {registry.address}")
    return {"registry": registry.address}


def push_images(cluster: LocalCluster) -> None:
    """Build (cached) and push the project's images, when asked and possible."""
    address = cluster.info.get("registry")
    if not (cluster.images and address):
        return
    try:
        from .images import ensure_images
    except ImportError as err:
        log(f"no image builder ({err}): no images pushed")
        return
    started = time.monotonic()
    ensure_images(address, log=log)
    log(f"images in the system registry after {time.monotonic() - started:.0f}s")


# -- the ingress (karvdash_localcluster.ingress)


def start_ingress(cluster: LocalCluster) -> dict:
    """Start Caddy and this controller as two of the cluster's processes; node.json's
    ``ingress`` entry (its HTTPS port and root certificate), or None when Caddy cannot
    be built here. ``KARVDASH_INGRESS_PORT`` chooses the HTTPS port (default: 8443 when
    free, else any free port)."""
    from .gobuild import build_ingress
    from .ingress import CLASS_NAME, global_options, root_certificate

    try:
        caddy = build_ingress() / "caddy"
    except ClusterError as err:
        log(f"no ingress: {err}")
        return {"ingress": None}
    asked = int(os.environ.get("KARVDASH_INGRESS_PORT", "0") or 0)
    admin_port, http_port, spare = free_ports(3)
    https_port = asked or (8443 if port_is_free(8443) else spare)
    storage = cluster.state_dir / "ingress"
    storage.mkdir(exist_ok=True)
    admin = f"127.0.0.1:{admin_port}"
    options = global_options(admin, https_port, http_port, storage)
    (storage / "Caddyfile").write_text(options)
    env = {**os.environ, "HOME": str(storage), "XDG_DATA_HOME": str(storage)}
    logs = cluster.state_dir / "logs"
    for name, args in [
        ("caddy", [str(caddy), "run", "--adapter", "caddyfile", "--config", "Caddyfile"]),
        (
            "ingress",
            [
                sys.executable,
                "-m",
                "karvdash_localcluster.ingress",
                f"--kubeconfig={cluster.kubeconfig}",
                f"--caddy-admin={admin}",
                f"--https-port={https_port}",
                f"--http-port={http_port}",
                f"--storage={storage}",
            ],
        ),
    ]:
        with open(logs / f"{name}.log", "ab") as out:
            cluster.adopt(
                name,
                subprocess.Popen(
                    args,
                    cwd=storage,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                ),
            )
    _wait_for_admin(admin, cluster.processes["caddy"])
    log(f"ingress (Caddy) on https://127.0.0.1:{https_port}; its CA: {root_certificate(storage)}")
    return {
        "ingress": {
            "https_port": https_port,
            "root_certificate": str(root_certificate(storage)),
            "class": CLASS_NAME,
        }
    }


def _wait_for_admin(admin: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ClusterError(f"caddy exited with {proc.returncode}; see logs/caddy.log")
        try:
            with urllib.request.urlopen(f"http://{admin}/config/", timeout=2):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise ClusterError("caddy's admin API did not answer; see logs/caddy.log")
