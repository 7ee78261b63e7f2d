"""What the identity service keeps: the applications (OAuth clients) that admins
registered, users' consents, and the tokens it issued. One SQLite database in the
installation's state folder, shared by the dashboard service (which registers clients
through its REST API) and the identity service (which reads them at every request, so a
disabled or deleted client stops working at once).

Nothing secret is kept in clear: a client's secret and every token are kept as their
SHA-256 (:func:`karvdash_hub.rules.oidc.hash_secret`), so a copy of the database lets
nobody log in anywhere.

Tokens: each code exchange or refresh makes one row, holding the access token's and the
refresh token's hashes, the user (name, creation time, the hub's model at issue) and the
*family* (every token descended from one authorization). A refresh rotates: the row used
is marked ``rotated`` and a new row of the same family is made. A rotated refresh token
presented again means it was copied: the whole family is revoked (OAuth 2.0 Security BCP,
section 4.14). The hub stays the judge of who exists: the identity service asks it about
the user before each refresh and userinfo, and revokes the family of a deleted account.

Writes are short transactions on a WAL database, so the two processes never wait on
each other for long; every call opens its connection (the file may be replaced by a
restore) and sqlite's busy timeout absorbs the rest.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from traitlets import Unicode
from traitlets.config import Configurable

from .rules import oidc as rules

SCHEMA = """
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT,
    redirect_uris TEXT NOT NULL,
    trusted INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    created_by TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'admin'
);
CREATE TABLE IF NOT EXISTS consents (
    user_name TEXT NOT NULL,
    user_created TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    granted REAL NOT NULL,
    PRIMARY KEY (user_name, client_id)
);
CREATE TABLE IF NOT EXISTS tokens (
    access_hash TEXT PRIMARY KEY,
    refresh_hash TEXT UNIQUE,
    family TEXT NOT NULL,
    client_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    user_created TEXT NOT NULL,
    user_model TEXT NOT NULL,
    scope TEXT NOT NULL,
    issued REAL NOT NULL,
    access_expires REAL NOT NULL,
    refresh_expires REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'active'
);
CREATE INDEX IF NOT EXISTS tokens_family ON tokens (family);
CREATE INDEX IF NOT EXISTS tokens_user ON tokens (user_name);
CREATE INDEX IF NOT EXISTS tokens_client ON tokens (client_id);
"""


@dataclass
class TokenRecord:
    """One issued pair of tokens (as kept: hashes, not the tokens)."""

    access_hash: str
    refresh_hash: str | None
    family: str
    client_id: str
    user: dict
    scope: str
    issued: float
    access_expires: float
    refresh_expires: float
    state: str

    @property
    def user_name(self) -> str:
        return self.user["name"]

    def access_valid(self, now: float) -> bool:
        return self.state != "revoked" and now < self.access_expires

    def refresh_valid(self, now: float) -> bool:
        return self.state == "active" and now < self.refresh_expires


def account_of(user: dict) -> tuple[str, str]:
    """Who a hub user model is, as kept: (name, creation time)."""
    return user["name"], str(user.get("created") or "")


class IdentityStore(Configurable):
    issuer = Unicode(
        "",
        config=True,
        help="The identity service's issuer (<public hub URL>/services/identity), for the"
        " pages that show it; empty: the identity service is off.",
    )
    db_file = Unicode(
        "",
        config=True,
        help="The identity service's database (SQLite): the applications admins registered,"
        " users' consents and the tokens issued (as hashes). Shared by the dashboard"
        " service (Applications page and api/clients) and the identity service. Keep it"
        " with the hub's state; empty: no registered applications.",
    )

    @property
    def enabled(self) -> bool:
        return bool(self.db_file)

    @contextmanager
    def _db(self):
        path = Path(self.db_file)
        first = not getattr(self, "_prepared", False)
        if first:  # once per process: the folder, the file's mode, WAL (kept by the file)
            path.parent.mkdir(parents=True, exist_ok=True)
        new = first and not path.exists()
        # timeout: sqlite's busy handler waits up to 10 s for the other process's write
        with closing(sqlite3.connect(path, timeout=10, isolation_level=None)) as db:
            if new:
                path.chmod(0o600)
            if first:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(SCHEMA)
                self._prepared = True
            db.row_factory = sqlite3.Row
            yield db

    @contextmanager
    def _transaction(self):
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- clients --------------------------------------------------------------------
    @staticmethod
    def _client(row) -> rules.Client:
        return rules.Client(
            client_id=row["client_id"],
            redirect_uris=tuple(json.loads(row["redirect_uris"])),
            secret_hash=row["secret_hash"],
            name=row["name"],
            trusted=bool(row["trusted"]),
            disabled=bool(row["disabled"]),
            source=row["source"],
        )

    def clients(self) -> list[tuple[rules.Client, dict]]:
        """Every registered client with its record's facts (created, created_by)."""
        if not self.enabled:
            return []
        with self._db() as db:
            rows = db.execute("SELECT * FROM clients ORDER BY created").fetchall()
        return [
            (self._client(r), {"created": r["created"], "created_by": r["created_by"]})
            for r in rows
        ]

    def client(self, client_id: str) -> rules.Client | None:
        if not self.enabled:
            return None
        with self._db() as db:
            row = db.execute("SELECT * FROM clients WHERE client_id = ?", (client_id,)).fetchone()
        return self._client(row) if row else None

    @staticmethod
    def _insert(db, client: rules.Client, created_by: str) -> None:
        db.execute(
            "INSERT INTO clients VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                client.client_id,
                client.name,
                client.secret_hash,
                json.dumps(list(client.redirect_uris)),
                int(client.trusted),
                int(client.disabled),
                time.time(),
                created_by,
                client.source,
            ),
        )

    def add_client(self, client: rules.Client, created_by: str) -> bool:
        """Register ``client``; False when its id is taken."""
        with self._transaction() as db:
            try:
                self._insert(db, client, created_by)
            except sqlite3.IntegrityError:
                return False
        return True

    def sync_configured(self, clients: dict[str, rules.Client]) -> None:
        """Make the clients of the configuration (``source: config``) exactly ``clients``
        (the identity service does at start), keeping their tokens and consents; a
        configured id that an admin registered before takes the configuration's place."""
        with self._transaction() as db:
            kept = db.execute("SELECT client_id FROM clients WHERE source = 'config'").fetchall()
            for (client_id,) in kept:
                if client_id not in clients:
                    db.execute("DELETE FROM clients WHERE client_id = ?", (client_id,))
                    db.execute("DELETE FROM tokens WHERE client_id = ?", (client_id,))
            for client in clients.values():
                db.execute("DELETE FROM clients WHERE client_id = ?", (client.client_id,))
                self._insert(db, replace(client, source="config"), "configuration")

    def update_client(self, client_id: str, **fields) -> bool:
        """Change ``name``, ``redirect_uris``, ``trusted``, ``disabled`` or
        ``secret_hash``; False when there is no such client. Disabling a client or
        giving it a new secret revokes its tokens."""
        columns = {"name", "redirect_uris", "trusted", "disabled", "secret_hash"}
        if set(fields) - columns:
            raise ValueError(f"not a client's field: {set(fields) - columns}")
        values = {
            k: json.dumps(list(v)) if k == "redirect_uris" else int(v) if isinstance(v, bool) else v
            for k, v in fields.items()
        }
        with self._transaction() as db:
            if not values:
                found = db.execute("SELECT 1 FROM clients WHERE client_id = ?", (client_id,))
                return found.fetchone() is not None
            assignments = ", ".join(f"{k} = ?" for k in values)
            changed = db.execute(
                # column names are the fixed ones checked above; values are parameters
                f"UPDATE clients SET {assignments} WHERE client_id = ?",
                (*values.values(), client_id),
            ).rowcount
            if changed and (fields.get("disabled") or "secret_hash" in fields):
                db.execute("UPDATE tokens SET state = 'revoked' WHERE client_id = ?", (client_id,))
        return bool(changed)

    def delete_client(self, client_id: str) -> bool:
        """Forget a client, its consents and its tokens; False when there was none."""
        with self._transaction() as db:
            gone = db.execute("DELETE FROM clients WHERE client_id = ?", (client_id,)).rowcount
            db.execute("DELETE FROM consents WHERE client_id = ?", (client_id,))
            db.execute("DELETE FROM tokens WHERE client_id = ?", (client_id,))
        return bool(gone)

    # -- consents -------------------------------------------------------------------
    def consented(self, user: dict, client_id: str, scope: str) -> bool:
        name, created = account_of(user)
        with self._db() as db:
            row = db.execute(
                "SELECT user_name, user_created, scope FROM consents"
                " WHERE user_name = ? AND client_id = ?",
                (name, client_id),
            ).fetchone()
        return rules.consent_covers(tuple(row) if row else None, (name, created), scope)

    def consent(self, user: dict, client_id: str, scope: str) -> None:
        name, created = account_of(user)
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO consents VALUES (?, ?, ?, ?, ?)",
                (name, created, client_id, scope, time.time()),
            )

    # -- tokens ---------------------------------------------------------------------
    def save_tokens(
        self,
        access_token: str,
        refresh_token: str | None,
        family: str,
        client_id: str,
        user: dict,
        scope: str,
        access_lifetime: float,
        refresh_lifetime: float,
    ) -> None:
        now = time.time()
        name, created = account_of(user)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active')",
                (
                    rules.hash_secret(access_token),
                    refresh_token and rules.hash_secret(refresh_token),
                    family,
                    client_id,
                    name,
                    created,
                    json.dumps(user),
                    scope,
                    now,
                    now + access_lifetime,
                    now + (refresh_lifetime if refresh_token else 0),
                ),
            )
            # expired long ago: forgotten as new ones come
            db.execute(
                "DELETE FROM tokens WHERE refresh_expires < ? AND access_expires < ?",
                (now - 86400, now - 86400),
            )

    @staticmethod
    def _token(row) -> TokenRecord:
        return TokenRecord(
            access_hash=row["access_hash"],
            refresh_hash=row["refresh_hash"],
            family=row["family"],
            client_id=row["client_id"],
            user=json.loads(row["user_model"]),
            scope=row["scope"],
            issued=row["issued"],
            access_expires=row["access_expires"],
            refresh_expires=row["refresh_expires"],
            state=row["state"],
        )

    def by_access_token(self, token: str) -> TokenRecord | None:
        with self._db() as db:
            row = db.execute(
                "SELECT * FROM tokens WHERE access_hash = ?", (rules.hash_secret(token),)
            ).fetchone()
        return self._token(row) if row else None

    def by_refresh_token(self, token: str) -> TokenRecord | None:
        with self._db() as db:
            row = db.execute(
                "SELECT * FROM tokens WHERE refresh_hash = ?", (rules.hash_secret(token),)
            ).fetchone()
        return self._token(row) if row else None

    def mark(self, record: TokenRecord, state: str) -> None:
        """``rotated`` (its refresh token was used) or ``revoked`` (this pair only)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE tokens SET state = ? WHERE access_hash = ? AND state != 'revoked'",
                (state, record.access_hash),
            )
        record.state = state

    def revoke_family(self, family: str) -> int:
        """Revoke every token of an authorization (a reused refresh token, a revocation,
        a deleted account); the number of pairs revoked."""
        with self._transaction() as db:
            return db.execute(
                "UPDATE tokens SET state = 'revoked' WHERE family = ? AND state != 'revoked'",
                (family,),
            ).rowcount

    def update_user(self, family: str, user: dict) -> None:
        """The hub's current model of a family's user (groups, admin, email may change)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE tokens SET user_model = ? WHERE family = ?", (json.dumps(user), family)
            )
