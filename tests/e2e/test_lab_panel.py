"""The Karvdash side panel (karvdash_labext/lab) in a real JupyterLab, started by a real
hub as the user's server, talking to the real dashboard through the server extension,
in Debian's Chromium: the services launched elsewhere with their status, a launch from
a template's tile through its form, a stop after a confirmation, errors shown at the
field they are about, the refresh that runs only while the panel is shown, the
Launcher's items and the command that reveal it, and one user's services hidden from
another.

Set KARVDASH_SCREENSHOTS to a folder to keep the screenshots (``lab-*.png``)."""

from __future__ import annotations

import json
import time

import pytest
from kubernetes import client
from support import lab
from support.hostile import HOSTILE, clean

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

#: a template with a variable of every kind, and texts that must stay text
CUSTOM = f"""
kind: Template
name: Counter Board
description: {json.dumps("Counts things " + HOSTILE[1] + " " + HOSTILE[2])}
variables:
- {{name: NAME, default: counter}}
- {{name: PORT, default: 8080, type: integer, help: {json.dumps("Port " + HOSTILE[0])}}}
- {{name: DEBUG, default: false, type: boolean, help: Log every request}}
- {{name: SIZE, default: small, choices: [small, large], help: How much to keep}}
---
apiVersion: v1
kind: Service
metadata: {{name: $NAME}}
spec: {{selector: {{app: $NAME}}, ports: [{{port: $PORT}}]}}
"""


def listed(api, who: str) -> list[str]:
    r = api[who]("GET", "services")
    assert r.status_code == 200, r.text
    return [s["name"] for s in r.json()]


@pytest.fixture
def launched(api):
    """Launch through alice's API (``launched(template, NAME=...)``); every service of
    hers that a test made, through the API or the panel (``launched.made``), is stopped
    after it."""
    made: list[str] = []

    def launch(template: str, **variables):
        r = api["alice"]("POST", "services", json={"template": template, "variables": variables})
        assert r.status_code == 201, r.text
        made.append(r.json()["name"])
        return r.json()

    launch.made = made
    yield launch
    for name in made:
        r = api["alice"]("DELETE", f"services/{name}")
        assert r.status_code in (200, 404), r.text


@pytest.fixture(scope="module")
def counter_board(api):
    """Alice's own template with an integer, a boolean and a choice."""
    r = api["alice"]("POST", "templates", json={"data": CUSTOM, "id": "counter-board"})
    assert r.status_code == 201, r.text
    yield "counter-board"
    api["alice"]("DELETE", "templates/counter-board")


@pytest.fixture
def alice_lab(as_user, hub):
    page, watch = as_user("alice")
    lab.open_lab(page, hub, "alice")
    lab.open_panel(page)
    return page, watch


def test_the_panel_lists_the_services_launched_through_the_api_with_their_status(
    as_user, hub, api, launched, shots
):
    hello = launched("hello-kubernetes", NAME="from-api", MESSAGE="hi")
    files = launched("minio", NAME="files")
    cache = launched("redis", NAME="cache")  # no Ingress, so no address
    assert hello["url"] and files["url"] and cache["url"] is None, (hello, files, cache)
    page, watch = as_user("alice")
    lab.open_lab(page, hub, "alice")
    lab.open_panel(page)

    row = lab.service(page, "from-api")
    row.wait_for(timeout=15_000)
    assert "Hello Kubernetes" in row.locator(".kd-service-template").inner_text()
    badge = row.locator(".kd-badge")
    assert badge.get_attribute("data-state") in ("ready", "starting", "idle", "failed")
    assert badge.inner_text().strip()
    assert row.locator("a.kd-open").get_attribute("href") == hello["url"]
    no_address = lab.service(page, "cache")
    no_address.wait_for(timeout=15_000)
    assert no_address.locator(".kd-open").count() == 0  # no address: no link
    opened = lab.service(page, "files").locator("a.kd-open")
    assert opened.get_attribute("href") == files["url"]
    assert opened.get_attribute("target") == "_blank"
    assert "noopener" in opened.get_attribute("rel").split()
    order = page.locator(f"{lab.PANEL} .kd-service").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.name)"
    )
    assert order == listed(api, "alice") and set(order) == {"from-api", "files", "cache"}
    assert page.locator(f"{lab.PANEL} .kd-empty").first.is_hidden()
    dashboard = page.locator(f"{lab.PANEL} a.kd-dashboard-link")
    assert dashboard.inner_text() == "Open the dashboard"
    assert dashboard.get_attribute("href").endswith("/services/karvdash/")
    assert page.locator(f"{lab.PANEL} .kd-user").inner_text() == "alice"
    page.screenshot(path=str(shots / "lab-panel.png"))
    clean(watch)


def test_a_tile_opens_the_templates_form_and_launch_adds_the_service(
    alice_lab, hub, kube, api, launched, shots
):
    page, watch = alice_lab
    lab.tile(page, "hello-kubernetes").click()
    page.wait_for_selector(lab.FORM)
    assert lab.field(page, "NAME").input_value() == "hello-kubernetes"
    assert lab.field(page, "MESSAGE").input_value() == "I just deployed this on Kubernetes!"
    help_text = page.locator(f'{lab.FORM} .kd-field[data-variable="MESSAGE"] .kd-field-help')
    assert help_text.inner_text() == "Message to display"
    lab.field(page, "NAME").fill("from-panel")
    lab.field(page, "MESSAGE").fill("Hello from the panel")
    page.screenshot(path=str(shots / "lab-launch-form.png"))
    launched.made.append("from-panel")
    lab.dialog_button(page, "Launch").click()

    page.wait_for_selector(lab.FORM, state="detached", timeout=30_000)
    toast = page.locator(".Toastify__toast", has_text="Launched from-panel")
    toast.wait_for(timeout=10_000)
    lab.service(page, "from-panel").wait_for(timeout=10_000)
    assert "from-panel" in listed(api, "alice")
    assert api["alice"]("GET", "services/from-panel").json()["template"] == "hello-kubernetes"
    made = client.AppsV1Api(kube).read_namespaced_deployment("from-panel", hub.namespace("alice"))
    env = {e.name: e.value for e in made.spec.template.spec.containers[0].env}
    assert env["MESSAGE"] == "Hello from the panel"
    clean(watch)


def test_stop_asks_first_and_the_stopped_service_leaves_the_panel_and_the_api(
    alice_lab, api, launched
):
    launched("hello-kubernetes", NAME="to-stop")
    page, watch = alice_lab
    page.locator(f"{lab.PANEL} .kd-refresh").click()
    row = lab.service(page, "to-stop")
    row.wait_for(timeout=10_000)

    row.locator(".kd-stop").click()
    page.wait_for_selector(".jp-Dialog", state="visible")
    assert "Stop to-stop?" in page.locator(".jp-Dialog .jp-Dialog-header").inner_text()
    lab.dialog_button(page, "Cancel").click()
    page.wait_for_selector(".jp-Dialog", state="detached")
    time.sleep(1)
    assert "to-stop" in listed(api, "alice") and row.is_visible()

    row.locator(".kd-stop").click()
    lab.dialog_button(page, "Stop").click()
    row.wait_for(state="detached", timeout=30_000)
    assert "to-stop" not in listed(api, "alice")
    clean(watch)


def test_an_invalid_name_is_shown_at_the_name_field_and_the_form_stays_open(
    alice_lab, api, launched
):
    page, watch = alice_lab
    before = listed(api, "alice")
    lab.tile(page, "hello-kubernetes").click()
    lab.field(page, "NAME").fill("Not a name!")
    lab.dialog_button(page, "Launch").click()

    error = lab.field_error(page, "NAME")
    error.wait_for(state="visible", timeout=15_000)
    assert "NAME must be" in error.inner_text()
    assert lab.field(page, "NAME").get_attribute("aria-invalid") == "true"
    assert page.locator(f"{lab.FORM} .kd-form-error").is_hidden()
    assert page.locator(lab.FORM).is_visible()
    assert listed(api, "alice") == before

    # corrected in the same form, the launch goes through
    lab.field(page, "NAME").fill("corrected")
    launched.made.append("corrected")
    lab.dialog_button(page, "Launch").click()
    page.wait_for_selector(lab.FORM, state="detached", timeout=30_000)
    lab.service(page, "corrected").wait_for(timeout=10_000)
    assert "corrected" in listed(api, "alice")
    clean(watch, "400")


def test_an_error_about_no_field_is_shown_above_the_form_which_stays_open(alice_lab, launched):
    launched("nginx")  # a singleton: once per user
    page, watch = alice_lab
    lab.tile(page, "nginx").click()
    lab.field(page, "NAME").fill("second-nginx")
    lab.dialog_button(page, "Launch").click()
    error = page.locator(f"{lab.FORM} .kd-form-error")
    error.wait_for(state="visible", timeout=15_000)
    assert "runs once per user" in error.inner_text()
    assert lab.field_error(page, "NAME").is_hidden()
    lab.dialog_button(page, "Cancel").click()
    page.wait_for_selector(lab.FORM, state="detached")
    assert lab.service(page, "second-nginx").count() == 0
    clean(watch, "409")


def test_a_templates_variables_become_number_checkbox_and_choice_fields_and_text_stays_text(
    as_user, hub, api, counter_board
):
    page, watch = as_user("alice")
    lab.open_lab(page, hub, "alice")
    lab.open_panel(page)
    page.locator(f"{lab.PANEL} .kd-refresh").click()
    tile = lab.tile(page, counter_board)
    tile.wait_for(timeout=10_000)
    description = tile.locator(".kd-template-description").inner_text()
    assert description == "Counts things " + HOSTILE[1] + " " + HOSTILE[2]
    tile.click()

    port, debug, size = (lab.field(page, v) for v in ("PORT", "DEBUG", "SIZE"))
    assert (port.get_attribute("type"), port.input_value()) == ("number", "8080")
    assert debug.get_attribute("type") == "checkbox" and not debug.is_checked()
    assert size.evaluate("(s) => [s.tagName, s.value]") == ["SELECT", "small"]
    help_text = page.locator(f'{lab.FORM} .kd-field[data-variable="PORT"] .kd-field-help')
    assert help_text.inner_text() == "Port " + HOSTILE[0]

    before = listed(api, "alice")
    port.fill("")
    lab.dialog_button(page, "Launch").click()
    error = lab.field_error(page, "PORT")
    error.wait_for(state="visible", timeout=15_000)
    assert "PORT must be a whole number" in error.inner_text()
    lab.dialog_button(page, "Cancel").click()
    page.wait_for_selector(lab.FORM, state="detached")
    assert listed(api, "alice") == before

    # the panel's one picture is its refresh button's icon
    injected = ", ".join(
        f".kd-panel {t}" for t in ("script", "img", "iframe", "style", ".kd-templates svg")
    )
    assert page.locator(injected).count() == 0
    assert page.evaluate("() => window.__pwned") is None
    clean(watch, "400")


def test_the_panel_refreshes_itself_only_while_it_is_shown(alice_lab, launched):
    page, watch = alice_lab
    lab.record_calls(page)
    launched("hello-kubernetes", NAME="appears")
    # no click: the next refresh (every 5 s) shows it
    lab.service(page, "appears").wait_for(timeout=12_000)

    page.click(lab.PANEL_TAB)  # hides the panel
    page.wait_for_selector(lab.PANEL, state="hidden")
    hidden_at = lab.now(page)
    page.wait_for_timeout(11_000)
    assert [t for t in lab.services_calls(page) if t > hidden_at + 500] == []

    lab.open_panel(page)
    shown_at = lab.now(page)
    page.wait_for_timeout(5_500)
    after = [t for t in lab.services_calls(page) if t > hidden_at + 500]
    assert after and after[-1] > shown_at, after  # at once, and again 5 s later
    clean(watch)


def test_the_launcher_items_and_the_open_command_lead_to_the_panel_and_its_forms(alice_lab):
    page, watch = alice_lab
    page.click(lab.PANEL_TAB)  # hidden: the command shows it again
    page.wait_for_selector(lab.PANEL, state="hidden")

    lab.run_from_palette(page, "Open Karvdash")
    page.wait_for_selector(lab.PANEL, state="visible")

    lab.run_from_palette(page, "New Launcher")
    # the Launcher just opened (JupyterLab may have opened one of its own at start, now
    # behind it)
    section = page.locator(".jp-Launcher-section:visible", has_text="Karvdash").last
    section.wait_for(timeout=15_000)
    cards = section.locator(".jp-LauncherCard")
    assert cards.count() >= 12
    section.locator(".jp-LauncherCard", has_text="Hello Kubernetes").first.click()
    form = page.locator(lab.FORM)
    form.wait_for()
    assert form.get_attribute("data-template") == "hello-kubernetes"
    lab.dialog_button(page, "Cancel").click()
    form.wait_for(state="detached")
    clean(watch)


def test_bob_sees_only_his_own_services_in_his_panel(as_user, hub, api, launched):
    launched("hello-kubernetes", NAME="alices-own")
    page, watch = as_user("bob")
    lab.open_lab(page, hub, "bob")
    lab.open_panel(page)
    assert page.locator(f"{lab.PANEL} .kd-user").inner_text() == "bob"
    assert page.locator(f"{lab.PANEL} .kd-service").count() == 0
    assert page.locator(f"{lab.PANEL} .kd-services + .kd-empty").is_visible()
    assert lab.tile(page, "hello-kubernetes").is_visible()
    assert listed(api, "bob") == []
    assert "alices-own" in listed(api, "alice")
    clean(watch)
