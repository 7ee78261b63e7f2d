"""The pure layer: Karvdash's rules as functions of plain data.

No module here does I/O or imports kubernetes, tornado, traitlets or jupyterhub (a unit
test reads their imports): each states the rules it guarantees at its top, and its unit
tests check exactly those rules. The lifecycle classes around them (provisioning,
services, templates, files) only orchestrate these rules and the API.

- :mod:`.names`: every name rule (namespaces, folders, NAME, template ids, host labels);
- :mod:`.storage`: the file domains and their volumes;
- :mod:`.objects`: what a user owns (namespace, service account, bindings, quota, ...);
- :mod:`.template`: parse, validate and render templates;
- :mod:`.policy`: what a rendered template may create, and what is injected;
- :mod:`.exposure`: host names and Ingress decoration;
- :mod:`.status`: a service's status from its objects and events;
- :mod:`.environment`: the KARVDASH_* contract.
"""
