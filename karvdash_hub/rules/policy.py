"""Policy: what a rendered template may create, and what Karvdash adds to it (pure).

Rules guaranteed (tested with an injection corpus):

- Only namespaced kinds of :data:`ALLOWED_KINDS` (bare Pods under the same rules as
  workloads' pods; ServiceAccounts, Roles and RoleBindings as :mod:`.rbac` allows), and
  the custom kinds an installation allows (``extra_kinds``); nothing cluster-scoped, no
  webhook, no CRD.
- Nothing outside the user's namespace: ``metadata.namespace`` must be absent or the
  user's (the renderer drops it; this checks again).
- No pod may use the node: hostPath volumes, hostNetwork, hostPID, hostIPC, hostPort,
  privileged containers, added capabilities beyond the Pod Security ``baseline`` set,
  and ``procMount``/``sysctls`` other than the defaults are refused. (Pod Security
  admission in the namespace enforces the same; this gives the error first and says
  which object is at fault.)
- Pod volumes only of the kinds in :data:`ALLOWED_VOLUME_SOURCES` (configMap, secret,
  emptyDir, projected, downwardAPI, persistentVolumeClaim, ephemeral): no inline NFS,
  iSCSI, CSI, ... that could reach storage behind another user's claims.
- No Service of type NodePort, LoadBalancer or ExternalName (an ExternalName Service
  behind an Ingress would proxy to another user's service), no claim naming a volume
  (``volumeName``/``selector``: a user's claims bind only to their own storage),
  including StatefulSet claim templates and ephemeral volumes.
- An Ingress serves the service's own HOSTNAME only (or ``<word>-<HOSTNAME>``, a second
  address of the same service): every rule names one, no default backend, no ingress
  class (the installation chooses it) and only the annotations of
  :data:`ALLOWED_INGRESS_ANNOTATIONS` (no snippets, aliases or auth overrides).
- A field of the wrong shape (a list where a mapping belongs, ...) is a violation that
  names it, never a crash.
- :func:`inject` adds, to every object and StatefulSet claim template, Karvdash's
  labels, and to every pod template of
  every workload the ``karvdash-private`` and ``karvdash-shared`` volumes mounted at
  ``/private`` and ``/shared`` in every container, and the KARVDASH_* environment;
  what the original Karvdash did with a mutating admission webhook.
"""

from __future__ import annotations

import copy
import re

from . import rbac, storage

_WORD = re.compile(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?")

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
    ("v1", "Pod"),
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
}

#: pod volume sources a template may use (what Pod Security "restricted" allows, less CSI)
ALLOWED_VOLUME_SOURCES = {
    "configMap",
    "secret",
    "emptyDir",
    "projected",
    "downwardAPI",
    "persistentVolumeClaim",
    "ephemeral",
}

#: ingress-nginx annotations that change only how the service's own traffic is proxied
ALLOWED_INGRESS_ANNOTATIONS = {
    f"nginx.ingress.kubernetes.io/{name}"
    for name in (
        "backend-protocol",
        "proxy-body-size",
        "proxy-buffering",
        "proxy-request-buffering",
        "proxy-connect-timeout",
        "proxy-read-timeout",
        "proxy-send-timeout",
        "rewrite-target",
        "use-regex",
        "app-root",
        "affinity",
        "session-cookie-name",
    )
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


class _Shape:
    """Reads fields of a parsed object, recording a violation for a field of the wrong
    shape instead of raising (the dry run would refuse it too, less clearly)."""

    def __init__(self, bad: list[str]):
        self.bad = bad

    def mapping(self, parent: dict, key: str, where: str) -> dict:
        value = parent.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.bad.append(f"{where}: {key} must be a mapping")
            return {}
        return value

    def items(self, parent: dict, key: str, where: str) -> list[dict]:
        value = parent.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.bad.append(f"{where}: {key} must be a list of mappings")
            return []
        return value

    def strings(self, parent: dict, key: str, where: str) -> list[str]:
        value = parent.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.bad.append(f"{where}: {key} must be a list of strings")
            return []
        return value


def _containers(spec: dict, shape: _Shape | None = None, what: str = "") -> list[dict]:
    out = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        if shape is not None:
            out += shape.items(spec, key, what)
            continue
        items = spec.get(key) or []
        if isinstance(items, list):
            out += [c for c in items if isinstance(c, dict)]
    return out


def _check_claim_spec(spec, what: str, shape: _Shape) -> None:
    if spec is None:
        return
    if not isinstance(spec, dict):
        shape.bad.append(f"{what}: the claim's spec must be a mapping")
    elif spec.get("volumeName") is not None or spec.get("selector") is not None:
        shape.bad.append(f"{what}: a claim cannot choose its volume (volumeName, selector)")


def _check_pod(spec, what: str) -> list[str]:
    bad: list[str] = []
    if not isinstance(spec, dict):
        return [f"{what}: the pod template has no spec"]
    shape = _Shape(bad)
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            bad.append(f"{what}: {key} is not allowed")
    for vol in shape.items(spec, "volumes", what):
        sources = [k for k in vol if k != "name"]
        refused = [k for k in sources if k not in ALLOWED_VOLUME_SOURCES]
        if refused:
            bad.append(
                f"{what}: volume {vol.get('name')!s} is a {refused[0]} volume, which is not"
                f" allowed (allowed: {', '.join(sorted(ALLOWED_VOLUME_SOURCES))})"
            )
        ephemeral = vol.get("ephemeral")
        if isinstance(ephemeral, dict):
            claim = ephemeral.get("volumeClaimTemplate")
            if isinstance(claim, dict):
                _check_claim_spec(claim.get("spec"), f"{what} volume {vol.get('name')!s}", shape)
    sc = shape.mapping(spec, "securityContext", what)
    for sysctl in shape.items(sc, "sysctls", what + " securityContext"):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            bad.append(f"{what}: sysctl {sysctl.get('name')!s} is not allowed")
    for c in _containers(spec, shape, what):
        cname = f"{what} container {c.get('name')!s}"
        csc = shape.mapping(c, "securityContext", cname)
        if csc.get("privileged"):
            bad.append(f"{cname}: privileged containers are not allowed")
        if csc.get("procMount") not in (None, "Default"):
            bad.append(f"{cname}: procMount {csc.get('procMount')!s} is not allowed")
        caps = shape.mapping(csc, "capabilities", cname + " securityContext")
        added = shape.strings(caps, "add", cname + " capabilities")
        extra = [cap for cap in added if cap not in BASELINE_CAPABILITIES]
        if extra:
            bad.append(f"{cname}: adding capabilities {', '.join(extra)} is not allowed")
        for port in shape.items(c, "ports", cname):
            if port.get("hostPort"):
                bad.append(f"{cname}: hostPort is not allowed")
        shape.items(c, "volumeMounts", cname)
        shape.items(c, "env", cname)
    return bad


def serves_own(host: object, hostname: str) -> bool:
    """Whether an Ingress host is the service's: its HOSTNAME, or ``<label>-<HOSTNAME>``
    (a second address of the same service, as Karvdash 2's Neo4j has for Bolt)."""
    if host == hostname:
        return True
    if not isinstance(host, str) or not host.endswith("-" + hostname):
        return False
    return bool(_WORD.fullmatch(host[: -len(hostname) - 1]))


def _check_ingress(obj: dict, spec: dict, what: str, hostname: str, shape: _Shape) -> None:
    bad = shape.bad
    only = f"{what}: an Ingress may only serve host {hostname} (or <word>-{hostname})"
    rules = shape.items(spec, "rules", what)
    for rule in rules:
        if not serves_own(rule.get("host"), hostname):
            bad.append(only)
    if spec.get("defaultBackend") is not None:
        bad.append(f"{what}: an Ingress may not have a defaultBackend (it would serve any host)")
    if spec.get("ingressClassName") is not None:
        bad.append(f"{what}: the ingress class is chosen by the installation, not a template")
    for tls in shape.items(spec, "tls", what):
        if any(not serves_own(h, hostname) for h in shape.strings(tls, "hosts", what + " tls")):
            bad.append(only)
    annotations = shape.mapping(shape.mapping(obj, "metadata", what), "annotations", what)
    for key in annotations:
        if "ingress" in str(key) and key not in ALLOWED_INGRESS_ANNOTATIONS:
            bad.append(
                f"{what}: annotation {key} is not allowed on an Ingress (allowed:"
                f" {', '.join(sorted(ALLOWED_INGRESS_ANNOTATIONS))})"
            )


def check(
    objects: list[dict], namespace: str, hostname: str, extra_kinds: frozenset = frozenset()
) -> None:
    """Raise :class:`PolicyError` with every violation, or return. ``extra_kinds``:
    ``(apiVersion, kind)`` of custom resources the installation allows."""
    bad: list[str] = []
    shape = _Shape(bad)
    allowed_kinds = ALLOWED_KINDS | set(extra_kinds)
    for obj in objects:
        what = describe(obj)
        if (obj.get("apiVersion"), obj.get("kind")) not in allowed_kinds:
            allowed = ", ".join(sorted({k for _, k in allowed_kinds}))
            bad.append(
                f"{what}: {obj.get('apiVersion')}/{obj.get('kind')} cannot be created by a"
                f" template (allowed: {allowed})"
            )
            continue
        meta = shape.mapping(obj, "metadata", what)
        if meta.get("namespace") not in (None, namespace):
            bad.append(f"{what}: objects can only be created in namespace {namespace}")
        shape.mapping(meta, "labels", what + " metadata")
        shape.mapping(meta, "annotations", what + " metadata")
        spec = shape.mapping(obj, "spec", what)
        for path in pod_spec_paths(obj):
            template = _get(obj, path[:-1])
            if template is not None and not isinstance(template, dict):
                bad.append(f"{what}: {'.'.join(path[:-1])} must be a mapping")
                continue
            if isinstance(template, dict):
                tmeta = shape.mapping(template, "metadata", what + " pod template")
                shape.mapping(tmeta, "labels", what + " pod template metadata")
            bad += _check_pod(_get(obj, path), what)
        kind = obj["kind"]
        if kind == "Service":
            if spec.get("type") in ("NodePort", "LoadBalancer", "ExternalName"):
                bad.append(f"{what}: Services of type {spec['type']} are not allowed")
            if spec.get("externalIPs") or spec.get("externalName"):
                bad.append(f"{what}: externalIPs and externalName are not allowed")
        if kind == "PersistentVolumeClaim":
            _check_claim_spec(spec, what, shape)
        if kind == "StatefulSet":
            for claim in shape.items(spec, "volumeClaimTemplates", what):
                _check_claim_spec(claim.get("spec"), f"{what} claim template", shape)
        if kind == "Ingress":
            _check_ingress(obj, spec, what, hostname, shape)
        if kind == "Role":
            bad += rbac.role_violations(obj, what)
        if kind == "RoleBinding":
            bad += rbac.binding_violations(obj, what, namespace)
    if bad:
        raise PolicyError(list(dict.fromkeys(bad)))


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
        if obj.get("kind") == "StatefulSet":
            # the claims its controller makes carry the labels too: stop deletes them
            for claim in obj.get("spec", {}).get("volumeClaimTemplates") or []:
                cmeta = claim.setdefault("metadata", {})
                cmeta["labels"] = {**(cmeta.get("labels") or {}), **labels}
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
