"""A service's status, from the objects labelled with it and its namespace's warnings
(pure: the objects are given as the API returns them, as dicts).

Rules guaranteed (unit-tested):

- A service exists when a Service named as its ``karvdash.io/service`` label does;
  other objects with the label and no such Service are not listed.
- ``ready``/``total`` count the service's pods and those whose Ready condition is True;
  ``phase`` is ``NoPods`` without pods, ``Running`` only when every pod is, else the
  phase of a pod that is not (the last one met).
- ``reason`` names what keeps one of its containers from running, as Kubernetes does
  (a waiting reason such as ``ErrImagePull``, ``ImagePullBackOff``,
  ``CrashLoopBackOff``; a last termination for lack of memory, ``OOMKilled``), and
  ``warning`` says it in words with the container's name; otherwise ``warning`` is the
  latest Warning event about one of its pods or the Service. Both only while the
  service is not healthy (some pod not ready, or no pods).
- The list is sorted by creation time.
"""

from __future__ import annotations

import json

from . import exposure

SERVICE_LABEL = "karvdash.io/service"
TEMPLATE_LABEL = "karvdash.io/template"
TEMPLATE_NAME_ANNOTATION = "karvdash.io/template-name"
#: the values a service was launched with (JSON; a secret variable's as null)
VALUES_ANNOTATION = "karvdash.io/values"


def event_time(event: dict) -> str:
    """When an event last happened, as text that sorts in time order: the API gives
    ``lastTimestamp`` in seconds and ``eventTime`` in microseconds (``...:05Z`` and
    ``...:05.123456Z``), which do not sort together as they are."""
    when = (
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )
    base, _, fraction = when.rstrip("Z").partition(".")
    return f"{base}.{fraction.ljust(6, '0')[:6]}" if base else ""


def _values(text: object) -> dict | None:
    """The recorded values of a service (None when it has none: launched before they
    were recorded, or the annotation was edited into something else)."""
    if not isinstance(text, str):
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def services(
    service_objects: list[dict],
    pods: list[dict],
    ingresses: list[dict],
    warnings: list[dict],
    url_scheme: str,
    url_port: int = 0,
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
            "values": _values((meta.get("annotations") or {}).get(VALUES_ANNOTATION)),
            "created": meta["creationTimestamp"],
            "url": None,
            "status": {
                "ready": 0,
                "total": 0,
                "phase": "NoPods",
                "reason": None,
                "warning": None,
            },
        }
        pod_names[name] = set()
    for ing in ingresses:
        entry = by_service.get(ing["metadata"]["labels"][SERVICE_LABEL])
        url = exposure.service_url([ing], url_scheme, url_port)
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
        problem = container_problem(status)
        if problem and not st["reason"]:
            st["reason"], st["_problem"] = problem
    for ev in sorted(warnings, key=event_time):
        involved = (ev.get("involvedObject") or {}).get("name", "")
        for name, entry in by_service.items():
            st = entry["status"]
            healthy = st["total"] > 0 and st["ready"] == st["total"]
            if not healthy and (involved in pod_names[name] or involved == name):
                st["warning"] = ev.get("message")
    for entry in by_service.values():
        st = entry["status"]
        problem = st.pop("_problem", None)
        if st["total"] and st["ready"] == st["total"]:
            st["reason"] = None
        elif problem:
            st["warning"] = problem
    return sorted(by_service.values(), key=lambda e: e["created"])


#: waiting reasons that are a problem (ContainerCreating and PodInitializing are not)
PROBLEMS = {
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}


def container_problem(pod_status: dict) -> tuple[str, str] | None:
    """(reason, words) of the first container that cannot run, or None."""
    statuses = (pod_status.get("initContainerStatuses") or []) + (
        pod_status.get("containerStatuses") or []
    )
    for cs in statuses:
        name = cs.get("name", "?")
        state, last = cs.get("state") or {}, cs.get("lastState") or {}
        for terminated in (state.get("terminated") or {}, last.get("terminated") or {}):
            if terminated.get("reason") == "OOMKilled":
                restarts = cs.get("restartCount", 0)
                return "OOMKilled", (
                    f"{name}: killed for using more memory than its limit (OOMKilled),"
                    f" restarted {restarts} time{'s' if restarts != 1 else ''}; give it a"
                    " higher memory limit"
                )
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in PROBLEMS:
            message = waiting.get("message") or ""
            return waiting["reason"], f"{name}: {waiting['reason']}" + (
                f": {message}" if message else ""
            )
    return None
