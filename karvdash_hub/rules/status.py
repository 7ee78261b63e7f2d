"""A service's status, from the objects labelled with it and its namespace's warnings
(pure: the objects are given as the API returns them, as dicts).

Rules guaranteed (unit-tested):

- A service exists when a Service named as its ``karvdash.io/service`` label does;
  other objects with the label and no such Service are not listed.
- ``ready``/``total`` count the service's pods and those whose Ready condition is True;
  ``phase`` is ``NoPods`` without pods, ``Running`` only when every pod is, else the
  phase of a pod that is not (the last one met).
- ``warning`` is the latest Warning event about one of its pods or the Service, and only
  while the service is not healthy (some pod not ready, or no pods).
- The list is sorted by creation time.
"""

from __future__ import annotations

from . import exposure

SERVICE_LABEL = "karvdash.io/service"
TEMPLATE_LABEL = "karvdash.io/template"
TEMPLATE_NAME_ANNOTATION = "karvdash.io/template-name"


def services(
    service_objects: list[dict],
    pods: list[dict],
    ingresses: list[dict],
    warnings: list[dict],
    url_scheme: str,
) -> list[dict]:
    """The user's services with their status (see the module's rules)."""
    by_service: dict[str, dict] = {}
    pod_names: dict[str, set[str]] = {}
    for svc in service_objects:
        meta = svc["metadata"]
        name = meta["labels"][SERVICE_LABEL]
        if meta["name"] != name:
            continue
        by_service[name] = {
            "name": name,
            "template": meta["labels"].get(TEMPLATE_LABEL),
            "template_name": (meta.get("annotations") or {}).get(TEMPLATE_NAME_ANNOTATION),
            "created": meta["creationTimestamp"],
            "url": None,
            "status": {"ready": 0, "total": 0, "phase": "NoPods", "warning": None},
        }
        pod_names[name] = set()
    for ing in ingresses:
        entry = by_service.get(ing["metadata"]["labels"][SERVICE_LABEL])
        url = exposure.service_url([ing], url_scheme)
        if entry and url:
            entry["url"] = url
    for pod in pods:
        name = pod["metadata"]["labels"][SERVICE_LABEL]
        entry = by_service.get(name)
        if not entry:
            continue
        st = entry["status"]
        st["total"] += 1
        pod_names[name].add(pod["metadata"]["name"])
        status = pod.get("status") or {}
        conds = status.get("conditions") or []
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
            st["ready"] += 1
        # the service's phase is Running only when every pod is
        phase = status.get("phase") or "Pending"
        if phase != "Running" or st["phase"] in ("NoPods", "Running"):
            st["phase"] = phase
    for ev in sorted(warnings, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or ""):
        involved = (ev.get("involvedObject") or {}).get("name", "")
        for name, entry in by_service.items():
            st = entry["status"]
            healthy = st["total"] > 0 and st["ready"] == st["total"]
            if not healthy and (involved in pod_names[name] or involved == name):
                st["warning"] = ev.get("message")
    return sorted(by_service.values(), key=lambda e: e["created"])
