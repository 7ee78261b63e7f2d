"""RegistryAuth: the signing side of the registry's token authentication.

The users' registry (Distribution) trusts the certificate of one key, and the dashboard's
token endpoint signs with it (ES256, PyJWT) what :mod:`karvdash_hub.rules.registry`
grants. The key and its self-signed certificate are made at the first start, readable
by their owner only, and kept in the state folder (``key_file``, and the certificate
beside it with ``.crt``): the registry's ``rootcertbundle`` is that certificate. A token
names the key with libtrust's key id, the way Distribution 2.8 looks it up.

The same key, hashed, signs the registry credentials of :mod:`karvdash_hub.rules.registry`
(namespaces' pull secrets, the dashboard's own pushes): making a new key (delete both
files and restart) revokes every credential and token at once; the next login of each
user writes their namespace's pull secret again.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import secrets
import time
from pathlib import Path

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from traitlets import Int, Unicode
from traitlets.config import LoggingConfigurable

from .rules import registry as rules
from .secretfile import locked, write_private


class RegistryAuth(LoggingConfigurable):
    key_file = Unicode(
        "",
        config=True,
        help="The registry tokens' signing key (PEM, made at the first start, readable by"
        " its owner only); its certificate is beside it, with '.crt' for '.key': give"
        " that file to the registry as auth.token.rootcertbundle. Empty: no registry"
        " tokens.",
    )
    issuer = Unicode(
        "karvdash", config=True, help="The tokens' issuer (the registry's auth.token.issuer)."
    )
    service = Unicode(
        "karvdash-registry",
        config=True,
        help="The registry's name in tokens (its auth.token.service).",
    )
    token_lifetime = Int(
        300, config=True, help="How long a token is valid, in seconds (60 or more)."
    )

    @property
    def cert_file(self) -> Path:
        return Path(self.key_file).with_suffix(".crt")

    push_lifetime = Int(
        3600,
        config=True,
        help="How long the credential of one upload's push (the dashboard's, to the"
        " registry) is valid, in seconds: longer than the slowest push.",
    )

    def ensure_keys(self) -> None:
        """Make the key and its certificate when missing (once: the processes that
        start together, hub, dashboard and registry, wait for each other)."""
        key_path = Path(self.key_file)
        if key_path.exists() and self.cert_file.exists():
            return
        with locked(key_path.with_suffix(".lock")):
            if not (key_path.exists() and self.cert_file.exists()):
                self._make_keys(key_path)

    def _make_keys(self, key_path: Path) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.issuer)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # the certificate first: a key without its certificate is made again
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        os.chmod(self.cert_file, 0o644)
        write_private(key_path, pem.decode())
        self.log.info("Made the registry tokens' signing key %s", key_path)

    _signing = None
    _credential_key = None

    def signing_key(self) -> tuple[ec.EllipticCurvePrivateKey, str]:
        """The key and its libtrust key id, read once (not at every token)."""
        if self._signing is None:
            key = serialization.load_pem_private_key(Path(self.key_file).read_bytes(), None)
            der = key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            self._signing = key, rules.libtrust_key_id(der)
            private = key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            self._credential_key = hashlib.sha256(
                b"karvdash registry credentials\0" + private
            ).digest()
        return self._signing

    def credential_key(self) -> bytes:
        """The key of the registry credentials, derived from the signing key."""
        self.signing_key()
        return self._credential_key

    def pull_credential(self, user: str) -> str:
        """The password of ``user``'s pull secret: pull of their repositories and
        library/, no expiry."""
        return rules.credential(self.credential_key(), "pull", user)

    def push_credential(self, user: str, repository: str) -> str:
        """The password of one push of ``repository`` by ``user`` (the dashboard's)."""
        expiry = int(time.time()) + self.push_lifetime
        return rules.credential(self.credential_key(), "push", user, repository, expiry)

    def read_credential(self, user: str, password: str) -> rules.Identity | None:
        return rules.read_credential(self.credential_key(), user, password, int(time.time()))

    def token(self, subject: str, access: list[dict]) -> dict:
        """The token endpoint's answer: a signed token granting ``access``."""
        now = int(time.time())
        claims = rules.claims(
            issuer=self.issuer,
            service=self.service,
            subject=subject,
            access=access,
            now=now,
            lifetime=self.token_lifetime,
            token_id=secrets.token_hex(16),
        )
        key, key_id = self.signing_key()
        signed = jwt.encode(claims, key, algorithm="ES256", headers={"kid": key_id})
        issued = datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat()
        return {
            "token": signed,
            "access_token": signed,
            "expires_in": self.token_lifetime,
            "issued_at": issued,
        }
