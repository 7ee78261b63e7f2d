"""The objects a Karvdash component works with, made where it is made (``parent=``) or
passed in: the provisioner and the installation's facts."""

from __future__ import annotations

from traitlets import Instance, default
from traitlets.config import LoggingConfigurable

from .installation import Installation
from .provisioning import Provisioner


class HasParts(LoggingConfigurable):
    provisioner = Instance(Provisioner, help="Made with parent=self unless passed in.")
    installation = Instance(Installation, help="Made with parent=self unless passed in.")

    @default("provisioner")
    def _default_provisioner(self):
        return Provisioner(parent=self)

    @default("installation")
    def _default_installation(self):
        return Installation(parent=self)
