"""The identity service's endpoints. The protocol's answers (and errors) are authlib's;
these handlers only pass tornado's request to it and write back its ``(status, body,
headers)``. The authorization endpoint is a page behind the hub's login (HubOAuth): a
visitor logged in to the hub is not asked again, another goes through the hub's login
and comes back to the same request. A request naming an unknown client or a redirect URI
that is not registered gets an error page, never a redirect."""

from __future__ import annotations

import json
import time

from authlib.oauth2.rfc6749.errors import OAuth2Error
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.escape import xhtml_escape

from ...rules import oidc as rules
from ..base import AppHubOAuth, OAuthCallbackHandler
from .server import Provider

#: the secure cookie that says when the visitor last came back from the hub's login
AUTH_TIME_COOKIE = "karvdash-identity-auth-time"

ERROR_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Sign-in request refused</title></head>
<body><h1>This sign-in request cannot be served</h1>
<p>{message}</p>
<p>The application that sent you here is not registered with this identity service as
it asked, so you are not sent back to it. Tell its administrator.</p></body></html>
"""


class ProtocolHandler(web.RequestHandler):
    @property
    def provider(self) -> Provider:
        return self.settings["provider"]

    def check_xsrf_cookie(self):
        pass  # clients authenticate themselves (secret, PKCE, bearer token)

    def answer(self, response) -> None:
        status, body, headers = response
        self.set_status(status)
        for name, value in headers:
            self.set_header(name, value)
        if isinstance(body, dict | list):
            self.set_header("Content-Type", "application/json")
            body = json.dumps(body)
        self.finish(body or "")

    def reply(self, data: dict) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Access-Control-Allow-Origin", "*")
        self.finish(json.dumps(data))


class DiscoveryHandler(ProtocolHandler):
    def get(self):
        issuer = self.provider.issuer
        self.reply(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "userinfo_endpoint": f"{issuer}/userinfo",
                "jwks_uri": f"{issuer}/jwks",
                "revocation_endpoint": f"{issuer}/revoke",
                "end_session_endpoint": f"{issuer}/end-session",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": list(rules.SCOPES),
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                    "none",
                ],
                "code_challenge_methods_supported": list(rules.PKCE_METHODS),
                "claims_supported": [
                    "iss",
                    "sub",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "nonce",
                    "preferred_username",
                    "name",
                    "email",
                    "groups",
                    "karvdash_admin",
                ],
            }
        )


class JwksHandler(ProtocolHandler):
    def get(self):
        self.reply(self.provider.keys.public_jwks())


class AuthorizeHandler(AppHubOAuth, ProtocolHandler):
    async def get(self):
        try:
            request, grant = self.provider.check_authorization(self.request)
        except OAuth2Error as error:
            if not getattr(error, "redirect_uri", None):
                self.set_status(400)
                message = error.description or error.error
                self.finish(ERROR_PAGE.format(message=xhtml_escape(message)))
                return
            self.answer(self.provider.handle_error_response(None, error))
            return
        if self.current_user is None:
            # the hub's login, then back here (HubOAuth keeps this URL in its state)
            self.redirect(self.get_login_url())
            return
        model = await self.settings["hub_users"].get(self.current_user["name"], fresh=True)
        if model is None:
            raise web.HTTPError(403, "this hub user does not exist any more")
        auth_time = self.get_secure_cookie(AUTH_TIME_COOKIE, max_age_days=31)
        when = int(auth_time or time.time())
        self.answer(self.provider.authorize(request, grant, model, when))

    post = get


class TokenHandler(ProtocolHandler):
    def post(self):
        self.answer(self.provider.create_token_response(self.request))


class UserInfoHandler(ProtocolHandler):
    def get(self):
        self.answer(self.provider.create_endpoint_response("userinfo", self.request))

    post = get


class RevokeHandler(ProtocolHandler):
    def post(self):
        self.answer(self.provider.create_endpoint_response("revocation", self.request))


class EndSessionHandler(AppHubOAuth, ProtocolHandler):
    """Logs the visitor out of this service and of the hub (the hub's logout page)."""

    def get(self):
        self.hub_auth.clear_cookie(self)
        self.clear_cookie(AUTH_TIME_COOKIE)
        self.redirect(url_path_join(self.hub_auth.hub_prefix, "logout"))


class IdentityCallbackHandler(OAuthCallbackHandler):
    """The end of the hub's login: notes when it happened (``auth_time``)."""

    async def get(self):
        self.set_secure_cookie(
            AUTH_TIME_COOKIE, str(int(time.time())), httponly=True, path=self.settings["prefix"]
        )
        await super().get()


def default_handlers(prefix: str) -> list[tuple]:
    def at(path):
        return url_path_join(prefix, path)

    return [
        (at("oauth_callback"), IdentityCallbackHandler),
        (at(".well-known/openid-configuration"), DiscoveryHandler),
        (at("jwks"), JwksHandler),
        (at("authorize"), AuthorizeHandler),
        (at("token"), TokenHandler),
        (at("userinfo"), UserInfoHandler),
        (at("revoke"), RevokeHandler),
        (at("end-session"), EndSessionHandler),
    ]
