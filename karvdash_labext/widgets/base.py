"""What the Karvdash widgets share: the client they are given (or the notebook's own), how a
long operation runs without blocking the kernel, a button that asks before it acts, a
progress meter, and HTML that is always escaped.

Rules:

- Every widget talks to the API through one :class:`~karvdash_labext.client.KarvdashClient`
  (the argument ``client``, else one made from the environment: ``KARVDASH_API_URL`` and
  ``JUPYTERHUB_API_TOKEN`` in a user's JupyterLab). The client, and so its token, is a plain
  Python attribute: no widget state sent to the browser holds it.
- A long operation (:meth:`Background.run`) runs in a worker thread, awaited by a task on
  the kernel's running event loop, with the widgets that start it disabled and a status
  line saying what is going on; the result (or the error's message) is shown from the
  loop, and the widgets are enabled again. Without a running loop (a script, a test) it
  runs at once, in the caller's thread, with the same effect on the view.
- Text from the API or the user is escaped before it is put in HTML; a link is made only
  of an ``http(s)`` URL, opens in a new tab and gives it no ``window.opener``.
"""

from __future__ import annotations

import asyncio
import html
import io
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as w

from ..client import KarvdashClient, KarvdashError
from ..filecommands import size as size_text  # karvdashctl's units (KiB, MiB)

MUTED = "color: var(--jp-ui-font-color2, #616161)"
ERROR = "color: var(--jp-error-color1, #c62828)"
GOOD = "color: var(--jp-success-color1, #2e7d32)"
WARN = "color: var(--jp-warn-color1, #ef6c00)"
SCHEMES = ("http://", "https://")


def client_of(client: KarvdashClient | None) -> KarvdashClient:
    """The client given, else one made from the environment (raises a KarvdashError that
    says what to set when there is none)."""
    return client if client is not None else KarvdashClient()


def escaped(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def span(text: Any, style: str = MUTED) -> str:
    return f'<span style="{style}">{escaped(text)}</span>'


def link(url: str | None, label: str | None = None) -> str:
    """An HTML link to ``url`` in a new tab, or "" for what is neither an http(s) URL nor a
    path on this site."""
    relative = isinstance(url, str) and url.startswith("/") and not url.startswith("//")
    if not relative and not (isinstance(url, str) and url.lower().startswith(SCHEMES)):
        return ""
    return (
        f'<a href="{escaped(url)}" target="_blank" rel="noopener noreferrer"'
        f' style="color: var(--jp-content-link-color, #1976d2)">{escaped(label or url)}</a>'
    )


def browser_api_url(base_url: str | None = None) -> str:
    """The dashboard API's address as the user's browser sees it (its login cookie goes
    there, the token stays in the kernel): ``{base_url}services/karvdash/api/``, where
    ``base_url`` is the hub's (``JUPYTERHUB_BASE_URL`` in a user's server, else ``/``)."""
    base = base_url or os.environ.get("JUPYTERHUB_BASE_URL") or "/"
    return base.rstrip("/") + "/services/karvdash/api/"


def message_of(err: BaseException) -> str:
    """What a user reads of an error: the API's message, or the local error's."""
    if isinstance(err, KarvdashError):
        return err.message
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}: {err.filename}" if err.filename else err.strerror
    return str(err) or type(err).__name__


def cell(value: str = "") -> w.HTML:
    """A cell of a table (a GridBox): as wide as its column, not a form's inline width."""
    return w.HTML(value, layout=w.Layout(width="auto", min_width="0"))


def plain() -> w.Layout:
    """The layout of a button as wide as its text (a new one each time: a layout is a
    widget of its own, with a view per widget that uses it)."""
    return w.Layout(width="auto", flex="0 0 auto")


def grid(columns: str) -> w.Layout:
    """The layout of a table: ``columns`` as CSS grid tracks, cells aligned left."""
    return w.Layout(
        grid_template_columns=columns,
        grid_gap="0 12px",
        align_items="center",
        justify_items="flex-start",
    )


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def close_tree(widget: w.Widget) -> None:
    """Close a widget and every widget under it (their views go away in the browser)."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    widget.close()


class View(w.VBox):
    """What every Karvdash widget is: a box whose ``close()`` stops its background work
    (``background``, when it has one) and closes every widget under it."""

    def close(self) -> None:
        """Close the view (and every widget of it)."""
        if getattr(self, "background", None):  # None when __init__ failed
            self.background.stop()
        for child in self.children:
            close_tree(child)
        super().close()


def readable(data: Any) -> Any:
    """What the client sends of ``data``: bytes from memory as a binary file, a path
    (``~`` expanded), else the binary file object itself."""
    if isinstance(data, bytes | bytearray | memoryview):
        return io.BytesIO(data)
    if isinstance(data, str):
        return os.path.expanduser(data)
    return data


class Background:
    """The long operations of one widget, run off the kernel's event loop."""

    def __init__(self):
        self.tasks: set[asyncio.Task] = set()
        self.poller: asyncio.Task | None = None

    def run(
        self,
        work: Callable[[], Any],
        *,
        busy: Iterable[w.Widget] = (),
        status: w.HTML | None = None,
        doing: str = "",
        done: Callable[[Any], None] | None = None,
        failed: Callable[[BaseException], None] | None = None,
    ) -> asyncio.Task | None:
        """Run ``work()`` in a thread with ``busy`` disabled and ``doing`` in ``status``;
        then ``done(result)``, or ``failed(error)`` (by default: the error in ``status``).
        The task on the kernel's loop, or None when it already ran (no loop)."""
        busy = [b for b in busy if not b.disabled]
        for widget in busy:
            widget.disabled = True
        if status is not None:
            status.value = span(doing) if doing else ""

        def finish(result=None, error=None):
            for widget in busy:
                widget.disabled = False
            if error is not None:
                if failed is not None:
                    failed(error)
                elif status is not None:
                    status.value = span(message_of(error), ERROR)
            else:
                if status is not None and status.value == span(doing):
                    status.value = ""
                if done is not None:
                    done(result)

        loop = running_loop()
        if loop is None:
            try:
                result = work()
            except Exception as err:
                finish(error=err)
            else:
                finish(result)
            return None

        async def go():
            try:
                result = await asyncio.to_thread(work)
            except Exception as err:
                result, error = None, err
            else:
                error = None
            try:
                finish(result, error)
            except Exception as err:  # a task's error would go unseen: show it
                if status is not None:
                    status.value = span(message_of(err), ERROR)

        task = loop.create_task(go())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def every(
        self,
        seconds: float,
        work: Callable[[], Any],
        show: Callable[[Any], None],
        failed: Callable[[BaseException], None],
        when: Callable[[], bool] = lambda: True,
    ) -> None:
        """Call ``work()`` in a thread every ``seconds`` (when ``when()`` says so) and
        ``show`` its result, while the kernel's loop runs (nothing without a loop or with 0
        seconds), until :meth:`stop`."""
        loop = running_loop()
        if loop is None or not seconds or seconds <= 0:
            return

        async def poll():
            while True:
                await asyncio.sleep(seconds)
                if not when():
                    continue
                try:
                    show(await asyncio.to_thread(work))
                except Exception as err:  # the API's, or showing it: said, and on
                    failed(err)

        self.poller = loop.create_task(poll())

    async def idle(self) -> None:
        """Wait until the operations under way have finished (for tests and scripts)."""
        while self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def stop(self) -> None:
        """Stop the polling and the operations under way (their threads finish alone)."""
        for task in [*self.tasks, *([self.poller] if self.poller else [])]:
            task.cancel()
        self.poller = None


class Meter(w.HBox):
    """A progress bar of bytes sent, hidden when idle. Its :meth:`callback` may be called
    from a worker thread: the bar is updated on the loop, at most ten times a second."""

    def __init__(self):
        self.bar = w.IntProgress(min=0, max=1, value=0, layout=w.Layout(width="20em"))
        self.label = w.HTML()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.what, self.total, self._shown = "", 0, 0.0
        super().__init__([self.bar, self.label], layout=w.Layout(display="none"))

    def start(self, total: int, what: str) -> None:
        self.loop = running_loop()
        self.bar.max, self.bar.value = max(total, 1), 0
        self.what, self.total = what, total
        self.label.value = span(f"{what}: 0 of {size_text(total)}")
        self.layout.display = "flex"

    def callback(self, offset: int = 0) -> Callable[[int, int | None], None]:
        """``progress(sent, total)`` of one transfer that starts at ``offset`` bytes."""

        def progress(sent: int, _total: int | None = None) -> None:
            now = time.monotonic()
            if now - self._shown < 0.1 and offset + sent < self.total:
                return
            self._shown = now
            if self.loop is not None and self.loop.is_running():
                self.loop.call_soon_threadsafe(self._show, offset + sent)
            else:
                self._show(offset + sent)

        return progress

    def _show(self, sent: int) -> None:
        self.bar.value = min(sent, self.bar.max)
        self.label.value = span(f"{self.what}: {size_text(sent)} of {size_text(self.total)}")

    def stop(self) -> None:
        self.layout.display = "none"


class Confirm(w.HBox):
    """A button that asks before it acts: ``Confirm("Stop", "Stop zeppelin?", act)``
    shows Stop; clicked, the question with "Yes, stop" and "Cancel"; yes calls ``act()``."""

    def __init__(self, label: str, question: str, act: Callable[[], None], icon: str = ""):
        self.act = act
        self.button = w.Button(description=label, icon=icon, layout=plain())
        self.question = w.HTML(span(question, WARN))
        self.yes = w.Button(
            description=f"Yes, {label.lower()}",
            button_style="danger",
            layout=plain(),
        )
        self.no = w.Button(description="Cancel", layout=plain())
        self.button.on_click(lambda _: self.ask())
        self.yes.on_click(lambda _: self.confirm())
        self.no.on_click(lambda _: self.cancel())
        super().__init__([self.button])

    def ask(self) -> None:
        self.children = (self.question, self.yes, self.no)

    def confirm(self) -> None:
        self.children = (self.button,)
        self.act()

    def cancel(self) -> None:
        self.children = (self.button,)

    def close(self) -> None:
        for part in (self.button, self.question, self.yes, self.no):
            part.close()
        super().close()
