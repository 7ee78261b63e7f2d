"""The hub image (localcluster/images/hub, the local build of packaging/hub/Containerfile):
the suite's JupyterHub with karvdash_hub, what Zero to JupyterHub's hub needs (uid 1000 in
a writable /srv/jupyterhub, the idle culler), Karvdash's configuration where
helm-values.yaml runs it from, a working configurable-http-proxy (the chart's proxy), and
nothing of the working tree but what the recipe names."""

from __future__ import annotations

import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from karvdash_localcluster import images
from karvdash_localcluster.errors import ClusterError
from support.box import Box
from support.parts import need_image_tools

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hub_image() -> str:
    need_image_tools("npm")
    name = next(n for n in images.recipes() if n.startswith("karvdash/hub:"))
    try:
        images.build_image(images.select([name])[0], log=lambda _: None)
    except ClusterError as err:
        pytest.fail(f"the hub image does not build: {err}")
    return name


#: Zero to JupyterHub's own configuration, the parts Karvdash meets, then the chart's
#: hub.extraConfig as helm-values.yaml has it
CHART_CONFIG = """
c = get_config()
cull = "cull-idle"
c.JupyterHub.services = [{"name": cull, "command": ["python3", "-m", "jupyterhub_idle_culler"]}]
c.JupyterHub.load_roles = [{"name": "culler", "services": [cull], "scopes": ["list:users"]}]
c.JupyterHub.db_url = "sqlite:///jupyterhub.sqlite"
c.JupyterHub.hub_connect_url = "http://hub:8081"
"""


def test_the_hub_image_runs_the_suites_jupyterhub_and_the_proxy(hub_image, tmp_path):
    env = {"CONFIGPROXY_AUTH_TOKEN": "proxy-t0ken"}
    args = ["configurable-http-proxy", "--ip=127.0.0.1", "--port=8000", "--api-ip=127.0.0.1"]
    with Box(hub_image, tmp_path, env=env, args=[*args, "--api-port=8001"]) as box:
        assert box.uid == 1000 and box.cwd == "/srv/jupyterhub"
        assert box.exec("jupyterhub", "--version").stdout.strip() == version("jupyterhub")
        modules = "karvdash_hub, kubespawner, nativeauthenticator, oauthenticator"
        box.exec("python", "-c", f"import {modules}, jupyterhub_idle_culler")
        box.exec("touch", "/srv/jupyterhub/jupyterhub.sqlite")  # the chart's volume: writable
        # the chart's proxy: its API answers with the token, its public port proxies
        box.wait_until(lambda: box.http("/", port=8000)[0] in (404, 503))
        code = (
            "import urllib.request as u; r = u.Request('http://127.0.0.1:8001/api/routes',"
            " headers={'Authorization': 'token proxy-t0ken'}); print(u.urlopen(r).status)"
        )
        assert box.exec("python", "-c", code).stdout.strip() == "200"
        assert box.process_uid() == 1000
        # Karvdash's configuration where hub.extraConfig runs it, on the chart's own
        values = yaml.safe_load((REPO / "helm-values.yaml").read_text())
        config = CHART_CONFIG + "\n".join(values["hub"]["extraConfig"].values())
        (box.root / "tmp" / "z2jh.py").write_text(config)
        check = textwrap.dedent("""
            from traitlets.config.loader import PyFileConfigLoader
            c = PyFileConfigLoader("z2jh.py", path="/tmp").load_config()
            print(sorted(s["name"] for s in c.JupyterHub.services))
            print(c.JupyterHub.hub_connect_url, c.JupyterHub.db_url)
        """)
        settings = {
            "KARVDASH_MODE": "kubernetes",
            "POD_NAMESPACE": "karvdash",
            "KARVDASH_STATE_DIR": "/srv/jupyterhub",
            "KARVDASH_PRIVATE_VOLUME": values["hub"]["extraEnv"]["KARVDASH_PRIVATE_VOLUME"],
            "KARVDASH_SHARED_VOLUME": values["hub"]["extraEnv"]["KARVDASH_SHARED_VOLUME"],
        }
        out = box.exec("env", *(f"{k}={v}" for k, v in settings.items()), "python", "-c", check)
        services, urls = out.stdout.strip().splitlines()
        assert services == "['cull-idle', 'karvdash']"
        assert urls == "http://hub.karvdash.svc.cluster.local:8081 sqlite:///jupyterhub.sqlite"
        assert box.stop() == 2  # configurable-http-proxy's exit on SIGTERM ("Terminated")
        assert "Terminated" in box.output()
    # nothing of a working tree: no venv, state, git, tests, TypeScript or cluster of it;
    # the package only where pip put it
    leaked = [
        p
        for name in (".venv", ".karvdash", ".git", "karvdash_labext/lab", "localcluster", "tests")
        for p in box.root.glob(f"**/{name}")
        if not str(p).startswith(str(box.root / "opt" / "hub" / "lib"))
        and not str(p).startswith(str(box.root / "usr" / "lib"))
    ]
    assert leaked == []
    packages = [p.relative_to(box.root) for p in box.root.glob("**/karvdash_hub")]
    assert [str(p) for p in packages] == ["opt/hub/lib/python3.11/site-packages/karvdash_hub"]
    assert not list((box.root / "srv" / "jupyterhub").glob("*secret*"))
