"""A Python client of the dashboard service's REST API, and the base of karvdashctl.

Where it finds the API and a token, first match wins:

- arguments (``KarvdashClient(url=..., token=...)``, or ``--url``/``--token``);
- the environment: ``KARVDASH_API_URL`` (set by the spawner in every user server),
  ``KARVDASH_API_TOKEN``, else ``JUPYTERHUB_API_TOKEN`` (the server's own token, which
  the hub allows to call the dashboard service as its owner);
- the config file ``$XDG_CONFIG_HOME/karvdash/config.json`` (``~/.config/...``):
  ``{"url": "https://lab.example.org/services/karvdash/api/", "token": "..."}``, for a
  laptop (create a token at ``/hub/token``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

import requests


class KarvdashError(Exception):
    """An error answered by the API (or the connection): status, reason, message."""

    def __init__(self, status: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message
        self.details = details or {}

    def __str__(self):
        return f"{self.message} ({self.status} {self.reason})"


def config_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "karvdash" / "config.json"


def _from_file() -> dict:
    try:
        data = json.loads(config_file().read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class KarvdashClient:
    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 60):
        saved = _from_file()
        self.url = url or os.environ.get("KARVDASH_API_URL") or saved.get("url")
        self.token = (
            token
            or os.environ.get("KARVDASH_API_TOKEN")
            or os.environ.get("JUPYTERHUB_API_TOKEN")
            or saved.get("token")
        )
        if not self.url:
            raise KarvdashError(
                0,
                "no-url",
                f"where is Karvdash? Set KARVDASH_API_URL, pass --url, or write {config_file()}",
            )
        if not self.token:
            raise KarvdashError(
                0,
                "no-token",
                "no token: create one at /hub/token and pass --token or set KARVDASH_API_TOKEN",
            )
        self.url = self.url.rstrip("/") + "/"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {self.token}"

    def _call(self, method, path, *, user=None, json_body=None, data=None, headers=None, raw=False):
        params = {"user": user} if user else None
        try:
            r = self.session.request(
                method,
                self.url + path,
                params=params,
                json=json_body,
                data=data,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as err:
            raise KarvdashError(0, "unreachable", f"cannot reach {self.url}: {err}") from None
        if r.status_code >= 400:
            try:
                body = r.json()
                raise KarvdashError(
                    body.get("status", r.status_code),
                    body.get("reason", "error"),
                    body.get("message", r.text),
                    {k: v for k, v in body.items() if k not in ("status", "reason", "message")},
                )
            except ValueError:
                raise KarvdashError(r.status_code, "error", r.text[:500] or r.reason) from None
        if raw:
            return r.text
        return r.json() if r.content else None

    # -- the operations (one per API operation)

    def whoami(self) -> dict:
        return self._call("GET", "user")

    def list_services(self, user: str | None = None) -> list[dict]:
        return self._call("GET", "services", user=user)

    def create_service(
        self, template: str, variables: dict | None = None, user: str | None = None
    ) -> dict:
        body = {"template": template, "variables": variables or {}}
        if user:
            body["user"] = user
        return self._call("POST", "services", json_body=body)

    def delete_service(self, name: str, user: str | None = None) -> dict:
        return self._call("DELETE", f"services/{quote(name, safe='')}", user=user)

    def list_templates(self, user: str | None = None) -> list[dict]:
        return self._call("GET", "templates", user=user)

    def add_template(
        self, text: str, template_id: str | None = None, user: str | None = None
    ) -> dict:
        body = {"data": text}
        if template_id:
            body["id"] = template_id
        if user:
            body["user"] = user
        return self._call("POST", "templates", json_body=body)

    def get_template(self, template_id: str, user: str | None = None) -> str:
        return self._call("GET", f"templates/{quote(template_id, safe='')}", user=user, raw=True)

    def remove_template(self, template_id: str, user: str | None = None) -> None:
        self._call("DELETE", f"templates/{quote(template_id, safe='')}", user=user)
