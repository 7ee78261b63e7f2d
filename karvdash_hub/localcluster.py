"""A real Kubernetes control plane on loopback, built from source, for tests and the
embedded default.

Rules this module guarantees:

- The binaries (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
  kubectl, kwok) are built from the Go module in ``localcluster/`` at the pinned
  releases, once, into a cache outside the repository keyed by the module's content;
  a second build with the same pins is a no-op. Concurrent builds wait on a lock.
- A started cluster listens only on 127.0.0.1, on free ports; it runs with
  ``--authorization-mode=Node,RBAC``, the PodSecurity admission plugin and
  service-account token signing, and has one simulated node (kwok) on which pods
  reach Running.
- Every process is started in its own process group and :meth:`LocalCluster.stop`
  ends them all, so that nothing is left behind; ``down`` from another process
  does the same from the pid file in the state folder.

Command line: ``python -m karvdash_hub.localcluster {build,up,down,status}``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

REPO_ROOT = Path(__file__).resolve().parent.parent
GO_MODULE_DIR = REPO_ROOT / "localcluster"
STAGES_FILE = GO_MODULE_DIR / "kwok-stages.yaml"

#: command name -> Go package, built by :func:`build`
COMMANDS = {
    "etcd": "./cmd/etcd",
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
    "kubectl": "k8s.io/kubernetes/cmd/kubectl",
    "kwok": "sigs.k8s.io/kwok/cmd/kwok",
}

NODE_NAME = "kwok-node-0"


class ClusterError(RuntimeError):
    """The local control plane could not be built or started; the message says why."""


def _log(message: str) -> None:
    print(f"[localcluster] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------
# build


def pinned_versions(module_dir: Path = GO_MODULE_DIR) -> dict[str, str]:
    """The pinned releases, read from the Go module's go.mod."""
    wanted = {
        "k8s.io/kubernetes": "kubernetes",
        "sigs.k8s.io/kwok": "kwok",
        "go.etcd.io/etcd/server/v3": "etcd",
    }
    found: dict[str, str] = {}
    for line in (module_dir / "go.mod").read_text().splitlines():
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
    for name in ("go.mod", "go.sum", "cmd/etcd/main.go"):
        digest.update(name.encode())
        digest.update((module_dir / name).read_bytes())
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
        _log(
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
                _log(f"  {compiled} packages compiled, {now - start:.0f}s: {line}")
                last_report = now
        if proc.wait() != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise ClusterError("go build failed:\n" + "\n".join(tail))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
        _log(f"built in {time.monotonic() - start:.0f}s")
    return target


# ---------------------------------------------------------------------------------
# certificates


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _cert(
    subject_cn: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None,
    *,
    org: str | None = None,
    ca: bool = False,
    server_names: list[str] = (),
    server_ips: list[str] = (),
    client: bool = False,
) -> x509.Certificate:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    subject = x509.Name(attrs)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        usages = []
        if server_names or server_ips:
            usages.append(x509.ExtendedKeyUsageOID.SERVER_AUTH)
            sans = [x509.DNSName(n) for n in server_names]
            sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in server_ips]
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        if client:
            usages.append(x509.ExtendedKeyUsageOID.CLIENT_AUTH)
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    signer = issuer[1] if issuer else key
    return builder.sign(signer, hashes.SHA256())


def make_pki(pki: Path) -> None:
    """CA, API server serving certificate, admin client certificate, SA signing key."""
    if (pki / "admin.key").exists():
        return
    pki.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca = _cert("karvdash-local-ca", ca_key, None, ca=True)
    server_key = _key()
    server = _cert(
        "kube-apiserver",
        server_key,
        (ca, ca_key),
        server_names=[
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ],
        server_ips=["127.0.0.1", "10.96.0.1"],
    )
    admin_key = _key()
    admin = _cert("kubernetes-admin", admin_key, (ca, ca_key), org="system:masters", client=True)
    sa_key = _key()
    files = {
        "ca.crt": ca.public_bytes(serialization.Encoding.PEM),
        "ca.key": _pem_key(ca_key),
        "apiserver.crt": server.public_bytes(serialization.Encoding.PEM),
        "apiserver.key": _pem_key(server_key),
        "admin.crt": admin.public_bytes(serialization.Encoding.PEM),
        "sa.key": _pem_key(sa_key),
        "sa.pub": sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        # written last: its presence means the folder is complete
        "admin.key": _pem_key(admin_key),
    }
    for name, data in files.items():
        path = pki / name
        path.write_bytes(data)
        path.chmod(0o600)


# ---------------------------------------------------------------------------------
# processes


def free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports (held open together while chosen, so that
    the system cannot hand out the same one twice)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def free_port() -> int:
    return free_ports(1)[0]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class LocalCluster:
    """A control plane whose files (certificates, etcd data, logs, kubeconfig) live
    in ``state_dir``. Use as a context manager or call :meth:`start` / :meth:`stop`."""

    state_dir: Path
    binaries: Path | None = None
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

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
                f" (python -m karvdash_hub.localcluster down --state-dir {self.state_dir})"
            )
        started = time.monotonic()
        pki = self.state_dir / "pki"
        make_pki(pki)
        logs = self.state_dir / "logs"
        logs.mkdir(exist_ok=True)
        self.ports = self._choose_ports()
        self._write_kubeconfig()
        try:
            self._start_etcd()
            self._start_apiserver()
            self._wait_ready(timeout)
            self._start_controllers()
            self._start_storage()
            self._add_node()
            self._wait_node_ready(timeout - (time.monotonic() - started))
        except BaseException:
            self.stop()
            raise
        _log(f"control plane ready in {time.monotonic() - started:.1f}s at {self.server}")
        return self

    def stop(self, timeout: float = 20) -> None:
        pids = {name: proc.pid for name, proc in self.processes.items()}
        pids.update(running_pids(self.state_dir))
        stop_pids(pids, timeout)
        for proc in self.processes.values():
            with contextlib.suppress(Exception):
                proc.wait(timeout=1)
        self.processes.clear()
        with contextlib.suppress(FileNotFoundError):
            (self.state_dir / "pids.json").unlink()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _choose_ports(self) -> dict[str, int]:
        """Free loopback ports; those of the previous start when they are still free,
        so that a restarted cluster keeps its address (and etcd its peer URL)."""
        saved_file = self.state_dir / "ports.json"
        try:
            saved = json.loads(saved_file.read_text())
        except (FileNotFoundError, ValueError):
            saved = {}
        names = ("etcd", "etcd-peer", "apiserver", "controller-manager", "scheduler", "kwok")
        fresh = iter(free_ports(len(names)))
        ports = {}
        for name in names:
            port = saved.get(name)
            if not (isinstance(port, int) and port_is_free(port)) or port in ports.values():
                port = next(fresh)
                while port in ports.values() or port in saved.values():
                    port = free_port()
            ports[name] = port
        saved_file.write_text(json.dumps(ports))
        return ports

    # -- the components

    def _spawn(self, name: str, args: list[str]) -> None:
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
        )
        log.close()
        self.processes[name] = proc
        (self.state_dir / "pids.json").write_text(
            json.dumps({n: p.pid for n, p in self.processes.items()})
        )

    def _start_etcd(self) -> None:
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

    def _start_apiserver(self) -> None:
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
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,"
                "PodSecurity,ResourceQuota,DefaultStorageClass,DefaultTolerationSeconds,"
                "MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy",
                "--service-cluster-ip-range=10.96.0.0/16",
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
                "--manage-all-nodes=true",
                "--node-ip=127.0.0.1",
                f"--node-name={NODE_NAME}",
                f"--node-port={self.ports['kwok']}",
                f"--server-address=127.0.0.1:{self.ports['kwok']}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                "--cidr=10.244.0.0/16",
                "--node-lease-duration-seconds=40",
            ],
        )

    def _start_storage(self) -> None:
        self._spawn(
            "localstorage",
            [
                sys.executable,
                "-m",
                "karvdash_hub.localstorage",
                f"--kubeconfig={self.kubeconfig}",
                f"--root={self.state_dir / 'volumes'}",
            ],
        )

    def _write_kubeconfig(self) -> None:
        pki = self.state_dir / "pki"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "karvdash-local",
                    "cluster": {
                        "server": self.server,
                        "certificate-authority": str(pki / "ca.crt"),
                    },
                }
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {
                        "client-certificate": str(pki / "admin.crt"),
                        "client-key": str(pki / "admin.key"),
                    },
                }
            ],
            "contexts": [
                {
                    "name": "karvdash-local",
                    "context": {"cluster": "karvdash-local", "user": "admin"},
                }
            ],
            "current-context": "karvdash-local",
        }
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

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | str]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
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

    def _wait_ready(self, timeout: float) -> None:
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
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": NODE_NAME,
                "annotations": {"kwok.x-k8s.io/node": "fake"},
                "labels": {
                    "kubernetes.io/hostname": NODE_NAME,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                },
            },
        }
        status, body = self.request("POST", "/api/v1/nodes", node)
        if status not in (201, 409):
            raise ClusterError(f"could not create the simulated node: {status} {body}")

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


def running_pids(state_dir: Path) -> dict[str, int]:
    """The processes of a cluster started from ``state_dir`` that are still alive."""
    try:
        pids = json.loads((Path(state_dir) / "pids.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    alive = {}
    for name, pid in pids.items():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        alive[name] = pid
    return alive


def stop_pids(pids: dict[str, int], timeout: float = 20) -> None:
    """SIGTERM each process group (controllers first, etcd last), then SIGKILL."""
    order = [
        "localstorage",
        "kwok",
        "kube-scheduler",
        "kube-controller-manager",
        "kube-apiserver",
        "etcd",
    ]
    names = sorted(pids, key=lambda n: order.index(n) if n in order else -1)
    for name in names:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pids[name], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pids[name], 0)
            except ProcessLookupError:
                break
            # reap if it is our child
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pids[name], os.WNOHANG)
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pids[name], signal.SIGKILL)


# ---------------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m karvdash_hub.localcluster",
        description="Build, start and stop Karvdash's local Kubernetes control plane.",
    )
    parser.add_argument(
        "--state-dir",
        default=".karvdash/cluster",
        help="folder for certificates, etcd data, logs and the kubeconfig (default: %(default)s)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the binaries into the cache (no-op when built)")
    up = sub.add_parser(
        "up", help="start the cluster in the background and return when it is ready"
    )
    up.add_argument("--fresh", action="store_true", help="discard the previous etcd data first")
    sub.add_parser("down", help="stop a cluster started with 'up'")
    sub.add_parser("status", help="say whether a cluster is running, and where")
    sub.add_parser("versions", help="print the pinned releases and the binary cache")
    args = parser.parse_args(argv)
    state = Path(args.state_dir).resolve()

    if args.command == "build":
        print(build())
        return 0
    if args.command == "versions":
        print(json.dumps({**pinned_versions(), "bin": str(bin_dir())}, indent=2))
        return 0
    if args.command == "status":
        pids = running_pids(state)
        if not pids:
            print(f"no cluster running from {state}")
            return 1
        print(f"running from {state}: {pids}; kubeconfig {state / 'kubeconfig'}")
        return 0
    if args.command == "down":
        pids = running_pids(state)
        stop_pids(pids)
        with contextlib.suppress(FileNotFoundError):
            (state / "pids.json").unlink()
        print("stopped" if pids else f"no cluster was running from {state}")
        return 0
    if args.command == "up":
        if running_pids(state):
            print(f"already running; kubeconfig {state / 'kubeconfig'}")
            return 0
        if args.fresh:
            shutil.rmtree(state / "etcd", ignore_errors=True)
        cluster = LocalCluster(state)
        try:
            cluster.start()
        except ClusterError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        # the processes live on in their own sessions; 'down' stops them
        print(f"kubeconfig: {cluster.kubeconfig}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
