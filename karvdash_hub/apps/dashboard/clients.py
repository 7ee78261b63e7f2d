"""``api/clients``: the applications that log users in through the identity service
(its OAuth/OpenID Connect clients), for admins only.

- ``GET clients``: every client, those of the configuration (``source: config``,
  read-only here) and those admins registered (``source: admin``), with the issuer;
- ``POST clients``: register one (``name``, ``redirect_uris``, ``public``, ``trusted``);
  the answer has its ``client_id`` and, for a confidential client, its
  ``client_secret``, which is shown this once and never again (only its hash is kept);
- ``GET clients/<id>``, ``PATCH clients/<id>`` (``name``, ``redirect_uris``,
  ``trusted``, ``disabled``: disabling revokes its tokens at once), ``DELETE
  clients/<id>`` (its tokens and users' consents go with it);
- ``POST clients/<id>/secret``: a new secret (the old one stops working, and the tokens
  issued with it are revoked).

The identity service reads the same store (:mod:`karvdash_hub.identitystore`) at each
request, so a change takes effect at once. A non-admin gets 403 ``forbidden``.
"""

from __future__ import annotations

import re
import secrets

from ...errors import ApiError
from ...identitystore import IdentityStore
from ...rules import oidc as rules
from .base import DashboardHandler

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def new_client_id(name: str) -> str:
    """A readable, unguessable id: the name's letters and digits, then random ones."""
    slug = _NOT_SLUG.sub("-", name.lower()).strip("-")[:24] or "app"
    return f"{slug}-{secrets.token_hex(4)}"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def client_model(client: rules.Client, facts: dict | None = None) -> dict:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "redirect_uris": list(client.redirect_uris),
        "public": client.public,
        "trusted": client.trusted,
        "disabled": client.disabled,
        "source": client.source,
        "token_endpoint_auth_method": client.auth_method,
        **({"created": facts["created"], "created_by": facts["created_by"]} if facts else {}),
    }


class ClientsBase(DashboardHandler):
    @property
    def store(self) -> IdentityStore:
        return self.settings["identity_store"]

    async def prepare(self):
        await super().prepare()
        if self._finished:
            return
        if not await self.settings["hub_users"].is_admin(self.current_user):
            raise ApiError("forbidden", "only admins manage the applications that log users in")
        if not self.store.enabled:
            raise ApiError(
                "no-identity",
                "the identity service is off in this installation (KARVDASH_IDENTITY=on"
                " turns it on)",
            )

    def body_fields(self, partial: bool) -> dict:
        try:
            return rules.registration(self.json_body(), partial=partial)
        except rules.ClientConfigError as err:
            raise ApiError("bad-client", str(err)) from None

    def found(self, client_id: str) -> rules.Client:
        client = self.store.client(client_id)
        if client is None:
            raise ApiError("client-not-found", f"there is no application '{client_id}'")
        return client

    def registered(self, client_id: str) -> rules.Client:
        client = self.found(client_id)
        if client.source == "config":
            raise ApiError(
                "configured-client",
                f"'{client_id}' comes from the hub's configuration (KARVDASH_OIDC_CLIENTS):"
                " change it there",
            )
        return client

    def store_entry(self, client_id: str) -> tuple[rules.Client, dict]:
        found = [(c, f) for c, f in self.store.clients() if c.client_id == client_id]
        if not found:
            raise ApiError("client-not-found", f"there is no application '{client_id}'")
        return found[0]


class ClientsHandler(ClientsBase):
    async def get(self):
        clients = [client_model(c, facts) for c, facts in self.store.clients()]
        self.reply({"issuer": self.store.issuer, "clients": clients})

    async def post(self):
        fields = self.body_fields(partial=False)
        secret = None if fields["public"] else new_secret()
        client = rules.Client(
            client_id=new_client_id(fields["name"]),
            redirect_uris=tuple(fields["redirect_uris"]),
            secret_hash=secret and rules.hash_secret(secret),
            name=fields["name"],
            trusted=fields["trusted"],
            source="admin",
        )
        if not self.store.add_client(client, self.current_user["name"]):
            raise ApiError("conflict", "that client id was just taken; try again")
        answer = client_model(*self.store_entry(client.client_id))
        if secret:
            answer["client_secret"] = secret
        self.set_header("Cache-Control", "no-store")
        self.reply(answer, status=201)


class ClientHandler(ClientsBase):
    async def get(self, client_id):
        self.found(client_id)
        self.reply(client_model(*self.store_entry(client_id)))

    async def patch(self, client_id):
        self.registered(client_id)
        fields = self.body_fields(partial=True)
        self.store.update_client(client_id, **fields)
        self.reply(client_model(*self.store_entry(client_id)))

    async def delete(self, client_id):
        self.registered(client_id)
        self.store.delete_client(client_id)
        self.reply({"deleted": client_id})


class SecretHandler(ClientsBase):
    async def post(self, client_id):
        client = self.registered(client_id)
        if client.public:
            raise ApiError("bad-client", f"'{client_id}' is a public client: it has no secret")
        secret = new_secret()
        self.store.update_client(client_id, secret_hash=rules.hash_secret(secret))
        self.set_header("Cache-Control", "no-store")
        self.reply({**client_model(*self.store_entry(client_id)), "client_secret": secret})


default_handlers = [
    (r"clients", ClientsHandler),
    (r"clients/([^/]+)/secret", SecretHandler),
    (r"clients/([^/]+)", ClientHandler),
]
