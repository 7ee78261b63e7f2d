"""The layout's own rules: the pure layer stays pure, modules stay small, and test
modules do not import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "karvdash_hub"
#: what a rules module may import besides the standard library's pure modules
PURE_THIRD_PARTY = {"yaml", "kubespawner.slugs"}
#: standard modules that do I/O, run things or talk to the network
IMPURE_STDLIB = {
    "asyncio",
    "os",
    "shutil",
    "socket",
    "subprocess",
    "threading",
    "urllib.request",
    "http",
    "tempfile",
    "io",
}
FORBIDDEN = ("kubernetes", "kubernetes_asyncio", "tornado", "traitlets", "jupyterhub", "aiohttp")


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add(node.module)
    return found


RULES = sorted((PACKAGE / "rules").glob("*.py"))


@pytest.mark.parametrize("module", RULES, ids=lambda p: p.name)
def test_a_rules_module_imports_no_io_and_no_framework(module):
    for name in imports(module):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{module.name} imports {name}"
        assert name not in IMPURE_STDLIB and top not in IMPURE_STDLIB, f"{module.name}: {name}"
        if top in {"yaml", "kubespawner"}:
            assert name in PURE_THIRD_PARTY, f"{module.name} imports {name}"


@pytest.mark.parametrize("module", RULES, ids=lambda p: p.name)
def test_a_rules_module_states_its_rules_at_its_top(module):
    doc = ast.get_docstring(ast.parse(module.read_text())) or ""
    assert "pure" in doc.lower() or "Rules guaranteed" in doc, module.name


def test_the_checker_finds_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from kubernetes_asyncio.client import ApiException\nimport os\n")
    assert {"kubernetes_asyncio.client", "os"} <= imports(bad)


def test_no_module_is_over_400_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for folder in (PACKAGE, ROOT / "karvdash_labext", ROOT / "localcluster")
        for p in folder.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


def test_no_test_module_imports_another():
    tests = ROOT / "tests"
    modules = {p.stem for p in tests.rglob("test_*.py")}
    for path in tests.rglob("*.py"):
        for name in imports(path):
            assert name.split(".")[0] not in modules, f"{path.name} imports {name}"
        tree = ast.parse(path.read_text())
        relative = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
        assert not relative, f"{path.name} imports relatively"


def test_the_local_cluster_is_not_part_of_the_product():
    assert not (PACKAGE / "localcluster.py").exists()
    for path in PACKAGE.rglob("*.py"):
        assert not any("localcluster" in n for n in imports(path)), path.name
