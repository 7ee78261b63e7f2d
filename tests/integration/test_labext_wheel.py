"""The client side's own distribution (packaging/labext) installs and runs alone: no
hub, no Kubernetes in a clean virtual environment."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LABEXT = ROOT / "packaging" / "labext"
HUB_AND_KUBERNETES = ("jupyterhub", "kubernetes", "kubernetes_asyncio", "kubespawner")


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
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {
        "karvdash_labext",
        f"karvdash_labext-{wheel.name.split('-')[1]}.dist-info",
    }
    shipped = {n for n in names if n.startswith("karvdash_labext/")}
    assert shipped == {f"karvdash_labext/{p.name}" for p in (ROOT / "karvdash_labext").glob("*.py")}

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
