"""The dashboard's pages in a real browser (Debian's Chromium through Playwright), against
real hub, proxy and dashboard processes and the local control plane: every page and flow
of the hub's home page and the dashboard service's pages, as a user and as an admin;
hostile texts shown as text; the strict Content-Security-Policy; XSRF on writes; another
user's pages; keyboard use and small screens; the home page without the dashboard.

Set KARVDASH_SCREENSHOTS to a folder to keep the screenshots (``make screenshots``
writes the documentation's)."""

from __future__ import annotations

import os
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import yaml
from support.browser import (
    PHONE,
    Api,
    approve,
    open_logged_in,
    token_for,
)
from support.cluster import wait_for
from support.hostile import HOSTILE, INJECTED, clean
from support.hub import Browser, HubProcess

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

S = "/services/karvdash/"

CUSTOM = """
kind: Template
name: Notes Board
description: A tiny web page
variables:
- {name: NAME, default: notes}
- {name: TITLE, default: My notes, help: Page title}
- {name: REPLICAS, default: 1, type: integer, help: How many copies}
- {name: PUBLIC, default: false, type: boolean, help: Show it to everyone}
- {name: SIZE, default: small, choices: [small, large], help: How big}
---
apiVersion: v1
kind: Service
metadata: {name: $NAME}
spec: {selector: {app: $NAME}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: $NAME}
spec:
  replicas: $REPLICAS
  selector: {matchLabels: {app: $NAME}}
  template:
    metadata: {labels: {app: $NAME}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        env:
        - {name: TITLE, value: $TITLE}
        - {name: PUBLIC, value: "public=$PUBLIC"}
        - {name: SIZE, value: $SIZE}
"""


def hostile_template() -> str:
    """A template whose title, description, variables' help and defaults are hostile,
    and whose pod never gets a node (so the service stays unhealthy and shows its last
    warning)."""
    variables = [{"name": "NAME", "default": "hostile"}] + [
        {"name": f"V{i}", "default": text[:4000], "help": text} for i, text in enumerate(HOSTILE)
    ]
    head = {
        "kind": "Template",
        "name": HOSTILE[1][:60],
        "description": "\n".join(HOSTILE),
        "variables": variables,
    }
    env = [{"name": f"V{i}", "value": f"$V{i}"} for i in range(len(HOSTILE))]
    objects = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "$NAME"},
            "spec": {"selector": {"app": "$NAME"}, "ports": [{"port": 80}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "$NAME"},
            "spec": {
                "selector": {"matchLabels": {"app": "$NAME"}},
                "template": {
                    "metadata": {"labels": {"app": "$NAME"}},
                    "spec": {
                        "nodeSelector": {"karvdash.io/no-such-node": "true"},
                        "containers": [{"name": "web", "image": "nginx:1.27", "env": env}],
                    },
                },
            },
        },
    ]
    return yaml.safe_dump_all([head, *objects], sort_keys=False, allow_unicode=True)


# -- fixtures


def strict_csp(response) -> str:
    policy = response.headers.get("content-security-policy", "")
    scripts = next(d for d in policy.split("; ") if d.startswith("script-src "))
    sources = scripts.split()[1:]
    assert sources[0] == "'self'" and len(sources) <= 2, policy
    assert all(s.startswith("'sha256-") for s in sources[1:]), policy
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in policy, policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, policy
    return policy


def stop_all(api_for):
    for service in api_for("GET", "services").json():
        api_for("DELETE", f"services/{service['name']}")


# -- every page


USER_PAGES = [
    ("/hub/home", "home", "#karvdash-quick-template:not([disabled])"),
    (S + "services", "services", "#karvdash-updated:not(:empty)"),
    (S + "templates", "templates", "article.karvdash-template"),
    (S + "templates/hello-kubernetes", "launch", "#karvdash-launch"),
    (S + "namespace", "namespace", "#karvdash-quota tbody tr"),
    (S + "files", "files", "h1"),
    (S + "images", "images", "#karvdash-images > :not(.karvdash-loading), #karvdash-no-registry"),
    (S + "about", "about", "h1"),
]
ADMIN_PAGES = [
    ("/hub/karvdash/users", "users", "#karvdash-users tbody tr"),
    ("/hub/karvdash/delete-user/bob", "delete-user", "form"),
    (S + "namespace?user=bob", "namespace-of-bob", "#karvdash-quota tbody tr"),
]

UNLABELLED = """() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, a[href]'))
  .filter((e) => e.getClientRects().length)
  .filter((e) => !((e.labels && e.labels.length) || e.getAttribute('aria-label')
      || e.getAttribute('aria-labelledby') || e.textContent.trim() || e.title
      || e.querySelector('img[alt]:not([alt=""])')))
  .map((e) => e.outerHTML.slice(0, 160))"""


@pytest.mark.parametrize("who", ["alice", "admin"])
def test_every_page_has_the_navigation_a_strict_csp_labels_and_no_errors(
    who, as_user, hub, api, shots
):
    page, watch = as_user(who)
    pages = USER_PAGES + (ADMIN_PAGES if who == "admin" else [])
    for path, name, ready in pages:
        response = page.goto(hub.url + path)
        assert response.status == 200, (path, response.status)
        strict_csp(response)
        page.wait_for_selector(ready, timeout=30_000)
        if name == "home":  # JupyterHub's own script of the page runs too (Start/Stop)
            page.wait_for_function("() => window.require && window.require.defined('home')")
        nav = page.locator("#thenavbar").inner_text()
        for entry in ("Home", "Services", "Templates", "Files", "Images", "About"):
            assert entry in nav, (path, nav)
        assert ("Users" in nav) == (who == "admin"), (path, nav)
        assert page.title().endswith("Karvdash"), (path, page.title())
        assert page.evaluate(UNLABELLED) == [], path
        page.wait_for_timeout(300)  # late scripts' errors
        clean(watch)
        if who == "alice":
            page.screenshot(path=str(shots / f"page-{name}.png"))


def test_pages_are_usable_at_390_px_with_the_menu_behind_a_button(as_user, hub, api, shots):
    page, watch = as_user("alice", viewport=PHONE)
    for path, _, ready in USER_PAGES:
        page.goto(hub.url + path)
        page.wait_for_selector(ready, timeout=30_000)
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= PHONE["width"], (path, wide)
    page.goto(hub.url + S + "services")
    assert not page.is_visible("#thenavbar a[href$='/templates']")
    page.click("button.navbar-toggler")
    page.click("#thenavbar a[href$='/templates']")
    page.wait_for_selector("article.karvdash-template")
    page.screenshot(path=str(shots / "page-templates-phone.png"), full_page=False)
    clean(watch)


# -- services


def test_a_user_launches_from_the_home_page_and_stops_with_a_confirmation(as_user, hub, api, shots):
    page, watch = as_user("alice")
    page.goto(hub.url + "/hub/home")
    page.wait_for_selector("#karvdash-quick-template:not([disabled])")
    page.select_option("#karvdash-quick-template", "hello-kubernetes")
    page.click("#karvdash-quick-launch button[type=submit]")
    page.wait_for_selector("text=Launched hello-kubernetes.")
    row = page.wait_for_selector("tr[data-service='hello-kubernetes']")
    assert "Hello Kubernetes" in row.inner_text()
    page.screenshot(path=str(shots / "home-services.png"))
    page.click("button[aria-label='Stop hello-kubernetes']")
    dialog = page.wait_for_selector("dialog[open]")
    assert "Stop hello-kubernetes?" in dialog.inner_text()
    page.click("dialog[open] button[value=cancel]")
    assert page.is_visible("tr[data-service='hello-kubernetes']")
    page.click("button[aria-label='Stop hello-kubernetes']")
    page.click("dialog[open] button[value=confirm]")
    page.wait_for_selector("text=/Stopped hello-kubernetes/")
    page.wait_for_selector("tr[data-service='hello-kubernetes']", state="detached")
    assert api["alice"]("GET", "services").json() == []
    clean(watch)


def test_the_services_list_refreshes_by_itself_with_the_last_warning(
    as_user, hub, api, kube, shots
):
    from kubernetes import client

    page, watch = as_user("bob")
    page.goto(hub.url + S + "services")
    page.wait_for_selector("text=No services yet.")
    launched = api["bob"]("POST", "services", json={"template": "hello-kubernetes"})
    assert launched.status_code == 201, launched.text
    # no reload: the page asks again by itself
    row = page.wait_for_selector("tr[data-service='hello-kubernetes']", timeout=15_000)
    assert row.query_selector("a[href$='/services/hello-kubernetes']")
    ns = hub.namespace("bob")
    # an unhealthy service shows its latest warning: a new pod for a node that is not there
    apps = client.AppsV1Api(kube)
    apps.patch_namespaced_deployment(
        "hello-kubernetes",
        ns,
        {"spec": {"template": {"spec": {"nodeSelector": {"karvdash.io/none": "x"}}}}},
    )
    event_about(
        kube, ns, "Service", "hello-kubernetes", "Warning", "Tested", "the last warning", 600
    )
    wait_for(
        lambda: "the last warning" in page.inner_text("tr[data-service='hello-kubernetes']"),
        30,
        "the warning in the list",
    )
    page.screenshot(path=str(shots / "services.png"))
    api["bob"]("DELETE", "services/hello-kubernetes")
    page.wait_for_selector("tr[data-service='hello-kubernetes']", state="detached", timeout=15_000)
    clean(watch)


def event_about(kube, ns, kind, name, type_, reason, message, later=0):
    from kubernetes import client

    now = datetime.now(UTC) + timedelta(seconds=later)
    client.CoreV1Api(kube).create_namespaced_event(
        ns,
        client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name=f"{name}."),
            involved_object=client.V1ObjectReference(kind=kind, name=name, namespace=ns),
            type=type_,
            reason=reason,
            message=message,
            count=1,
            first_timestamp=now,
            last_timestamp=now,
        ),
    )


def test_launch_from_the_catalogue_with_errors_at_the_field_then_the_service_page(
    as_user, hub, api, shots, kube
):
    page, watch = as_user("alice")
    added = api["alice"]("POST", "templates", json={"data": CUSTOM, "id": "notes-board"})
    assert added.status_code == 201, added.text
    page.goto(hub.url + S + "templates")
    page.click("a[aria-label='Launch Notes Board']")
    page.wait_for_selector("#karvdash-launch")
    # the form is made from the variables: help, defaults, types, choices, booleans
    assert page.input_value("#var-NAME") == "notes"
    assert page.input_value("#var-TITLE") == "My notes"
    assert page.get_attribute("#var-REPLICAS", "type") == "number"
    assert page.get_attribute("#var-PUBLIC", "type") == "checkbox"
    assert not page.is_checked("#var-PUBLIC")
    assert page.eval_on_selector("#var-SIZE", "e => e.tagName") == "SELECT"
    assert page.inner_text("#var-TITLE-help") == "Page title"
    assert page.get_attribute("#var-TITLE", "aria-describedby") == "var-TITLE-help var-TITLE-error"
    # an error that names a variable appears at its field
    page.fill("#var-NAME", "Not A Name!")
    page.click("#karvdash-launch button[type=submit]")
    page.wait_for_selector("#var-NAME.is-invalid")
    assert "NAME must be" in page.inner_text("#var-NAME-error")
    assert page.evaluate("() => document.activeElement.id") == "var-NAME"
    page.screenshot(path=str(shots / "launch-error.png"))
    # a refusal of the cluster (the quota) is said above the form, nothing is left behind
    page.fill("#var-NAME", "notes")
    page.fill("#var-REPLICAS", "-1")
    page.click("#karvdash-launch button[type=submit]")
    page.wait_for_selector("#karvdash-form-error:not(.d-none)")
    assert "not launched" in page.inner_text("#karvdash-form-error")
    assert "replicas" in page.inner_text("#karvdash-form-error")
    assert api["alice"]("GET", "services").json() == []
    page.fill("#var-REPLICAS", "1")
    page.check("#var-PUBLIC")
    page.select_option("#var-SIZE", "large")
    page.click("#karvdash-launch button[type=submit]")
    page.wait_for_url("**/services/karvdash/services/notes", timeout=30_000)
    # the service's page: objects, pods, recent events, logs
    page.wait_for_selector("#karvdash-objects tbody tr")
    objects = page.inner_text("#karvdash-objects")
    assert "Deployment" in objects and "Service" in objects, objects
    deployment = api["alice"]("GET", "services/notes").json()
    env = {e["name"]: e["value"] for e in read_env(kube, hub.namespace("alice"), "notes")}
    assert env["PUBLIC"] == "public=true" and env["SIZE"] == "large", (env, deployment)
    event_about(kube, hub.namespace("alice"), "Deployment", "notes", "Normal", "Seen", "hello")
    page.reload()
    page.wait_for_selector("#karvdash-events tbody tr:has-text('hello')", timeout=20_000)
    page.wait_for_selector("#karvdash-logs .karvdash-log, #karvdash-logs p")
    page.screenshot(path=str(shots / "service.png"), full_page=True)
    page.click("#karvdash-stop")
    page.click("dialog[open] button[value=confirm]")
    page.wait_for_url("**/services/karvdash/services", timeout=30_000)
    assert api["alice"]("GET", "services").json() == []
    clean(watch, 400, 422)


def read_env(kube, ns, name):
    from kubernetes import client

    dep = client.AppsV1Api(kube).read_namespaced_deployment(name, ns)
    return [{"name": e.name, "value": e.value} for e in dep.spec.template.spec.containers[0].env]


def test_logs_are_bounded_and_only_for_their_owner(api):
    """The endpoint's rules; what the service page does with whatever a container prints
    is tested with a real container on the real node (test_real_node.py)."""
    launched = api["bob"]("POST", "services", json={"template": "hello-kubernetes"})
    assert launched.status_code == 201, launched.text
    try:
        logs = api["bob"]("GET", "services/hello-kubernetes/logs?lines=5")
        assert logs.status_code == 200, logs.text
        for entry in logs.json():
            assert len(entry["log"].encode()) <= 64 * 1024
            assert entry["log"] or entry.get("error"), entry
        too_many = api["bob"]("GET", "services/hello-kubernetes/logs?lines=100000")
        assert too_many.status_code == 400, too_many.text
        assert api["alice"]("GET", "services/hello-kubernetes/logs").status_code == 404
    finally:
        api["bob"]("DELETE", "services/hello-kubernetes")


# -- templates


def test_a_custom_template_is_added_by_upload_and_paste_downloaded_and_removed(
    as_user, hub, api, shots, tmp_path
):
    page, watch = as_user("bob")
    page.goto(hub.url + S + "templates")
    page.wait_for_selector("article.karvdash-template")
    # pasted, with a mistake: the error names the document and the field
    broken = CUSTOM.replace("metadata: {name: $NAME}\nspec: {selector", "spec: {selector", 1)
    page.fill("#karvdash-add-text", broken)
    page.click("#karvdash-add-form button[type=submit]")
    page.wait_for_selector("#karvdash-add-text.is-invalid")
    error = page.inner_text("#karvdash-add-error")
    assert "document 2" in error and "metadata.name" in error, error
    page.screenshot(path=str(shots / "templates-error.png"))
    # uploaded from a file: its text comes into the form
    upload = tmp_path / "board.template.yaml"
    upload.write_text(CUSTOM.replace("Notes Board", "Pin Board"))
    page.set_input_files("#karvdash-add-file", str(upload))
    wait_for(lambda: "Pin Board" in page.input_value("#karvdash-add-text"), 10, "the file's text")
    page.click("#karvdash-add-form button[type=submit]")
    page.wait_for_selector("text=/Added Pin Board \\(id pin-board\\)/")
    card = page.wait_for_selector("article[data-template='pin-board']")
    assert "yours" in card.inner_text()
    # the same id again: the error is at the id field
    page.fill("#karvdash-add-text", CUSTOM)
    page.fill("#karvdash-add-id", "pin-board")
    page.click("#karvdash-add-form button[type=submit]")
    page.wait_for_selector("#karvdash-add-id.is-invalid")
    assert "already have" in page.inner_text("#karvdash-add-id-error")
    with page.expect_download() as download:
        page.click("a[aria-label='Download Pin Board']")
    assert Path(download.value.path()).read_text() == upload.read_text()
    page.click("button[aria-label='Remove Pin Board']")
    page.click("dialog[open] button[value=confirm]")
    page.wait_for_selector("article[data-template='pin-board']", state="detached")
    assert "pin-board" not in [t["id"] for t in api["bob"]("GET", "templates").json()]
    # built-in templates cannot be removed: no button
    assert page.query_selector("button[aria-label='Remove PostgreSQL']") is None
    clean(watch, 409, 422)


# -- safety


def test_hostile_texts_are_shown_as_text_and_run_no_script(as_user, hub, api, kube, shots):
    added = api["alice"]("POST", "templates", json={"data": hostile_template(), "id": "hostile"})
    assert added.status_code == 201, added.text
    page, watch = as_user("alice")
    page.goto(hub.url + S + "templates")
    card = page.wait_for_selector("article[data-template='hostile']")
    text = card.evaluate("e => e.textContent")
    assert HOSTILE[1][:60] in text
    assert "\n".join(HOSTILE) in text
    # the launch form: help as text, defaults as values
    page.goto(hub.url + S + "templates/hostile")
    for i, hostile in enumerate(HOSTILE):
        assert page.eval_on_selector(f"#var-V{i}-help", "e => e.textContent") == hostile
        assert page.input_value(f"#var-V{i}") == hostile[:4000]
    # a hostile service name is refused at its field, as text
    page.fill("#var-NAME", HOSTILE[2][:40])
    page.click("#karvdash-launch button[type=submit]")
    page.wait_for_selector("#var-NAME.is-invalid")
    assert page.input_value("#var-NAME") == HOSTILE[2][:40]
    # hostile values are launched as they are
    page.fill("#var-NAME", "hostile")
    page.fill("#var-V0", HOSTILE[0])
    page.click("#karvdash-launch button[type=submit]")
    page.wait_for_url("**/services/hostile", timeout=30_000)
    env = {e["name"]: e["value"] for e in read_env(kube, hub.namespace("alice"), "hostile")}
    assert env["V0"] == HOSTILE[0] and env["V6"] == HOSTILE[6][:4000]
    # event messages: on the service's page, and as its last warning in the lists
    ns = hub.namespace("alice")
    for i, hostile in enumerate(HOSTILE):
        event_about(kube, ns, "Service", "hostile", "Warning", "Hostile", hostile, later=60 + i)
    page.reload()
    wait_for(
        lambda: all(
            h in page.eval_on_selector("#karvdash-events", "e => e.textContent") for h in HOSTILE
        ),
        30,
        "every hostile event on the service's page",
    )
    for path in (S + "services", "/hub/home"):
        page.goto(hub.url + path)
        row = page.wait_for_selector("tr[data-service='hostile'] .karvdash-warning", timeout=30_000)
        assert row.evaluate("e => e.textContent") == HOSTILE[-1]
    for path in (S + "templates", S + "templates/hostile", S + "services/hostile"):
        page.goto(hub.url + path)
        page.wait_for_timeout(1500)
        assert page.query_selector_all(INJECTED) == [], path
        assert page.evaluate("() => window.__pwned") is None, path
    clean(watch, 400)
    api["alice"]("DELETE", "services/hostile")
    api["alice"]("DELETE", "templates/hostile")


def test_an_injected_inline_script_is_refused_by_the_policy(as_user, hub, api):
    page, watch = as_user("alice")
    page.goto(hub.url + S + "services")
    refused = page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener('securitypolicyviolation',
                (e) => resolve(e.violatedDirective), {once: true});
            const s = document.createElement('script');
            s.textContent = 'window.__pwned = 1';
            document.body.append(s);
            setTimeout(() => resolve(null), 3000);
        })"""
    )
    assert refused and refused.startswith("script-src"), refused
    assert page.evaluate("() => window.__pwned") is None
    watch.clear()


def test_writes_without_the_xsrf_token_are_refused(as_user, hub, api):
    page, watch = as_user("admin")
    page.goto(hub.url + S + "services")
    page.wait_for_selector("#karvdash-updated:not(:empty)")

    def fetch(method, url, body=None, xsrf=None):
        return page.evaluate(
            """async ([method, url, body, xsrf]) => {
                const headers = {'Content-Type': 'application/json'};
                if (xsrf) headers['X-XSRFToken'] = xsrf;
                const r = await fetch(url, {method, headers, credentials: 'same-origin',
                    body: body === null ? undefined : JSON.stringify(body)});
                return r.status;
            }""",
            [method, url, body, xsrf],
        )

    launch = {"template": "hello-kubernetes"}
    assert fetch("POST", S + "api/services", launch) in (401, 403)
    assert fetch("POST", S + "api/services", launch, "forged") in (401, 403)
    assert fetch("DELETE", S + "api/templates/x", None) in (401, 403)
    assert fetch("PUT", "/hub/karvdash/api/approvals/bob") == 403
    assert fetch("PUT", "/hub/karvdash/api/approvals/bob", None, "forged") == 403
    form = requests.post(
        hub.url + "/hub/karvdash/delete-user/bob",
        cookies={c["name"]: c["value"] for c in page.context.cookies()},
        data={"purge_files": "on"},
        timeout=30,
        allow_redirects=False,
    )
    assert form.status_code == 403, form.status_code
    assert api["admin"]("GET", "services").json() == []
    assert requests.get(hub.url + "/hub/api/users/bob", headers=api["admin"].headers).ok
    watch.clear()


def test_another_users_service_and_template_pages_are_not_found(as_user, hub, api):
    assert api["bob"]("POST", "services", json={"template": "hello-kubernetes"}).status_code == 201
    added = api["bob"]("POST", "templates", json={"data": CUSTOM, "id": "bobs-board"})
    assert added.status_code == 201, added.text
    try:
        page, _ = as_user("alice")
        for path in (
            "services/hello-kubernetes",
            "templates/bobs-board",
            "services/hello-kubernetes?user=bob",
            "templates/bobs-board?user=bob",
            "namespace?user=bob",
            "services?user=bob",
        ):
            response = page.goto(hub.url + S + path)
            assert response.status == 404, path
            assert "Not found" in page.inner_text("h1")
        admin, _ = as_user("admin")
        for path in ("services/hello-kubernetes?user=bob", "templates/bobs-board?user=bob"):
            assert admin.goto(hub.url + S + path).status == 200, path
        admin.wait_for_selector("#karvdash-launch")
        assert "bob" in admin.inner_text(".karvdash-acting-for")
        # an admin launches from bob's template, for bob
        admin.fill("#var-NAME", "for-bob")
        admin.click("#karvdash-launch button[type=submit]")
        admin.wait_for_url("**/services/for-bob?user=bob", timeout=30_000)
        admin.wait_for_selector("#karvdash-objects tbody tr")
        assert "for-bob" in [s["name"] for s in api["bob"]("GET", "services").json()]
        assert "for-bob" not in [s["name"] for s in api["admin"]("GET", "services").json()]
    finally:
        api["bob"]("DELETE", "services/hello-kubernetes")
        api["bob"]("DELETE", "services/for-bob")
        api["bob"]("DELETE", "templates/bobs-board")


# -- keyboard


def test_the_services_page_works_with_the_keyboard_only(as_user, hub, api):
    assert (
        api["alice"]("POST", "services", json={"template": "hello-kubernetes"}).status_code == 201
    )
    page, watch = as_user("alice")
    page.goto(hub.url + S + "services")
    page.wait_for_selector("tr[data-service='hello-kubernetes']")

    def tab_to(label, limit=60):
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.getAttribute('aria-label')") == label:
                return
        raise AssertionError(f"Tab never reached {label}")

    tab_to("Stop hello-kubernetes")
    page.keyboard.press("Enter")
    page.wait_for_selector("dialog[open]")
    assert page.evaluate("() => document.activeElement.value") == "cancel"
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog[open]", state="detached")
    assert page.is_visible("tr[data-service='hello-kubernetes']")
    tab_to("Stop hello-kubernetes")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.value") == "confirm"
    page.keyboard.press("Enter")
    page.wait_for_selector("tr[data-service='hello-kubernetes']", state="detached", timeout=15_000)
    # the launch form, from the keyboard
    page.goto(hub.url + S + "templates/hello-kubernetes")
    page.focus("#var-NAME")
    page.keyboard.press("Control+a")
    page.keyboard.type("from-keys")
    page.keyboard.press("Enter")
    page.wait_for_url("**/services/from-keys", timeout=30_000)
    api["alice"]("DELETE", "services/from-keys")
    clean(watch)


# -- admins


def test_an_admin_approves_and_rejects_sign_ups_from_the_home_and_users_pages(
    as_user, hub, api, shots
):
    for name in ("carol", "dave", "erin"):
        Browser(hub).signup(name, f"{name}-secret-1")
    page, watch = as_user("admin")
    page.goto(hub.url + "/hub/home")
    waiting = page.wait_for_selector("li[data-user='carol']")
    assert page.is_visible("li[data-user='dave']")
    page.screenshot(path=str(shots / "home-admin.png"))
    waiting.query_selector("button[aria-label='Approve carol']").click()
    page.wait_for_selector("text=Approved carol.")
    page.click("button[aria-label='Reject dave']")
    page.wait_for_selector("text=Rejected dave.")
    page.wait_for_selector("li[data-user='dave']", state="detached")
    assert Browser(hub).login("carol", "carol-secret-1")
    assert not Browser(hub).login("dave", "dave-secret-1")
    page.goto(hub.url + "/hub/karvdash/users")
    page.wait_for_selector("#karvdash-pending tr[data-user='erin']")
    page.screenshot(path=str(shots / "users.png"), full_page=True)
    page.click("button[aria-label='Approve erin']")
    page.wait_for_selector("text=Approved erin.")
    page.wait_for_selector("#karvdash-users tr[data-user='erin']")
    assert Browser(hub).login("erin", "erin-secret-1")
    # nativeauthenticator's own page's buttons do the same
    Browser(hub).signup("fred", "fred-secret-1")
    admin = Browser(hub)
    assert admin.login("admin", hub.admin_password)
    admin.get("/hub/discard/fred")
    signups = admin.s.get(hub.url + "/hub/karvdash/api/signups", timeout=30).json()
    assert "fred" not in [s["name"] for s in signups]
    token = token_for(hub, "erin", "erin-secret-1")
    assert Api(hub, token)("GET", "user").status_code == 200
    admin.get("/hub/authorize/erin")  # unauthorize: access cut at once
    assert Api(hub, token)("GET", "user").status_code == 401
    assert not Browser(hub).login("erin", "erin-secret-1")
    clean(watch)


def test_an_admin_promotes_demotes_and_resets_a_password(as_user, hub, api, users):
    page, watch = as_user("admin")
    page.goto(hub.url + "/hub/karvdash/users")
    page.click("button[aria-label='Promote bob']")
    page.click("dialog[open] button[value=confirm]")
    page.wait_for_selector("button[aria-label='Demote bob']")
    bob = requests.get(hub.url + "/hub/api/users/bob", headers=api["admin"].headers).json()
    assert bob["admin"] is True
    assert api["bob"]("GET", "user").json()["admin"] is True
    page.click("button[aria-label='Demote bob']")
    page.click("dialog[open] button[value=confirm]")
    page.wait_for_selector("button[aria-label='Promote bob']")
    assert not requests.get(hub.url + "/hub/api/users/bob", headers=api["admin"].headers).json()[
        "admin"
    ]
    # no button acts on one's own account
    assert page.query_selector("button[aria-label='Demote admin']") is None
    assert page.query_selector("button[aria-label='Deactivate admin']") is None
    page.click("a[aria-label='Reset password bob']")
    page.fill("input[name=new_password]", "bob-new-secret-2")
    page.fill("input[name=new_password_confirmation]", "bob-new-secret-2")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_selector("text=/has been changed successfully/")
    assert Browser(hub).login("bob", "bob-new-secret-2")
    users["bob"] = "bob-new-secret-2"
    clean(watch)


def test_deactivating_a_user_cuts_their_access_at_once_and_keeps_their_services(
    browser, as_user, hub, api, kube
):
    from kubernetes import client

    approve(hub, "gina", "gina-secret-3")
    token = token_for(hub, "gina", "gina-secret-3")
    gina_api = Api(hub, token)
    assert gina_api("POST", "services", json={"template": "hello-kubernetes"}).status_code == 201
    session = Browser(hub)
    assert session.login("gina", "gina-secret-3")
    session.start_server("gina")
    context, gina, _ = open_logged_in(browser, hub, "gina", "gina-secret-3")
    gina.goto(hub.url + S + "services")
    gina.wait_for_selector("tr[data-service='hello-kubernetes']")
    assert gina_api("GET", "user").status_code == 200  # the service knows the token now

    page, watch = as_user("admin")
    page.goto(hub.url + "/hub/karvdash/users")
    page.click("button[aria-label='Deactivate gina']")
    page.click("dialog[open] button[value=confirm]")
    page.wait_for_selector("text=gina is deactivated.")
    # at once: the dashboard and the hub refuse their token, their sessions are gone
    assert gina_api("GET", "user").status_code in (401, 403)
    assert requests.get(hub.url + "/hub/api/user", headers=gina_api.headers).status_code in (
        401,
        403,
    )
    assert session.get("/hub/api/user").status_code in (401, 403)
    gina.goto(hub.url + "/hub/home")
    assert "/hub/login" in gina.url
    status = gina.evaluate(
        "async (u) => (await fetch(u, {headers: {'X-XSRFToken': 'x'}})).status",
        hub.url + S + "api/services",
    )
    assert status in (401, 403)
    model = requests.get(hub.url + "/hub/api/users/gina", headers=api["admin"].headers).json()
    assert model["servers"] == {}, model["servers"]
    assert not Browser(hub).login("gina", "gina-secret-3")
    # their services keep running, for an admin to decide about
    core = client.CoreV1Api(kube)
    assert core.read_namespaced_service("hello-kubernetes", hub.namespace("gina"))
    listed = api["admin"]("GET", "services?user=gina").json()
    assert [s["name"] for s in listed] == ["hello-kubernetes"]
    page.wait_for_selector("tr[data-user='gina'] >> text=deactivated")
    page.click("button[aria-label='Reactivate gina']")
    page.wait_for_selector("text=gina may log in again.")
    assert Browser(hub).login("gina", "gina-secret-3")
    api["admin"]("DELETE", "services/hello-kubernetes?user=gina")
    context.close()
    clean(watch)


def test_an_admin_deletes_users_keeping_or_purging_their_files(as_user, hub, api, shots):
    private = hub.state / "files" / "private"
    for name in ("hank", "ivan"):
        approve(hub, name, f"{name}-secret-4")
        assert Browser(hub).login(name, f"{name}-secret-4")  # first login: namespace, folder
        (private / name / "notes.txt").write_text(f"{name}'s notes")
    page, watch = as_user("admin")
    page.goto(hub.url + "/hub/karvdash/users")
    page.click("a[aria-label='Delete hank']")
    page.wait_for_selector("text=Delete user hank")
    page.screenshot(path=str(shots / "delete-user.png"))
    page.click("button[type=submit]")
    page.wait_for_url("**/hub/karvdash/users", timeout=120_000)
    page.wait_for_selector("#karvdash-users tbody tr")
    assert page.query_selector("tr[data-user='hank']") is None
    kept = [p for p in (private / ".deleted").iterdir() if p.name.startswith("hank-")]
    assert [(p / "notes.txt").read_text() for p in kept] == ["hank's notes"]
    page.click("a[aria-label='Delete ivan']")
    page.check("#purge_files")
    page.click("button[type=submit]")
    page.wait_for_url("**/hub/karvdash/users", timeout=120_000)
    assert not (private / "ivan").exists()
    assert not any(p.name.startswith("ivan-") for p in (private / ".deleted").iterdir())
    clean(watch)


def test_a_namespace_summary_shows_the_quota_and_the_services(as_user, hub, api, shots):
    assert api["bob"]("POST", "services", json={"template": "hello-kubernetes"}).status_code == 201
    try:
        summary = api["admin"]("GET", "namespace?user=bob").json()
        assert summary["services"] == 1 and summary["exists"], summary
        wait_for(
            lambda: (
                {"resource": "services", "used": "1", "hard": "30"}
                in api["admin"]("GET", "namespace?user=bob").json()["quota"]
            ),
            30,
            "the quota to count the service",
        )
        page, watch = as_user("admin")
        page.goto(hub.url + "/hub/karvdash/users")
        page.click("a[aria-label='Namespace bob']")
        page.wait_for_selector("#karvdash-quota tbody tr")
        assert re.search(r"Services\s+1", page.inner_text("#karvdash-summary"))
        assert "services" in page.inner_text("#karvdash-quota")
        page.screenshot(path=str(shots / "namespace.png"))
        clean(watch)
    finally:
        api["bob"]("DELETE", "services/hello-kubernetes")


# -- branding, and the hub's home page without the dashboard service


def test_the_installations_title_and_logo_are_on_the_hubs_and_the_dashboards_pages(
    browser, kubeconfig, tmp_path, monkeypatch
):
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"></svg>')
    monkeypatch.setenv("KARVDASH_TITLE", "Data Lab <Test>")
    monkeypatch.setenv("KARVDASH_LOGO", str(logo))
    branded = HubProcess(tmp_path / "state", kubeconfig)
    try:
        page = browser.new_page()
        page.goto(branded.url + "/hub/login")
        assert page.title() == "Data Lab <Test>"
        assert page.inner_text(".karvdash-title") == "Data Lab <Test>"
        assert requests.get(branded.url + "/hub/logo", timeout=30).text == logo.read_text()
        css = requests.get(branded.url + "/hub/karvdash/branding.css", timeout=30)
        assert css.headers["Content-Type"].startswith("text/css")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", branded.admin_password)
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_url(lambda url: "/hub/login" not in url)
        page.goto(branded.url + S + "about")
        assert page.title() == "About · Data Lab <Test>"
        assert "About Data Lab <Test>" in page.inner_text("h1")
        page.close()
    finally:
        branded.stop()


def test_the_home_page_works_while_the_dashboard_service_is_down(as_user, hub, api, shots):
    """Last of the module: the service is killed (the hub starts it again later)."""
    page, watch = as_user("admin")
    page.goto(hub.url + "/hub/home")
    page.wait_for_selector("#karvdash-services tbody tr")
    os.kill(hub.part_pid("apps.dashboard"), signal.SIGKILL)
    time.sleep(1)
    page.goto(hub.url + "/hub/home")
    page.wait_for_selector("text=/The dashboard service is unavailable/", timeout=30_000)
    assert page.is_visible("#start")  # the hub's own part works
    assert page.is_visible("li[data-user], #karvdash-signups li")  # so do the sign-ups
    page.screenshot(path=str(shots / "home-dashboard-down.png"))
    assert watch.dialogs == [] and watch.errors == []
    hub.wait_up(timeout=120)  # the hub restarts its service
    page.click("text=Try again")
    page.wait_for_selector("text=No services yet.", timeout=30_000)
    assert page.inner_text("#karvdash-status") == ""
