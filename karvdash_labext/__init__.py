"""Karvdash inside the user's JupyterLab: a jupyter_server extension and ipywidgets,
both clients of the dashboard service's REST API."""
