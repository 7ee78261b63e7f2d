"""What loads into the JupyterHub process: the authenticators (:mod:`.accounts`), the
spawners (:mod:`.spawner`, :mod:`.localspawner`), the hub's own pages
(:mod:`.handlers`) and their page templates (``templates/``, added to
``JupyterHub.template_paths``)."""

from pathlib import Path

#: Jinja templates that extend JupyterHub's pages (add to JupyterHub.template_paths)
TEMPLATES = str(Path(__file__).parent / "templates")
