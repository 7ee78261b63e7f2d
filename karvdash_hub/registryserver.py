"""``python -m karvdash_hub.registryserver``: the users' registry of the embedded default.

The hub starts it as one of its managed services (``jupyterhub_config.py``, local mode),
so it starts and stops with the hub. It writes the configuration of Distribution (Debian's
``docker-registry`` 2.8) and then becomes that process (``exec``: signals reach the
registry itself):

- it listens on ``--address`` (loopback) and keeps its blobs in ``--storage``;
- token authentication: clients are sent to the dashboard's ``registry/token`` (``--realm``)
  and the registry trusts only tokens signed by the key whose certificate is ``--cert``
  (:class:`~karvdash_hub.registryauth.RegistryAuth`, made here if the hub has not made it
  yet), for ``--service`` from ``--issuer``;
- deletion of manifests is enabled (the dashboard's DELETE images/...); space comes back
  with the registry's garbage collection (docs/technical-overview.md says how and when).

In a cluster the registry is a Deployment of its own with the same settings (the
configuration keys of :func:`config`), not this module.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
from pathlib import Path

from . import lifecycle
from .registryauth import RegistryAuth


def config(address: str, storage: str, realm: str, service: str, issuer: str, cert: str) -> dict:
    """Distribution's configuration (version 0.1) for the users' registry."""
    return {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "fields": {"service": "karvdash-registry"}},
        "storage": {
            "filesystem": {"rootdirectory": storage},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
        },
        "auth": {
            "token": {"realm": realm, "service": service, "issuer": issuer, "rootcertbundle": cert}
        },
        "http": {
            "addr": address,
            "secret": secrets.token_hex(16),
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
        "health": {"storagedriver": {"enabled": True, "interval": "10s", "threshold": 3}},
    }


def binary() -> str | None:
    """Debian's ``docker-registry`` (or ``registry``, Distribution's own name), if any."""
    return shutil.which("docker-registry") or shutil.which("registry")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m karvdash_hub.registryserver")
    parser.add_argument("--address", required=True, help="host:port to listen on")
    parser.add_argument("--storage", required=True, help="folder of the registry's data")
    parser.add_argument("--config-file", required=True, help="where to write its configuration")
    parser.add_argument("--realm", required=True, help="URL of the dashboard's token endpoint")
    parser.add_argument("--key-file", required=True, help="RegistryAuth.key_file")
    parser.add_argument("--service", default="karvdash-registry")
    parser.add_argument("--issuer", default="karvdash")
    args = parser.parse_args(argv)
    found = binary()
    if found is None:
        sys.exit(
            "karvdash registry: Debian's docker-registry is not installed"
            " (apt-get install docker-registry); the hub runs without a registry"
        )
    auth = RegistryAuth(key_file=args.key_file, service=args.service, issuer=args.issuer)
    auth.ensure_keys()
    Path(args.storage).mkdir(parents=True, exist_ok=True)
    settings = config(
        args.address,
        str(Path(args.storage).resolve()),
        args.realm,
        args.service,
        args.issuer,
        str(auth.cert_file.resolve()),
    )
    path = Path(args.config_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")
    os.chmod(path, 0o600)  # it holds the registry's HTTP secret
    # REGISTRY_* variables would override the file
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    sys.stdout.flush()
    lifecycle.die_with_parent()  # docker-registry stops when the hub dies
    os.execve(found, [found, "serve", str(path)], env)


if __name__ == "__main__":
    main()
