"""authlib's views of what the identity service keeps: a client (configured or registered
by an admin), an authorization code, a pair of tokens; and of tornado's request (authlib
integrates Flask and Django only)."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload, OAuth2Request, TokenMixin
from authlib.oidc.core.models import AuthorizationCodeMixin
from tornado.httputil import HTTPServerRequest

from ...identitystore import TokenRecord
from ...rules import oidc as rules


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
        return self.client.check_secret(client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        if self.client.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


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
    """authlib's view of a kept pair of tokens, as an access token or a refresh token."""

    record: TokenRecord
    kind: str  # "access" or "refresh"

    def check_client(self, client):
        return client.get_client_id() == self.record.client_id

    def get_scope(self):
        return self.record.scope

    def get_expires_in(self):
        return int(self.record.access_expires - self.record.issued)

    def is_expired(self):
        now = time.time()
        if self.kind == "access":
            return now >= self.record.access_expires
        return now >= self.record.refresh_expires

    def is_revoked(self):
        return self.record.state == "revoked"

    def get_user(self):
        return self.record.user
