"""Karvdash's hub side, by where code runs (see docs/technical-overview.md):

- :mod:`.rules`: pure rules (names, storage, objects, templates, policy, exposure,
  status, environment), no I/O;
- :mod:`.kube`: the Kubernetes API client and small operations;
- lifecycle classes that orchestrate them: :mod:`.provisioning`, :mod:`.userfiles`,
  :mod:`.templatestore`, :mod:`.services`, :mod:`.inspection`, and
  :mod:`.installation` (the facts every process shares);
- what every page shares: :mod:`.branding` (``c.Branding``) and :mod:`.site` (the
  navigation), with the pages' scripts and styles in ``static/``;
- :mod:`.hub`: what loads into JupyterHub (authenticators, spawners, pages);
- :mod:`.apps`: JupyterHub services as their own processes (the dashboard).
"""

from pathlib import Path

__version__ = "0.1.0"

#: Jinja templates that extend JupyterHub's pages (add to JupyterHub.template_paths)
TEMPLATES = str(Path(__file__).parent / "hub" / "templates")

#: Kubernetes manifests an installation applies (the hub's cluster-wide permissions)
REPO_MANIFESTS = Path(__file__).parent / "manifests"
