"""What a template may say about access in its own namespace (pure): the ServiceAccounts,
Roles and RoleBindings that Karvdash 2.x templates (Argo's) bring.

Rules guaranteed (unit-tested):

- A Role's rules name their verbs, API groups and resources one by one (no ``*``), never
  ``escalate``, ``bind`` or ``impersonate``, and nothing of ``rbac.authorization.k8s.io``:
  it cannot be wider than the namespace's ``admin``, nor grant itself more. (The API
  server checks the same again: whoever creates a Role must hold what it grants.)
- A RoleBinding binds only ServiceAccounts of the user's own namespace (never users or
  groups, never another namespace's accounts), to a Role (of the namespace) or to one of
  the ClusterRoles :data:`BINDABLE_CLUSTER_ROLES`, which a RoleBinding grants in its own
  namespace only.
- A ClusterRole or ClusterRoleBinding is never a template's (the policy's allowed kinds).
"""

from __future__ import annotations

FORBIDDEN_VERBS = {"escalate", "bind", "impersonate", "*"}
BINDABLE_CLUSTER_ROLES = {"view", "edit", "admin"}
RBAC_GROUP = "rbac.authorization.k8s.io"


def role_violations(obj: dict, what: str) -> list[str]:
    bad = []
    rules = obj.get("rules") or []
    if not isinstance(rules, list):
        return [f"{what}: rules must be a list"]
    for i, rule in enumerate(rules):
        at = f"{what} rule {i + 1}"
        if not isinstance(rule, dict):
            bad.append(f"{at}: a rule is a mapping")
            continue
        lists = {k: rule.get(k) or [] for k in ("verbs", "apiGroups", "resources")}
        if not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in lists.values()
        ):
            bad.append(f"{at}: verbs, apiGroups and resources are lists of names")
            continue
        if rule.get("nonResourceURLs"):
            bad.append(f"{at}: nonResourceURLs are not for a namespace's Role")
        if any(v in FORBIDDEN_VERBS for v in lists["verbs"]):
            bad.append(f"{at}: verbs escalate, bind, impersonate and * are not allowed")
        if "*" in lists["apiGroups"] or "*" in lists["resources"]:
            bad.append(f"{at}: name the API groups and resources (no *)")
        if RBAC_GROUP in lists["apiGroups"]:
            bad.append(f"{at}: a template's Role cannot manage roles and bindings")
    return bad


def binding_violations(obj: dict, what: str, namespace: str) -> list[str]:
    bad = []
    ref = obj.get("roleRef")
    if not isinstance(ref, dict):
        return [f"{what}: roleRef is required"]
    if ref.get("kind") == "ClusterRole":
        if ref.get("name") not in BINDABLE_CLUSTER_ROLES:
            allowed = ", ".join(sorted(BINDABLE_CLUSTER_ROLES))
            bad.append(f"{what}: only the ClusterRoles {allowed} can be bound (in the namespace)")
    elif ref.get("kind") != "Role":
        bad.append(f"{what}: roleRef must be a Role or a ClusterRole")
    subjects = obj.get("subjects") or []
    if not isinstance(subjects, list):
        return [*bad, f"{what}: subjects must be a list"]
    for subject in subjects:
        if not isinstance(subject, dict) or subject.get("kind") != "ServiceAccount":
            bad.append(f"{what}: only ServiceAccounts can be bound (no users or groups)")
        elif subject.get("namespace") not in (None, namespace):
            bad.append(f"{what}: only ServiceAccounts of namespace {namespace} can be bound")
    return bad
