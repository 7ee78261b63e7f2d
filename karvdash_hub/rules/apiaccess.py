"""API access for a service whose template asks for it (``api: true``).

Such a service's pods get ``KARVDASH_API_URL`` (the dashboard's REST API) and
``KARVDASH_API_TOKEN``: a JupyterHub API token of the service's owner whose only scope is
``access:services!service=<dashboard>`` (what the owner's own server token has for the
dashboard; no hub API, no servers). karvdashctl and the Python client read both, so code
in the service can launch, list and stop the owner's services, and nothing of anyone else.

The token lives in a Secret of the service (``<name>-karvdash-api``, labelled with it,
deleted with it); the container reads it with ``secretKeyRef``, so it is never in the
pod's spec. The hub's id of the token is an annotation of the Secret: stopping the
service revokes it. Made for each launch, revoked if the launch fails.

Pure: the token and the URL are given.
"""

from __future__ import annotations

import copy

from .policy import PolicyError, _containers, _get, pod_spec_paths

SUFFIX = "-karvdash-api"
TOKEN_KEY = "token"
TOKEN_ID_ANNOTATION = "karvdash.io/hub-token-id"
URL_VARIABLE = "KARVDASH_API_URL"
TOKEN_VARIABLE = "KARVDASH_API_TOKEN"


def scopes(service_name: str) -> list[str]:
    """The token's scopes: the owner's access to the dashboard service, nothing else."""
    return [f"access:services!service={service_name}"]


def note(name: str) -> str:
    """The token's note in the hub (the owner's token list shows it)."""
    return f"Karvdash service {name}"


def secret_name(name: str) -> str:
    return f"{name}{SUFFIX}"


def attach(objects: list[dict], name: str, api_url: str) -> list[dict]:
    """The service's objects with its API Secret (the token still empty: filled in by
    :func:`fill` once the launch's dry run passed) and every container's two variables
    (a container's own value of either is kept)."""
    if any(
        o.get("kind") == "Secret" and o["metadata"]["name"] == secret_name(name) for o in objects
    ):
        raise PolicyError(
            [f"Secret {secret_name(name)}: that name is the service's API token's (api: true)"]
        )
    out = []
    for original in objects:
        obj = copy.deepcopy(original)
        for path in pod_spec_paths(obj):
            spec = _get(obj, path)
            if not isinstance(spec, dict):
                continue
            for c in _containers(spec):
                env = c.setdefault("env", [])
                have = {e.get("name") for e in env if isinstance(e, dict)}
                if URL_VARIABLE not in have:
                    env.append({"name": URL_VARIABLE, "value": api_url})
                if TOKEN_VARIABLE not in have:
                    env.append(
                        {
                            "name": TOKEN_VARIABLE,
                            "valueFrom": {
                                "secretKeyRef": {"name": secret_name(name), "key": TOKEN_KEY}
                            },
                        }
                    )
        out.append(obj)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name(name), "labels": {}, "annotations": {}},
        "type": "Opaque",
        "stringData": {TOKEN_KEY: ""},
    }
    return [*out, secret]


def fill(objects: list[dict], name: str, token: str, token_id: str) -> list[dict]:
    """The objects with the token (and the hub's id of it) in the API Secret."""
    out = []
    for obj in objects:
        if obj.get("kind") == "Secret" and obj["metadata"]["name"] == secret_name(name):
            obj = copy.deepcopy(obj)
            obj["stringData"] = {TOKEN_KEY: token}
            obj["metadata"].setdefault("annotations", {})[TOKEN_ID_ANNOTATION] = token_id
        out.append(obj)
    return out


def token_ids(secrets: list[dict]) -> list[str]:
    """The hub token ids recorded on a service's Secrets (to revoke when it stops)."""
    found = []
    for s in secrets:
        annotations = (s.get("metadata") or {}).get("annotations") or {}
        if annotations.get(TOKEN_ID_ANNOTATION):
            found.append(annotations[TOKEN_ID_ANNOTATION])
    return found
