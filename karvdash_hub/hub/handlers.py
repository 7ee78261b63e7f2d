"""The hub's own pages for Karvdash (added to JupyterHub by the authenticator's
``get_handlers``), rendered from JupyterHub's page templates."""

from __future__ import annotations

from jupyterhub.handlers import BaseHandler
from jupyterhub.scopes import needs_scope
from tornado import web


class DeleteUserHandler(BaseHandler):
    """Admin page: delete a user, with or without their private files."""

    @needs_scope("admin:users")
    async def get(self, name):
        user = self.find_user(name)
        provisioner = self.authenticator.provisioner
        has_files = provisioner.files.has_files(name)
        html = await self.render_template(
            "karvdash-delete-user.html",
            target=name,
            exists=user is not None,
            has_files=has_files,
            namespace=provisioner.namespace(name),
        )
        self.finish(html)

    @needs_scope("delete:users")
    async def post(self, name):
        purge = self.get_body_argument("purge_files", "") == "on"
        user = self.find_user(name)
        if user is not None:
            if user.name == self.current_user.name:
                raise web.HTTPError(400, "You cannot delete your own account.")
            if user.running:
                await self.stop_single_user(user)
            # the authenticator's delete_user removes the namespace and the files first
            await self.authenticator.delete_user(user, purge_files=purge)
            await user.delete_spawners()
            self.users.delete(user)
        elif purge:
            # files kept from an earlier deletion
            await self.authenticator.deprovision(name, purge_files=True)
        self.redirect(self.hub.base_url + "admin")
