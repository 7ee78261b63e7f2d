"""What a user owns in Kubernetes, as plain objects (pure: no I/O).

For a user ``alice`` (slug ``alice``) with the prefix ``karvdash``, all labelled
``app.kubernetes.io/managed-by=karvdash,karvdash.io/user=alice``:

- Namespace ``karvdash-alice`` with Pod Security Admission labels (enforce ``baseline``,
  warn and audit ``restricted`` by default), annotated with the exact user name;
- ServiceAccount ``karvdash-user`` for the user's pods (and ``default``: both with the
  namespace's image pull Secret when there is a registry), and RoleBinding
  ``karvdash-user-admin`` giving it the ``admin`` ClusterRole in that namespace only;
- optionally RoleBinding ``karvdash-hub-admin`` for the hub's own ServiceAccount (so the
  hub needs no cluster-wide write access to pods, services or secrets);
- NetworkPolicy ``karvdash-isolation``: ingress only from the same namespace and from the
  namespaces of the hub, the proxy and the ingress controller;
- ResourceQuota ``karvdash-quota`` and LimitRange ``karvdash-limits`` when configured.

Rules guaranteed (unit-tested):

- :func:`user_objects` puts the Namespace first and every other object in it; nothing it
  returns is cluster-scoped but the Namespace, and every binding names a ServiceAccount
  of that namespace or the configured hub account, never a group or a user.
- :func:`owns` is true only for a namespace labelled as Karvdash's *and* annotated with
  that exact user name: Karvdash never writes into, grants rights in, or deletes a
  namespace it did not make for that user.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import names

#: on a namespace Karvdash is deleting with its user: nothing makes it again meanwhile
DELETING_ANNOTATION = "karvdash.io/deleting"
ISOLATION_POLICY = "karvdash-isolation"

#: the default 'hard' limits of a user namespace's ResourceQuota
DEFAULT_QUOTA = {
    "requests.cpu": "8",
    "requests.memory": "32Gi",
    "limits.cpu": "16",
    "limits.memory": "64Gi",
    "requests.storage": "200Gi",
    "persistentvolumeclaims": "20",
    "pods": "50",
    "services": "30",
    "services.loadbalancers": "0",
    "services.nodeports": "0",
}
#: the default LimitRange: containers that set nothing get a modest request and limit
DEFAULT_LIMITS = [
    {
        "type": "Container",
        "defaultRequest": {"cpu": "100m", "memory": "256Mi"},
        "default": {"cpu": "2", "memory": "4Gi"},
        "max": {"cpu": "8", "memory": "32Gi"},
    }
]


@dataclass(frozen=True)
class NamespaceSettings:
    """The installation's choices for every user namespace (the Provisioner's traits)."""

    prefix: str = "karvdash"
    pod_security_enforce: str = "baseline"
    pod_security_warn: str = "restricted"
    service_account: str = "karvdash-user"
    user_cluster_role: str = "admin"
    #: 'namespace/name' of the hub's ServiceAccount, or '' for none
    hub_service_account: str = ""
    resource_quota: dict = field(default_factory=dict)
    limit_range: list = field(default_factory=list)
    ingress_namespaces: tuple[str, ...] = ()
    #: CIDRs pods may not connect to (the instance metadata address)
    blocked_egress: tuple[str, ...] = ()
    #: the image pull Secret the namespace's accounts use, or '' for none
    pull_secret: str = ""


def role_binding(name: str, meta: dict, role: str, sa_namespace: str, sa: str) -> dict:
    """A RoleBinding (in ``meta``'s namespace) of a ClusterRole to a ServiceAccount."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, **meta},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": sa_namespace}],
    }


def namespace_object(username: str, s: NamespaceSettings) -> dict:
    psa = {
        "pod-security.kubernetes.io/enforce": s.pod_security_enforce,
        "pod-security.kubernetes.io/warn": s.pod_security_warn,
        "pod-security.kubernetes.io/audit": s.pod_security_warn,
    }
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": names.namespace_for(username, s.prefix),
            "labels": {**names.user_labels(username), **psa},
            "annotations": {names.USERNAME_ANNOTATION: username},
        },
    }


def network_policy(meta: dict, ingress_namespaces, blocked_egress=()) -> dict:
    """In: the namespace's own pods and those of ``ingress_namespaces``. Out: anywhere
    but ``blocked_egress`` (other users' pods refuse it on their side)."""
    allowed = [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": other}}}
        for other in ingress_namespaces
    ]
    spec = {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {}}, *allowed]}],
    }
    if blocked_egress:
        v6 = [c for c in blocked_egress if ":" in c]
        v4 = [c for c in blocked_egress if ":" not in c]
        spec["policyTypes"].append("Egress")
        spec["egress"] = [
            {"to": [{"namespaceSelector": {}}]},  # every pod (DNS, the user's, services)
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", **({"except": v4} if v4 else {})}}]},
            {"to": [{"ipBlock": {"cidr": "::/0", **({"except": v6} if v6 else {})}}]},
        ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": ISOLATION_POLICY, **meta},
        "spec": spec,
    }


def _v1(kind: str, name: str, meta: dict, spec: dict | None = None) -> dict:
    obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, **meta}}
    if spec is not None:
        obj["spec"] = spec
    return obj


def user_objects(username: str, s: NamespaceSettings) -> list[dict]:
    """Every object of the user's namespace, the Namespace first, as it should be."""
    ns = names.namespace_for(username, s.prefix)
    meta = {"namespace": ns, "labels": names.user_labels(username)}
    pulls = {"imagePullSecrets": [{"name": s.pull_secret}]} if s.pull_secret else {}
    objs: list[dict] = [
        namespace_object(username, s),
        {**_v1("ServiceAccount", s.service_account, meta), **pulls},
        role_binding(
            f"{s.service_account}-{s.user_cluster_role}",
            meta,
            s.user_cluster_role,
            ns,
            s.service_account,
        ),
        network_policy(meta, s.ingress_namespaces, s.blocked_egress),
    ]
    if s.pull_secret:
        # the pods of templates that name no account pull with the user's rights too
        objs.append({**_v1("ServiceAccount", "default", meta), **pulls})
    if s.hub_service_account:
        hub_ns, _, hub_sa = s.hub_service_account.partition("/")
        objs.append(role_binding("karvdash-hub-admin", meta, "admin", hub_ns, hub_sa))
    if s.resource_quota:
        objs.append(_v1("ResourceQuota", "karvdash-quota", meta, {"hard": dict(s.resource_quota)}))
    if s.limit_range:
        objs.append(_v1("LimitRange", "karvdash-limits", meta, {"limits": list(s.limit_range)}))
    return objs


def owns(namespace: dict, username: str) -> bool:
    """Whether Karvdash made this namespace (as the API returns it) for ``username``."""
    meta = namespace.get("metadata") or {}
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    return all(labels.get(k) == v for k, v in names.MANAGED_BY.items()) and (
        annotations.get(names.USERNAME_ANNOTATION) == username
    )


def phase(namespace: dict) -> str:
    return (namespace.get("status") or {}).get("phase") or ""


def being_deleted_by_karvdash(namespace: dict) -> bool:
    annotations = (namespace.get("metadata") or {}).get("annotations") or {}
    return annotations.get(DELETING_ANNOTATION) == "true"
