"""The operations of the identity service's applications (``api/clients``, admins only),
written like every operation (:mod:`karvdash_labext.calls`); a mixin of
:class:`karvdash_labext.api.Operations`."""

from __future__ import annotations

from typing import Any

from .calls import Call, operation
from .calls import quoted_name as _name


class Applications:
    # -- applications that log users in through the identity service (admins only) --
    @operation
    def list_clients(self) -> Call:
        """The identity service's applications: ``{"issuer", "clients": [...]}``."""
        return Call("GET", "clients")

    @operation
    def register_client(
        self, name: str, redirect_uris: list[str], public: bool = False, trusted: bool = False
    ) -> Call:
        """Register an application; a confidential one's ``client_secret`` is in this
        answer only."""
        body = {"name": name, "redirect_uris": redirect_uris, "public": public, "trusted": trusted}
        return Call("POST", "clients", body=body)

    @operation
    def get_client(self, client_id: str) -> Call:
        """One application (never its secret)."""
        return Call("GET", f"clients/{_name(client_id)}")

    @operation
    def change_client(self, client_id: str, **fields: Any) -> Call:
        """Change ``name``, ``redirect_uris``, ``trusted`` or ``disabled`` (disabling
        revokes its tokens)."""
        return Call("PATCH", f"clients/{_name(client_id)}", body=fields)

    @operation
    def delete_client(self, client_id: str) -> Call:
        """Delete an application, its tokens and its users' consents."""
        return Call("DELETE", f"clients/{_name(client_id)}")

    @operation
    def new_client_secret(self, client_id: str) -> Call:
        """A new secret for a confidential application (the old one stops working)."""
        return Call("POST", f"clients/{_name(client_id)}/secret")
