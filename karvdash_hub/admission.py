"""The cluster's own guard on user namespaces: a ValidatingAdmissionPolicy (shipped as
``manifests/user-namespace-policy.yaml``) that the API server applies to every request
in a namespace labelled for Karvdash, whoever makes it; and a MutatingAdmissionPolicy
(``manifests/user-namespace-mounts.yaml``, Kubernetes 1.36) that gives every pod created
there ``/private``, ``/shared`` and Karvdash's environment, whoever creates it (what the
original Karvdash's webhook did), unless it opts out with the label
``karvdash.io/no-mounts: "true"`` or has them already.

:mod:`karvdash_hub.rules.policy` checks templates before anything reaches the cluster; this
keeps the same rules for what a user creates with their own credentials (their
JupyterLab's service account is ``admin`` in their namespace).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.dynamic.exceptions import ResourceNotFoundError

from . import kube

POLICY_FILE = Path(__file__).parent / "manifests" / "user-namespace-policy.yaml"
MOUNTS_FILE = Path(__file__).parent / "manifests" / "user-namespace-mounts.yaml"
API_VERSION = "admissionregistration.k8s.io/v1"


def manifests(path: Path = POLICY_FILE) -> list[dict]:
    return list(yaml.safe_load_all(path.read_text()))


async def ensure_policy(dyn, log=None, path: Path = POLICY_FILE) -> bool:
    """Apply the policy and its binding (server-side apply: the shipped version wins,
    so an upgrade of Karvdash updates them). True when both are in place afterwards.
    When the hub may not write them (an installation that manages them itself), True
    if they exist, else False with a warning that says what to apply."""
    for doc in manifests(path):
        res = await kube.resource(dyn, API_VERSION, doc["kind"])
        name = doc["metadata"]["name"]
        try:
            await dyn.server_side_apply(
                res, body=doc, name=name, field_manager="karvdash", force_conflicts=True
            )
            continue
        except ApiException as err:
            if err.status != 403:
                raise
        try:
            await dyn.get(res, name=name)
        except ApiException as err:
            if err.status not in (403, 404):
                raise
            if log:
                log.warning(
                    "%s %s is missing and the hub may not create it: apply %s so that"
                    " the cluster guards user namespaces",
                    doc["kind"],
                    name,
                    path,
                )
            return False
    return True


async def guard(dyn, log) -> bool:
    """:func:`ensure_policy` for both, where a cluster without ValidatingAdmissionPolicy
    (before 1.30) or MutatingAdmissionPolicy (before 1.36), or a hub that may not write
    them, gets a warning, not failed logins. True when the validating policy is in place."""
    try:
        guarded = await ensure_policy(dyn, log)
    except (ApiException, ResourceNotFoundError) as err:
        log.warning(
            "The user-namespace admission policy could not be applied (%s): the template"
            " policy still holds for launches, but not for users' own kubectl",
            err,
        )
        guarded = False
    try:
        await ensure_policy(dyn, log, MOUNTS_FILE)
    except (ApiException, ResourceNotFoundError) as err:
        log.warning(
            "The user-namespace mounts policy could not be applied (%s): pods that"
            " templates and notebooks do not make get no /private and /shared",
            err,
        )
    return guarded
