"""The configuration files of the real node, as text (pure: no I/O).

One real node per machine, on the host's network: its pods live on the bridge
:data:`BRIDGE` (:data:`POD_CIDR`), whose gateway address :data:`NODE_IP` is also the
node's InternalIP. So the node's IP is not loopback (the API server reaches the kubelet
there for logs and exec) and a pod reaches the host (a hub listening on the host) at
:data:`NODE_IP`. The simulated (kwok) nodes take their pod IPs from :data:`KWOK_CIDR`, so
that no real pod ever shares an address with a simulated one.
"""

from __future__ import annotations

import json
from pathlib import Path

#: the real node's name (its kubelet's --hostname-override)
REAL_NODE_NAME = "karvdash-node"
#: the Linux bridge of the pods, created by the launcher, used by the CNI bridge plugin
BRIDGE = "kdcni0"
#: every pod address of the cluster (real and simulated); kube-proxy's clusterCIDR
CLUSTER_CIDR = "10.244.0.0/16"
#: the real node's pods
POD_CIDR = "10.244.0.0/24"
#: the bridge's address: the node's InternalIP and the pods' gateway (pods reach the host here)
NODE_IP = "10.244.0.1"
#: the simulated node's pods (kwok --cidr)
KWOK_CIDR = "10.244.128.0/17"
#: the Services' cluster IPs (the API server's --service-cluster-ip-range)
SERVICE_CIDR = "10.96.0.0/16"
#: the kube-dns Service's cluster IP, the pods' nameserver
CLUSTER_DNS = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
#: the parent cgroup of every pod (cgroupfs driver)
CGROUP_ROOT = "/karvdash"
#: the pod sandbox ("pause") image, the one kubeadm of the pinned release names; it is
#: resolved through the registry mirror like any other image
SANDBOX_IMAGE = "registry.k8s.io/pause:3.10.2"
#: the registries whose names containerd resolves through the local registry
MIRRORED_REGISTRIES = ("docker.io", "quay.io", "registry.k8s.io", "ghcr.io")
#: the taint of the simulated node when a real node is there (pods must tolerate it to
#: land on the simulated node; scale tests do)
KWOK_TAINT = {"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}

#: who may read what the host-side services (CoreDNS, kube-router) watch
NODE_SERVICES_ROLE = "karvdash:node-services"
NODE_SERVICES_USERS = ("karvdash:coredns", "karvdash:kube-router")


def _s(value: str | Path) -> str:
    """A TOML basic string (JSON's escaping is TOML's)."""
    return json.dumps(str(value))


def containerd_config(
    *,
    root: Path,
    state: Path,
    sockets: Path,
    cni_bin: Path,
    cni_conf: Path,
    certs_d: Path,
    runc: str,
) -> str:
    """containerd v2 (config version 4, that of 2.4): its own root and state, its
    sockets and its shims' in ``sockets`` (a short path: containerd allows at most 42
    characters for the shims' folder),
    the CRI plugin with ``restrict_oom_score_adj`` (the machine may lack
    CAP_SYS_RESOURCE), runc with cgroupfs, CNI from ``cni_conf``, and registry hosts
    (mirrors) from ``certs_d``."""
    runtime = "plugins.'io.containerd.cri.v1.runtime'"
    return f"""\
# written by karvdash_localcluster (the local cluster's real node); rewritten at each start
version = 4
root = {_s(root)}
state = {_s(state)}
disabled_plugins = [
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs", "io.containerd.nri.v1.nri",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]
imports = []

[plugins.'io.containerd.server.v1.grpc']
  address = {_s(sockets / "containerd.sock")}
[plugins.'io.containerd.server.v1.ttrpc']
  address = {_s(sockets / "containerd.sock.ttrpc")}
[plugins.'io.containerd.shim.v1.manager']
  socket_dir = {_s(sockets / "s")}
[plugins.'io.containerd.internal.v1.opt']
  path = {_s(root / "opt")}
[plugins.'io.containerd.image-verifier.v1.bindir']
  bin_dir = {_s(root / "image-verifier")}
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[plugins.'io.containerd.transfer.v1.local']
  config_path = {_s(certs_d)}

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = {_s(SANDBOX_IMAGE)}
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = {_s(certs_d)}

[{runtime}]
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_criu = false
  cdi_spec_dirs = []
  [{runtime}.containerd]
    default_runtime_name = "runc"
    [{runtime}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{runtime}.containerd.runtimes.runc.options]
        BinaryName = {_s(runc)}
        Root = {_s(state / "runc")}
        SystemdCgroup = false
  [{runtime}.cni]
    bin_dirs = [{_s(cni_bin)}]
    conf_dir = {_s(cni_conf)}
    max_conf_num = 1
"""


def cni_config(ipam_dir: Path) -> dict:
    """The pod network: a bridge with host-local addresses from :data:`POD_CIDR`, NAT to
    the outside, hairpin (a pod reaching itself through a Service), and host ports."""
    return {
        "cniVersion": "1.0.0",
        "name": "karvdash",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(ipam_dir),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def kubelet_config(
    *,
    pki: Path,
    containerd_socket: Path,
    pod_logs: Path,
    plugins: Path,
    healthz_port: int,
) -> dict:
    """The kubelet's KubeletConfiguration: cgroupfs under :data:`CGROUP_ROOT` (cgroup v1
    hosts allowed with ``failCgroupV1: false``), serving on :data:`NODE_IP` with a
    certificate of the cluster's CA, webhook authentication and authorization through
    the API server, :data:`CLUSTER_DNS` for pods, and eviction thresholds low enough
    for a developer's disk."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "tlsCertFile": str(pki / "kubelet.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet.key"),
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True, "cacheTTL": "30s"},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{containerd_socket}",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": CGROUP_ROOT,
        "cgroupsPerQOS": True,
        "enforceNodeAllocatable": ["pods"],
        "failCgroupV1": False,
        "failSwapOn": False,
        "clusterDNS": [CLUSTER_DNS],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": "/etc/resolv.conf",
        "podLogsDir": str(pod_logs),
        "volumePluginDir": str(plugins),
        "maxPods": 110,
        "serializeImagePulls": False,
        "imageGCHighThresholdPercent": 95,
        "imageGCLowThresholdPercent": 90,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "2%",
            "nodefs.inodesFree": "2%",
            "imagefs.available": "2%",
        },
        "nodeStatusUpdateFrequency": "5s",
        "nodeStatusReportFrequency": "1m",
        "syncFrequency": "10s",
        "shutdownGracePeriod": "0s",
        "containerLogMaxSize": "10Mi",
        "logging": {"format": "text"},
    }


def kube_proxy_config(kubeconfig: Path, healthz_port: int, metrics_port: int) -> dict:
    """kube-proxy in iptables mode for :data:`CLUSTER_CIDR`; conntrack sysctls left as
    they are (zero means 'do not set')."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": REAL_NODE_NAME,
        "bindAddress": NODE_IP,
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        "mode": "iptables",
        "clusterCIDR": CLUSTER_CIDR,
        "detectLocalMode": "ClusterCIDR",
        "nodePortAddresses": [f"{NODE_IP}/32"],
        "iptables": {"syncPeriod": "10s", "minSyncPeriod": "1s", "masqueradeAll": False},
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    }


def corefile(kubeconfig: Path, ready_port: int) -> str:
    """CoreDNS on the host at :data:`NODE_IP`:53: ``<svc>.<ns>.svc.cluster.local`` (and
    pod and reverse names) from the API server, everything else forwarded to the host's
    resolvers."""
    return f"""\
# written by karvdash_localcluster: the cluster's DNS, reached by pods at {CLUSTER_DNS}
.:53 {{
    bind {NODE_IP}
    errors
    ready 127.0.0.1:{ready_port}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig} karvdash-local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }}
    forward . /etc/resolv.conf
    cache 5
}}
"""


def kube_dns_objects() -> list[tuple[str, dict]]:
    """The ``kube-dns`` Service at :data:`CLUSTER_DNS` and its EndpointSlice: CoreDNS
    runs on the host, so the Service has no selector and one endpoint, the node's IP.
    Each entry: (the collection's API path, the object)."""
    labels = {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}
    ports = [("dns", "UDP"), ("dns-tcp", "TCP")]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": labels},
        "spec": {
            "clusterIP": CLUSTER_DNS,
            "ports": [{"name": n, "protocol": p, "port": 53, "targetPort": 53} for n, p in ports],
        },
    }
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kube-dns-host",
            "namespace": "kube-system",
            "labels": {
                **labels,
                "kubernetes.io/service-name": "kube-dns",
                "endpointslice.kubernetes.io/managed-by": "karvdash-localcluster",
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": True}}],
        "ports": [{"name": n, "protocol": p, "port": 53} for n, p in ports],
    }
    return [
        ("/api/v1/namespaces/kube-system/services", service),
        ("/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices", slice_),
    ]


def kubernetes_endpoint_objects(port: int) -> list[tuple[str, dict]]:
    """The ``kubernetes`` Service's endpoint: the API server's forwarder on the node's
    address (:mod:`.apiforward`; the API server itself keeps no endpoints of its own,
    ``--endpoint-reconciler-type=none``)."""
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kubernetes-host",
            "namespace": "default",
            "labels": {
                "kubernetes.io/service-name": "kubernetes",
                "endpointslice.kubernetes.io/managed-by": "karvdash-localcluster",
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "protocol": "TCP", "port": port}],
    }
    return [("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", slice_)]


def rbac_objects() -> list[tuple[str, dict]]:
    """Read access for CoreDNS and kube-router (client certificates of their own)."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": NODE_SERVICES_ROLE},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["pods", "namespaces", "services", "endpoints", "nodes"],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": ["discovery.k8s.io"],
                "resources": ["endpointslices"],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["networkpolicies"],
                "verbs": ["get", "list", "watch"],
            },
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": NODE_SERVICES_ROLE},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": NODE_SERVICES_ROLE,
        },
        "subjects": [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}
            for user in NODE_SERVICES_USERS
        ],
    }
    return [
        ("/apis/rbac.authorization.k8s.io/v1/clusterroles", role),
        ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", binding),
    ]


def kubeconfig(server: str, ca: Path, cert: Path, key: Path, user: str = "user") -> dict:
    """A kubeconfig for one client certificate (context ``karvdash-local``)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "karvdash-local",
                "cluster": {"server": server, "certificate-authority": str(ca)},
            }
        ],
        "users": [
            {"name": user, "user": {"client-certificate": str(cert), "client-key": str(key)}}
        ],
        "contexts": [
            {"name": "karvdash-local", "context": {"cluster": "karvdash-local", "user": user}}
        ],
        "current-context": "karvdash-local",
    }


def kwok_node(name: str) -> dict:
    """The simulated node's object: kwok manages it (and only it) by its annotation."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
    }
