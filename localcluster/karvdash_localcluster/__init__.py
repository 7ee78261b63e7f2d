"""A real Kubernetes cluster on this machine, built from source: development tooling
for Karvdash's tests, benchmarks and embedded default (not part of the product wheel).

Rules this package guarantees:

- The binaries are built from the Go modules in ``localcluster/`` (this package's
  parent folder: etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
  kubectl, kwok, kubelet, kube-proxy) and ``localcluster/node/`` (containerd v2 and its
  runc shim, ctr, crictl, CoreDNS, kube-router, CNI plugins) at the pinned releases,
  once, into a cache outside the repository keyed by each module's content; a second
  build with the same pins is a no-op. Concurrent builds wait on a lock. (:mod:`.gobuild`)
- A started cluster's control plane listens only on 127.0.0.1, on free ports; it runs
  with ``--authorization-mode=Node,RBAC``, the PodSecurity admission plugin and
  service-account token signing, and has one simulated node (kwok) on which pods
  reach Running and a default StorageClass. (:mod:`.cluster`, :mod:`.pki`,
  :mod:`.storage`)
- Where the machine can run containers (root, overlayfs, cgroups, iptables, the
  binaries) it also has a real node, ``karvdash-node`` (mode ``real``; else ``kwok``,
  with the reason): pods really run there, with the images of the system registry
  under their usual names, a pod network, ClusterIP Services, cluster DNS and enforced
  NetworkPolicy; the kwok node then takes only pods that tolerate its taint. The mode
  is in :attr:`LocalCluster.mode` and ``<state>/node.json``. (:mod:`.node`,
  :mod:`.nodeconfig`, :mod:`.nodemode`, :mod:`.nodehost`)
- Every process is started in its own process group and :meth:`LocalCluster.stop`
  ends them all and removes every container, mount, network interface and iptables
  rule of the real node, so that nothing is left behind; ``down`` from another process
  does the same from the files in the state folder, and a start after a crash cleans
  up first. (:mod:`.processes`, :mod:`.nodehost`)

Command line: ``python -m karvdash_localcluster {build,up,down,status,versions}``.
"""

from __future__ import annotations

from .cluster import NODE_NAME, STAGES_FILE, LocalCluster
from .errors import ClusterError
from .gobuild import (
    COMMANDS,
    GO_MODULE_DIR,
    NODE_COMMANDS,
    NODE_MODULE_DIR,
    bin_dir,
    build,
    build_key,
    build_node,
    cache_root,
    node_bin_dir,
    pinned_versions,
)
from .node import RealNode
from .nodeconfig import (
    CLUSTER_DNS,
    KWOK_TAINT,
    NODE_IP,
    POD_CIDR,
    REAL_NODE_NAME,
    SANDBOX_IMAGE,
    SERVICE_CIDR,
)
from .nodemode import default_node, read_node_info
from .pki import make_pki
from .ports import free_port, free_ports, port_is_free
from .processes import running_pids, stop_pids

__all__ = [
    "CLUSTER_DNS",
    "COMMANDS",
    "GO_MODULE_DIR",
    "KWOK_TAINT",
    "NODE_COMMANDS",
    "NODE_IP",
    "NODE_MODULE_DIR",
    "NODE_NAME",
    "POD_CIDR",
    "REAL_NODE_NAME",
    "SANDBOX_IMAGE",
    "SERVICE_CIDR",
    "STAGES_FILE",
    "ClusterError",
    "LocalCluster",
    "RealNode",
    "bin_dir",
    "build",
    "build_key",
    "build_node",
    "cache_root",
    "default_node",
    "free_port",
    "free_ports",
    "make_pki",
    "node_bin_dir",
    "pinned_versions",
    "port_is_free",
    "read_node_info",
    "running_pids",
    "stop_pids",
]
