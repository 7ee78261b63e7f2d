"""The KARVDASH_* environment: what code in a user's containers learns of its place.

One contract for every container Karvdash starts, whether the user's JupyterLab (either
spawner) or a launched service's pods:

| variable | value | where |
| --- | --- | --- |
| KARVDASH_NAMESPACE | the user's namespace | always |
| KARVDASH_PRIVATE_DIR | where the user's own files are (``/private`` in a pod) | always |
| KARVDASH_SHARED_DIR | where the shared files are (``/shared`` in a pod) | always |
| KARVDASH_REGISTRY | the private registry | when the installation has one |
| KARVDASH_API_URL | the dashboard's REST API | the user's server; services with ``api: true`` |
| KARVDASH_SERVICE | the service's name | a launched service's pods |
| KARVDASH_API_TOKEN | the owner's token for the API only | services with ``api: true`` |

Pure: the values are given; nothing is read from the process environment.
"""

from __future__ import annotations

from . import storage


def environment(
    namespace: str,
    *,
    private_dir: str = storage.PRIVATE.mount_path,
    shared_dir: str = storage.SHARED.mount_path,
    registry: str = "",
    api_url: str = "",
    service: str | None = None,
) -> dict[str, str]:
    env = {
        "KARVDASH_NAMESPACE": namespace,
        "KARVDASH_PRIVATE_DIR": private_dir,
        "KARVDASH_SHARED_DIR": shared_dir,
    }
    if service is not None:
        env["KARVDASH_SERVICE"] = service
    if registry:
        env["KARVDASH_REGISTRY"] = registry
    if api_url:
        env["KARVDASH_API_URL"] = api_url
    return env
