"""The dashboard service: a JupyterHub-managed service named ``karvdash`` whose REST API
(under ``/services/karvdash/api/``) is the one place where every user operation exists."""
