"""Looking into one service and one namespace: what a service's page and a user's
namespace summary show (``c.ServiceInspector.*``).

- :meth:`ServiceInspector.describe`: the service (as in the list) with every object
  labelled with it and its pods;
- :meth:`ServiceInspector.events`: the recent events about those objects;
- :meth:`ServiceInspector.logs`: the last lines of each of its containers' logs, bounded
  (lines, bytes per container, number of containers), as the Kubernetes API gives them;
- :meth:`ServiceInspector.namespace`: the namespace's quota (used and hard) and how many
  services run in it.

Everything is read by label in the user's namespace only; the shapes are
:mod:`karvdash_hub.rules.inspection`'s. Who may look (the owner or an admin) is the API's
decision, not this class's.
"""

from __future__ import annotations

import asyncio

from kubernetes_asyncio.client.exceptions import ApiException
from traitlets import Instance, Integer
from traitlets.config import LoggingConfigurable

from . import execution, kube
from .errors import ApiError
from .kube import api_message
from .rules import inspection, names, policy, status
from .services import MANAGED, SERVICE_LABEL, ServiceManager

#: what a service's objects are read as, besides the kinds a template may create
READ_ALSO = (("v1", "Pod"), ("apps/v1", "ReplicaSet"))
QUOTA = "karvdash-quota"


def _not_found(name: str) -> ApiError:
    return ApiError("service-not-found", f"there is no service '{name}'")


class ServiceInspector(LoggingConfigurable):
    """Reads a service's objects, events and logs, and a namespace's use."""

    manager = Instance(ServiceManager, help="The service manager (its provisioner, its URLs).")

    events_limit = Integer(
        50, config=True, help="How many of a service's most recent events the API gives."
    )
    log_lines = Integer(
        200,
        config=True,
        help="Lines of each container's log given when the request does not say (the last ones).",
    )
    max_log_lines = Integer(
        2000, config=True, help="The most lines of each container's log a request may ask for."
    )
    log_bytes = Integer(
        64 * 1024,
        config=True,
        help="The most bytes of each container's log given (the last ones, from a line start).",
    )
    max_log_containers = Integer(
        12, config=True, help="The most containers whose logs one request gives."
    )

    @property
    def provisioner(self):
        return self.manager.provisioner

    async def _labelled(self, ns: str, name: str) -> dict[str, list[dict]]:
        """Every object labelled with the service, by kind."""
        if not names.is_label(name):
            raise _not_found(name)
        dyn = await self.provisioner.client()
        selector = f"{MANAGED},{SERVICE_LABEL}={name}"
        kinds = sorted(policy.ALLOWED_KINDS) + list(READ_ALSO)
        resources = [await kube.resource(dyn, api, kind) for api, kind in kinds]
        try:
            found = await asyncio.gather(
                *(kube.list_items(dyn, r, ns, label_selector=selector) for r in resources)
            )
        except ApiException as err:
            if err.status == 404:  # no namespace: no services
                raise _not_found(name) from None
            raise
        out = {kind: items for (_, kind), items in zip(kinds, found, strict=True)}
        if not any(s["metadata"]["name"] == name for s in out["Service"]):
            raise _not_found(name)
        return out

    async def exists(self, username: str, name: str) -> bool:
        """Whether the user runs a service of that name (one read)."""
        if not names.is_label(name):
            return False
        dyn = await self.provisioner.client()
        found = await kube.get_or_none(
            dyn,
            await kube.resource(dyn, "v1", "Service"),
            name,
            namespace=self.provisioner.namespace(username),
        )
        labels = (found.metadata.labels or {}) if found is not None else {}
        return labels.get(SERVICE_LABEL) == name

    async def describe(self, username: str, name: str) -> dict:
        """The service as listed, with ``namespace``, ``objects`` and ``pods``."""
        ns = self.provisioner.namespace(username)
        objs = await self._labelled(ns, name)
        listed = status.services(
            objs["Service"],
            objs["Pod"],
            objs["Ingress"],
            [],
            self.manager.url_scheme,
            self.manager.url_port,
        )
        shown = [o for kind, items in objs.items() if kind != "ReplicaSet" for o in items]
        return {
            **listed[0],
            "namespace": ns,
            "objects": sorted(
                (inspection.object_row(o) for o in shown), key=lambda r: (r["kind"], r["name"])
            ),
            "pods": inspection.pod_rows(objs["Pod"]),
        }

    async def events(self, username: str, name: str) -> list[dict]:
        """The most recent events about the service's objects (its pods included)."""
        ns = self.provisioner.namespace(username)
        objs = await self._labelled(ns, name)
        about = {(kind, o["metadata"]["name"]) for kind, items in objs.items() for o in items}
        dyn = await self.provisioner.client()
        found = await kube.list_items(dyn, await kube.resource(dyn, "v1", "Event"), ns)
        return inspection.related_events(found, about, self.events_limit)

    async def logs(self, username: str, name: str, lines: int | None = None) -> list[dict]:
        """The last ``lines`` of each container's log (bounded; see the class's traits)."""
        if lines is None:
            lines = self.log_lines
        if not 1 <= lines <= self.max_log_lines:
            raise ApiError(
                "bad-request", f"ask for 1 to {self.max_log_lines} lines of each container's log"
            )
        ns = self.provisioner.namespace(username)
        objs = await self._labelled(ns, name)
        wanted = [
            (pod["name"], container)
            for pod in inspection.pod_rows(objs["Pod"])
            for container in pod["containers"]
        ][: self.max_log_containers]
        dyn = await self.provisioner.client()
        return list(await asyncio.gather(*(self._log(dyn, ns, p, c, lines) for p, c in wanted)))

    async def _log(self, dyn, ns: str, pod: str, container: str, lines: int) -> dict:
        """The end of one container's log. The API's ``limitBytes`` keeps the *start* of
        what it sends, so a log longer than the cap is asked again with fewer lines until
        its end fits: what is shown is always the log's true end."""
        entry = {"pod": pod, "container": container, "log": "", "truncated": False}
        cap = 4 * self.log_bytes
        try:
            while True:
                body = await self._read_log(dyn, ns, pod, container, lines, cap)
                if len(body) < cap or lines == 1:
                    break
                lines = max(1, lines // 4)
        except ApiException as err:
            entry["error"] = f"no log: {api_message(err)}"
            return entry
        entry["log"], cut = inspection.bounded(body, self.log_bytes)
        entry["truncated"] = cut or len(body) >= cap
        return entry

    @staticmethod
    async def _read_log(dyn, ns: str, pod: str, container: str, lines: int, cap: int) -> bytes:
        resp = await dyn.request(
            "GET",
            f"/api/v1/namespaces/{ns}/pods/{pod}/log",
            query_params=[
                ("container", container),
                ("tailLines", str(lines)),
                ("limitBytes", str(cap)),
            ],
            header_params={"Accept": "*/*"},
            serialize=False,
        )
        try:
            return await resp.read()
        finally:
            resp.release()

    async def namespace(self, username: str) -> dict:
        """The user's namespace: whether it exists, its quota, how many services run."""
        ns = self.provisioner.namespace(username)
        dyn = await self.provisioner.client()
        quotas = await kube.resource(dyn, "v1", "ResourceQuota")
        services = await kube.resource(dyn, "v1", "Service")
        namespace = await kube.get_or_none(dyn, await kube.resource(dyn, "v1", "Namespace"), ns)
        summary = {"user": username, "namespace": ns, "exists": namespace is not None}
        if namespace is None:
            return {**summary, "services": 0, "quota": []}
        quota, listed = await asyncio.gather(
            kube.get_or_none(dyn, quotas, QUOTA, namespace=ns),
            kube.list_items(dyn, services, ns, label_selector=f"{MANAGED},{SERVICE_LABEL}"),
        )
        count = sum(
            1 for s in listed if s["metadata"]["name"] == s["metadata"]["labels"].get(SERVICE_LABEL)
        )
        rows = inspection.quota_rows(quota.to_dict() if quota is not None else None)
        return {**summary, "services": count, "quota": rows}

    # -- running a command in a service's pods

    async def run(self, username: str, name: str, body: dict) -> list[dict]:
        """Run a command in the service's running pods (or the one named), each in its
        first container (or the one named), at most ``timeout`` seconds each and
        :attr:`log_bytes` of output (stdout and stderr together) each."""
        try:
            command, pod, container, timeout = inspection.exec_request(body)
        except ValueError as err:
            raise ApiError("bad-request", str(err)) from None
        ns = self.provisioner.namespace(username)
        rows = inspection.pod_rows((await self._labelled(ns, name))["Pod"])
        if pod is not None:
            rows = [p for p in rows if p["name"] == pod]
            if not rows:
                raise ApiError("not-found", f"service '{name}' has no pod '{pod}'")
        rows = [p for p in rows if p["phase"] == "Running"][: self.max_log_containers]
        if not rows:
            raise ApiError("not-found", f"service '{name}' has no running pod to run it in")
        for row in rows:
            if container is not None and container not in row["containers"]:
                raise ApiError("not-found", f"pod {row['name']} has no container '{container}'")
        dyn = await self.provisioner.client()
        return list(
            await asyncio.gather(
                *(
                    execution.run(
                        dyn.client.configuration,
                        ns,
                        row["name"],
                        container or row["containers"][0],
                        command,
                        timeout,
                        self.log_bytes,
                    )
                    for row in rows
                )
            )
        )
