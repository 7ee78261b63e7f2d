"""Karvdash's hub side: name rules, storage layout, provisioning of user namespaces,
the spawners, accounts and the local control plane launcher."""

from pathlib import Path

__version__ = "0.1.0"

#: Jinja templates that extend JupyterHub's pages (add to JupyterHub.template_paths)
TEMPLATES = str(Path(__file__).parent / "templates")

#: Kubernetes manifests an installation applies (the hub's cluster-wide permissions)
REPO_MANIFESTS = Path(__file__).parent / "manifests"
