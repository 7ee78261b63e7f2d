"""Karvdash from the user's side: in a user's JupyterLab or on a laptop, every part a client
of the dashboard service's REST API. ``api`` describes the API's operations once,
``client`` sends them (``KarvdashClient``, ``AsyncKarvdashClient``), ``cli`` is karvdashctl.

No hub or Kubernetes dependency: this package also ships alone, as the distribution
``karvdash-labext`` (packaging/labext)."""
