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
