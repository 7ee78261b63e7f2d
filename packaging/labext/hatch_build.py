"""The karvdash-labext wheel's build hook: what the wheel holds from the repository's
root.

- the package ``karvdash_labext`` (two folders up): its files, without the front end's
  sources and build (``lab/``: TypeScript, node_modules) and without byte code;
- the prebuilt JupyterLab extension (``karvdash_labext/labextension``, written by
  ``make labextension``) as shared data, at
  ``share/jupyter/labextensions/karvdash-labext/``, where JupyterLab finds it.

A wheel without the extension, or with one built for another version, is refused with
what to run: a single-user image built from it would have no Karvdash panel.
"""

from __future__ import annotations

import json
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: folders of the package that are not part of it (sources and outputs of the front end)
NOT_SHIPPED = {"lab", "labextension", "__pycache__"}
LABEXTENSION = "share/jupyter/labextensions/karvdash-labext"


class LabextBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        package = (Path(self.root) / ".." / ".." / "karvdash_labext").resolve()
        prebuilt = package / "labextension"
        built = prebuilt / "package.json"
        if not built.is_file():
            raise RuntimeError(
                f"the prebuilt JupyterLab extension is missing ({built} does not exist):"
                " run 'make labextension' in the repository first (it builds"
                " karvdash_labext/lab into karvdash_labext/labextension)"
            )
        built_version = json.loads(built.read_text()).get("version")
        if built_version != self.metadata.version:
            raise RuntimeError(
                f"the prebuilt JupyterLab extension is version {built_version}, the wheel"
                f" {self.metadata.version}: run 'make labextension' to build it again"
            )
        for path in sorted(package.rglob("*")):
            relative = path.relative_to(package)
            if path.is_dir() or NOT_SHIPPED & set(relative.parts) or path.suffix == ".pyc":
                continue
            build_data["force_include"][str(path)] = f"karvdash_labext/{relative.as_posix()}"
        # file by file: with bypass-selection, hatchling would leave out a folder's files
        for path in sorted(p for p in prebuilt.rglob("*") if p.is_file()):
            target = f"{LABEXTENSION}/{path.relative_to(prebuilt).as_posix()}"
            build_data["shared_data"][str(path)] = target
