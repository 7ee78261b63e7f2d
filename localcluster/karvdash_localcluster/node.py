"""The real node: containerd, the kubelet, kube-proxy, CoreDNS, kube-router (and the API
server's forwarder, :mod:`.apiforward`) on this machine, so that pods really run. Started
by :class:`~.cluster.LocalCluster` after the control plane (mode ``real``), from the
binaries of :func:`~.gobuild.build` (kubelet, kube-proxy) and :func:`~.gobuild.build_node`
(containerd, shim, ctr, crictl, CoreDNS, kube-router, CNI plugins), with Debian's runc,
iptables, ipset, conntrack. Its files are under ``<state>/node``: containerd's root (images,
kept) and the rest (wiped at each start); :func:`~.nodehost.cleanup` undoes its host changes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from . import apiforward, nodehost
from . import nodeconfig as cfg
from .errors import ClusterError, log
from .gobuild import NODE_COMMANDS
from .pki import make_node_pki
from .ports import free_ports
from .processes import alive, stop_pids

if TYPE_CHECKING:
    from .cluster import LocalCluster

#: the node's processes, in the order they start (they stop in reverse)
PARTS = ("containerd", "coredns", "kubelet", "kube-proxy", "kube-router", "apiserver-forward")

#: the kubelet and kube-proxy come from the control plane's build
CONTROL_PLANE_PARTS = ("kubelet", "kube-proxy")


def missing_binaries(binaries: Path, node_binaries: Path | None) -> list[str]:
    missing = [n for n in CONTROL_PLANE_PARTS if not (binaries / n).is_file()]
    if node_binaries is None:
        return [*missing, *NODE_COMMANDS]
    return missing + [n for n in NODE_COMMANDS if not (node_binaries / n).is_file()]


class RealNode:
    """The real node of ``cluster`` (its processes are the cluster's)."""

    def __init__(self, cluster: LocalCluster, node_binaries: Path):
        self.cluster = cluster
        self.bin = node_binaries
        self.dir = cluster.state_dir / "node"
        self.run = self.dir / "run"
        self.ports: dict[str, int] = {}
        #: seconds from :meth:`start` to a Ready node with all its parts answering
        self.ready_in: float | None = None

    # -- where things are

    @property
    def containerd_socket(self) -> Path:
        return nodehost.CONTAINERD_SOCKET

    @property
    def pod_logs(self) -> Path:
        return self.dir / "pod-logs"

    @property
    def certs_d(self) -> Path:
        return self.dir / "certs.d"

    def crictl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run crictl against this node's containerd."""
        return subprocess.run(
            [
                str(self.bin / "crictl"),
                f"--runtime-endpoint=unix://{self.containerd_socket}",
                f"--image-endpoint=unix://{self.containerd_socket}",
                "--timeout=30s",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ctr(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run ctr in containerd's ``k8s.io`` namespace (the kubelet's)."""
        return subprocess.run(
            [str(self.bin / "ctr"), f"--address={self.containerd_socket}", "-n", "k8s.io", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    # -- start

    def start(self, deadline: float) -> None:
        started = time.monotonic()
        with nodehost.ClaimLock():
            other = nodehost.foreign_node(self.cluster.state_dir)
            if other:
                raise ClusterError(f"cannot start a real node: {other}")
            stale = nodehost.read_claim()
            if stale and stale.get("state_dir") != str(self.cluster.state_dir):
                log(f"removing what the crashed real node of {stale['state_dir']} left behind")
                old = Path(stale["state_dir"]) / "node"
                nodehost.cleanup(old, old / "pod-logs")
            nodehost.cleanup(self.dir, self.pod_logs)
            nodehost.write_claim(self.cluster.state_dir, {})
            self._prepare()
            self._start_containerd(deadline)
            self._start_services(deadline)
            nodehost.write_claim(
                self.cluster.state_dir,
                {n: p.pid for n, p in self.cluster.processes.items() if n in PARTS},
            )
        self._wait_ready(deadline)
        self.ready_in = time.monotonic() - started

    def _prepare(self) -> None:
        for path in (self.run, self.dir / "kubelet", self.pod_logs, self.certs_d):
            nodehost.remove_tree(path)
        for path in (self.run, self.pod_logs, self.dir / "cni", self.certs_d, self.dir / "etc"):
            path.mkdir(parents=True, exist_ok=True)
        pki = self.cluster.state_dir / "pki"
        make_node_pki(pki, cfg.REAL_NODE_NAME, cfg.NODE_IP)
        nodehost.set_sysctls(
            {
                "net/ipv4/ip_forward": "1",
                "net/bridge/bridge-nf-call-iptables": "1",
                "net/bridge/bridge-nf-call-ip6tables": "1",
            }
        )
        nodehost.make_bridge(cfg.NODE_IP, int(cfg.POD_CIDR.split("/")[1]))
        nodehost.make_cgroup_root()
        etc = self.dir / "etc"
        runc = nodehost.which("runc")
        assert runc is not None
        (etc / "containerd.toml").write_text(
            cfg.containerd_config(
                root=self.dir / "containerd",
                state=self.run / "containerd",
                sockets=nodehost.SOCKET_DIR,
                cni_bin=self.bin,
                cni_conf=self.dir / "cni",
                certs_d=self.certs_d,
                runc=runc,
            )
        )
        (self.dir / "cni" / "10-karvdash.conflist").write_text(
            json.dumps(cfg.cni_config(self.run / "ipam"), indent=2)
        )
        names = ("kubelet-healthz", "kube-proxy-healthz", "kube-proxy-metrics", "coredns-ready")
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        kubeconfigs = {
            "kubelet": "kubelet-client",
            "kube-proxy": "kube-proxy",
            "coredns": "coredns",
            "kube-router": "kube-router",
        }
        for name, cert in kubeconfigs.items():
            (etc / f"{name}.kubeconfig").write_text(
                json.dumps(
                    cfg.kubeconfig(
                        self.cluster.server,
                        pki / "ca.crt",
                        pki / f"{cert}.crt",
                        pki / f"{cert}.key",
                    )
                )
            )
        (etc / "kubelet.yaml").write_text(
            json.dumps(
                cfg.kubelet_config(
                    pki=pki,
                    containerd_socket=self.containerd_socket,
                    pod_logs=self.pod_logs,
                    plugins=self.dir / "kubelet-plugins",
                    healthz_port=self.ports["kubelet-healthz"],
                ),
                indent=2,
            )
        )
        (etc / "kube-proxy.yaml").write_text(
            json.dumps(
                cfg.kube_proxy_config(
                    etc / "kube-proxy.kubeconfig",
                    self.ports["kube-proxy-healthz"],
                    self.ports["kube-proxy-metrics"],
                ),
                indent=2,
            )
        )
        (etc / "Corefile").write_text(
            cfg.corefile(etc / "coredns.kubeconfig", self.ports["coredns-ready"])
        )
        api = cfg.kubernetes_endpoint_objects(self.cluster.ports["apiserver"])
        for path, obj in cfg.rbac_objects() + cfg.kube_dns_objects() + api:
            status, _ = self.cluster.request("GET", f"{path}/{obj['metadata']['name']}")
            if status == 200:
                continue
            status, body = self.cluster.request("POST", path, obj)
            if status not in (201, 409):
                raise ClusterError(f"could not create {obj['kind']}: {status} {body}")

    def set_registry_hosts(self, hosts: dict[str, str]) -> None:
        """containerd's ``certs.d/<upstream>/hosts.toml`` for each upstream registry of
        ``hosts`` (read by containerd at each pull)."""
        for upstream, text in hosts.items():
            folder = self.certs_d / upstream
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "hosts.toml").write_text(text)

    def _env(self) -> dict[str, str]:
        path = os.pathsep.join([str(self.bin), "/usr/local/sbin", "/usr/sbin", "/sbin"])
        return dict(os.environ, PATH=path + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"))

    def _start_containerd(self, deadline: float) -> None:
        self.cluster._spawn(
            "containerd",
            [
                str(self.bin / "containerd"),
                f"--config={self.dir / 'etc' / 'containerd.toml'}",
                "--log-level=warn",
            ],
            env=self._env(),
        )
        until = min(deadline, time.monotonic() + 60)
        while time.monotonic() < until:
            self.cluster._check_alive()
            if self.containerd_socket.exists() and self.crictl("info").returncode == 0:
                break
            time.sleep(0.2)
        else:
            log = self.cluster.state_dir / "logs" / "containerd.log"
            errors = [
                line
                for line in log.read_text(errors="replace").splitlines()
                if "level=error" in line or "failed to load plugin" in line
            ]
            raise ClusterError(
                "containerd's CRI did not answer on its socket in time:\n" + "\n".join(errors[-10:])
            )
        # sandboxes of a previous run are dead: remove them before the kubelet looks
        self.crictl("rmp", "--all", "--force")

    def _kubelet_args(self) -> list[str]:
        etc = self.dir / "etc"
        return [
            "kubelet",
            f"--config={etc / 'kubelet.yaml'}",
            f"--kubeconfig={etc / 'kubelet.kubeconfig'}",
            f"--root-dir={self.dir / 'kubelet'}",
            f"--hostname-override={cfg.REAL_NODE_NAME}",
            f"--node-ip={cfg.NODE_IP}",
            "--node-labels=type=real",
            "--v=1",
        ]

    def _start_services(self, deadline: float) -> None:
        etc = self.dir / "etc"
        spawn = self.cluster._spawn
        spawn(
            "coredns",
            [str(self.bin / "coredns"), "-conf", str(etc / "Corefile"), "-dns.port=53"],
            env=self._env(),
        )
        spawn("kubelet", self._kubelet_args(), env=self._env())
        apiforward.start(self.cluster)  # pods reach https://kubernetes.default.svc
        spawn(
            "kube-proxy",
            ["kube-proxy", f"--config={etc / 'kube-proxy.yaml'}", "--v=1"],
            env=self._env(),
        )
        # kube-router needs the Node object, which the kubelet registers
        while True:
            self.cluster._check_alive()
            status, _ = self.cluster.request("GET", f"/api/v1/nodes/{cfg.REAL_NODE_NAME}")
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        spawn(
            "kube-router",
            [
                str(self.bin / "kube-router"),
                f"--kubeconfig={etc / 'kube-router.kubeconfig'}",
                f"--hostname-override={cfg.REAL_NODE_NAME}",
                "--run-firewall=true",
                "--run-router=false",
                "--run-service-proxy=false",
                "--enable-cni=false",
                "--enable-ipv4=true",
                "--enable-ipv6=false",
                f"--service-cluster-ip-range={cfg.SERVICE_CIDR}",
                "--health-port=0",
                "--metrics-port=0",
                "--iptables-sync-period=1m",
                "--v=1",
            ],
            env=self._env(),
        )

    def _ready(self) -> list[str]:
        """The parts not ready yet."""
        waiting = []
        status, body = self.cluster.request("GET", f"/api/v1/nodes/{cfg.REAL_NODE_NAME}")
        ok = status == 200 and isinstance(body, dict)
        conds = body.get("status", {}).get("conditions", []) if ok else []  # type: ignore[union-attr]
        if not any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
            waiting.append("kubelet (node Ready)")
        for name, url in (
            ("coredns", f"http://127.0.0.1:{self.ports['coredns-ready']}/ready"),
            ("kube-proxy", f"http://127.0.0.1:{self.ports['kube-proxy-healthz']}/healthz"),
        ):
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status != 200:
                        waiting.append(name)
            except OSError:
                waiting.append(name)
        if "KUBE-ROUTER-FORWARD" not in nodehost._run("iptables", "-w", "-S", "FORWARD"):
            waiting.append("kube-router")
        return waiting

    def _wait_ready(self, deadline: float) -> None:
        waiting = ["all"]
        while time.monotonic() < deadline:
            self.cluster._check_alive()
            waiting = self._ready()
            if not waiting:
                return
            time.sleep(0.5)
        raise ClusterError(f"the real node was not ready in time: waiting for {waiting}")

    # -- restart and stop

    def restart_kubelet(self) -> None:
        """Stop the kubelet and start it again (its pods keep running meanwhile)."""
        proc = self.cluster.processes.pop("kubelet", None)
        pids = {"kubelet": proc.pid} if proc else {}
        pids.update({k: v for k, v in self.cluster.saved_pids().items() if k == "kubelet"})
        stop_pids(pids)
        if proc:
            with contextlib.suppress(Exception):
                proc.wait(timeout=5)
        self.cluster._spawn("kubelet", self._kubelet_args(), env=self._env())


def stop_node(state_dir: Path, pids: dict[str, int], node_binaries: Path | None) -> None:
    """Stop the node's processes of ``pids`` (removed from it), remove its pods while
    containerd still runs, then undo what it did to the host."""
    node_dir = state_dir / "node"
    services = {n: pids.pop(n) for n in PARTS if n in pids and n != "containerd"}
    _stop_together(services)
    containerd = {n: pids.pop(n) for n in ("containerd",) if n in pids}
    socket = nodehost.CONTAINERD_SOCKET
    if containerd and node_binaries and socket.exists():
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                [
                    str(node_binaries / "crictl"),
                    f"--runtime-endpoint=unix://{socket}",
                    "--timeout=30s",
                    "rmp",
                    "--all",
                    "--force",
                ],
                capture_output=True,
                timeout=90,
                check=False,
            )
    stop_pids(containerd)
    if node_dir.exists() and (containerd or services or _claimed(state_dir)):
        nodehost.cleanup(node_dir, node_dir / "pod-logs")


def _stop_together(pids: dict[str, int], timeout: float = 5) -> None:
    """SIGTERM every process group at once, SIGKILL what is left after ``timeout``
    (what they leave behind is removed by the cleanup)."""
    for pid in pids.values():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for pid in pids.values():
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if not alive(pid):
                break
            time.sleep(0.05)
    stop_pids(pids, timeout=1)


def _claimed(state_dir: Path) -> bool:
    claim = nodehost.read_claim()
    return bool(claim) and claim.get("state_dir") == str(state_dir)
