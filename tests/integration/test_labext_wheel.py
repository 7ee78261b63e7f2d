"""The client side's own distribution (packaging/labext) installs and runs alone: no
hub, no Kubernetes in a clean virtual environment; it ships the package's modules (not the
front end's sources), the prebuilt JupyterLab extension and the server extension's
config where Jupyter finds them. The development venv's JupyterLab sees the extension too
(``make labextension`` links it there)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LABEXT = ROOT / "packaging" / "labext"
HUB_AND_KUBERNETES = ("jupyterhub", "kubernetes", "kubernetes_asyncio", "kubespawner")
LABEXTENSION = "share/jupyter/labextensions/karvdash-labext"
SERVER_CONFIG = "etc/jupyter/jupyter_server_config.d/karvdash_labext.json"


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_the_labext_wheel_installs_alone_in_a_clean_venv_and_runs_karvdashctl(tmp_path):
    pip = [sys.executable, "-m", "pip"]
    quiet = {"capture_output": True, "text": True, "timeout": 120}
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(tmp_path / "dist"), str(LABEXT)], **quiet
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("karvdash_labext-*.whl")
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    version = wheel.name.split("-")[1]
    data = f"karvdash_labext-{version}.data/data"
    assert {n.split("/")[0] for n in names} == {
        "karvdash_labext",
        f"karvdash_labext-{version}.dist-info",
        f"karvdash_labext-{version}.data",
    }
    package = ROOT / "karvdash_labext"
    modules = {
        f"karvdash_labext/{p.relative_to(package).as_posix()}"
        for p in package.rglob("*.py")
        if p.relative_to(package).parts[0] != "lab"
    }
    shipped = {n for n in names if n.startswith("karvdash_labext/")}
    assert modules <= shipped, modules - shipped
    # not the front end's sources nor its node_modules
    assert not [
        n for n in shipped if n.startswith(("karvdash_labext/lab/", "karvdash_labext/labext"))
    ]
    assert f"{data}/{SERVER_CONFIG}" in names
    built = json.loads(archive.read(f"{data}/{LABEXTENSION}/package.json"))
    assert (built["name"], built["version"]) == ("karvdash-labext", version)
    assert f"{data}/{LABEXTENSION}/{built['jupyterlab']['_build']['load']}" in names

    env_dir = tmp_path / "laptop"
    made = subprocess.run([sys.executable, "-m", "venv", env_dir], **quiet)
    assert made.returncode == 0, made.stderr
    bin_dir = env_dir / "bin"
    installed = subprocess.run(
        [bin_dir / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel],
        **quiet,
    )
    assert installed.returncode == 0, installed.stderr
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    helped = subprocess.run([bin_dir / "karvdashctl", "--help"], env=env, **quiet)
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: karvdashctl")
    probe = "import importlib.util as u; print([m for m in %r if u.find_spec(m)])"
    alone = subprocess.run(
        [bin_dir / "python", "-c", probe % (HUB_AND_KUBERNETES,)], env=env, cwd=tmp_path, **quiet
    )
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout.strip() == "[]"
    # where JupyterLab and jupyter_server look for them
    assert json.loads((env_dir / LABEXTENSION / "package.json").read_text())["name"] == (
        "karvdash-labext"
    )
    assert (env_dir / SERVER_CONFIG).is_file()


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_the_development_venvs_jupyterlab_lists_the_extension_enabled_and_ok(tmp_path):
    listed = subprocess.run(
        [Path(sys.executable).parent / "jupyter", "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=100,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout + listed.stderr
    lines = [line for line in out.splitlines() if "karvdash-labext" in line]
    assert lines, f"karvdash-labext is not listed (run 'make labextension'):\n{out}"
    assert "enabled" in lines[0] and "OK" in lines[0] and "v0.1.0" in lines[0], out
