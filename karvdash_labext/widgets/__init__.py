"""Karvdash in a notebook: ipywidgets for the dashboard service's REST API.

    from karvdash_labext.widgets import Dashboard
    Dashboard()

``Dashboard`` (tabs of all of them), ``Services``, ``Launcher``, ``Files`` and ``Images``
each take an optional ``client`` (a :class:`~karvdash_labext.client.KarvdashClient`); in a
user's JupyterLab the kernel's environment (``KARVDASH_API_URL``, ``JUPYTERHUB_API_TOKEN``)
makes one. They call the API through that client only, and the token stays in the kernel.

This subpackage needs ipywidgets; the rest of ``karvdash_labext`` (the client,
karvdashctl) does not import it.
"""

from __future__ import annotations

try:
    import ipywidgets  # noqa: F401
except ImportError as err:  # the laptop's wheel needs only httpx
    raise ImportError(
        "the Karvdash widgets need ipywidgets (and a Jupyter kernel): pip install ipywidgets"
    ) from err

from .dashboard import Dashboard
from .files import Files
from .images import Images
from .launcher import Launcher
from .services import Services

__all__ = ["Dashboard", "Files", "Images", "Launcher", "Services"]
