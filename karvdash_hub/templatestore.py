"""Where templates come from: the built-in catalogue (files shipped with the package)
and each user's custom templates (``templates.karvdash.io`` objects in the user's
namespace).

- Built-in templates have the id of their file (``postgres.template.yaml`` →
  ``postgres``); they are visible to everyone and cannot be removed.
- A custom template's id is its object's name, derived from its title unless given;
  it lives in its owner's namespace only, so a user never sees another's.
- An installation that replaces the original Karvdash keeps its users' templates: the
  ``templates.karvdash.carv.ics.forth.gr`` objects (Karvdash 2.x's CRD, the template's
  text in base64 in ``spec.data``) in a user's namespace are served alongside, read as
  Karvdash 2.x files (:mod:`karvdash_hub.rules.compat`); one of the same id as a
  ``templates.karvdash.io`` object is hidden by it. Removing one removes its object.
  Where that CRD is not installed (or the hub may not read it), there are none.
"""

from __future__ import annotations

import base64
import binascii
import functools
from pathlib import Path

import yaml
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.dynamic.exceptions import ResourceNotFoundError

from . import kube
from .errors import ApiError
from .rules import names
from .rules import template as tmodel

CATALOGUE = Path(__file__).parent / "catalogue"
CRD_FILE = Path(__file__).parent / "manifests" / "templates-crd.yaml"
GROUP, VERSION = "karvdash.io", "v1"
#: the original Karvdash's custom templates (2.x)
LEGACY_API_VERSION = "karvdash.carv.ics.forth.gr/v1"
LEGACY_NOTE = "a template of the original Karvdash (its karvdash.carv.ics.forth.gr object)"


@functools.cache
def builtin_templates() -> dict[str, tmodel.Template]:
    out = {}
    for path in sorted(CATALOGUE.glob("*.template.yaml")):
        tid = path.name[: -len(".template.yaml")]
        out[tid] = tmodel.parse(path.read_text(), tid)
    return out


def _column(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-8 bytes, for a column of ``kubectl get templates``
    (the custom resource limits them; the whole text is in ``spec.data``)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "\u2026"


def _not_found(template_id: str) -> ApiError:
    return ApiError("template-not-found", f"there is no template '{template_id}'")


class TemplateStore:
    def __init__(self, provisioner):
        self.provisioner = provisioner
        self._crd_ready = False

    async def _resource(self):
        dyn = await self.provisioner.client()
        if not self._crd_ready:
            await self.ensure_crd()
        return dyn, await kube.resource(dyn, f"{GROUP}/{VERSION}", "Template")

    async def ensure_crd(self) -> None:
        """Install the Template CRD (and the ClusterRole that lets namespace admins use
        it) when missing, and wait until the API server serves it."""
        dyn = await self.provisioner.client()
        crds = await kube.resource(dyn, "apiextensions.k8s.io/v1", "CustomResourceDefinition")
        crd, role = yaml.safe_load_all(CRD_FILE.read_text())
        if await kube.get_or_none(dyn, crds, crd["metadata"]["name"]) is None:
            roles = await kube.resource(dyn, "rbac.authorization.k8s.io/v1", "ClusterRole")
            await dyn.server_side_apply(roles, body=role, field_manager="karvdash")
            await dyn.server_side_apply(crds, body=crd, field_manager="karvdash")

            async def served() -> bool:
                await dyn.resources.invalidate_cache()
                try:
                    return bool(await kube.resource(dyn, f"{GROUP}/{VERSION}", "Template"))
                except ResourceNotFoundError:
                    return False

            await kube.wait_until(served, "the Template CRD to be served", 10)
        self._crd_ready = True

    async def _legacy(self, username: str, name: str | None = None) -> list[tuple[str, str]]:
        """``(id, text)`` of the user's Karvdash 2.x Template objects (one, by ``name``)."""
        dyn = await self.provisioner.client()
        res = await kube.optional_resource(dyn, LEGACY_API_VERSION, "Template")
        if res is None:
            return []
        try:
            found = await dyn.get(res, name=name, namespace=self.provisioner.namespace(username))
        except ApiException as err:
            if err.status in (403, 404):
                return []
            raise
        data = found.to_dict()
        out = []
        for item in [data] if name else data.get("items", []):
            try:
                text = base64.b64decode((item.get("spec") or {}).get("data") or "").decode()
            except (binascii.Error, UnicodeDecodeError, TypeError):
                continue
            out.append((item["metadata"]["name"], text))
        return out

    def _parse_legacy(self, template_id: str, text: str) -> tmodel.Template:
        t = tmodel.parse(text, template_id)
        t.warnings.insert(0, LEGACY_NOTE)
        return t

    async def list(self, username: str) -> list[dict]:
        out = [dict(t.summary(), builtin=True) for t in builtin_templates().values()]
        dyn, res = await self._resource()
        ns = self.provisioner.namespace(username)
        try:
            items = (await dyn.get(res, namespace=ns)).to_dict().get("items", [])
        except ApiException as err:
            if err.status != 404:  # no namespace yet: no custom templates
                raise
            items = []
        for item in sorted(items, key=lambda i: i["metadata"]["name"]):
            try:
                t = tmodel.parse(item["spec"]["data"], item["metadata"]["name"])
            except tmodel.TemplateError:
                continue  # edited by hand into something invalid: not offered
            out.append(dict(t.summary(), builtin=False))
        taken = {t["id"] for t in out}
        for tid, text in sorted(await self._legacy(username)):
            if tid in taken or not names.is_label(tid):
                continue
            try:
                out.append(dict(self._parse_legacy(tid, text).summary(), builtin=False))
            except tmodel.TemplateError:
                continue
        return out

    async def get(self, username: str, template_id: str) -> tmodel.Template:
        builtin = builtin_templates().get(template_id)
        if builtin is not None:
            return builtin
        if not names.is_label(template_id):
            raise _not_found(template_id)
        dyn, res = await self._resource()
        item = await kube.get_or_none(
            dyn, res, template_id, namespace=self.provisioner.namespace(username)
        )
        try:
            if item is None:
                legacy = await self._legacy(username, template_id)
                if not legacy:
                    raise _not_found(template_id)
                return self._parse_legacy(template_id, legacy[0][1])
            return tmodel.parse(item.spec.data, template_id)
        except tmodel.TemplateError as err:
            raise ApiError("invalid-template", f"template '{template_id}': {err}") from None

    async def add(self, username: str, text: str, template_id: str | None = None) -> dict:
        try:
            t = tmodel.parse(text, template_id or "new")
        except tmodel.TemplateError as err:
            raise ApiError("invalid-template", str(err), where=err.where) from None
        tid = template_id or names.template_id_for(t.name)
        if not names.is_label(tid):
            raise ApiError(
                "bad-template-id", "a template id is lowercase letters, digits and hyphens"
            )
        if tid in builtin_templates():
            raise ApiError(
                "template-exists", f"'{tid}' is a built-in template; give yours another name"
            )
        t.id = tid
        await self.provisioner.ensure_exists(username)
        dyn, res = await self._resource()
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Template",
            "metadata": {
                "name": tid,
                "labels": {"app.kubernetes.io/managed-by": "karvdash"},
            },
            "spec": {
                "name": _column(t.name, 253),
                "description": _column(t.description, 1024),
                "data": text,
            },
        }
        try:
            await dyn.create(res, body=body, namespace=self.provisioner.namespace(username))
        except ApiException as err:
            if err.status == 409:
                raise ApiError("template-exists", f"you already have a template '{tid}'") from None
            raise
        return dict(t.summary(), builtin=False)

    async def remove(self, username: str, template_id: str) -> None:
        if template_id in builtin_templates():
            raise ApiError("builtin-template", "built-in templates cannot be removed")
        if not names.is_label(template_id):
            raise _not_found(template_id)
        dyn, res = await self._resource()
        ns = self.provisioner.namespace(username)
        if await kube.delete_ignoring_404(dyn, res, template_id, namespace=ns):
            return
        if await self._legacy(username, template_id):
            legacy = await kube.optional_resource(dyn, LEGACY_API_VERSION, "Template")
            if legacy and await kube.delete_ignoring_404(dyn, legacy, template_id, namespace=ns):
                return
        raise _not_found(template_id)
