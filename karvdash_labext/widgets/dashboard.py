"""``Dashboard``: the Karvdash widgets in tabs, sharing one client."""

from __future__ import annotations

import ipywidgets as w

from ..client import KarvdashClient
from .base import client_of, span
from .files import Files
from .images import Images
from .launcher import Launcher
from .services import Services


class Dashboard(w.VBox):
    """Karvdash in a notebook: ``Dashboard()`` shows tabs of your Services, a Launcher
    of templates, your Files and, where the installation has a registry, Images.

    The parts are attributes (``services``, ``launcher``, ``files``, ``images``, None
    without a registry), each usable from Python; a launch from the Launcher refreshes
    the Services tab. ``close()`` closes them all (and stops the Services' refresh)."""

    def __init__(self, client: KarvdashClient | None = None, interval: float = 5):
        self.client = client_of(client)
        me = self.client.whoami()
        self.services = Services(self.client, interval=interval)
        self.launcher = Launcher(self.client)
        self.launcher.on_launch(lambda _: self.services.refresh_later())
        self.files = Files(self.client)
        images = Images(self.client)
        if images.available:
            self.images: Images | None = images
        else:
            images.close()
            self.images = None
        parts = [("Services", self.services), ("Launcher", self.launcher), ("Files", self.files)]
        if self.images is not None:
            parts.append(("Images", self.images))
        self.tabs = w.Tab(children=[p for _, p in parts], titles=[t for t, _ in parts])
        who = f"as {me.get('name')}, namespace {me.get('namespace')}"
        self.title = w.HTML(f"<b>Karvdash</b> {span(who)}")
        super().__init__([self.title, self.tabs])

    @property
    def titles(self) -> tuple[str, ...]:
        """The tabs' titles, in order."""
        return tuple(self.tabs.titles)

    def close(self) -> None:
        """Close every part (the Services stop refreshing) and the tabs."""
        for name in ("services", "launcher", "files", "images", "tabs", "title"):
            part = getattr(self, name, None)  # None when __init__ failed, or no registry
            if part is not None:
                part.close()
        super().close()
