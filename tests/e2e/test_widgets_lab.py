"""The notebook widgets in a real JupyterLab (Chromium through Playwright): alice's server
(a local process of the embedded default), a notebook that shows ``Dashboard()``, a
service launched from the Launcher tab's form, seen in the Services tab and through the
API, and stopped there. The kernel finds the API in its environment (KARVDASH_API_URL and
the server's token), as every notebook of a user does.

Set KARVDASH_SCREENSHOTS to a folder to keep the screenshots (``make screenshots``)."""

from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import expect

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

NOTEBOOK = "private/widgets.ipynb"
CELLS = ["from karvdash_labext.widgets import Dashboard\ndashboard = Dashboard()\ndashboard"]


def notebook(cells: list[str]) -> dict:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "cells": [
            {
                "cell_type": "code",
                "id": f"c{n}",
                "metadata": {},
                "source": source,
                "outputs": [],
                "execution_count": None,
            }
            for n, source in enumerate(cells)
        ],
    }


def button(widget, label: str):
    """A button of the widget by its text (its icon, drawn by CSS, is not in the text)."""
    return widget.locator("button", has_text=re.compile(f"^{re.escape(label)}$"))


@pytest.fixture
def server(hub, tokens):
    """alice's JupyterLab, started through the hub's API with her token; stopped after."""
    headers = {"Authorization": f"token {tokens['alice']}"}
    hub_api = hub.url + "/hub/api/users/alice"
    r = requests.post(hub_api + "/server", headers=headers, timeout=60)
    assert r.status_code in (201, 202), r.text
    deadline = time.monotonic() + 120
    while (
        not requests.get(hub_api, headers=headers, timeout=30)
        .json()["servers"]
        .get("", {})
        .get("ready")
    ):
        assert time.monotonic() < deadline, "alice's server did not start"
        time.sleep(0.5)
    r = requests.put(
        f"{hub.url}/user/alice/api/contents/{NOTEBOOK}",
        headers=headers,
        json={"type": "notebook", "format": "json", "content": notebook(CELLS)},
        timeout=60,
    )
    assert r.status_code in (200, 201), r.text
    yield
    requests.delete(hub_api + "/server", headers=headers, timeout=60)


def test_a_service_launched_from_the_dashboard_widget_in_jupyterlab(
    hub, as_user, api, server, shots
):
    page, _ = as_user("alice")
    page.goto(f"{hub.url}/user/alice/lab/tree/{NOTEBOOK}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    news = page.get_by_role("button", name="No", exact=True)  # JupyterLab asks once
    # the kernel is up when the status bar says so (the toolbar's indicator is idle before)
    kernel = page.get_by_role("button", name=re.compile(r"Python 3 .* \| Idle"))
    expect(kernel).to_be_visible(timeout=90_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Run All Cells$")).click()

    if news.is_visible():
        news.click()
    widget = page.locator(".jp-OutputArea-output .jupyter-widgets").first
    tab = page.get_by_role("tab", name="Launcher")
    expect(tab).to_be_visible(timeout=60_000)
    expect(page.get_by_role("tab", name="Services")).to_be_visible()
    # Dashboard() was given nothing: the spawner's environment (KARVDASH_API_URL and the
    # server's own token) reached the kernel, and the API knew alice by it
    expect(widget).to_contain_text("as alice")
    tab.click()

    template = page.locator(".widget-dropdown:has(label:text-is('Template')) select")
    template.select_option(label="Hello Kubernetes")
    name = page.locator(".widget-text:has(label:text-is('NAME')) input")
    expect(name).to_have_value("hello-kubernetes", timeout=30_000)
    name.fill("labwidget")
    page.locator(".widget-text:has(label:text-is('MESSAGE')) input").fill("from a notebook")
    page.screenshot(path=str(shots / "widgets-launcher.png"))
    button(widget, "Launch").click()
    expect(widget).to_contain_text("Launched labwidget", timeout=60_000)
    try:
        listed = api["alice"]("GET", "services").json()
        assert [s["name"] for s in listed] == ["labwidget"], listed

        page.get_by_role("tab", name="Services").click()
        expect(widget.locator("b", has_text="labwidget")).to_be_visible(timeout=30_000)
        expect(widget).to_contain_text("Hello Kubernetes")
        # the table refreshes itself from the kernel's loop while the kernel idles: the
        # pod's status arrives without a click
        expect(widget).to_contain_text("1/1 Running", timeout=90_000)
        page.screenshot(path=str(shots / "widgets-dashboard.png"))

        button(widget, "Stop").click()
        expect(widget).to_contain_text("Stop labwidget and delete its objects?")
        button(widget, "Yes, stop").click()
        expect(widget).to_contain_text("Stopped labwidget", timeout=60_000)
        expect(widget.locator("b", has_text="labwidget")).to_have_count(0)
        assert api["alice"]("GET", "services").json() == []
    finally:
        api["alice"]("DELETE", "services/labwidget")

    # Files: the notebook itself is in /private, with a link the browser downloads it by
    # (its own login to the dashboard, no token in the page)
    page.get_by_role("tab", name="Files").click()
    link = widget.locator("a", has_text=re.compile("^widgets.ipynb$"))
    expect(link).to_be_visible(timeout=30_000)
    href = link.get_attribute("href")
    assert href == "/services/karvdash/api/files/private/widgets.ipynb?download=1", href
    assert link.get_attribute("target") == "_blank"
    got = page.request.get(hub.url + href)
    assert got.ok and "attachment" in got.headers["content-disposition"], got.headers
    assert "from karvdash_labext.widgets import Dashboard" in got.text()
    page.screenshot(path=str(shots / "widgets-files.png"))
    if page.get_by_role("tab", name="Images").count():
        page.get_by_role("tab", name="Images").click()
        expect(widget).to_contain_text("No images yet", timeout=30_000)
        page.screenshot(path=str(shots / "widgets-images.png"))
