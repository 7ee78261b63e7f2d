"""The OpenID Connect provider on authlib: its AuthorizationServer with the authorization
code grant, PKCE (S256 only), OpenID Connect's ID token, userinfo and revocation, and the
adapter that lets it read tornado's requests (authlib integrates Flask and Django only).

What is kept where: clients come from the configuration (checked at start by
:mod:`karvdash_hub.rules.oidc`); authorization codes (single use, bound to the client,
the redirect URI, the PKCE challenge and the nonce) and access tokens live in memory, so
a restart of the service drops only codes in flight and access tokens (clients log in
again; nothing else is lost). Refresh tokens are not issued yet.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field

from authlib.oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, UserInfoEndpoint
from authlib.oidc.core.models import AuthorizationCodeMixin
from tornado.httputil import HTTPServerRequest

from ...rules import oidc as rules
from .keys import KeyStore


class TornadoPayload(OAuth2Payload):
    def __init__(self, request: HTTPServerRequest):
        self._datalist = defaultdict(list)
        for name, values in request.arguments.items():
            self._datalist[name].extend(v.decode("utf-8", "replace") for v in values)

    @property
    def data(self):
        return {name: values[0] for name, values in self._datalist.items()}

    @property
    def datalist(self):
        return self._datalist


class TornadoOAuth2Request(OAuth2Request):
    """authlib's view of a tornado request (query and form arguments together, as
    Flask's ``request.values``)."""

    def __init__(self, request: HTTPServerRequest):
        super().__init__(request.method, request.full_url(), headers=request.headers)
        self.payload = TornadoPayload(request)
        self._request = request

    @property
    def args(self):
        return {k: v[0].decode() for k, v in self._request.query_arguments.items()}

    @property
    def form(self):
        return {k: v[0].decode() for k, v in self._request.body_arguments.items()}


class Client(ClientMixin):
    def __init__(self, client: rules.Client):
        self.client = client
        self.client_id = client.client_id
        self.client_metadata: dict = {}

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None  # the redirect URI is required at every authorization request

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in rules.SCOPES)

    def check_redirect_uri(self, redirect_uri):
        return rules.redirect_uri_matches(self.client.redirect_uris, redirect_uri)

    def check_client_secret(self, client_secret):
        own = self.client.client_secret
        return own is not None and secrets.compare_digest(
            own.encode(), (client_secret or "").encode()
        )

    def check_endpoint_auth_method(self, method, endpoint):
        if self.client.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: dict
    nonce: str | None
    auth_time: int
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


@dataclass
class Token(TokenMixin):
    access_token: str
    client: Client
    user: dict
    scope: str
    issued_at: float
    expires_in: int
    revoked: bool = field(default=False)

    def check_client(self, client):
        return client.get_client_id() == self.client.get_client_id()

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self):
        return self.revoked

    def get_user(self):
        return self.user

    def get_client(self):
        return self.client


class Provider(AuthorizationServer):
    """The authorization server: clients, codes and tokens (in memory), keys, claims."""

    def __init__(
        self,
        issuer: str,
        clients: dict[str, rules.Client],
        keys: KeyStore,
        subject_secret: bytes,
        code_lifetime: float = 60,
        id_token_lifetime: int = 300,
        access_token_lifetime: int = 3600,
    ):
        super().__init__(scopes_supported=list(rules.SCOPES))
        self.issuer = issuer
        self.clients = {cid: Client(c) for cid, c in clients.items()}
        self.keys = keys
        self.subject_secret = subject_secret
        self.code_lifetime = code_lifetime
        self.id_token_lifetime = id_token_lifetime
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, Token] = {}
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: secrets.token_urlsafe(32),
                expires_generator=access_token_lifetime,
            ),
        )
        self.register_grant(CodeGrant, [S256Challenge(required=True), IdToken(self)])
        protector = ResourceProtector()
        protector.register_token_validator(TokenValidator(self))
        self.register_endpoint(UserInfo(self, protector))
        self.register_endpoint(Revocation(self))

    # -- authlib's hooks for a framework ---------------------------------------------
    def query_client(self, client_id):
        return self.clients.get(client_id)

    def save_token(self, token, request):
        self.tokens[token["access_token"]] = Token(
            token["access_token"],
            request.client,
            request.user,
            token.get("scope", ""),
            time.time(),
            int(token["expires_in"]),
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

    def authorize(self, oauth_request, grant, user: dict, auth_time: int):
        """The answer (a redirect with a code, or the protocol's error) for ``user``."""
        return self.create_authorization_response(
            request=oauth_request, grant_user={"model": user, "auth_time": auth_time}, grant=grant
        )

    def subject(self, user: dict) -> str:
        return rules.subject(self.subject_secret, user["name"], str(user.get("created", "")))

    def claims(self, user: dict, scope: str) -> dict:
        return rules.user_claims(user, self.subject(user), scope.split())

    def forget_expired(self) -> None:
        now = time.time()
        for code in [c for c, v in self.codes.items() if v.expires_at <= now]:
            self.codes.pop(code, None)
        for token in [t for t, v in self.tokens.items() if v.is_expired() or v.revoked]:
            self.tokens.pop(token, None)


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
        return self.provider.tokens.get(token_string)


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
        return self.server.tokens.get(token_string)

    def revoke_token(self, token, request):
        token.revoked = True
        self.server.tokens.pop(token.access_token, None)
