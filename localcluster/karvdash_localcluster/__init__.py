"""A real Kubernetes control plane on loopback, built from source: development tooling
for Karvdash's tests, benchmarks and embedded default (not part of the product wheel).

Rules this package guarantees:

- The binaries (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
  kubectl, kwok) are built from the Go module in ``localcluster/`` (this package's
  parent folder) at the pinned releases, once, into a cache outside the repository
  keyed by the module's content; a second build with the same pins is a no-op.
  Concurrent builds wait on a lock. (:mod:`.gobuild`)
- A started cluster listens only on 127.0.0.1, on free ports; it runs with
  ``--authorization-mode=Node,RBAC``, the PodSecurity admission plugin and
  service-account token signing, and has one simulated node (kwok) on which pods
  reach Running and a default StorageClass. (:mod:`.cluster`, :mod:`.pki`,
  :mod:`.storage`)
- Every process is started in its own process group and :meth:`LocalCluster.stop`
  ends them all, so that nothing is left behind; ``down`` from another process
  does the same from the pid file in the state folder. (:mod:`.processes`)

Command line: ``python -m karvdash_localcluster {build,up,down,status,versions}``.
"""

from __future__ import annotations

from .cluster import NODE_NAME, STAGES_FILE, LocalCluster
from .errors import ClusterError
from .gobuild import COMMANDS, GO_MODULE_DIR, bin_dir, build, build_key, cache_root, pinned_versions
from .pki import make_pki
from .ports import free_port, free_ports, port_is_free
from .processes import running_pids, stop_pids

__all__ = [
    "COMMANDS",
    "GO_MODULE_DIR",
    "NODE_NAME",
    "STAGES_FILE",
    "ClusterError",
    "LocalCluster",
    "bin_dir",
    "build",
    "build_key",
    "cache_root",
    "free_port",
    "free_ports",
    "make_pki",
    "pinned_versions",
    "port_is_free",
    "running_pids",
    "stop_pids",
]
