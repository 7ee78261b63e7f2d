"""Policy: what a rendered template may create, and what Karvdash adds to it (pure).

Rules guaranteed (tested with an injection corpus):

- Only namespaced kinds of :data:`ALLOWED_KINDS`; no RBAC objects, nothing
  cluster-scoped, no webhook, no CRD.
- Nothing outside the user's namespace: ``metadata.namespace`` must be absent or the
  user's (the renderer drops it; this checks again).
- No pod may use the node: hostPath volumes, hostNetwork, hostPID, hostIPC, hostPort,
  privileged containers, added capabilities beyond the Pod Security ``baseline`` set,
  and ``procMount``/``sysctls`` other than the defaults are refused. (Pod Security
  admission in the namespace enforces the same; this gives the error first and says
  which object is at fault.)
- No Service of type NodePort or LoadBalancer, no claim naming a volume
  (``volumeName``/``selector``: a user's claims bind only to their own storage), no
  Ingress for a host other than the service's own HOSTNAME.
- :func:`inject` adds, to every object, Karvdash's labels, and to every pod template of
  every workload the ``karvdash-private`` and ``karvdash-shared`` volumes mounted at
  ``/private`` and ``/shared`` in every container, and the KARVDASH_* environment;
  what the original Karvdash did with a mutating admission webhook.
"""

from __future__ import annotations

import copy

from . import storage

ALLOWED_KINDS = {
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "PersistentVolumeClaim"),
    ("networking.k8s.io/v1", "Ingress"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("policy/v1", "PodDisruptionBudget"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
}

#: capabilities that the Pod Security baseline standard allows adding
BASELINE_CAPABILITIES = {
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
}

SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}


class PolicyError(ValueError):
    """A rendered template asks for something it may not have; lists every violation."""

    def __init__(self, violations: list[str]):
        self.violations = violations
        super().__init__("; ".join(violations))


def describe(obj: dict) -> str:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return f"{obj.get('kind', '?')} {meta.get('name', '?')!s}"


def pod_spec_paths(obj: dict) -> list[tuple[str, ...]]:
    """Where a workload keeps its pod spec."""
    kind = obj.get("kind")
    if kind in ("Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet"):
        return [("spec", "template", "spec")]
    if kind == "CronJob":
        return [("spec", "jobTemplate", "spec", "template", "spec")]
    if kind == "Pod":
        return [("spec",)]
    return []


def _get(obj, path):
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _containers(spec: dict) -> list[dict]:
    out = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        items = spec.get(key) or []
        if isinstance(items, list):
            out += [c for c in items if isinstance(c, dict)]
    return out


def _check_pod(spec: dict, what: str) -> list[str]:
    bad = []
    if not isinstance(spec, dict):
        return [f"{what}: the pod template has no spec"]
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            bad.append(f"{what}: {key} is not allowed")
    for vol in spec.get("volumes") or []:
        if isinstance(vol, dict) and "hostPath" in vol:
            bad.append(f"{what}: volume {vol.get('name')!s} is a hostPath, which is not allowed")
    sc = spec.get("securityContext") or {}
    if isinstance(sc, dict):
        for sysctl in sc.get("sysctls") or []:
            if isinstance(sysctl, dict) and sysctl.get("name") not in SAFE_SYSCTLS:
                bad.append(f"{what}: sysctl {sysctl.get('name')!s} is not allowed")
    for c in _containers(spec):
        cname = f"{what} container {c.get('name')!s}"
        csc = c.get("securityContext") or {}
        if isinstance(csc, dict):
            if csc.get("privileged"):
                bad.append(f"{cname}: privileged containers are not allowed")
            if csc.get("procMount") not in (None, "Default"):
                bad.append(f"{cname}: procMount {csc.get('procMount')!s} is not allowed")
            caps = (csc.get("capabilities") or {}).get("add") or []
            extra = [str(cap) for cap in caps if str(cap) not in BASELINE_CAPABILITIES]
            if extra:
                bad.append(f"{cname}: adding capabilities {', '.join(extra)} is not allowed")
        for port in c.get("ports") or []:
            if isinstance(port, dict) and port.get("hostPort"):
                bad.append(f"{cname}: hostPort is not allowed")
    return bad


def check(objects: list[dict], namespace: str, hostname: str) -> None:
    """Raise :class:`PolicyError` with every violation, or return."""
    bad: list[str] = []
    for obj in objects:
        what = describe(obj)
        if (obj.get("apiVersion"), obj.get("kind")) not in ALLOWED_KINDS:
            allowed = ", ".join(sorted(k for _, k in ALLOWED_KINDS))
            bad.append(
                f"{what}: {obj.get('apiVersion')}/{obj.get('kind')} cannot be created by a"
                f" template (allowed: {allowed})"
            )
            continue
        meta = obj.get("metadata") or {}
        if meta.get("namespace") not in (None, namespace):
            bad.append(f"{what}: objects can only be created in namespace {namespace}")
        for path in pod_spec_paths(obj):
            bad += _check_pod(_get(obj, path), what)
        spec = obj.get("spec") or {}
        if obj["kind"] == "Service" and spec.get("type") in ("NodePort", "LoadBalancer"):
            bad.append(f"{what}: Services of type {spec['type']} are not allowed")
        if obj["kind"] == "Service" and spec.get("externalIPs"):
            bad.append(f"{what}: externalIPs are not allowed")
        if obj["kind"] == "PersistentVolumeClaim" and (
            spec.get("volumeName") or spec.get("selector")
        ):
            bad.append(f"{what}: a claim cannot choose its volume (volumeName, selector)")
        if obj["kind"] == "Ingress":
            for rule in spec.get("rules") or []:
                if isinstance(rule, dict) and rule.get("host") not in (None, hostname):
                    bad.append(f"{what}: an Ingress may only serve host {hostname}")
            for tls in spec.get("tls") or []:
                for host in (tls or {}).get("hosts") or []:
                    if host != hostname:
                        bad.append(f"{what}: an Ingress may only serve host {hostname}")
    if bad:
        raise PolicyError(bad)


def inject(
    objects: list[dict], labels: dict[str, str], env: dict[str, str], annotations=None
) -> list[dict]:
    """Karvdash's labels on every object; storage and environment in every pod."""
    out = []
    for original in objects:
        obj = copy.deepcopy(original)
        meta = obj.setdefault("metadata", {})
        meta["labels"] = {**(meta.get("labels") or {}), **labels}
        if annotations:
            meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
        for path in pod_spec_paths(obj):
            template_path = path[:-1]
            pod_template = _get(obj, template_path)
            if not isinstance(pod_template, dict):
                continue
            pmeta = pod_template.setdefault("metadata", {})
            pmeta["labels"] = {**(pmeta.get("labels") or {}), **labels}
            spec = pod_template.setdefault("spec", {})
            _inject_storage(spec, env)
        out.append(obj)
    return out


def _inject_storage(spec: dict, env: dict[str, str]) -> None:
    volumes = spec.setdefault("volumes", [])
    names = {v.get("name") for v in volumes if isinstance(v, dict)}
    for vol in storage.pod_volumes():
        if vol["name"] not in names:
            volumes.append(vol)
    for c in _containers(spec):
        mounts = c.setdefault("volumeMounts", [])
        taken = {m.get("mountPath") for m in mounts if isinstance(m, dict)}
        for m in storage.pod_volume_mounts():
            if m["mountPath"] not in taken:
                mounts.append(dict(m))
        cenv = c.setdefault("env", [])
        have = {e.get("name") for e in cenv if isinstance(e, dict)}
        for key, value in env.items():
            if key not in have:
                cenv.append({"name": key, "value": value})
