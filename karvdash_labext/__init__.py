"""Karvdash from the user's side: in a user's JupyterLab or on a laptop, every part a client
of the dashboard service's REST API. ``api`` describes the API's operations once,
``client`` sends them (``KarvdashClient``, ``AsyncKarvdashClient``), ``cli`` is karvdashctl,
``serverextension`` serves the API inside the user's Jupyter server (for the JupyterLab
panel, ``lab/``), ``widgets`` are the ipywidgets.

No hub or Kubernetes dependency: this package also ships alone, as the distribution
``karvdash-labext`` (packaging/labext). jupyter_server and ipywidgets are imported only by
the modules that need them, so karvdashctl runs without them."""

__version__ = "0.1.0"


def _jupyter_server_extension_points():
    """jupyter_server finds the extension here (enabled by the config file the package
    installs: etc/jupyter/jupyter_server_config.d/karvdash_labext.json)."""
    from .serverextension import KarvdashExtension

    return [{"module": "karvdash_labext.serverextension", "app": KarvdashExtension}]


def _jupyter_labextension_paths():
    """The prebuilt JupyterLab extension (the side panel) shipped in the package."""
    return [{"src": "labextension", "dest": "karvdash-labext"}]
