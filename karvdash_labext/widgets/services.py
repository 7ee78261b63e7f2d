"""``Services``: the user's running services, kept up to date while the kernel idles.

Rules:

- One row per service of ``list_services``: its name, template, status (ready/total
  containers and the phase), what is wrong (the status's warning), a link to its address
  when it has one, and a Stop button that asks before it stops the service.
- The table refreshes itself every ``interval`` seconds (5; 0: never) from a task on the
  kernel's event loop, the request in a worker thread: the kernel stays free; only while
  a view in the browser shows it (ipywidgets' view count); ``close()`` stops it. Without a
  running loop (a script) it refreshes when asked (``refresh()``).
- A row stays the same widgets from one refresh to the next (only what changed is sent
  to the browser, and a pending "Stop?" question survives a refresh).
"""

from __future__ import annotations

import ipywidgets as w

from ..client import KarvdashClient
from .base import (
    ERROR,
    GOOD,
    MUTED,
    WARN,
    Background,
    Confirm,
    View,
    cell,
    client_of,
    close_tree,
    escaped,
    grid,
    link,
    message_of,
    span,
)

COLUMNS = ("Name", "Template", "Status", "Warning", "Address", "")
#: name, template, status, warning, address, stop
GRID = "minmax(8em, 1fr) minmax(10em, 1fr) 8em minmax(8em, 1.5fr) minmax(10em, 1.5fr) auto"


def status_html(status: dict) -> str:
    """``1/1 Running`` in green when every container is ready, else in orange."""
    ready, total = status.get("ready", 0), status.get("total", 0)
    style = GOOD if total and ready == total else WARN
    return span(f"{ready}/{total} {status.get('phase', '')}".strip(), style)


def address_html(url: str | None) -> str:
    if not url:
        return span("none")
    return link(url, url.split("://", 1)[-1].rstrip("/"))


class Row:
    """The widgets of one service's row."""

    def __init__(self, name: str, stop):
        self.name = name
        self.cells = [cell(f"<b>{escaped(name)}</b>"), cell(), cell(), cell(), cell()]
        self.stop = Confirm("Stop", f"Stop {name} and delete its objects?", stop, icon="stop")
        self.widgets = [*self.cells, self.stop]

    def show(self, service: dict) -> None:
        status = service.get("status") or {}
        template = service.get("template_name") or service.get("template", "")
        problem = " ".join(p for p in (status.get("reason"), status.get("warning")) if p)
        values = [
            self.cells[0].value,
            escaped(template),
            status_html(status),
            span(problem, WARN) if problem else "",
            address_html(service.get("url")),
        ]
        for shown, value in zip(self.cells, values, strict=True):
            shown.value = value

    def close(self) -> None:
        for widget in self.widgets:
            close_tree(widget)


class Services(View):
    """The user's services: ``Services()`` in a notebook shows them, refreshed every
    ``interval`` seconds.

    From Python: ``refresh()`` (the API's list of services, shown), ``stop(name)`` (the
    API's answer), ``services`` (the list last shown), ``close()`` (stop refreshing)."""

    def __init__(self, client: KarvdashClient | None = None, interval: float = 5):
        self.client = client_of(client)
        self.interval = interval
        self.background = Background()
        self.services: list[dict] = []
        self.rows: dict[str, Row] = {}
        self._listing_error = ""
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.status = w.HTML()
        self.header = [cell(f"<b>{c}</b>") for c in COLUMNS]
        self.table = w.GridBox(
            self.header,
            layout=grid(GRID),
        )
        self.empty = w.HTML(span("No services: launch one from a template (Launcher)."))
        super().__init__([w.HBox([self.refresh_button, self.status]), self.table, self.empty])
        self.refresh_button.on_click(lambda _: self.refresh_later())
        try:
            self.refresh()
        except Exception as err:
            self._failed(err)
        # the browser counts the views that show this table: no view, no requests (a cell
        # run again leaves its old table behind)
        self._view_count = 0
        self.background.every(
            interval,
            self.client.list_services,
            self._show,
            self._failed,
            when=lambda: self._view_count != 0,
        )

    def refresh(self) -> list[dict]:
        """Ask the API for the services, show them and return them."""
        services = self.client.list_services()
        self._show(services)
        return services

    def refresh_later(self) -> None:
        """Refresh without waiting (in the background when the kernel's loop runs)."""
        self.background.run(
            self.client.list_services,
            busy=[self.refresh_button],
            done=self._show,
            failed=self._failed,
        )

    def stop(self, name: str) -> dict:
        """Stop service ``name`` and delete its objects: the API's answer."""
        answer = self.client.delete_service(name)
        self._show([s for s in self.services if s.get("name") != name])
        return answer

    # -- the view

    def _show(self, services: list[dict]) -> None:
        self.services = services
        seen = set()
        for service in services:
            name = service["name"]
            seen.add(name)
            if name not in self.rows:
                self.rows[name] = Row(name, lambda name=name: self._stop(name))
            self.rows[name].show(service)
        for name in set(self.rows) - seen:
            self.rows.pop(name).close()
        cells = [c for s in services for c in self.rows[s["name"]].widgets]
        self.table.children = (*self.header, *cells)
        self.empty.layout.display = "none" if services else ""
        if self._listing_error and self.status.value == self._listing_error:
            self.status.value = ""
        self._listing_error = ""

    def _failed(self, err: BaseException) -> None:
        self._listing_error = span(f"Could not list the services: {message_of(err)}", ERROR)
        self.status.value = self._listing_error

    def _stop(self, name: str) -> None:
        row = self.rows.get(name)
        self.background.run(
            lambda: self.client.delete_service(name),
            busy=[row.stop.button] if row else [],
            status=self.status,
            doing=f"Stopping {name}…",
            done=lambda _: self._stopped(name),
            failed=lambda err: self._stop_failed(name, err),
        )

    def _stopped(self, name: str) -> None:
        self._show([s for s in self.services if s.get("name") != name])
        self.status.value = span(f"Stopped {name}.", MUTED)

    def _stop_failed(self, name: str, err: BaseException) -> None:
        self.status.value = span(f"Could not stop {name}: {message_of(err)}", ERROR)

    def close(self) -> None:
        """Stop refreshing and close the view."""
        for row in getattr(self, "rows", {}).values():
            row.close()
        self.rows = {}
        super().close()
