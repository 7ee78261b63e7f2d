"""The cluster's own guard on user namespaces: a ValidatingAdmissionPolicy (shipped as
``manifests/user-namespace-policy.yaml``) that the API server applies to every request
in a namespace labelled for Karvdash, whoever makes it.

:mod:`karvdash_hub.policy` checks templates before anything reaches the cluster; this
keeps the same rules for what a user creates with their own credentials (their
JupyterLab's service account is ``admin`` in their namespace).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from kubernetes_asyncio.client.exceptions import ApiException

POLICY_FILE = Path(__file__).parent / "manifests" / "user-namespace-policy.yaml"
API_VERSION = "admissionregistration.k8s.io/v1"


def manifests() -> list[dict]:
    return list(yaml.safe_load_all(POLICY_FILE.read_text()))


async def ensure_policy(dyn, log=None) -> bool:
    """Create the policy and its binding when missing (an installation may manage them
    itself). True when both exist afterwards; False (logged) when the hub may not
    create them, in which case the installation must apply the manifest."""
    for doc in manifests():
        res = await dyn.resources.get(api_version=API_VERSION, kind=doc["kind"])
        try:
            await dyn.get(res, name=doc["metadata"]["name"])
            continue
        except ApiException as err:
            if err.status != 404 and err.status != 403:
                raise
        try:
            await dyn.create(res, body=doc, field_manager="karvdash")
        except ApiException as err:
            if err.status == 409:
                continue
            if err.status == 403:
                if log:
                    log.warning(
                        "Not allowed to create %s %s: apply %s so that the cluster guards"
                        " user namespaces",
                        doc["kind"],
                        doc["metadata"]["name"],
                        POLICY_FILE,
                    )
                return False
            raise
    return True
