"""What a test does when a part of the system is missing on this machine."""

from __future__ import annotations

import os

import pytest

ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing_part(what: str) -> None:
    """Fail on CI, skip elsewhere: ``what`` names the part and how to get it."""
    if ON_CI:
        pytest.fail(f"missing part on CI: {what}", pytrace=False)
    pytest.skip(f"missing part: {what}")


def need_registry() -> None:
    """The users' registry (the hub starts Debian's docker-registry) and skopeo."""
    import shutil

    if shutil.which("docker-registry") is None or shutil.which("skopeo") is None:
        missing_part("Debian's docker-registry and skopeo (apt-get install docker-registry skopeo)")


def need_image_tools(*more: str) -> None:
    """What building images and running them in namespaces needs: Debian's tools, root."""
    import shutil

    for tool in ("mmdebstrap", "umoci", "skopeo", "unshare", "nsenter", *more):
        if shutil.which(tool) is None:
            missing_part(f"{tool} (apt-get install mmdebstrap umoci skopeo docker-registry)")
    if os.geteuid() != 0:
        missing_part("root (building images and running them in namespaces need it)")


def real_node_with(real_cluster, images: list[str]) -> dict:
    """The real cluster's node.json facts, its registry holding ``images`` (built here
    when missing); a machine without a real node fails on CI and skips elsewhere."""
    info = real_cluster.info
    if info.get("mode") != "real" or not info.get("registry"):
        missing_part(f"a real node with its registry ({info.get('reason', 'no node.json')})")
    from karvdash_localcluster.images import ensure_images

    ensure_images(info["registry"], images, log=lambda _: None)
    return info


def hub_with(tmp_path_factory, kubeconfig, **settings):
    """A HubProcess (the embedded default) with more ``KARVDASH_*`` settings; the proxy
    is needed (npm's configurable-http-proxy)."""
    from support.hub import HubProcess, find_proxy

    if find_proxy() is None:
        missing_part("configurable-http-proxy (npm install)")
    return HubProcess(tmp_path_factory.mktemp("hub"), kubeconfig, environment=settings)
