"""The widgets' own behaviour, against a small stand-in of the API on 127.0.0.1 (real HTTP,
real httpx, real ipywidgets): how a long operation leaves the kernel's loop free, how the
Services refresh themselves and stop, what no registry looks like, what never reaches the
browser (the token, unescaped text, a link that is not http). The widgets against the real
dashboard: tests/e2e/test_widgets.py; in a real JupyterLab: tests/e2e/test_widgets_lab.py.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import ipywidgets as w
import pytest
from support.standin import StandIn, serving

from karvdash_labext.client import KarvdashClient, KarvdashError
from karvdash_labext.widgets import Dashboard, Files, Images, Launcher, Services

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "secret-t0ken-of-alice"
TEMPLATE = {
    "id": "board",
    "name": "Board",
    "description": "A <b>board</b>",
    "singleton": False,
    "auth": True,
    "builtin": False,
    "variables": [
        {"name": "NAME", "default": "board", "type": "string", "help": "Instance name"},
        {"name": "SIZE", "default": 3, "type": "integer", "help": "How many"},
        {"name": "PUBLIC", "default": True, "type": "boolean"},
        {"name": "VERSION", "default": "17", "type": "string", "choices": ["15", "17"]},
    ],
}

pytestmark = pytest.mark.usefixtures("nothing_configured")


class Api(StandIn):
    """Templates, services (a launch waits for ``release`` when set), an empty private
    folder, and images answered as an installation without a registry."""

    def route(self) -> str:
        for _ in self.pieces():
            pass
        path = urlsplit(self.path).path.removeprefix("/api/")
        self.server.seen.append((self.command, path, self.headers.get("Authorization")))
        return path

    def do_GET(self):
        path = self.route()
        answers = {
            "user": {"name": "alice", "admin": False, "namespace": "karvdash-alice"},
            "templates": [TEMPLATE],
            "services": self.server.services,
            "files/private": {"type": "folder", "name": "", "entries": [], "total": 0},
        }
        if path == "images":
            message = "this installation has no registry: ask your admin"
            return self.reply(404, {"status": 404, "reason": "no-registry", "message": message})
        self.reply(200, answers[path])

    def do_POST(self):
        self.route()
        release = self.server.release
        if release is not None:
            release.wait(10)
        self.reply(201, {"name": "board", "namespace": "karvdash-alice", "url": None})


@pytest.fixture
def api():
    services = [
        {
            "name": "<script>x</script>",
            "template": "board",
            "url": "javascript:alert(1)",
            "status": {"ready": 0, "total": 1, "phase": "Pending", "warning": "<img src=x>"},
        },
        {
            "name": "hello",
            "template": "hello-kubernetes",
            "url": 'http://hello-alice.example.org/?a=1&b="2"',
            "status": {"ready": 1, "total": 1, "phase": "Running"},
        },
    ]
    with serving(Api, seen=[], services=services, release=None) as httpd:
        httpd.client = KarvdashClient(url=httpd.url, token=TOKEN)
        yield httpd
        httpd.client.close()


def tree(widget: w.Widget):
    """A widget and every widget its state names (children, layout, style)."""
    yield widget
    for name in widget.keys:
        value = getattr(widget, name)
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, w.Widget):
                yield from tree(item)


def test_the_widgets_need_ipywidgets_and_say_how_to_install_it_but_the_client_does_not():
    code = (
        "import sys\nsys.modules['ipywidgets'] = None\n"
        "import karvdash_labext, karvdash_labext.client, karvdash_labext.cli\n"
        "try:\n    import karvdash_labext.widgets\nexcept ImportError as err:\n"
        "    print(err)\nelse:\n    print('imported')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "pip install ipywidgets" in r.stdout, r.stdout


def test_the_launchers_form_has_a_field_of_each_variables_type_with_its_default(api):
    launcher = Launcher(client=api.client)
    fields = launcher.fields
    assert isinstance(fields["NAME"], w.Text) and fields["NAME"].value == "board"
    assert isinstance(fields["SIZE"], w.IntText) and fields["SIZE"].value == 3
    assert isinstance(fields["PUBLIC"], w.Checkbox) and fields["PUBLIC"].value is True
    assert isinstance(fields["VERSION"], w.Dropdown)
    assert (fields["VERSION"].options, fields["VERSION"].value) == (("15", "17"), "17")
    assert fields["NAME"].tooltip == "Instance name"
    assert "&lt;b&gt;board&lt;/b&gt;" in launcher.about.value
    launcher.close()


async def test_a_launch_from_the_form_runs_in_a_thread_and_leaves_the_loop_free(api):
    api.release = threading.Event()
    launcher = Launcher(client=api.client)
    launched = []
    launcher.on_launch(launched.append)
    launcher.launch_button.click()
    # the click returned while the API holds the request: the loop runs on
    await asyncio.sleep(0.2)
    assert launcher.launch_button.disabled and launcher.picker.disabled
    assert "Launching board" in launcher.status.value and not launched
    api.release.set()
    await launcher.background.idle()
    assert not launcher.launch_button.disabled and not launcher.picker.disabled
    assert [a["name"] for a in launched] == ["board"], launcher.status.value
    assert "Launched board" in launcher.status.value
    launcher.close()


async def test_services_refresh_themselves_on_the_loop_while_shown_until_closed(api):
    services = Services(client=api.client, interval=0.1)
    await asyncio.sleep(0.35)
    # no browser shows it yet: no requests but the first
    assert [p for m, p, _ in api.seen if (m, p) == ("GET", "services")] == ["services"]
    services._view_count = 1  # what the browser says when it shows the table
    await asyncio.sleep(0.55)
    asked = [p for m, p, _ in api.seen if (m, p) == ("GET", "services")]
    assert len(asked) >= 5, asked
    services.close()
    await asyncio.sleep(0.1)
    count = len(api.seen)
    await asyncio.sleep(0.35)
    assert len(api.seen) == count
    assert services.background.poller is None


def test_without_a_loop_services_refresh_only_when_asked(api):
    services = Services(client=api.client, interval=0.05)
    assert services.background.poller is None
    assert [s["name"] for s in services.refresh()] == ["<script>x</script>", "hello"]
    services.close()


def test_text_from_the_api_is_escaped_and_only_http_addresses_are_links(api):
    services = Services(client=api.client, interval=0)
    bad, good = (services.rows[n].cells for n in ("<script>x</script>", "hello"))
    shown = " ".join(c.value for c in bad)
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert "<img" not in shown and "&lt;img src=x&gt;" in shown
    assert "javascript:" not in shown and "<a " not in shown
    assert good[4].value.startswith('<a href="http://hello-alice.example.org/?a=1&amp;b=&quot;2')
    assert 'target="_blank" rel="noopener' in good[4].value
    services.close()


def test_a_stop_asks_first_and_then_stops(api):
    services = Services(client=api.client, interval=0)
    stop = services.rows["hello"].stop
    stop.button.click()
    assert stop.yes in stop.children and not [s for s in api.seen if s[0] == "DELETE"]
    stop.no.click()
    assert stop.children == (stop.button,)
    services.close()


def test_without_a_registry_images_say_so_and_the_dashboard_has_no_images_tab(api):
    images = Images(client=api.client)
    assert images.available is False
    (message,) = images.children
    assert "Container images are not available here" in message.value
    assert "no registry" in message.value
    dashboard = Dashboard(client=api.client, interval=0)
    assert dashboard.titles == ("Services", "Launcher", "Files")
    assert dashboard.images is None
    dashboard.close()


def test_no_widget_state_holds_the_token(api):
    dashboard = Dashboard(client=api.client, interval=0)
    states = [json.dumps(widget.get_state(), default=str) for widget in tree(dashboard)]
    assert len(states) > 50
    assert not [s for s in states if TOKEN in s]
    # the API did get it: every request carried it
    assert {auth for *_, auth in api.seen} == {f"token {TOKEN}"}
    dashboard.close()


def test_a_download_link_is_the_dashboards_files_api_as_the_browser_sees_it(api, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_BASE_URL", "/hub-base/")
    files = Files(client=api.client)
    url = files.download_url("/private/a folder/r&d #1.csv")
    assert (
        url
        == "/hub-base/services/karvdash/api/files/private/a%20folder/r%26d%20%231.csv?download=1"
    )
    assert (
        Files(client=api.client, base_url="/")
        .download_url("/shared/x")
        .startswith("/services/karvdash/api/files/shared/x?")
    )
    with pytest.raises(Exception, match=r"write /private/\.\.\. \(your files\) or /shared"):
        files.download_url("/etc/passwd")
    files.close()


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("widget", [Dashboard, Services, Launcher, Files, Images])
def test_without_an_api_url_a_widget_says_what_to_set(widget):
    with pytest.raises(KarvdashError, match=r"where is Karvdash\? Set KARVDASH_API_URL"):
        widget()


def test_the_widgets_find_the_api_in_the_kernels_environment(api, monkeypatch):
    monkeypatch.setenv("KARVDASH_API_URL", api.url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)
    launcher = Launcher()
    assert launcher.client.url == api.url and launcher.templates == [TEMPLATE]
    launcher.close()
