"""A real browser for the page tests: Debian's Chromium driven by Playwright, and a watch
on what a page must never do (open a dialog, throw, log an error, break its
Content-Security-Policy)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import requests

from support.hub import Browser, HubProcess

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshots_folder(tmp_path: Path) -> Path:
    """KARVDASH_SCREENSHOTS (``make screenshots``: the documentation's), else a temporary
    folder."""
    folder = Path(os.environ.get("KARVDASH_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Watch:
    """What a page did that it must not: dialogs opened (a script ran ``alert``), uncaught
    errors, console errors, Content-Security-Policy violations."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def attach(self, page) -> None:
        def dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)
        page.on("pageerror", lambda err: self.errors.append(str(err)))
        page.on(
            "console",
            lambda m: self.console.append(m.text) if m.type == "error" else None,
        )

    def console_errors(self, allowed: tuple[str, ...] = ()) -> list[str]:
        """Console errors, except failed loads of the statuses a test expects, and
        Chromium's ERR_NETWORK_CHANGED: the real node adds a network interface for every
        pod it starts, and Chromium then drops the loads in flight (the page's own
        refresh loads them again; what the page shows is checked by the tests)."""
        return [
            text
            for text in self.console
            if not any(f"status of {status}" in text for status in allowed)
            and "net::ERR_NETWORK_CHANGED" not in text
        ]

    def clear(self) -> None:
        self.dialogs.clear()
        self.errors.clear()
        self.console.clear()


def open_page(page, url: str, selector: str, timeout: float = 30_000):
    """Go to ``url`` and wait for ``selector`` on it. A load that Chromium dropped with
    ERR_NETWORK_CHANGED (see :meth:`Watch.console_errors`) is tried once more; a page
    without the selector fails saying where the browser ended and what it showed."""
    from playwright.sync_api import Error, TimeoutError

    for attempt in (1, 2):
        try:
            response = page.goto(url)
        except Error as err:
            if attempt == 1 and "ERR_NETWORK_CHANGED" in str(err):
                continue
            raise
        try:
            return page.wait_for_selector(selector, timeout=timeout)
        except TimeoutError:
            if attempt == 1 and page.url.startswith("chrome-error:"):
                continue
            status = response.status if response is not None else None
            shown = page.inner_text("body")[:600] if page.query_selector("body") else ""
            raise AssertionError(
                f"{url}: no {selector} after {timeout / 1000:.0f}s; the browser is at"
                f" {page.url} (status {status}), showing: {shown!r}"
            ) from None
    raise AssertionError(f"{url}: Chromium dropped the load twice (network changed)")


def approve(hub: HubProcess, name: str, password: str) -> None:
    """Sign ``name`` up and have the admin approve them (through the hub's own pages)."""
    signup, admin = Browser(hub), Browser(hub)
    signup.signup(name, password)
    assert admin.login("admin", hub.admin_password)
    r = admin.s.put(
        f"{hub.url}/hub/karvdash/api/approvals/{name}",
        headers={"X-XSRFToken": admin.xsrf()},
        timeout=30,
    )
    assert r.status_code == 204, r.text


def token_for(hub: HubProcess, name: str, password: str) -> str:
    b = Browser(hub)
    assert b.login(name, password), name
    r = b.api("POST", f"/users/{name}/tokens", json={"note": "page tests"})
    assert r.status_code == 201, r.text
    return r.json()["token"]


class Api:
    """The dashboard API with a token (what a script or karvdashctl does)."""

    def __init__(self, hub: HubProcess, token: str):
        self.base = hub.url + "/services/karvdash/api/"
        self.headers = {"Authorization": f"token {token}"}

    def __call__(self, method: str, path: str, **kw) -> requests.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=60, **kw)


def open_logged_in(browser, hub: HubProcess, name: str, password: str, viewport=DESKTOP):
    """A new browser context logged in to the hub as ``name``: (context, page, watch)."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    watch = Watch()
    watch.attach(page)
    # to the home page, not the default (starting the user's server)
    page.goto(hub.url + "/hub/login?next=%2Fhub%2Fhome")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(lambda url: "/hub/login" not in url, timeout=30_000)
    # the home page's script has logged the browser in to the dashboard service
    page.wait_for_selector("#karvdash-services tbody tr:not(.karvdash-loading)", timeout=30_000)
    return context, page, watch
