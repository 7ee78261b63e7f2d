"""Template files of the original Karvdash (2.x), read as it read them (pure: no I/O).

People who come from Karvdash bring its template files; they parse, validate, render
and launch unchanged. What differs from this project's own format, and how it is read:

- **System variables declared in the Template document.** Karvdash filled in only the
  system variables a template declared (NAMESPACE, HOSTNAME, REGISTRY, PRIVATE, SHARED)
  and left every other ``$WORD`` as it was written, for the shell of the container to
  expand (``${HOSTNAME##*-}`` in Kafka's command is the pod's host name, not the
  service's). A template that declares any of them is read that way (``legacy``): the
  declared ones get the system's values (a warning says the template's defaults are
  not used), and references to names it does not declare stay as written (a warning
  lists them). A template that declares none is this project's format: every system
  variable is filled in and a reference to an undeclared name is an error.
- **``${NAME}``** is the same reference as ``$NAME``, everywhere (the Service of the
  service may be named either way).
- **Removed API versions** of Kubernetes are converted to the current ones
  (:func:`convert`): ``networking.k8s.io/v1beta1`` and ``extensions/v1beta1`` Ingresses
  to ``networking.k8s.io/v1`` (``serviceName``/``servicePort`` to ``service.name`` and
  ``service.port.number`` or ``.name``, ``pathType: Prefix``), and ``apps/v1beta1``,
  ``apps/v1beta2`` and ``extensions/v1beta1`` Deployments, StatefulSets and DaemonSets
  to ``apps/v1`` (with the selector those versions defaulted from the pod template's
  labels). Each conversion is a warning that names the document.
- **Numbers from untyped variables** (:func:`wants_integer`): Karvdash substituted in
  the text and parsed the result again, so ``replicas: ${SERVERS}`` became the number 3.
  Here a field whose whole value is one reference to a variable without a type becomes
  a number when the value is a whole number and the field's key is one the Kubernetes
  schema types as an integer (:data:`INTEGER_FIELDS`); anywhere else it stays text.
  Only digits (and a leading ``-``) ever become a number, so no value can add structure.
- **``datasets``** in the Template document (Karvdash's Datashim datasets) is accepted
  and has no effect here.
"""

from __future__ import annotations

import copy
import re

#: keys whose value the Kubernetes API types as an integer (or int-or-string)
INTEGER_FIELDS = frozenset(
    {
        "replicas",
        "minReplicas",
        "maxReplicas",
        "containerPort",
        "hostPort",
        "port",
        "targetPort",
        "nodePort",
        "number",
        "initialDelaySeconds",
        "periodSeconds",
        "timeoutSeconds",
        "successThreshold",
        "failureThreshold",
        "terminationGracePeriodSeconds",
        "activeDeadlineSeconds",
        "progressDeadlineSeconds",
        "minReadySeconds",
        "revisionHistoryLimit",
        "parallelism",
        "completions",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "runAsUser",
        "runAsGroup",
        "fsGroup",
        "defaultMode",
        "mode",
        "partition",
        "maxUnavailable",
        "maxSurge",
        "minAvailable",
    }
)

_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")

OLD_INGRESS = {"networking.k8s.io/v1beta1", "extensions/v1beta1"}
OLD_WORKLOAD = {"apps/v1beta1", "apps/v1beta2", "extensions/v1beta1"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}
HEADER_EXTRAS = {"datasets"}


def wants_integer(key: object, value: str) -> bool:
    """Whether an untyped variable's ``value``, the whole value of ``key``, is a number."""
    return key in INTEGER_FIELDS and bool(_WHOLE_NUMBER.fullmatch(value))


def _backend(old: dict) -> dict:
    port = old.get("servicePort")
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        port_ref: dict = {"number": int(port)}
    else:
        port_ref = {"name": port}
    return {"service": {"name": old.get("serviceName"), "port": port_ref}}


def _ingress(obj: dict) -> dict:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "networking.k8s.io/v1"
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    if isinstance(spec.get("backend"), dict):
        spec["defaultBackend"] = _backend(spec.pop("backend"))
    for rule in spec.get("rules") or []:
        paths = ((rule or {}).get("http") or {}).get("paths") if isinstance(rule, dict) else None
        for path in paths or []:
            if isinstance(path, dict) and isinstance(path.get("backend"), dict):
                backend = path["backend"]
                if "serviceName" in backend or "servicePort" in backend:
                    path["backend"] = _backend(backend)
                path.setdefault("pathType", "Prefix")
                path.setdefault("path", "/")
    return out


def _workload(obj: dict) -> dict:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "apps/v1"
    spec = out.get("spec")
    if isinstance(spec, dict) and "selector" not in spec:
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
        if isinstance(labels, dict) and labels:
            spec["selector"] = {"matchLabels": dict(labels)}
    return out


def convert(obj: dict) -> tuple[dict, str | None]:
    """An object of a removed API version in its current version, and what was done."""
    version, kind = obj.get("apiVersion"), obj.get("kind")
    if kind == "Ingress" and version in OLD_INGRESS:
        return _ingress(obj), f"{version} Ingress converted to networking.k8s.io/v1"
    if kind in WORKLOADS and version in OLD_WORKLOAD:
        return _workload(obj), f"{version} {kind} converted to apps/v1"
    return obj, None
