"""What a service's page shows of it: its objects, its pods, the events about them, and
its namespace's quota (pure: objects are given as the API returns them, as dicts).

Rules guaranteed (unit-tested):

- :func:`object_row` says of each object its kind, name, creation time and one line of
  status, and never any value of a Secret or a ConfigMap (only how many keys they hold).
- :func:`pod_rows` gives each pod's phase, ready containers, restarts and containers'
  names (the ones whose logs can be read), sorted by name.
- :func:`related_events` keeps only events about the given objects (by kind and name),
  newest first (in time, whatever precision the API gives), at most ``limit``; an
  event's text is passed on as it is (pages escape it).
- :func:`quota_rows` pairs each resource's ``used`` with its ``hard`` limit, in the order
  of the quota's ``hard`` mapping; a resource without a reported use counts as "0".
- :func:`bounded` cuts a log to its last ``limit`` bytes at a line boundary, and says
  whether it did.
"""

from __future__ import annotations

from .status import event_time


def _ready(status: dict, wanted) -> str:
    return f"{status.get('readyReplicas') or 0}/{wanted if wanted is not None else 1} ready"


def object_row(obj: dict) -> dict:
    """One line of the service's objects table."""
    kind, meta = obj.get("kind", ""), obj.get("metadata") or {}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    line = ""
    if kind in ("Deployment", "StatefulSet"):
        line = _ready(status, spec.get("replicas"))
    elif kind == "Service":
        ports = ", ".join(str(p.get("port")) for p in spec.get("ports") or [])
        line = f"{spec.get('type') or 'ClusterIP'}" + (f", port {ports}" if ports else "")
    elif kind == "Ingress":
        hosts = [r.get("host") for r in spec.get("rules") or [] if r.get("host")]
        line = ", ".join(hosts)
    elif kind == "PersistentVolumeClaim":
        size = (status.get("capacity") or {}).get("storage") or (
            (spec.get("resources") or {}).get("requests") or {}
        ).get("storage")
        line = " ".join(x for x in (status.get("phase") or "Pending", size) if x)
    elif kind in ("ConfigMap", "Secret"):
        keys = len(obj.get("data") or {}) + len(
            obj.get("binaryData") or obj.get("stringData") or {}
        )
        line = f"{keys} key{'s' if keys != 1 else ''}"
    elif kind == "Job":
        line = f"{status.get('succeeded') or 0} succeeded, {status.get('failed') or 0} failed"
    elif kind == "CronJob":
        line = f"schedule {spec.get('schedule', '')}".strip()
    elif kind == "Pod":
        line = status.get("phase") or "Pending"
    return {
        "kind": kind,
        "name": meta.get("name", ""),
        "created": meta.get("creationTimestamp"),
        "status": line,
    }


def pod_rows(pods: list[dict]) -> list[dict]:
    """The service's pods, with what a person looks at first."""
    rows = []
    for pod in pods:
        status = pod.get("status") or {}
        statuses = status.get("containerStatuses") or []
        containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        rows.append(
            {
                "name": pod["metadata"]["name"],
                "phase": status.get("phase") or "Pending",
                "ready": sum(1 for c in statuses if c.get("ready")),
                "total": len(containers),
                "restarts": sum(int(c.get("restartCount") or 0) for c in statuses),
                "containers": containers,
                "created": pod["metadata"].get("creationTimestamp"),
            }
        )
    return sorted(rows, key=lambda r: r["name"])


def _last(event: dict) -> str | None:
    return (
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or (event.get("metadata") or {}).get("creationTimestamp")
    )


def related_events(events: list[dict], objects: set[tuple[str, str]], limit: int) -> list[dict]:
    """Events whose involved object (kind, name) is one of ``objects``, newest first."""
    rows = []
    for event in events:
        involved = event.get("involvedObject") or {}
        key = (involved.get("kind", ""), involved.get("name", ""))
        if key not in objects:
            continue
        rows.append(
            {
                "type": event.get("type") or "Normal",
                "reason": event.get("reason") or "",
                "message": event.get("message") or "",
                "object": f"{key[0]}/{key[1]}",
                "count": int(event.get("count") or 1),
                "_order": event_time(event),
                "last": _last(event),
            }
        )
    rows.sort(key=lambda r: r.pop("_order"), reverse=True)
    return rows[: max(limit, 0)]


def quota_rows(quota: dict | None) -> list[dict]:
    """``[{"resource", "used", "hard"}]`` of a ResourceQuota (empty without one)."""
    if not quota:
        return []
    status = quota.get("status") or {}
    hard = status.get("hard") or (quota.get("spec") or {}).get("hard") or {}
    used = status.get("used") or {}
    return [{"resource": k, "used": str(used.get(k, "0")), "hard": str(v)} for k, v in hard.items()]


def bounded(text: bytes, limit: int) -> tuple[str, bool]:
    """The last ``limit`` bytes of a log, from a line start, as text; and whether cut."""
    if len(text) <= limit:
        return text.decode("utf-8", errors="replace"), False
    tail = text[-limit:]
    newline = tail.find(b"\n")
    if 0 <= newline < len(tail) - 1:
        tail = tail[newline + 1 :]
    return tail.decode("utf-8", errors="replace"), True


MAX_COMMAND_PARTS = 64
MAX_COMMAND_PART = 4096
MAX_EXEC_SECONDS = 120


def exec_request(body: dict) -> tuple[list[str], str | None, str | None, float]:
    """``(command, pod, container, timeout)`` of ``POST services/<name>/exec``; a
    ``ValueError`` says what is wrong. The command is a list of words (no shell unless it
    names one: ``["sh", "-c", "..."]``); ``timeout`` 1 to :data:`MAX_EXEC_SECONDS`."""
    command = body.get("command")
    if (
        not isinstance(command, list)
        or not 1 <= len(command) <= MAX_COMMAND_PARTS
        or not all(isinstance(w, str) and 0 < len(w) <= MAX_COMMAND_PART for w in command)
        or any("\x00" in w for w in command)
    ):
        raise ValueError(
            f'"command" is a list of 1 to {MAX_COMMAND_PARTS} words, e.g. ["sh", "-c", "ls /"]'
        )
    pod, container = body.get("pod"), body.get("container")
    for what, value in (("pod", pod), ("container", container)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f'"{what}" is the name of one of the service\'s {what}s')
    timeout = body.get("timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ValueError('"timeout" is a number of seconds')
    if not 1 <= timeout <= MAX_EXEC_SECONDS:
        raise ValueError(f'"timeout" is 1 to {MAX_EXEC_SECONDS} seconds')
    return command, pod, container, float(timeout)
