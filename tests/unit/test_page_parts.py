"""The pure parts of the pages: the Content-Security-Policy, branding, the navigation and
the user as page templates see it, what a service's page shows, and the dashboard's
handlers using the app's own HubOAuth."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from traitlets import TraitError

from karvdash_hub import site
from karvdash_hub.branding import DEFAULT_LOGO, Branding, check_colour, stylesheet
from karvdash_hub.rules import csp, inspection, status
from karvdash_hub.templatestore import _column

HEAD_SCRIPT = "\n  window.jhdata = {user: 'alice'};\n"


def page(body: str = "", head_script: str = HEAD_SCRIPT) -> str:
    return (
        "<!DOCTYPE html><html><head><title>x</title>"
        '<script src="/hub/static/require.js"></script>'
        f"<script type='text/javascript'>{head_script}</script>"
        f"</head><body>{body}<script type=module src='/x.js'></script></body></html>"
    )


def sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# -- the Content-Security-Policy


def test_the_policy_allows_self_and_the_hash_of_the_heads_one_inline_script():
    policy = csp.policy(page())
    scripts = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert scripts == f"script-src 'self' {sha(HEAD_SCRIPT)}"
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in policy
    assert "unsafe" not in policy


def test_an_inline_script_in_the_body_is_never_allowed():
    injected = "<script>alert(1)</script>"
    assert csp.policy(page(injected)) == csp.policy(page())
    assert sha("alert(1)") not in csp.policy(page(injected))


def test_without_an_inline_script_in_the_head_only_self_is_allowed():
    assert "script-src 'self';" in csp.policy("")
    html = page().replace(f"<script type='text/javascript'>{HEAD_SCRIPT}</script>", "")
    assert "script-src 'self';" in csp.policy(html)
    assert csp.head_script_hash("<p>no head</p><script>x()</script>") is None


def test_a_script_closed_early_by_injected_text_allows_only_its_broken_start():
    # a user name that ends the head's script cannot add an allowed script after it
    broken = page(head_script="var u = '</script><script>alert(1)</script>';")
    assert csp.head_script_hash(broken) == sha("var u = '")


@given(st.text(max_size=200))
def test_no_text_in_the_body_changes_the_policy(text):
    assert csp.policy(page(text)) == csp.policy(page())


def test_a_form_may_end_at_the_origins_given_and_nothing_else_enters_the_policy():
    policy = csp.policy(page(), form_targets=["https://grafana.example.org", "http://[::1]:9"])
    assert "form-action 'self' https://grafana.example.org http://[::1]:9;" in policy
    for bad in ["https://a.example.org; script-src *", "https://a.example.org/path", "*", "'none'"]:
        assert csp.policy(page(), form_targets=[bad]) == csp.policy(page())


@given(st.text(max_size=80))
def test_no_form_target_adds_a_directive(target):
    policy = csp.policy(page(), form_targets=[target])
    assert policy.count(";") == csp.policy(page()).count(";")
    assert "'unsafe" not in policy


# -- branding


@pytest.mark.parametrize("colour", ["#3b82c4", "#fff", "rebeccapurple", "rgb(10, 20, 30)"])
def test_plain_colours_are_accepted(colour):
    assert check_colour(colour) == colour
    assert colour in stylesheet(primary=colour)


@pytest.mark.parametrize(
    "bad", ["red; } body { display: none", "url(javascript:x)", "#12345", "expression(x)", "x" * 40]
)
def test_anything_else_is_refused_and_cannot_add_css_rules(bad):
    with pytest.raises(ValueError, match="is not a colour"):
        check_colour(bad)
    with pytest.raises(TraitError, match="primary_colour"):
        Branding(primary_colour=bad)


def test_the_stylesheet_changes_only_what_is_set():
    assert "--bs-primary" not in stylesheet()
    css = Branding(primary_colour="#123456", navbar_colour="black").stylesheet()
    assert "--bs-primary: #123456" in css and "background-color: black" in css


def test_branding_defaults_to_karvdash_with_its_logo():
    b = Branding()
    assert b.title == "Karvdash" and b.logo_file == str(DEFAULT_LOGO)
    assert DEFAULT_LOGO.read_text().startswith("<svg")
    assert b.template_vars()["title"] == "Karvdash"
    with pytest.raises(TraitError):
        Branding(docs_url="javascript:alert(1)")


# -- navigation and the page's user


def test_the_navigation_has_places_for_files_and_images_and_users_for_admins_only():
    user = [i["key"] for i in site.navigation("/hub/", "/services/karvdash/", admin=False)]
    assert user == ["home", "services", "templates", "files", "images", "about"]
    admin = site.navigation("/hub/", "/services/karvdash/", admin=True)
    assert {"key": "users", "label": "Users", "href": "/hub/karvdash/users"} in admin
    assert [i["key"] for i in admin][-3:] == ["users", "clients", "about"]
    assert all(i["href"].startswith(("/hub/", "/services/karvdash/")) for i in admin)


@pytest.mark.parametrize("registry", [False, True])
def test_the_images_page_without_a_registry_says_so_and_runs_no_script(registry):
    from karvdash_hub.apps.dashboard.rendering import Renderer

    renderer = Renderer(Branding().template_vars(), "/services/karvdash/", "/hub/", "")
    ns = renderer.namespace(site.PageUser("alice", False), "xsrf", "images")
    html = renderer.render(
        "karvdash-images.html", {**ns, "page_title": "Images", "registry": registry}
    )
    assert ("js/images.js" in html) == registry
    assert ("no private container registry" in html) == (not registry)
    assert ('id="karvdash-upload-form"' in html) == registry
    assert "<title>Images" in html


@given(st.text())
def test_a_user_name_cannot_end_the_script_it_is_written_in(name):
    escaped = site.PageUser(name).json_escaped_name
    assert "<" not in escaped and ">" not in escaped
    assert json.loads(f'"{escaped}"') == name


# -- what a service's page shows


def test_a_secrets_values_are_never_shown_only_how_many():
    secret = {"kind": "Secret", "metadata": {"name": "pw"}, "data": {"a": "c2VjcmV0", "b": "eA=="}}
    row = inspection.object_row(secret)
    assert row["status"] == "2 keys" and "c2VjcmV0" not in json.dumps(row)
    config = {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "visible?"}}
    assert "visible" not in json.dumps(inspection.object_row(config))


def test_objects_say_their_state_in_one_line():
    deployment = {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"replicas": 2}}
    assert inspection.object_row(deployment)["status"] == "0/2 ready"
    service = {"kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}
    assert inspection.object_row(service)["status"] == "ClusterIP, port 80"


def test_pods_say_ready_containers_restarts_and_which_logs_exist():
    pod = {
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "web"}, {"name": "side"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [{"ready": True, "restartCount": 2}, {"ready": False}],
        },
    }
    (row,) = inspection.pod_rows([pod])
    assert (row["ready"], row["total"], row["restarts"]) == (1, 2, 2)
    assert row["containers"] == ["web", "side"]


def event(name, message, when, kind="Pod", key="lastTimestamp"):
    return {
        "involvedObject": {"kind": kind, "name": name},
        "message": message,
        "type": "Warning",
        "reason": "R",
        key: when,
    }


def test_events_are_only_the_services_newest_first_whatever_their_precision():
    events = [
        event("web-1", "seconds", "2026-01-01T10:00:05Z"),
        event("web-1", "micro", "2026-01-01T10:00:05.500000Z", key="eventTime"),
        event("other", "not ours", "2026-01-01T11:00:00Z"),
        event("web", "about the Service", "2026-01-01T09:00:00Z", kind="Service"),
    ]
    about = {("Pod", "web-1"), ("Service", "web")}
    rows = inspection.related_events(events, about, limit=10)
    assert [r["message"] for r in rows] == ["micro", "seconds", "about the Service"]
    assert len(inspection.related_events(events, about, limit=1)) == 1
    assert status.event_time(events[1]) > status.event_time(events[0])


def test_the_last_warning_of_a_service_is_the_latest_in_time():
    svc = {
        "metadata": {
            "name": "web",
            "labels": {status.SERVICE_LABEL: "web"},
            "creationTimestamp": "2026-01-01T09:00:00Z",
        }
    }
    warnings = [
        event("web", "later", "2026-01-01T10:00:05.5Z", kind="Service", key="eventTime"),
        event("web", "earlier", "2026-01-01T10:00:05Z", kind="Service"),
    ]
    (listed,) = status.services([svc], [], [], warnings, "https")
    assert listed["status"]["warning"] == "later"


def test_a_quota_pairs_use_and_limit():
    quota = {"status": {"hard": {"pods": "50", "services": "30"}, "used": {"pods": "3"}}}
    assert inspection.quota_rows(quota) == [
        {"resource": "pods", "used": "3", "hard": "50"},
        {"resource": "services", "used": "0", "hard": "30"},
    ]
    assert inspection.quota_rows(None) == []


def test_a_long_log_keeps_its_end_from_a_line_start():
    log = b"".join(f"line {i}\n".encode() for i in range(1000))
    text, cut = inspection.bounded(log, 100)
    assert cut and text.endswith("line 999\n") and text.startswith("line ")
    assert len(text.encode()) <= 100
    assert inspection.bounded(b"short\n", 100) == ("short\n", False)
    assert inspection.bounded("é".encode() * 10, 5)[0]  # cut inside a character: no error


def test_kubectls_columns_of_a_template_stay_within_the_resources_limits():
    assert _column("short", 10) == "short"
    long = "é" * 3000
    assert len(_column(long, 1024).encode()) <= 1024


# -- the dashboard's handlers use the app's HubOAuth


def test_the_dashboards_handlers_use_the_apps_hub_oauth_not_a_default_one():
    from tornado import httputil, web

    from karvdash_hub.apps.base import ApiHandler, OAuthCallbackHandler
    from karvdash_hub.apps.dashboard.rendering import PageHandler

    marker = object()
    app = web.Application([], hub_auth=marker)
    request = httputil.HTTPServerRequest(
        start_line=httputil.RequestStartLine("GET", "/", "HTTP/1.1"),
        headers=httputil.HTTPHeaders({"Host": "hub.example"}),
        connection=_Connection(),
    )
    for cls in (ApiHandler, PageHandler, OAuthCallbackHandler):
        assert cls(app, request).hub_auth is marker, cls


class _Connection:
    def set_close_callback(self, callback):
        pass
