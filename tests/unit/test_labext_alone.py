"""karvdash_labext stands alone: no hub, no Kubernetes, and a distribution of its own
(packaging/labext) that installs it, with karvdashctl, on a laptop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from karvdash_labext import cli

ROOT = Path(__file__).resolve().parents[2]
LABEXT = ROOT / "packaging" / "labext"
HUB_AND_KUBERNETES = ("jupyterhub", "kubernetes", "kubernetes_asyncio", "kubespawner")

# runs in a fresh interpreter: importing any of them now fails
WITHOUT = f"import sys\nfor name in {HUB_AND_KUBERNETES!r}:\n    sys.modules[name] = None\n"


def python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": "/nonexistent"}
    for name in ("KARVDASH_API_URL", "KARVDASH_API_TOKEN", "JUPYTERHUB_API_TOKEN"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", WITHOUT + code],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )


def test_the_client_and_cli_import_with_neither_the_hub_nor_kubernetes():
    r = python(
        "import karvdash_labext.client, karvdash_labext.cli\n"
        "import json\n"
        "print(json.dumps(sorted({m.split('.')[0] for m, v in sys.modules.items() if v})))\n"
    )
    assert r.returncode == 0, r.stderr
    loaded = set(json.loads(r.stdout))
    assert not loaded & {*HUB_AND_KUBERNETES, "karvdash_hub", "kubespawner", "tornado"}


def test_the_blocked_imports_really_fail_in_that_interpreter():
    r = python("import jupyterhub\n")
    assert r.returncode != 0 and "ModuleNotFoundError" in r.stderr


def test_karvdashctl_help_runs_with_neither_the_hub_nor_kubernetes():
    r = python("from karvdash_labext.cli import main\nsys.exit(main(['--help']))\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: karvdashctl")
    assert all(name in r.stdout for name in cli.COMMANDS)


def test_karvdashctl_without_a_url_says_what_to_set_and_exits_1():
    r = python("from karvdash_labext.cli import main\nsys.exit(main(['list_services']))\n")
    assert r.returncode == 1
    assert r.stderr.startswith("karvdashctl: where is Karvdash? Set KARVDASH_API_URL")


def test_the_labext_distribution_has_the_repositorys_version_and_the_same_script():
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    labext = tomllib.loads((LABEXT / "pyproject.toml").read_text())["project"]
    assert labext["name"] == "karvdash-labext"
    assert labext["version"] == root["version"]
    assert labext["scripts"] == {"karvdashctl": root["scripts"]["karvdashctl"]}
    needed = {d.split(">")[0].split("<")[0].split("=")[0].strip() for d in labext["dependencies"]}
    assert not needed & {*HUB_AND_KUBERNETES, "jupyterhub-kubespawner", "requests", "tornado"}
