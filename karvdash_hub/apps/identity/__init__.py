"""The identity service: an OpenID Connect provider (a JupyterHub-managed service named
``identity``) whose only login is the hub's, for the installation's other applications."""
