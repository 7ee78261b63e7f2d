"""Services: launch, list and stop the services a user runs from templates.

A running service is the set of objects labelled ``karvdash.io/service=<name>`` in the
user's namespace (Kubernetes is the source of truth; nothing else is stored).

- Launch renders the template on parsed objects, checks the policy, injects storage,
  labels and environment, validates every object with a server-side dry run, then
  creates them all; if any creation fails, everything created is deleted again (or, the
  API server gone, later: :mod:`.launchstate`). A taken NAME gets a random suffix.
- List reads by label selector in the user's namespace only, so it costs the same
  whatever else the cluster holds.
- Stop deletes every object labelled with the service.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import string
from datetime import UTC, datetime

from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.dynamic.exceptions import ResourceNotFoundError
from traitlets import Any, Bool, Dict, Instance, Integer, List, Unicode, default

from . import kube, launchstate, serviceapi
from .errors import ApiError
from .kube import api_message
from .parts import HasParts
from .rules import environment, exposure, names, policy, rendering, status, storage
from .rules import template as tmodel
from .templatestore import TemplateStore

SERVICE_LABEL = status.SERVICE_LABEL
TEMPLATE_LABEL = status.TEMPLATE_LABEL
HOST_LABEL = exposure.HOST_LABEL
#: creation order: the Service first (its name is the lock on NAME), the Ingress last
ORDER = [
    "Service", "ServiceAccount", "Role", "RoleBinding", "Secret", "ConfigMap",
    "PersistentVolumeClaim", "Deployment", "StatefulSet", "Pod", "Job", "CronJob",
    "PodDisruptionBudget", "HorizontalPodAutoscaler", "Ingress",
]  # fmt: skip
MAX_ATTEMPTS = 8
MANAGED = "app.kubernetes.io/managed-by=karvdash"


def _suffix(n: int = 5) -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def _order(kind: str) -> int:
    return ORDER.index(kind) if kind in ORDER else len(ORDER)


class ServiceManager(HasParts):
    """Launch, list and stop services (``c.ServiceManager.*``). Made by the dashboard
    app with ``parent=``; the provisioner, the template store and the installation's
    facts are passed in (or made with ``parent=self``)."""

    url_scheme = Unicode("https", config=True, help="Scheme of the services' URLs.")
    url_port = Integer(
        0,
        config=True,
        help="Port of the services' URLs when the ingress does not listen on the scheme's"
        " own (the embedded default's local ingress: 8443); 0: none in the URL.",
    )
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

    custom_kinds = List(
        Unicode(),
        [
            "monitoring.coreos.com/v1/Prometheus",
            "monitoring.coreos.com/v1/ServiceMonitor",
            "argoproj.io/v1alpha1/Workflow",
        ],
        config=True,
        help="Custom resources templates may create, as apiVersion/Kind (namespaced kinds"
        " of CRDs the cluster has; a template naming one the cluster lacks gets an error"
        " that says so). Objects of these kinds get Karvdash's labels, not its storage.",
    )

    templates = Instance(TemplateStore)
    #: API tokens and URL of services with ``api: true`` (karvdash_hub.serviceapi)
    hub_tokens = Any(None, allow_none=True)
    api_url = Unicode("")

    @default("templates")
    def _default_templates(self):
        return TemplateStore(self.provisioner)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # one launch at a time per user in this process: names are chosen without
        # racing (a lost race costs a create that the quota counts until it resyncs)
        self.launches = launchstate.Launches()

    @property
    def exposure(self) -> exposure.Exposure:
        return exposure.Exposure(
            domain=self.installation.domain,
            url_scheme=self.url_scheme,
            url_port=self.url_port,
            ingress_class=self.ingress_class,
            tls_secret=self.tls_secret,
            auth_annotations=dict(self.auth_annotations),
            expose_without_login=self.expose_without_login,
        )

    # -- helpers

    def hostname(self, name: str, username: str) -> str:
        try:
            return self.exposure.hostname(name, username)
        except names.NameError_ as err:
            raise ApiError("name-too-long", str(err)) from None

    def system_variables(self, name: str, username: str) -> dict[str, str]:
        return {
            "NAMESPACE": self.provisioner.namespace(username),
            "HOSTNAME": self.hostname(name, username),
            "REGISTRY": self.installation.registry,
            "PRIVATE": storage.PRIVATE.mount_path,
            "SHARED": storage.SHARED.mount_path,
        }

    @property
    def extra_kinds(self) -> frozenset[tuple[str, str]]:
        return frozenset(tuple(k.rsplit("/", 1)) for k in self.custom_kinds if "/" in k)

    async def _resources(self, dyn, objects: list[dict]) -> list:
        try:
            return [await kube.resource_of(dyn, o) for o in objects]
        except ResourceNotFoundError:
            missing = []
            for o in objects:
                try:
                    await kube.resource_of(dyn, o)
                except ResourceNotFoundError:
                    missing.append(f"{o['kind']} ({o['apiVersion']})")
            raise ApiError(
                "kind-not-installed",
                f"the cluster has no {', '.join(missing)}: its CustomResourceDefinition is"
                " not installed; ask your administrator to install it",
            ) from None

    def labels(self, username: str, name: str, template_id: str) -> dict[str, str]:
        return {**names.user_labels(username), SERVICE_LABEL: name, TEMPLATE_LABEL: template_id}

    def _prepare(self, template, values, name, username) -> list[dict]:
        """The service's objects, rendered, checked and made the installation's."""
        system = self.system_variables(name, username)
        try:
            objects = rendering.render(template, {**values, "NAME": name}, system)
            policy.check(objects, system["NAMESPACE"], system["HOSTNAME"], self.extra_kinds)
        except tmodel.TemplateError as err:
            raise ApiError("bad-variables", err.message, where=err.where) from None
        except policy.PolicyError as err:
            raise ApiError("template-not-allowed", str(err), violations=err.violations) from None
        if template.api:
            objects = serviceapi.attach(self, objects, name)
        env = environment.environment(
            system["NAMESPACE"], registry=self.installation.registry, service=name
        )
        annotations = {
            status.TEMPLATE_NAME_ANNOTATION: template.name,
            "karvdash.io/created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        objects = policy.inject(objects, self.labels(username, name, template.id), env, annotations)
        objects = self.exposure.decorate(objects, system["HOSTNAME"], template.auth)
        final = rendering.resolve(template, {**values, "NAME": name}, system)
        values_json = json.dumps(rendering.recorded(template, final), sort_keys=True)
        for obj in objects:  # the launch's values, on the service's own Service
            if obj["kind"] == "Service" and obj["metadata"]["name"] == name:
                obj["metadata"]["annotations"][status.VALUES_ANNOTATION] = values_json
        launchstate.mark(objects, name)  # until every object exists
        return sorted(objects, key=lambda o: _order(o["kind"]))

    def exposes(self, template) -> bool:
        return self.exposure.exposes(template.auth)

    async def _host_taken(self, dyn, objects, username: str) -> bool:
        """Another user's Ingress holds this service's host name (first come, first
        served); only the namespaces of users who could hold it are asked."""
        hosts = {o["metadata"]["labels"][HOST_LABEL] for o in objects if o["kind"] == "Ingress"}
        own = names.user_slug(username)
        candidates = {(h, slug) for h in hosts for slug in exposure.possible_holders(h, own)}
        if not candidates:
            return False
        res = await kube.resource(dyn, "networking.k8s.io/v1", "Ingress")
        prefix, rules = self.provisioner.namespace_prefix, self.exposure

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
            return any(rules.serves(item, host) for item in found.to_dict()["items"])

        return any(await asyncio.gather(*(held(h, s) for h, s in candidates)))

    # -- operations

    async def launch(self, username: str, template_id: str, values: dict) -> dict:
        async with self.launches.lock(username):
            return await self._launch(username, template_id, values)

    async def _launch(self, username: str, template_id: str, values: dict) -> dict:
        if not isinstance(values, dict):
            raise ApiError("bad-variables", "variables must be a mapping of names to values")
        template = await self.templates.get(username, template_id)
        ns = await self.provisioner.ensure_exists(username)
        found = await self._instances(ns)  # failed launches' leftovers go first
        # this launch holds the user's lock: every incomplete one is a leftover
        stale = [s["metadata"]["name"] for s in found if launchstate.incomplete(s)]
        await launchstate.collect(self, username, stale)
        of_template = [
            s for s in found if s["metadata"]["labels"].get(TEMPLATE_LABEL) == template.id
        ]
        if template.singleton and {s["metadata"]["name"] for s in of_template} - set(stale):
            raise ApiError(
                "singleton",
                f"'{template.name}' runs once per user and you already run it; stop it first",
            )
        desired = values.get("NAME", template.variable("NAME").default)
        try:
            desired = rendering.check_instance_name(desired)
        except tmodel.TemplateError as err:
            raise ApiError("bad-variables", err.message, where=err.where) from None
        for attempt in range(MAX_ATTEMPTS):
            name = desired if attempt == 0 else f"{desired[:33].rstrip('-')}-{_suffix()}"
            objects = self._prepare(template, values, name, username)
            dyn = await self.provisioner.client()
            resources = await self._resources(dyn, objects)
            if not await self._dry_run(dyn, ns, template, name, username, objects, resources):
                continue  # the name (or its address) is taken: try another
            objects, token_id = await serviceapi.grant(self, template, username, name, objects)
            try:
                await kube.create_all_or_rollback(
                    dyn, ns, zip(resources, objects, strict=True), field_manager="karvdash"
                )
            except BaseException as err:
                await serviceapi.release(self, username, token_id)
                if not isinstance(err, ApiException):
                    raise
                if err.status == 409 and not template.singleton:
                    continue  # lost a race for the name: try another
                if err.status == 409:
                    raise ApiError("singleton", f"'{template.name}' already runs") from None
                raise ApiError(
                    "rejected-by-cluster",
                    f"the cluster refused {policy.describe(err.failed_object)}:"
                    f" {api_message(err)}; nothing was left behind",
                ) from None
            await launchstate.completed(dyn, ns, name)
            return self._launched(template, name, username, ns, objects)
        raise ApiError("name-taken", f"could not find a free name like '{desired}'; choose one")

    async def _dry_run(self, dyn, ns, template, name, username, objects, resources) -> bool:
        """The API server validates every object (schemas, admission, quota). False when
        the name or its host is taken (try another); raises for anything else."""
        dry = await asyncio.gather(
            *(
                dyn.create(r, body=o, namespace=ns, dry_run="All")
                for r, o in zip(resources, objects, strict=True)
            ),
            return_exceptions=True,
        )
        failures = [(o, e) for o, e in zip(objects, dry, strict=True) if isinstance(e, Exception)]
        conflicts = [o for o, e in failures if getattr(e, "status", None) == 409]
        if conflicts or await self._host_taken(dyn, objects, username):
            foreign = [o for o in conflicts if not o["metadata"]["name"].startswith(name)]
            if foreign:
                raise ApiError(
                    "object-exists",
                    f"{policy.describe(foreign[0])} already exists in {ns} and its name"
                    " does not depend on NAME; stop the service that made it, or delete it",
                )
            if template.singleton:
                raise ApiError("singleton", f"'{template.name}' already runs as {name}")
            return False
        for _, e in failures:
            if not isinstance(e, ApiException):
                raise e
        if failures:
            raise ApiError(
                "rejected-by-cluster",
                "the cluster refused the service: "
                + "; ".join(f"{policy.describe(o)}: {api_message(e)}" for o, e in failures),
            )
        return True

    def _launched(self, template, name, username, ns, objects) -> dict:
        has_ingress = any(o["kind"] == "Ingress" for o in objects)
        launched = {
            "name": name,
            "template": template.id,
            "namespace": ns,
            "url": self.exposure.url(self.hostname(name, username)) if has_ingress else None,
            "objects": [f"{o['kind']}/{o['metadata']['name']}" for o in objects],
        }
        if template.warnings:
            launched["warnings"] = list(template.warnings)
        if not self.exposes(template) and any(o.get("kind") == "Ingress" for o in template.objects):
            launched["warning"] = (
                "no address: this service asks for its owner's login, and the"
                " installation has no ingress login configured; it is reachable inside"
                " the cluster only"
            )
        return launched

    async def _instances(self, ns: str) -> list[dict]:
        dyn = await self.provisioner.client()
        res = await kube.resource(dyn, "v1", "Service")
        return await kube.list_items(dyn, res, ns, label_selector=f"{MANAGED},{SERVICE_LABEL}")

    async def list(self, username: str) -> list[dict]:
        """The user's services with their status (:mod:`karvdash_hub.rules.status`)."""
        ns = self.provisioner.namespace(username)
        dyn = await self.provisioner.client()
        selector = f"{MANAGED},{SERVICE_LABEL}"
        kinds = [
            ("v1", "Service", selector, None),
            ("v1", "Pod", selector, None),
            ("networking.k8s.io/v1", "Ingress", selector, None),
            ("v1", "Event", None, "type=Warning"),
        ]
        resources = [await kube.resource(dyn, api, kind) for api, kind, _, _ in kinds]
        try:
            services, pods, ingresses, events = await asyncio.gather(
                *(
                    kube.list_items(dyn, res, ns, label_selector=labels, field_selector=fields)
                    for res, (_, _, labels, fields) in zip(resources, kinds, strict=True)
                )
            )
        except ApiException as err:
            if err.status == 404:
                return []
            raise
        stale = launchstate.leftovers(self, username, services)  # deleted, not listed
        launchstate.collect_later(self, username, stale)
        services = [s for s in services if s["metadata"]["name"] not in stale]
        return status.services(services, pods, ingresses, events, self.url_scheme, self.url_port)

    async def stop(self, username: str, name: str) -> dict:
        """Delete every object labelled with the service (Ingress first)."""
        if not names.is_label(name):
            raise ApiError("service-not-found", f"there is no service '{name}'")
        ns = self.provisioner.namespace(username)
        dyn = await self.provisioner.client()
        selector = f"{MANAGED},{SERVICE_LABEL}={name}"
        await serviceapi.revoke(self, dyn, ns, username, selector)  # before deleting
        deleted = []
        kinds = policy.ALLOWED_KINDS | self.extra_kinds
        for api_version, kind in sorted(kinds, key=lambda k: -_order(k[1])):
            r = await kube.optional_resource(dyn, api_version, kind)
            if r is None:
                continue  # a custom kind this cluster does not have
            for item in (await dyn.get(r, namespace=ns, label_selector=selector)).items:
                if kind == "Pod" and item.metadata.ownerReferences:
                    continue  # a workload's: goes with it
                if await kube.delete_ignoring_404(
                    dyn, r, item.metadata.name, ns, propagation_policy="Background"
                ):
                    deleted.append(f"{kind}/{item.metadata.name}")
        if not deleted:
            raise ApiError("service-not-found", f"there is no service '{name}'")
        return {"name": name, "deleted": deleted}
