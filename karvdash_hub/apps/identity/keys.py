"""The identity service's secrets, kept in its state folder: the RS256 keys that sign ID
tokens and the secret that derives subjects.

Each key is a file ``<kid>.json`` (mode 0600: the private JWK and when it was made) in
the keys folder. Files are made under an exclusive ``flock`` of ``.lock`` in that folder,
so two processes starting together make one key, not two. The schedule is
:func:`karvdash_hub.rules.oidc.published_keys` and ``new_key_due``: the newest key
signs, older ones stay in the JWKS for ``retention`` seconds after being replaced (more
than an ID token lives), then their files are removed.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from joserfc.jwk import KeySet, RSAKey

from ...rules import oidc as rules
from ...secretfile import locked, write_private


class KeyStore:
    def __init__(self, folder: Path, rotation: float, retention: float):
        self.folder = Path(folder)
        self.rotation = rotation
        self.retention = retention
        self._keys: dict[str, tuple[RSAKey, float]] = {}
        self._checked = 0.0

    def _locked(self):
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return locked(self.folder / ".lock")

    def _read(self) -> dict[str, tuple[RSAKey, float]]:
        keys = {}
        for path in self.folder.glob("*.json"):
            try:
                data = json.loads(path.read_text())
                keys[path.stem] = (RSAKey.import_key(data["jwk"]), float(data["created"]))
            except (OSError, ValueError, KeyError):
                continue
        return keys

    def refresh(self, now: float | None = None) -> None:
        """Read the keys, make a new one when due, forget those past retention."""
        now = time.time() if now is None else now
        with self._locked():
            keys = self._read()
            pairs = [(kid, created) for kid, (_, created) in keys.items()]
            if rules.new_key_due(pairs, now, self.rotation):
                kid = f"{time.strftime('%Y%m%d', time.gmtime(now))}-{secrets.token_hex(4)}"
                key = RSAKey.generate_key(
                    2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True
                )
                write_private(
                    self.folder / f"{kid}.json",
                    json.dumps({"jwk": key.as_dict(private=True), "created": now}),
                )
                keys[kid] = (key, now)
                pairs.append((kid, now))
            shown = set(rules.published_keys(pairs, now, self.retention))
            for kid in set(keys) - shown:
                (self.folder / f"{kid}.json").unlink(missing_ok=True)
                del keys[kid]
        self._keys = keys
        self._checked = time.time()

    def _current(self) -> dict[str, tuple[RSAKey, float]]:
        # another process (or a restart) may have rotated: look again now and then
        if not self._keys or time.time() - self._checked > 60:
            self.refresh()
        return self._keys

    def signing_key(self) -> RSAKey:
        keys = self._current()
        kid = max(keys, key=lambda k: keys[k][1])
        return keys[kid][0]

    def public_jwks(self) -> dict:
        keys = self._current()
        return KeySet([key for key, _ in keys.values()]).as_dict(private=False)


def subject_secret(path: Path) -> bytes:
    """The secret that derives subjects, made once (0600) under a lock beside it."""
    path = Path(path)
    with locked(path.with_name(f".{path.name}.lock")):
        try:
            secret = bytes.fromhex(path.read_text().strip())
            if len(secret) >= 32:
                return secret
        except (FileNotFoundError, ValueError):
            pass
        secret = os.urandom(32)
        write_private(path, secret.hex() + "\n")
        return secret
