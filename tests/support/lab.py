"""A user's JupyterLab in the browser (the hub starts it) and its Karvdash side panel: the
stable classes and ``data-*`` attributes of karvdash_labext/lab, in one place."""

from __future__ import annotations

from support.hub import HubProcess

PANEL = "#karvdash-panel"
PANEL_TAB = '.jp-SideBar .lm-TabBar-tab[data-id="karvdash-panel"]'
FORM = ".jp-Dialog .kd-launch-form"


def open_lab(page, hub: HubProcess, name: str) -> None:
    """Open ``name``'s JupyterLab (the hub's spawn page starts the server if it is not
    running, then sends the browser there) and wait for its shell."""
    page.goto(f"{hub.url}/hub/spawn/{name}")
    try:
        page.wait_for_url(f"**/user/{name}/lab**", timeout=120_000)
        page.wait_for_selector("#jp-main-dock-panel", timeout=90_000)
        page.wait_for_selector(PANEL_TAB, timeout=60_000)
        dismiss_news(page)
    except Exception:
        raise AssertionError(
            f"{name}'s JupyterLab (with the Karvdash tab) did not open: at {page.url}:"
            f" {page.inner_text('body')[:800]}\nhub log: {hub.log.read_text()[-3000:]}"
        ) from None


def dismiss_news(page) -> None:
    """JupyterLab asks once whether to fetch Jupyter's news (a toast over the corner of
    every screenshot): answer No when it comes."""
    try:
        page.get_by_role("button", name="No", exact=True).click(timeout=4_000)
    except Exception:
        pass  # it did not come


def panel_shown(page) -> bool:
    return page.locator(PANEL).is_visible()


def refreshed(page) -> str:
    """When the panel last finished a refresh (its ``data-refreshed``), "" before."""
    return page.locator(PANEL).get_attribute("data-refreshed") or ""


def open_panel(page) -> None:
    """Show the Karvdash panel (a click on its tab) and wait for its first refresh."""
    if not panel_shown(page):
        page.click(PANEL_TAB)
    page.wait_for_selector(PANEL, state="visible")
    page.wait_for_selector(f"{PANEL}[data-refreshed]:not([aria-busy])", timeout=30_000)


def service(page, name: str):
    return page.locator(f'{PANEL} .kd-service[data-name="{name}"]')


def tile(page, template: str):
    return page.locator(f'{PANEL} .kd-template-tile[data-template="{template}"]')


def field(page, variable: str):
    """The launch form's input of ``variable``."""
    return page.locator(f'{FORM} .kd-field[data-variable="{variable}"] [data-variable]')


def field_error(page, variable: str):
    return page.locator(f'{FORM} .kd-field[data-variable="{variable}"] .kd-field-error')


def dialog_button(page, label: str):
    """A button of the dialog on top (Launch, Cancel, Stop)."""
    return page.locator(".jp-Dialog .jp-Dialog-button", has_text=label)


def run_from_palette(page, label: str) -> None:
    """Run a command by its label through JupyterLab's command palette (the keyboard)."""
    page.keyboard.press("Control+Shift+C")
    search = page.locator(".jp-ModalCommandPalette input")
    search.wait_for(state="visible")
    search.fill(label)
    page.locator(".jp-ModalCommandPalette .lm-CommandPalette-item", has_text=label).first.wait_for()
    page.keyboard.press("Enter")


def record_calls(page) -> None:
    """Keep every request's timing from now on (the browser's resource timing)."""
    page.evaluate(
        "() => { performance.clearResourceTimings();"
        " performance.setResourceTimingBufferSize(100000); }"
    )


def now(page) -> float:
    return page.evaluate("() => performance.now()")


def services_calls(page) -> list[float]:
    """When the page asked for the list of services (ms, as :func:`now` counts)."""
    return page.evaluate(
        """() => performance.getEntriesByType('resource')
            .filter((e) => new URL(e.name).pathname.endsWith('/karvdash/api/services'))
            .map((e) => e.startTime)"""
    )
