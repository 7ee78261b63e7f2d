"""A control plane on loopback, started from the binaries of :func:`build`.

A started cluster listens only on 127.0.0.1, on free ports; it runs with
``--authorization-mode=Node,RBAC``, the PodSecurity admission plugin and
service-account token signing, has a default StorageClass (served by
:mod:`karvdash_localcluster.storage`) and one simulated node (kwok) on which pods reach
Running. Where the machine can run containers it also has a real node (:mod:`.node`,
mode ``real``; otherwise mode ``kwok``): then new pods go to the real node, and the
simulated node, tainted :data:`~.nodeconfig.KWOK_TAINT`, takes only the pods that
tolerate it. Every process is started in its own process group and
:meth:`LocalCluster.stop` ends them all and undoes what the real node did to the host,
so that nothing is left behind.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from . import nodeconfig as cfg
from . import nodemode
from .errors import ClusterError, log
from .gobuild import GO_MODULE_DIR, build
from .node import RealNode, stop_node
from .pki import make_node_pki, make_pki
from .ports import choose_ports
from .processes import running_pids, stop_pids

STAGES_FILE = GO_MODULE_DIR / "kwok-stages.yaml"

NODE_NAME = "kwok-node-0"

PORT_NAMES = ("etcd", "etcd-peer", "apiserver", "controller-manager", "scheduler", "kwok")


@dataclass
class LocalCluster:
    """A control plane whose files (certificates, etcd data, logs, kubeconfig) live
    in ``state_dir``. Use as a context manager or call :meth:`start` / :meth:`stop`.

    ``node``: ``"auto"`` (a real node when the machine can run containers, else kwok
    only, the reason logged), ``"real"`` (fail when it cannot) or ``"kwok"``. After
    :meth:`start`, :attr:`mode` is ``"real"`` or ``"kwok"`` and :attr:`info` (also in
    ``<state>/node.json``, :func:`~.nodemode.read_node_info`) says where things are.
    ``images``: with a real node, build and push the project's images to the system
    registry (``ensure_images``) before returning."""

    state_dir: Path
    binaries: Path | None = None
    node: str = "auto"
    node_binaries: Path | None = None
    images: bool = True
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    mode: str = ""
    info: dict = field(default_factory=dict)
    real_node: RealNode | None = None

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    # -- lifecycle

    def start(self, timeout: float = 120) -> LocalCluster:
        self.state_dir = Path(self.state_dir).resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.binaries is None:
            self.binaries = build()
        if running_pids(self.state_dir):
            raise ClusterError(
                f"a cluster is already running from {self.state_dir}; stop it first"
                f" (python -m karvdash_localcluster down --state-dir {self.state_dir})"
            )
        self.mode, reason, self.node_binaries = nodemode.decide_mode(
            self.node, self.state_dir, self.binaries, self.node_binaries
        )
        log(f"node mode: {self.mode} ({reason})")
        started = time.monotonic()
        pki = self.state_dir / "pki"
        make_pki(pki)
        make_node_pki(pki, cfg.REAL_NODE_NAME, cfg.NODE_IP)
        logs = self.state_dir / "logs"
        logs.mkdir(exist_ok=True)
        self.ports = choose_ports(self.state_dir, PORT_NAMES)
        self._write_kubeconfig()
        self.info = nodemode.node_info(self.mode, reason, self.state_dir)
        try:
            self.start_etcd()
            self.start_apiserver()
            self.wait_ready(timeout)
            self._start_controllers()
            self._start_storage()
            self._add_node()
            self._wait_node_ready(timeout - (time.monotonic() - started))
            if self.mode == "real":
                assert self.node_binaries is not None
                self.real_node = RealNode(self, self.node_binaries)
                self.real_node.start(time.monotonic() + max(timeout, 120))
                log(f"real node {cfg.REAL_NODE_NAME} ready at {cfg.NODE_IP}")
                self.info.update(nodemode.start_registry(self))
                nodemode.push_images(self)
            else:
                self.request("DELETE", f"/api/v1/nodes/{cfg.REAL_NODE_NAME}")
            self.info.update(nodemode.start_ingress(self))
        except BaseException:
            self.stop()
            raise
        nodemode.write_node_info(self.state_dir, self.info)
        log(f"cluster ready in {time.monotonic() - started:.1f}s at {self.server}")
        return self

    def stop(self, timeout: float = 20) -> None:
        """Stop every process (also those a launcher in another process started from
        the same ``state_dir``) and undo what the real node did to the host."""
        self.state_dir = Path(self.state_dir).resolve()
        pids = {name: proc.pid for name, proc in self.processes.items()}
        pids.update(running_pids(self.state_dir))
        info = nodemode.read_node_info(self.state_dir) or self.info
        node_bin = self.node_binaries or (Path(info["bin"]) if info.get("bin") else None)
        stop_node(self.state_dir, pids, node_bin)
        stop_pids(pids, timeout)
        for proc in self.processes.values():
            with contextlib.suppress(Exception):
                proc.wait(timeout=1)
        self.processes.clear()
        for name in ("pids.json", "node.json"):
            with contextlib.suppress(FileNotFoundError):
                (self.state_dir / name).unlink()

    def saved_pids(self) -> dict[str, int]:
        """The live processes of this cluster, as the pid file names them."""
        return running_pids(self.state_dir)

    @property
    def node_ip(self) -> str | None:
        """The real node's address (pods reach the host there), None in kwok mode."""
        return cfg.NODE_IP if self.mode == "real" else None

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the components

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        assert self.binaries is not None
        binary = args[0] if args[0].startswith("/") else self.binaries / args[0]
        log = open(self.state_dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [str(binary), *args[1:]],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.state_dir,
            env=env,
        )
        log.close()
        self.adopt(name, proc)

    def adopt(self, name: str, proc: subprocess.Popen) -> None:
        """Count ``proc`` (in a process group of its own) among the cluster's processes."""
        self.processes[name] = proc
        (self.state_dir / "pids.json").write_text(
            json.dumps({n: p.pid for n, p in self.processes.items()})
        )

    def start_etcd(self) -> None:
        client = f"http://127.0.0.1:{self.ports['etcd']}"
        peer = f"http://127.0.0.1:{self.ports['etcd-peer']}"
        self._spawn(
            "etcd",
            [
                "etcd",
                "--name=karvdash",
                f"--data-dir={self.state_dir / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=karvdash={peer}",
                "--auto-compaction-retention=1",
                "--quota-backend-bytes=8589934592",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
        )

    def start_apiserver(self) -> None:
        pki = self.state_dir / "pki"
        self._spawn(
            "kube-apiserver",
            [
                "kube-apiserver",
                f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.ports['apiserver']}",
                f"--cert-dir={pki}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
                f"--kubelet-certificate-authority={pki / 'ca.crt'}",
                "--kubelet-preferred-address-types=InternalIP",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,"
                "PodSecurity,ResourceQuota,DefaultStorageClass,DefaultTolerationSeconds,"
                "MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy",
                f"--service-cluster-ip-range={cfg.SERVICE_CIDR}",
                "--allow-privileged=true",
                "--profiling=false",
                "--endpoint-reconciler-type=none",
                "--max-requests-inflight=800",
                "--max-mutating-requests-inflight=400",
            ],
        )

    def _start_controllers(self) -> None:
        pki = self.state_dir / "pki"
        kc = str(self.kubeconfig)
        self._spawn(
            "kube-controller-manager",
            [
                "kube-controller-manager",
                f"--kubeconfig={kc}",
                f"--authentication-kubeconfig={kc}",
                f"--authorization-kubeconfig={kc}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.ports['controller-manager']}",
                f"--cert-dir={pki / 'controller-manager'}",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                "--use-service-account-credentials=true",
                "--leader-elect=false",
                "--controllers=*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle-controller",
                "--kube-api-qps=500",
                "--kube-api-burst=1000",
                "--concurrent-namespace-syncs=20",
            ],
        )
        self._spawn(
            "kube-scheduler",
            [
                "kube-scheduler",
                f"--kubeconfig={kc}",
                f"--authentication-kubeconfig={kc}",
                f"--authorization-kubeconfig={kc}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.ports['scheduler']}",
                f"--cert-dir={pki / 'scheduler'}",
                "--leader-elect=false",
                "--kube-api-qps=500",
                "--kube-api-burst=1000",
            ],
        )
        self._spawn(
            "kwok",
            [
                "kwok",
                f"--kubeconfig={kc}",
                f"--config={STAGES_FILE}",
                # only its own nodes: the real node is the kubelet's
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--node-ip=127.0.0.1",
                f"--node-name={NODE_NAME}",
                f"--node-port={self.ports['kwok']}",
                f"--server-address=127.0.0.1:{self.ports['kwok']}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--cidr={cfg.KWOK_CIDR}",
                "--node-lease-duration-seconds=40",
            ],
        )

    def _start_storage(self) -> None:
        self._spawn(
            "storage",
            [
                sys.executable,
                "-m",
                "karvdash_localcluster.storage",
                f"--kubeconfig={self.kubeconfig}",
                f"--root={self.state_dir / 'volumes'}",
            ],
        )

    def _write_kubeconfig(self) -> None:
        pki = self.state_dir / "pki"
        config = cfg.kubeconfig(
            self.server, pki / "ca.crt", pki / "admin.crt", pki / "admin.key", user="admin"
        )
        tmp = self.kubeconfig.with_suffix(".tmp")
        tmp.write_text(json.dumps(config, indent=2))
        tmp.chmod(0o600)
        tmp.replace(self.kubeconfig)

    # -- talking to the API server without a client library (for readiness only)

    def _ssl(self) -> ssl.SSLContext:
        pki = self.state_dir / "pki"
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return ctx

    def request(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, dict | str]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=self._ssl(), timeout=10) as resp:
                text = resp.read().decode()
                status = resp.status
        except urllib.error.HTTPError as err:
            text = err.read().decode()
            status = err.code
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def _check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                log = (self.state_dir / "logs" / f"{name}.log").read_text(errors="replace")
                raise ClusterError(
                    f"{name} exited with status {proc.returncode}; last lines of its log:\n"
                    + "\n".join(log.splitlines()[-25:])
                )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            with contextlib.suppress(OSError):
                status, _ = self.request("GET", "/readyz")
                if status == 200:
                    return
            time.sleep(0.25)
        raise ClusterError(f"kube-apiserver was not ready within {timeout:.0f}s")

    def _add_node(self) -> None:
        status, body = self.request("POST", "/api/v1/nodes", cfg.kwok_node(NODE_NAME))
        if status not in (201, 409):
            raise ClusterError(f"could not create the simulated node: {status} {body}")
        # with a real node, pods land on the simulated one only when they tolerate it
        taints = [cfg.KWOK_TAINT] if self.mode == "real" else None
        status, body = self.request(
            "PATCH",
            f"/api/v1/nodes/{NODE_NAME}",
            {"spec": {"taints": taints}},
            content_type="application/merge-patch+json",
        )
        if status != 200:
            raise ClusterError(f"could not taint the simulated node: {status} {body}")

    def _wait_node_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + max(timeout, 10)
        while time.monotonic() < deadline:
            self._check_alive()
            status, body = self.request("GET", f"/api/v1/nodes/{NODE_NAME}")
            if status == 200 and isinstance(body, dict):
                conds = body.get("status", {}).get("conditions", [])
                if any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
                    status, _sa = self.request(
                        "GET", "/api/v1/namespaces/default/serviceaccounts/default"
                    )
                    sc, _ = self.request(
                        "GET", "/apis/storage.k8s.io/v1/storageclasses/karvdash-local"
                    )
                    if status == 200 and sc == 200:
                        return
            time.sleep(0.25)
        raise ClusterError(f"the simulated node was not Ready within {timeout:.0f}s")
