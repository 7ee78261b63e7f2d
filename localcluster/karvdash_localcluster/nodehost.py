"""What the real node changes on the host, and how every change is undone.

The real node shares the host's network, mounts and cgroups, so it can exist once per
machine: the claim file :data:`CLAIM_FILE` names the state folder of the cluster whose
node it is. :func:`cleanup` removes everything such a node leaves behind, whether it was
stopped or killed (``kill -9`` of every process): the containers (every process of the
pods' cgroup :data:`~.nodeconfig.CGROUP_ROOT`, and the runc shims), the mounts under the
node's folder, the bridge and the pods' veth interfaces, the iptables (nft and legacy)
and ip6tables rules and chains named ``KUBE-*`` or ``CNI-*``, kube-router's ipsets,
kube-proxy's nftables tables, the kubelet's links in /var/log/containers, and the
kernel settings (sysctls) that the node's parts change, put back as they were.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .errors import log
from .nodeconfig import BRIDGE, CGROUP_ROOT
from .processes import alive

CLAIM_DIR = Path(os.environ.get("KARVDASH_NODE_CLAIM_DIR", "/run/karvdash-localcluster"))
CLAIM_FILE = CLAIM_DIR / "real-node.json"
#: containerd's sockets and its shims' (paths of sockets must be short)
SOCKET_DIR = CLAIM_DIR / "containerd"
CONTAINERD_SOCKET = SOCKET_DIR / "containerd.sock"
SYSCTL_FILE = CLAIM_DIR / "sysctls.json"

#: the commands of the Debian packages a real node runs (command -> package)
RUNTIME_COMMANDS = {
    "runc": "runc",
    "iptables": "iptables",
    "iptables-save": "iptables",
    "iptables-restore": "iptables",
    "ip6tables": "iptables",
    "ipset": "ipset",
    "conntrack": "conntrack",
    "ip": "iproute2",
    "umount": "mount",
}

#: what the kubelet, kube-proxy and the launcher change (restored by :func:`cleanup`)
SYSCTLS = (
    "net/ipv4/ip_forward",
    "net/bridge/bridge-nf-call-iptables",
    "net/bridge/bridge-nf-call-ip6tables",
    "net/ipv4/conf/all/route_localnet",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)

OURS = re.compile(r"^(KUBE-|CNI-)")


def which(command: str) -> str | None:
    return shutil.which(command, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def _run(*cmd: str, check: bool = False, input: str | None = None) -> str:
    exe = which(cmd[0])
    if exe is None:
        return ""
    proc = subprocess.run([exe, *cmd[1:]], input=input, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


# -- can this machine run containers?


def _memory_cgroup() -> bool:
    if Path("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists():
        return True
    controllers = Path("/sys/fs/cgroup/cgroup.controllers")
    return controllers.exists() and "memory" in controllers.read_text().split()


def machine_problem() -> str | None:
    """Why this machine cannot run a real node (None when it can)."""
    if os.uname().sysname != "Linux":
        return "containers need Linux"
    if os.geteuid() != 0:
        return "the real node needs root (containerd, the kubelet and iptables)"
    if "overlay" not in Path("/proc/filesystems").read_text():
        return "the kernel has no overlay file system"
    if not _memory_cgroup():
        return "no memory cgroup controller is mounted under /sys/fs/cgroup"
    if not Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists():
        return "bridged traffic cannot reach iptables (load the br_netfilter module)"
    missing = sorted({pkg for cmd, pkg in RUNTIME_COMMANDS.items() if which(cmd) is None})
    if missing:
        return "missing Debian packages: " + " ".join(missing) + " (apt-get install them)"
    return None


def foreign_node(state_dir: Path) -> str | None:
    """Another real node on this machine: the one of another running cluster, or
    Kubernetes rules that no claim explains (another Kubernetes on this host)."""
    claim = read_claim()
    if claim and claim.get("state_dir") != str(state_dir) and claim_alive(claim):
        return f"the real node of the cluster in {claim['state_dir']} runs on this machine"
    if not claim and any(
        OURS.match(chain) for _, chains in _iptables_chains("iptables") for chain in chains
    ):
        return "iptables holds Kubernetes chains (KUBE-*) of another node on this machine"
    return None


# -- the claim


def read_claim() -> dict | None:
    try:
        return json.loads(CLAIM_FILE.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _pid_alive(pid: int, marker: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return marker in cmdline and alive(pid)


def claim_alive(claim: dict) -> bool:
    marker = claim.get("state_dir", "")
    return any(_pid_alive(pid, marker) for pid in claim.get("pids", {}).values())


def write_claim(state_dir: Path, pids: dict[str, int]) -> None:
    CLAIM_DIR.mkdir(parents=True, exist_ok=True)
    tmp = CLAIM_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps({"state_dir": str(state_dir), "pids": pids}))
    tmp.replace(CLAIM_FILE)


class ClaimLock:
    """Serializes the claim's check-and-write between launchers."""

    def __enter__(self):
        CLAIM_DIR.mkdir(parents=True, exist_ok=True)
        self._file = open(CLAIM_DIR / "lock", "w")
        fcntl.flock(self._file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self._file.close()


# -- kernel settings


def set_sysctls(values: dict[str, str]) -> None:
    """Set ``values``, after saving (once, until :func:`cleanup` restores them) the
    values of every setting the node changes."""
    if not SYSCTL_FILE.exists():
        saved = {}
        for name in SYSCTLS:
            with contextlib.suppress(OSError):
                saved[name] = Path("/proc/sys", name).read_text().strip()
        CLAIM_DIR.mkdir(parents=True, exist_ok=True)
        SYSCTL_FILE.write_text(json.dumps(saved))
    for name, value in values.items():
        Path("/proc/sys", name).write_text(value)


def _restore_sysctls() -> None:
    try:
        saved = json.loads(SYSCTL_FILE.read_text())
    except (FileNotFoundError, ValueError):
        return
    for name, value in saved.items():
        with contextlib.suppress(OSError):
            if Path("/proc/sys", name).read_text().strip() != value:
                Path("/proc/sys", name).write_text(value)
    SYSCTL_FILE.unlink(missing_ok=True)


# -- the bridge


def make_bridge(address: str, prefix: int) -> None:
    """The pods' bridge with the node's address (the CNI plugin adds the pods to it)."""
    if not Path(f"/sys/class/net/{BRIDGE}").exists():
        _run("ip", "link", "add", BRIDGE, "type", "bridge", check=True)
    if f"{address}/" not in _run("ip", "-o", "-4", "addr", "show", "dev", BRIDGE):
        _run("ip", "addr", "add", f"{address}/{prefix}", "dev", BRIDGE, check=True)
    _run("ip", "link", "set", BRIDGE, "up", check=True)


def _remove_interfaces() -> None:
    if not Path(f"/sys/class/net/{BRIDGE}").exists():
        return
    for line in _run("ip", "-o", "link", "show", "master", BRIDGE).splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        _run("ip", "link", "delete", name)
    _run("ip", "link", "delete", BRIDGE)


# -- processes, mounts, cgroups


def _cgroup_dirs() -> list[Path]:
    """Every cgroup folder of the pods (all hierarchies, v1 and v2), deepest first."""
    roots = [Path(line.split()[4]) / CGROUP_ROOT.strip("/") for line in _cgroup_mounts()]
    found = []
    for root in roots:
        if root.is_dir():
            found += [Path(p) for p, _, _ in os.walk(root)]
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def make_cgroup_root() -> None:
    """The pods' parent cgroup in every hierarchy (the kubelet wants it there)."""
    hierarchies = [Path(line.split()[4]) for line in _cgroup_mounts()]
    for hierarchy in hierarchies:
        path = hierarchy / CGROUP_ROOT.strip("/")
        path.mkdir(exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):
            if (path / name).exists() and not (path / name).read_text().strip():
                (path / name).write_text((hierarchy / name).read_text())


def _cgroup_mounts() -> list[str]:
    return [
        line
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if line.split(" - ")[-1].split()[0] in ("cgroup", "cgroup2")
    ]


def _kill_containers(node_dir: Path) -> None:
    """SIGKILL the runc shims of this node and every process of the pods' cgroups."""
    for _ in range(50):
        pids = set()
        for proc in Path("/proc").iterdir():
            with contextlib.suppress(OSError):
                cmd = (proc / "cmdline").read_bytes() if proc.name.isdigit() else b""
                ours = str(node_dir).encode() in cmd or str(SOCKET_DIR).encode() in cmd
                if ours and b"containerd-shim" in cmd:
                    pids.add(int(proc.name))
        for cgroup in _cgroup_dirs():
            with contextlib.suppress(OSError):
                pids |= {int(p) for p in (cgroup / "cgroup.procs").read_text().split()}
        pids.discard(os.getpid())
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    for cgroup in _cgroup_dirs():
        for _ in range(20):
            try:
                cgroup.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)


def mounts_under(path: Path) -> list[str]:
    """Mount points at or under ``path``, deepest first."""
    prefix = str(path).rstrip("/")
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            found.append(point)
    return sorted(set(found), key=len, reverse=True)


def unmount_all(path: Path) -> None:
    for _ in range(5):
        points = mounts_under(path)
        if not points:
            return
        for point in points:
            _run("umount", "--lazy", point)
    left = mounts_under(path)
    if left:
        raise RuntimeError(f"could not unmount {left[:5]}")


def remove_tree(path: Path) -> None:
    """Remove ``path`` after unmounting everything under it (never through a mount)."""
    if not path.exists():
        return
    unmount_all(path)
    shutil.rmtree(path)


# -- iptables, ipsets, nftables


def _iptables_chains(command: str) -> list[tuple[str, list[str]]]:
    tables, chains, table = [], [], None
    for line in _run(f"{command}-save").splitlines():
        if line.startswith("*"):
            table, chains = line[1:], []
            tables.append((table, chains))
        elif line.startswith(":"):
            chains.append(line[1:].split()[0])
    return tables


def _filter_rules(dump: str) -> str | None:
    """An iptables-save dump without our chains and the rules that jump to them (None
    when there is nothing of ours)."""
    kept, changed = [], False
    for line in dump.splitlines():
        parts = line.split()
        if line.startswith(":") and OURS.match(line[1:]):
            changed = True
            continue
        if line.startswith("-A") and len(parts) > 1:
            targets = [parts[i + 1] for i, p in enumerate(parts[:-1]) if p in ("-j", "-g")]
            if OURS.match(parts[1]) or any(OURS.match(t) for t in targets):
                changed = True
                continue
        kept.append(line)
    return "\n".join(kept) + "\n" if changed else None


def _remove_rules() -> None:
    for command in ("iptables", "ip6tables", "iptables-legacy", "ip6tables-legacy"):
        if which(f"{command}-save") is None:
            continue
        filtered = _filter_rules(_run(f"{command}-save"))
        if filtered is not None:
            _run(f"{command}-restore", "-w", input=filtered, check=True)
    for name in _run("ipset", "list", "-n").split():
        if re.match(r"^(inet6:)?KUBE-", name):
            _run("ipset", "destroy", name)
    if which("nft"):
        for family in ("ip", "ip6"):
            if f"table {family} kube-proxy" in _run("nft", "list", "tables"):
                _run("nft", "delete", "table", family, "kube-proxy")


def _remove_log_links(pod_logs: Path) -> None:
    links = Path("/var/log/containers")
    if not links.is_dir():
        return
    for link in links.iterdir():
        with contextlib.suppress(OSError):
            if link.is_symlink() and os.readlink(link).startswith(str(pod_logs)):
                link.unlink()


def cleanup(node_dir: Path, pod_logs: Path) -> None:
    """Undo everything a real node of ``node_dir`` did to this host (idempotent; its
    processes must be stopped first). Keeps the images (containerd's root)."""
    _kill_containers(node_dir)
    unmount_all(node_dir)
    shutil.rmtree(SOCKET_DIR, ignore_errors=True)
    _remove_interfaces()
    _remove_rules()
    _remove_log_links(pod_logs)
    _restore_sysctls()
    claim = read_claim()
    if claim and claim.get("state_dir") == str(node_dir.parent):
        CLAIM_FILE.unlink(missing_ok=True)
    log(f"removed the real node's containers, mounts, {BRIDGE} and iptables rules")
