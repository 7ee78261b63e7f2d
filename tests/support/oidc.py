"""Helpers of the identity service's tests: PKCE pairs, tornado requests for the provider
in process, and ID token checks with joserfc against a JWKS."""

from __future__ import annotations

import base64
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import KeySet
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

TEST_SECRET = "test-client-secret-0123456789"


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    return verifier, create_s256_code_challenge(verifier)


def request(method: str, url: str, form: dict | None = None, headers: dict | None = None):
    """A tornado request as the HTTP server would hand it to a handler."""
    parts = urlsplit(url)
    body = urlencode(form or {}).encode()
    all_headers = HTTPHeaders(headers or {})
    all_headers["Host"] = parts.netloc
    if form is not None:
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    target = parts.path + ("?" + parts.query if parts.query else "")
    req = HTTPServerRequest(
        start_line=RequestStartLine(method, target, "HTTP/1.1"), headers=all_headers, body=body
    )
    req.protocol = parts.scheme
    req._parse_body()
    return req


def basic(client_id: str, secret: str) -> dict:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def query_of(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def verify_id_token(id_token: str, jwks: dict, issuer: str, audience: str):
    """The ID token's claims, after its RS256 signature is checked against the JWKS and
    its iss, aud and exp; raises joserfc's errors when any is wrong."""
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
    ).validate(token.claims)
    return token


def follow_until(session, url: str, stop: str, limit: int = 12):
    """Follow redirects from ``url`` with a requests ``session`` until one leads to a URL
    starting with ``stop`` (returned, not fetched: a client's callback need not exist)."""
    for _ in range(limit):
        if url.startswith(stop):
            return url
        r = session.get(url, allow_redirects=False, timeout=30)
        if r.status_code not in (301, 302, 303, 307):
            raise AssertionError(f"{url} answered {r.status_code}, not a redirect: {r.text[:300]}")
        url = requests.compat.urljoin(url, r.headers["Location"])
    raise AssertionError(f"more than {limit} redirects from {url}")
