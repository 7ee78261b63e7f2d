"""Approving sign-ups and taking approval back, as a small JSON API of the hub (added by
the authenticator under ``/hub/karvdash/api/``), for the hub's home and users pages.

jupyterhub-nativeauthenticator keeps sign-ups and their approval in its own table, and
offers only HTML pages and a GET that toggles approval; so the hub gets:

- ``GET karvdash/api/signups``: every sign-up (``name``, ``approved``, ``user``: whether
  the hub has the account yet);
- ``DELETE karvdash/api/signups/<name>``: reject a sign-up that was never approved and
  never logged in (for anyone else: deactivate, or delete the user);
- ``PUT karvdash/api/approvals/<name>``: approve (again);
- ``DELETE karvdash/api/approvals/<name>``: take the approval back, which cuts the user's
  access at once, as the original Karvdash did: they cannot log in, every token of theirs
  (API tokens, their servers' tokens, the OAuth tokens behind the dashboard's and other
  services' login cookies) is revoked, their hub login cookies stop working, and their
  servers stop. Their services (workloads in their namespace) keep running and their files
  stay, for an admin to decide about.

Writes are PUT and DELETE with JupyterHub's token or login cookie and XSRF checks, and
need the ``admin:users`` scope. Errors are the dashboard API's JSON (``status``,
``reason``, ``message``). nativeauthenticator's own GET routes (its authorization page's
buttons) are replaced by :class:`ToggleAuthorizationHandler` and :class:`DiscardHandler`,
which behave the same way.
"""

from __future__ import annotations

import json

from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.scopes import needs_scope
from jupyterhub.utils import new_token
from nativeauthenticator.handlers import LocalBase
from nativeauthenticator.orm import UserInfo

from ..errors import ApiError


def signup(info: UserInfo, hub_user) -> dict:
    """A sign-up as the API gives it."""
    return {
        "name": info.username,
        "approved": bool(info.is_authorized),
        "user": hub_user is not None,
    }


class KarvdashAPIHandler(APIHandler):
    """A JSON handler of the hub whose errors are Karvdash's JSON."""

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            self.set_status(exc.status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(exc.to_dict()))
            return
        super().write_error(status_code, **kwargs)

    def sign_up(self, name: str) -> UserInfo:
        info = self.authenticator.get_user(name)
        if info is None:
            raise ApiError("no-such-user", f"nobody signed up as '{name}'")
        return info

    def not_yourself(self, name: str) -> None:
        if self.current_user.name == self.authenticator.normalize_username(name):
            raise ApiError("forbidden", "you cannot take your own approval back")


async def cut_access(handler, name: str) -> None:
    """Revoke every token of the hub user ``name``, end their login sessions and stop
    their servers (nothing when the hub has no such user yet)."""
    user = handler.find_user(name)
    if user is None:
        return
    for token in list(user.orm_user.api_tokens):
        handler.db.delete(token)
    # the hub's login cookie names this id: a new one logs the user out everywhere
    user.orm_user.cookie_id = new_token()
    handler.db.commit()
    for server_name, spawner in list(user.spawners.items()):
        if spawner.active:
            await handler.stop_single_user(user, server_name)
    handler.log.info("Deactivated %s: tokens revoked, sessions ended, servers stopped", name)


def set_approval(handler, info: UserInfo, approved: bool) -> None:
    if info.is_authorized != approved:
        # nativeauthenticator's own operation (a toggle)
        UserInfo.change_authorization(handler.db, info.username)


class SignupsAPIHandler(KarvdashAPIHandler):
    @needs_scope("admin:users")
    async def get(self):
        infos = sorted(UserInfo.all_users(self.db), key=lambda i: i.username)
        self.finish(json.dumps([signup(i, self.find_user(i.username)) for i in infos]))


class SignupAPIHandler(KarvdashAPIHandler):
    @needs_scope("admin:users")
    async def delete(self, name):
        info = self.sign_up(name)
        if info.is_authorized or self.find_user(info.username) is not None:
            raise ApiError(
                "conflict",
                f"'{info.username}' was approved or has logged in: deactivate or delete the"
                " user instead",
            )
        self.db.delete(info)
        self.db.commit()
        self.set_status(204)
        self.finish()


class ApprovalAPIHandler(KarvdashAPIHandler):
    @needs_scope("admin:users")
    async def put(self, name):
        set_approval(self, self.sign_up(name), True)
        self.set_status(204)
        self.finish()

    @needs_scope("admin:users")
    async def delete(self, name):
        self.not_yourself(name)
        info = self.sign_up(name)
        set_approval(self, info, False)
        await cut_access(self, info.username)
        self.set_status(204)
        self.finish()


class ToggleAuthorizationHandler(LocalBase):
    """nativeauthenticator's ``/hub/authorize/<name>`` (its authorization page's
    Authorize/Unauthorize buttons), where unauthorizing cuts access as above."""

    @needs_scope("admin:users")
    async def get(self, name):
        info = self.authenticator.get_user(name)
        yourself = info is not None and self.current_user.name == info.username
        if info is not None and not (info.is_authorized and yourself):
            set_approval(self, info, not info.is_authorized)
            if not info.is_authorized:
                await cut_access(self, info.username)
        self.redirect(self.hub.base_url + "authorize#" + name)


class DiscardHandler(LocalBase):
    """nativeauthenticator's ``/hub/discard/<name>``: drop a sign-up never approved.
    (Its own calls the authenticator's ``delete_user`` without awaiting it, which with
    Karvdash's namespace removal would leave the sign-up in place.)"""

    @needs_scope("admin:users")
    async def get(self, name):
        info = self.authenticator.get_user(name)
        if info is not None and not info.is_authorized and self.find_user(name) is None:
            self.db.delete(info)
            self.db.commit()
        self.redirect(self.hub.base_url + "authorize")


default_handlers = [
    (r"/karvdash/api/signups", SignupsAPIHandler),
    (r"/karvdash/api/signups/([^/]+)", SignupAPIHandler),
    (r"/karvdash/api/approvals/([^/]+)", ApprovalAPIHandler),
]
#: nativeauthenticator's routes that this module replaces
native_replacements = {
    r"/authorize/([^/]*)": ToggleAuthorizationHandler,
    r"/discard/([^/]*)": DiscardHandler,
}
