"""``registry/token``: the token endpoint of the users' registry (the Docker registry
token protocol), outside ``api/`` because registry clients, not Karvdash's, call it.

A client the registry sent here asks with HTTP Basic authentication and the scopes it
needs. The credentials are a user name and one of: a JupyterHub API token of that user
(``docker login``, ``skopeo login``, ``podman login``); the user's password, checked by
a login at the hub's login page (its authenticator decides, lockout included); or a
registry credential Karvdash made (a namespace's pull secret: pull only; the dashboard's
push of one upload: that repository only). Requests are ``GET ?service=...&scope=...``
(docker, skopeo, podman), or a form ``POST`` with ``grant_type=password`` (containerd,
so the kubelet's pulls). The hub says whose token it is and whether they are an admin;
:mod:`karvdash_hub.rules.registry`
decides what of the scopes they get, and :class:`~karvdash_hub.registryauth.RegistryAuth`
signs it. No credentials: a token that grants nothing (the registry then refuses). Wrong
credentials: 401, in the registry's error shape.
"""

from __future__ import annotations

import base64
import binascii
import json

from tornado import web

from ...registryauth import RegistryAuth
from ...rules import registry as rules


class RegistryTokenHandler(web.RequestHandler):
    @property
    def auth(self) -> RegistryAuth:
        return self.settings["registry_auth"]

    def check_xsrf_cookie(self):
        """Registry clients post a form without a cookie: nothing to check."""

    def unauthorized(self, message: str) -> None:
        self.set_status(401)
        self.set_header("WWW-Authenticate", 'Basic realm="Karvdash registry"')
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": message}]}))

    def basic(self) -> tuple[str, str] | None:
        header = self.request.headers.get("Authorization", "")
        kind, _, value = header.partition(" ")
        if kind.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return ("", "")
        return user, password

    async def identity(self, credentials) -> rules.Identity | None:
        """Who the credentials are (None: wrong), anonymous without any."""
        if credentials is None:
            return rules.Identity(None)
        user, secret = credentials
        if not user or not secret:
            return None
        if rules.is_credential(secret):
            return self.auth.read_credential(user, secret)
        hub_users = self.settings["hub_users"]
        model = await self.settings["hub_auth"].user_for_token(secret, use_cache=False, sync=False)
        if not model:
            model = await hub_users.password_login(user, secret)
        if not model or model.get("name") != user:
            return None
        return rules.Identity(user, admin=await hub_users.is_admin(model))

    async def answer(self, credentials, scopes: list[str], account: str | None) -> None:
        if self.auth.key_file == "":
            raise web.HTTPError(404)
        try:
            asked = rules.parse_scopes(scopes)
        except rules.RegistryError as err:
            self.set_status(400)
            self.finish({"errors": [{"code": "DENIED", "message": str(err)}]})
            return
        who = await self.identity(credentials)
        if who is None:
            return self.unauthorized(
                "the user name and password or hub token do not match (make a token at /hub/token)"
            )
        if account and who.name and account != who.name:
            return self.unauthorized("the account is not the user of the token")
        access = rules.granted(who, asked)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(self.auth.token(who.name or "", access)))

    async def get(self):
        await self.answer(
            self.basic(),
            self.get_query_arguments("scope"),
            self.get_query_argument("account", None),
        )

    async def post(self):
        """containerd's form: grant_type=password, username, password, scope (spaces)."""
        if self.get_body_argument("grant_type", "password") != "password":
            self.set_status(400)
            self.finish({"error": "unsupported_grant_type"})
            return
        credentials = self.basic()
        if credentials is None and self.get_body_argument("username", None):
            credentials = (
                self.get_body_argument("username"),
                self.get_body_argument("password", ""),
            )
        await self.answer(credentials, self.get_body_arguments("scope"), None)


default_handlers = [(r"registry/token", RegistryTokenHandler)]
