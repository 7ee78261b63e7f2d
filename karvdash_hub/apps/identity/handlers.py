"""The identity service's endpoints. The protocol's answers (and errors) are authlib's;
these handlers only pass tornado's request to it and write back its ``(status, body,
headers)``. The authorization endpoint is a page behind the hub's login (HubOAuth): a
visitor logged in to the hub is not asked again, another goes through the hub's login
and comes back to the same request. A request naming an unknown or disabled client or a
redirect URI that is not registered gets an error page, never a redirect.

Consent: the first time an application asks for a user's identity (or for more of it
than before), the user is shown what it will learn and chooses Allow or Deny (a form
posted back to the same request, with the hub's XSRF token); an application an admin
marked trusted is not asked about. The hub is the judge of who exists: before a refresh
and a userinfo request, the hub is asked about the token's user, and the tokens of an
account that was deleted (or deleted and made again) are revoked."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749.errors import OAuth2Error
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.escape import xhtml_escape

from ... import site
from ...errors import ApiError
from ...identitystore import account_of
from ...rules import csp
from ...rules import oidc as rules
from ..base import AppHubOAuth, OAuthCallbackHandler
from .server import Provider

#: what each scope tells an application, in the consent page's words
SCOPE_WORDS = {
    "profile": "your user name, and whether you are an administrator",
    "email": "your email address, if the hub knows it",
    "groups": "the groups you belong to",
}

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
                "grant_types_supported": ["authorization_code", "refresh_token"],
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
    def refuse(self, message: str) -> None:
        self.set_status(400)
        self.finish(ERROR_PAGE.format(message=xhtml_escape(message)))

    async def get(self):
        named = self.provider.lookup_client(self.get_argument("client_id", None))
        if named is not None and named.disabled:
            self.refuse(f"The application '{named.name}' has been disabled by an administrator.")
            return
        try:
            request, grant = self.provider.check_authorization(self.request)
        except OAuth2Error as error:
            if not getattr(error, "redirect_uri", None):
                self.refuse(error.description or error.error)
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
        client = request.client.client
        scope = request.scope or ""
        store = self.provider.store
        if not client.trusted and not store.consented(model, client.client_id, scope):
            decision = self.get_body_argument("consent", None)
            if decision == "deny":
                self.answer(self.provider.authorize(request, grant, None))
                return
            if decision != "allow":
                self.consent_page(model, client, scope, request.redirect_uri)
                return
            store.consent(model, client.client_id, scope)
        auth_time = self.get_secure_cookie(AUTH_TIME_COOKIE, max_age_days=31)
        when = int(auth_time or time.time())
        self.answer(self.provider.authorize(request, grant, model, when))

    post = get

    def consent_page(self, user: dict, client: rules.Client, scope: str, redirect_uri: str):
        renderer = self.settings["renderer"]
        xsrf = self.xsrf_token.decode("ascii")
        page_user = site.PageUser(user["name"], bool(user.get("admin")))
        target = urlsplit(redirect_uri)
        html = renderer.render(
            "karvdash-consent.html",
            {
                **renderer.namespace(page_user, xsrf, ""),
                "page_title": f"Sign in to {client.name}",
                "client_name": client.name,
                "shared": [words for s, words in SCOPE_WORDS.items() if s in scope.split()],
                "destination": target.netloc,
                "action": self.request.uri,
            },
        )
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        # the answer to the form is a redirect to the application: allowed as a target
        origin = f"{target.scheme}://{target.netloc}"
        self.set_header("Content-Security-Policy", csp.policy(html, form_targets=[origin]))
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")
        self.finish(html)


class AccountCheck(ProtocolHandler):
    async def still_exists(self, record) -> bool:
        """Whether the account a token was issued to still exists (else its family is
        revoked); the hub's current model of it is kept for the claims."""
        try:
            model = await self.settings["hub_users"].get(record.user_name, fresh=True)
        except ApiError:
            self.set_status(503)
            self.reply({"error": "temporarily_unavailable", "error_description": "no hub"})
            return False
        store = self.provider.store
        if model is None or account_of(model) != account_of(record.user):
            store.revoke_family(record.family)
        else:
            store.update_user(record.family, model)
        return True


class TokenHandler(AccountCheck):
    async def post(self):
        if self.get_body_argument("grant_type", None) == "refresh_token":
            token = self.get_body_argument("refresh_token", "")
            record = token and self.provider.store.by_refresh_token(token)
            if record and record.state == "active" and not await self.still_exists(record):
                return
        self.answer(self.provider.create_token_response(self.request))


class UserInfoHandler(AccountCheck):
    async def get(self):
        kind, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if kind.lower() == "bearer" and token:
            record = self.provider.store.by_access_token(token.strip())
            if record and record.state != "revoked" and not await self.still_exists(record):
                return
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
