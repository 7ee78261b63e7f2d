"""Services: launch, list and stop the services a user runs from templates.

A running service is the set of objects labelled ``karvdash.io/service=<name>`` in the
user's namespace (Kubernetes is the source of truth; nothing else is stored).

- Launch renders the template on parsed objects, checks the policy, injects storage,
  labels and environment, validates every object with a server-side dry run, then
  creates them all; if any creation fails, everything created is deleted again and the
  error is returned (all or nothing). A NAME already taken gets a random suffix; a
  singleton template cannot run twice for the same user.
- List reads by label selector in the user's namespace only, so it costs the same
  whatever else the cluster holds.
- Stop deletes every object labelled with the service.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import string
from collections import defaultdict
from datetime import UTC, datetime

from kubernetes_asyncio.client.exceptions import ApiException
from traitlets import Bool, Dict, Unicode
from traitlets.config import LoggingConfigurable

from . import names, policy, storage
from . import template as tmodel
from .errors import ApiError
from .kube import api_message
from .provisioning import Provisioner
from .templatestore import TemplateStore

SERVICE_LABEL = "karvdash.io/service"
TEMPLATE_LABEL = "karvdash.io/template"
#: on every Ingress: the first label of its host (``<name>-<user>``), to find who holds it
HOST_LABEL = "karvdash.io/host"
#: creation order: the Service first (its name is the lock on NAME), the Ingress last
ORDER = [
    "Service",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "Job",
    "CronJob",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "Ingress",
]
MAX_ATTEMPTS = 8
_SERVICE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _suffix(n: int = 5) -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(n))


class ServiceManager(LoggingConfigurable):
    """Configured as ``c.ServiceManager.*`` (in the dashboard service's config)."""

    domain = Unicode(
        "localtest.me",
        config=True,
        help="Domain under which services are reachable: service 'zeppelin' of user"
        " 'test' is at zeppelin-test.<domain>.",
    )
    url_scheme = Unicode("https", config=True, help="Scheme of the services' URLs.")
    ingress_class = Unicode(
        "", config=True, help="ingressClassName set on every service's Ingress (empty: none)."
    )
    tls_secret = Unicode(
        "",
        config=True,
        help="Secret (in each user namespace) with the wildcard certificate for the"
        " services' hosts; empty: no tls section.",
    )
    auth_annotations = Dict(
        config=True,
        help="Annotations added to the Ingress of services whose template has 'auth: true'"
        " (the ingress controller asks the hub whether the visitor is the owner).",
    )
    expose_without_login = Bool(
        False,
        config=True,
        help="Create the Ingress of services whose template has 'auth: true' even when no"
        " auth_annotations are configured. Off by default: without them such a service"
        " would be open to anyone who reaches the ingress, so it runs without an address"
        " (reachable inside the cluster only) until the installation configures them.",
    )
    registry_url = Unicode("", config=True, help="Value of the REGISTRY variable.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.provisioner = Provisioner.instance(config=self.config)
        self.templates = TemplateStore(self.provisioner)
        # one launch at a time per user in this process: names are chosen without
        # racing (a lost race costs a create that the quota counts until it resyncs)
        self._launch_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    # -- helpers

    def hostname(self, name: str, username: str) -> str:
        label = f"{name}-{names.user_slug(username)}"
        if len(label) > 63:
            raise ApiError(
                400,
                "name-too-long",
                f"'{name}' is too long to make a host name; choose a shorter NAME",
            )
        return f"{label}.{self.domain}"

    def system_variables(self, name: str, username: str) -> dict[str, str]:
        return {
            "NAMESPACE": self.provisioner.namespace(username),
            "HOSTNAME": self.hostname(name, username),
            "REGISTRY": self.registry_url,
            "PRIVATE": storage.PRIVATE.mount_path,
            "SHARED": storage.SHARED.mount_path,
        }

    def labels(self, username: str, name: str, template_id: str) -> dict[str, str]:
        return {**names.user_labels(username), SERVICE_LABEL: name, TEMPLATE_LABEL: template_id}

    async def _resources(self, objects):
        dyn = await self.provisioner.client()
        return dyn, [
            await dyn.resources.get(api_version=o["apiVersion"], kind=o["kind"]) for o in objects
        ]

    def _prepare(self, template, values, name, username) -> list[dict]:
        system = self.system_variables(name, username)
        try:
            objects = tmodel.render(template, {**values, "NAME": name}, system)
            policy.check(objects, system["NAMESPACE"], system["HOSTNAME"])
        except tmodel.TemplateError as err:
            raise ApiError(400, "bad-variables", str(err)) from None
        except policy.PolicyError as err:
            raise ApiError(
                422, "template-not-allowed", str(err), violations=err.violations
            ) from None
        env = {
            "KARVDASH_NAMESPACE": system["NAMESPACE"],
            "KARVDASH_PRIVATE_DIR": storage.PRIVATE.mount_path,
            "KARVDASH_SHARED_DIR": storage.SHARED.mount_path,
            "KARVDASH_SERVICE": name,
        }
        if self.registry_url:
            env["KARVDASH_REGISTRY_URL"] = self.registry_url
        annotations = {
            "karvdash.io/template-name": template.name,
            "karvdash.io/created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        objects = policy.inject(objects, self.labels(username, name, template.id), env, annotations)
        if not self.exposes(template):
            objects = [o for o in objects if o["kind"] != "Ingress"]
        for obj in objects:
            if obj["kind"] == "Ingress":
                obj["metadata"]["labels"][HOST_LABEL] = system["HOSTNAME"].split(".")[0]
                spec = obj.setdefault("spec", {})
                if self.ingress_class:
                    spec["ingressClassName"] = self.ingress_class
                if self.tls_secret:
                    spec["tls"] = [{"hosts": [system["HOSTNAME"]], "secretName": self.tls_secret}]
                if template.auth and self.auth_annotations:
                    obj["metadata"]["annotations"].update(self.auth_annotations)
        objects.sort(key=lambda o: ORDER.index(o["kind"]) if o["kind"] in ORDER else len(ORDER))
        return objects

    def exposes(self, template) -> bool:
        """Whether the service's Ingress is created: always for ``auth: false``; for
        ``auth: true`` only when the ingress can ask for the owner's login."""
        return not template.auth or bool(self.auth_annotations) or self.expose_without_login

    async def _host_taken(self, dyn, objects, username: str) -> bool:
        """Another user's Ingress holds this service's host name: ``svc-x`` of user
        ``bob`` and ``svc`` of user ``x-bob`` both make ``svc-x-bob``. First come, first
        served. Only users whose name ends the host's first label can hold it, so only
        their namespaces are asked (the cost does not grow with the cluster)."""
        hosts = {o["metadata"]["labels"][HOST_LABEL] for o in objects if o["kind"] == "Ingress"}
        own = names.user_slug(username)
        candidates = {
            (host, host[i + 1 :])
            for host in hosts
            for i, char in enumerate(host)
            if char == "-" and host[i + 1 :] and host[i + 1 :] != own
        }
        if not candidates:
            return False
        res = await dyn.resources.get(api_version="networking.k8s.io/v1", kind="Ingress")
        prefix = self.provisioner.namespace_prefix

        async def held(host: str, slug: str) -> bool:
            try:
                found = await dyn.get(
                    res, namespace=f"{prefix}-{slug}", label_selector=f"{HOST_LABEL}={host}"
                )
            except ApiException as err:
                if err.status in (403, 404):  # no such user namespace (none of the hub's)
                    return False
                raise
            # the label finds candidates; the rules say what they really serve
            full = f"{host}.{self.domain}"
            return any(
                rule.get("host") == full
                for item in found.to_dict()["items"]
                for rule in (item.get("spec") or {}).get("rules") or []
            )

        return any(await asyncio.gather(*(held(h, s) for h, s in candidates)))

    # -- operations

    async def launch(self, username: str, template_id: str, values: dict) -> dict:
        async with self._launch_locks[names.user_slug(username)]:
            return await self._launch(username, template_id, values)

    async def _launch(self, username: str, template_id: str, values: dict) -> dict:
        if not isinstance(values, dict):
            raise ApiError(400, "bad-variables", "variables must be a mapping of names to values")
        template = await self.templates.get(username, template_id)
        ns = await self.provisioner.ensure_exists(username)
        if template.singleton and await self._instances(ns, template.id):
            raise ApiError(
                409,
                "singleton",
                f"'{template.name}' runs once per user and you already run it; stop it first",
            )
        desired = values.get("NAME", template.variable("NAME").default)
        try:
            desired = tmodel.check_instance_name(desired)
        except tmodel.TemplateError as err:
            raise ApiError(400, "bad-variables", str(err)) from None
        for attempt in range(MAX_ATTEMPTS):
            name = desired if attempt == 0 else f"{desired[:33].rstrip('-')}-{_suffix()}"
            objects = self._prepare(template, values, name, username)
            dyn, resources = await self._resources(objects)
            # 1. the API server validates every object (schemas, admission, quota)
            dry = await asyncio.gather(
                *(
                    dyn.create(r, body=o, namespace=ns, dry_run="All")
                    for r, o in zip(resources, objects, strict=True)
                ),
                return_exceptions=True,
            )
            failures = [
                (o, e) for o, e in zip(objects, dry, strict=True) if isinstance(e, Exception)
            ]
            conflicts = [o for o, e in failures if getattr(e, "status", None) == 409]
            if conflicts or await self._host_taken(dyn, objects, username):
                foreign = [o for o in conflicts if not o["metadata"]["name"].startswith(name)]
                if foreign:
                    raise ApiError(
                        409,
                        "object-exists",
                        f"{policy.describe(foreign[0])} already exists in {ns} and its name"
                        " does not depend on NAME; stop the service that made it, or delete"
                        " it",
                    )
                if template.singleton:
                    raise ApiError(409, "singleton", f"'{template.name}' already runs as {name}")
                continue  # the name (or its address) is taken: try another
            if failures:
                for _, e in failures:
                    if not isinstance(e, ApiException):
                        raise e
                raise ApiError(
                    422,
                    "rejected-by-cluster",
                    "the cluster refused the service: "
                    + "; ".join(f"{policy.describe(o)}: {api_message(e)}" for o, e in failures),
                )
            # 2. create, all or nothing
            created = []
            try:
                for r, o in zip(resources, objects, strict=True):
                    await dyn.create(r, body=o, namespace=ns, field_manager="karvdash")
                    created.append((r, o))
            except ApiException as err:
                await self._rollback(dyn, ns, created)
                if err.status == 409 and not template.singleton:
                    continue  # lost a race for the name: try another
                if err.status == 409:
                    raise ApiError(409, "singleton", f"'{template.name}' already runs") from None
                raise ApiError(
                    422,
                    "rejected-by-cluster",
                    f"the cluster refused {policy.describe(o)}: {api_message(err)};"
                    " nothing was left behind",
                ) from None
            except BaseException:
                await self._rollback(dyn, ns, created)
                raise
            hostname = self.system_variables(name, username)["HOSTNAME"]
            has_ingress = any(o["kind"] == "Ingress" for o in objects)
            launched = {
                "name": name,
                "template": template.id,
                "namespace": ns,
                "url": f"{self.url_scheme}://{hostname}/" if has_ingress else None,
                "objects": [f"{o['kind']}/{o['metadata']['name']}" for o in objects],
            }
            if not self.exposes(template) and any(
                o.get("kind") == "Ingress" for o in template.objects
            ):
                launched["warning"] = (
                    "no address: this service asks for its owner's login, and the"
                    " installation has no ingress login configured; it is reachable inside"
                    " the cluster only"
                )
            return launched
        raise ApiError(
            409, "name-taken", f"could not find a free name like '{desired}'; choose one"
        )

    async def _rollback(self, dyn, ns, created) -> None:
        for r, o in reversed(created):
            try:
                await dyn.delete(
                    r, name=o["metadata"]["name"], namespace=ns, propagation_policy="Background"
                )
            except ApiException as err:
                if err.status != 404:
                    self.log.error("Could not roll back %s in %s: %s", policy.describe(o), ns, err)

    async def _instances(self, ns: str, template_id: str) -> list:
        dyn = await self.provisioner.client()
        svc = await dyn.resources.get(api_version="v1", kind="Service")
        found = await dyn.get(
            svc, namespace=ns, label_selector=f"{TEMPLATE_LABEL}={template_id},{SERVICE_LABEL}"
        )
        return found.items

    async def list(self, username: str) -> list[dict]:
        ns = self.provisioner.namespace(username)
        dyn = await self.provisioner.client()
        selector = f"app.kubernetes.io/managed-by=karvdash,{SERVICE_LABEL}"
        kinds = [
            ("v1", "Service"),
            ("v1", "Pod"),
            ("networking.k8s.io/v1", "Ingress"),
            ("v1", "Event"),
        ]
        res = [await dyn.resources.get(api_version=a, kind=k) for a, k in kinds]
        try:
            services, pods, ingresses, events = await asyncio.gather(
                dyn.get(res[0], namespace=ns, label_selector=selector),
                dyn.get(res[1], namespace=ns, label_selector=selector),
                dyn.get(res[2], namespace=ns, label_selector=selector),
                dyn.get(res[3], namespace=ns, field_selector="type=Warning"),
            )
        except ApiException as err:
            if err.status == 404:
                return []
            raise
        by_service: dict[str, dict] = {}
        for svc in services.to_dict()["items"]:
            labels = svc["metadata"]["labels"]
            name = labels[SERVICE_LABEL]
            if svc["metadata"]["name"] != name:
                continue
            by_service[name] = {
                "name": name,
                "template": labels.get(TEMPLATE_LABEL),
                "template_name": (svc["metadata"].get("annotations") or {}).get(
                    "karvdash.io/template-name"
                ),
                "created": svc["metadata"]["creationTimestamp"],
                "url": None,
                "status": {"ready": 0, "total": 0, "phase": "NoPods", "warning": None},
                "_pods": set(),
            }
        for ing in ingresses.to_dict()["items"]:
            entry = by_service.get(ing["metadata"]["labels"][SERVICE_LABEL])
            rules = (ing.get("spec") or {}).get("rules") or []
            if entry and rules and rules[0].get("host"):
                entry["url"] = f"{self.url_scheme}://{rules[0]['host']}/"
        for pod in pods.to_dict()["items"]:
            entry = by_service.get(pod["metadata"]["labels"][SERVICE_LABEL])
            if not entry:
                continue
            st = entry["status"]
            st["total"] += 1
            entry["_pods"].add(pod["metadata"]["name"])
            conds = (pod.get("status") or {}).get("conditions") or []
            if any(c["type"] == "Ready" and c["status"] == "True" for c in conds):
                st["ready"] += 1
            # the service's phase is Running only when every pod is
            phase = (pod.get("status") or {}).get("phase") or "Pending"
            if phase != "Running" or st["phase"] in ("NoPods", "Running"):
                st["phase"] = phase
        for ev in sorted(
            events.to_dict()["items"],
            key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "",
        ):
            involved = (ev.get("involvedObject") or {}).get("name", "")
            for entry in by_service.values():
                st = entry["status"]
                healthy = st["total"] > 0 and st["ready"] == st["total"]
                if not healthy and (involved in entry["_pods"] or involved == entry["name"]):
                    st["warning"] = ev.get("message")
        out = []
        for entry in sorted(by_service.values(), key=lambda e: e["created"]):
            entry.pop("_pods")
            out.append(entry)
        return out

    async def stop(self, username: str, name: str) -> dict:
        if not isinstance(name, str) or not _SERVICE_NAME.match(name):
            raise ApiError(404, "service-not-found", f"there is no service '{name}'")
        ns = self.provisioner.namespace(username)
        dyn = await self.provisioner.client()
        selector = f"app.kubernetes.io/managed-by=karvdash,{SERVICE_LABEL}={name}"
        kinds = sorted(
            policy.ALLOWED_KINDS, key=lambda k: -ORDER.index(k[1]) if k[1] in ORDER else 0
        )
        deleted = []
        for api_version, kind in kinds:
            r = await dyn.resources.get(api_version=api_version, kind=kind)
            items = (await dyn.get(r, namespace=ns, label_selector=selector)).items
            for item in items:
                try:
                    await dyn.delete(
                        r, name=item.metadata.name, namespace=ns, propagation_policy="Background"
                    )
                    deleted.append(f"{kind}/{item.metadata.name}")
                except ApiException as err:
                    if err.status != 404:
                        raise
        if not deleted:
            raise ApiError(404, "service-not-found", f"there is no service '{name}'")
        return {"name": name, "deleted": deleted}
