"""The OpenID Connect provider on authlib: its AuthorizationServer with the authorization
code grant, PKCE (S256 only), OpenID Connect's ID token, userinfo and revocation, and the
adapter that lets it read tornado's requests (authlib integrates Flask and Django only).

What is kept where: clients come from the configuration (checked at start by
:mod:`karvdash_hub.rules.oidc`) and from the store, where admins register them
(:mod:`karvdash_hub.identitystore`, read at each request: a disabled client stops at
once); access and refresh tokens (as hashes) and consents are in the store;
authorization codes (single use, bound to the client, the redirect URI, the PKCE
challenge and the nonce) live a minute in memory, so a restart of the service drops only
the codes in flight. Refresh tokens rotate at each use (:class:`RefreshGrant`).
"""

from __future__ import annotations

import secrets
import time

from authlib.oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, UserInfoEndpoint
from tornado.httputil import HTTPServerRequest

from ...identitystore import IdentityStore
from ...rules import oidc as rules
from .keys import KeyStore
from .models import Client, Code, Token, TornadoOAuth2Request


class Provider(AuthorizationServer):
    """The authorization server: clients (configured, and registered by admins in the
    store), codes (in memory), tokens (in the store), keys, claims."""

    def __init__(
        self,
        issuer: str,
        clients: dict[str, rules.Client],
        keys: KeyStore,
        subject_secret: bytes,
        store: IdentityStore,
        code_lifetime: float = 60,
        id_token_lifetime: int = 300,
        access_token_lifetime: int = 3600,
        refresh_token_lifetime: int = 30 * 86400,
    ):
        super().__init__(scopes_supported=list(rules.SCOPES))
        self.issuer = issuer
        store.sync_configured(clients)
        self.keys = keys
        self.subject_secret = subject_secret
        self.store = store
        self.code_lifetime = code_lifetime
        self.id_token_lifetime = id_token_lifetime
        self.access_token_lifetime = access_token_lifetime
        self.refresh_token_lifetime = refresh_token_lifetime
        self.codes: dict[str, Code] = {}
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: secrets.token_urlsafe(32),
                refresh_token_generator=lambda **_: secrets.token_urlsafe(32),
                expires_generator=access_token_lifetime,
            ),
        )
        self.register_grant(CodeGrant, [S256Challenge(required=True), IdToken(self)])
        self.register_grant(RefreshGrant)
        protector = ResourceProtector()
        protector.register_token_validator(TokenValidator(self))
        self.register_endpoint(UserInfo(self, protector))
        self.register_endpoint(Revocation(self))

    # -- authlib's hooks for a framework ---------------------------------------------
    def query_client(self, client_id):
        found = self.lookup_client(client_id)
        return Client(found) if found and not found.disabled else None

    def save_token(self, token, request):
        parent = getattr(request, "refresh_token", None)
        self.store.save_tokens(
            token["access_token"],
            token.get("refresh_token"),
            parent.record.family if isinstance(parent, Token) else secrets.token_hex(16),
            request.client.get_client_id(),
            request.user,
            token.get("scope", ""),
            self.access_token_lifetime,
            self.refresh_token_lifetime,
        )

    def create_oauth2_request(self, request):
        if isinstance(request, OAuth2Request):
            return request
        return TornadoOAuth2Request(request)

    def handle_response(self, status, body, headers):
        return status, body, headers

    def send_signal(self, name, *args, **kwargs):
        pass

    # -- ours -------------------------------------------------------------------------
    def lookup_client(self, client_id: str | None) -> rules.Client | None:
        """A configured or registered client, disabled ones included."""
        if not isinstance(client_id, str):
            return None
        return self.store.client(client_id)

    def access_token(self, token_string: str) -> Token | None:
        """A token for userinfo: ours, of a client that still serves."""
        record = self.store.by_access_token(token_string)
        if record is None or self.query_client(record.client_id) is None:
            return None
        return Token(record, "access")

    def check_authorization(self, request: HTTPServerRequest):
        """The authorization request and its grant, checked (client, redirect URI, PKCE,
        scope, nonce) before anyone logs in; raises authlib's OAuth2Error, whose
        ``redirect_uri`` is set only when the client and its redirect URI are known."""
        oauth_request = self.create_oauth2_request(request)
        try:
            grant = self.get_authorization_grant(oauth_request)
            grant.validate_authorization_request()
        except OAuth2Error as error:
            error.state = oauth_request.payload.state
            raise
        return oauth_request, grant

    def authorize(self, oauth_request, grant, user: dict | None, auth_time: int = 0):
        """The answer (a redirect with a code, or the protocol's error) for ``user``;
        None: the user said no (``access_denied``)."""
        grant_user = None if user is None else {"model": user, "auth_time": auth_time}
        return self.create_authorization_response(
            request=oauth_request, grant_user=grant_user, grant=grant
        )

    def subject(self, user: dict) -> str:
        return rules.subject(self.subject_secret, user["name"], str(user.get("created", "")))

    def claims(self, user: dict, scope: str) -> dict:
        return rules.user_claims(user, self.subject(user), scope.split())

    def forget_expired(self) -> None:
        now = time.time()
        for code in [c for c, v in self.codes.items() if v.expires_at <= now]:
            self.codes.pop(code, None)


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code, request):
        data = request.payload.data
        provider: Provider = self.server
        provider.forget_expired()
        provider.codes[code] = Code(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            user=request.user["model"],
            nonce=data.get("nonce"),
            auth_time=request.user["auth_time"],
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            expires_at=time.time() + provider.code_lifetime,
        )

    def query_authorization_code(self, code, client):
        # single use: taken out at the first attempt to exchange it, whatever the outcome
        found = self.server.codes.pop(code, None)
        if found and found.client_id == client.get_client_id() and found.expires_at > time.time():
            return found
        return None

    def delete_authorization_code(self, authorization_code):
        self.server.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code):
        return authorization_code.user


class RefreshGrant(grants.RefreshTokenGrant):
    """Refresh tokens rotate: each is used once, and the new one replaces it. One used
    again (a copy) revokes every token of its authorization."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        store = self.server.store
        record = store.by_refresh_token(refresh_token)
        if record is None:
            return None
        if record.state == "rotated":
            store.revoke_family(record.family)
            return None
        if not record.refresh_valid(time.time()):
            return None
        return Token(record, "refresh")

    def authenticate_user(self, refresh_token):
        return refresh_token.get_user()

    def revoke_old_credential(self, refresh_token):
        self.server.store.mark(refresh_token.record, "rotated")


class S256Challenge(CodeChallenge):
    """PKCE with S256 only; a public client must use it."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = list(rules.PKCE_METHODS)

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        client = grant.request.client
        if client is not None and client.client.public and not data.get("code_challenge"):
            raise InvalidRequestError("A public client must send 'code_challenge' (PKCE, S256).")
        super().validate_code_challenge(grant, redirect_uri)


class IdToken(OpenIDCode):
    def __init__(self, provider: Provider):
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce, request):
        client_id = request.payload.client_id
        return any(
            c.nonce == nonce and c.client_id == client_id for c in self.provider.codes.values()
        )

    def resolve_client_private_key(self, client):
        return self.provider.keys.signing_key()

    def get_client_algorithm(self, client):
        return "RS256"

    def get_encode_header(self, client):
        return {"alg": "RS256", "kid": self.provider.keys.signing_key().kid}

    def get_client_claims(self, client):
        now = int(time.time())
        return {
            "iss": self.provider.issuer,
            "aud": [client.get_client_id()],
            "iat": now,
            "exp": now + self.provider.id_token_lifetime,
        }

    def generate_user_info(self, user, scope):
        return self.provider.claims(user, scope)


class TokenValidator(BearerTokenValidator):
    def __init__(self, provider: Provider):
        super().__init__()
        self.provider = provider

    def authenticate_token(self, token_string):
        return self.provider.access_token(token_string)


class UserInfo(UserInfoEndpoint):
    def __call__(self, request):
        token = self.resource_protector.validate_request(["openid"], request)
        return (
            200,
            self.server.claims(token.get_user(), token.get_scope()),
            [
                ("Content-Type", "application/json"),
                ("Cache-Control", "no-store"),
            ],
        )

    def get_issuer(self):
        return self.server.issuer


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string, token_type_hint):
        store = self.server.store
        if token_type_hint != "refresh_token" and (found := store.by_access_token(token_string)):
            return Token(found, "access")
        if found := store.by_refresh_token(token_string):
            return Token(found, "refresh")
        if found := store.by_access_token(token_string):
            return Token(found, "access")
        return None

    def revoke_token(self, token, request):
        # a refresh token and the access tokens of the same authorization go together
        self.server.store.revoke_family(token.record.family)
