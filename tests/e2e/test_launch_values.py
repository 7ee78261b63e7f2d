"""A service keeps the values it was launched with (not a secret variable's), the API and
the service page show them, and "Launch again with changes" opens the template's form
with them, in a real browser, against a real hub and the local cluster."""

from __future__ import annotations

import json

import pytest
from kubernetes import client

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

S = "/services/karvdash/"
PASSWORD = "not-in-any-annotation-42"


@pytest.fixture(scope="module")
def launched(api):
    body = {
        "template": "postgres",
        "variables": {"NAME": "kept", "PASSWORD": PASSWORD, "DATABASE": "inventory"},
    }
    r = api["alice"]("POST", "services", json=body)
    assert r.status_code == 201, r.text
    yield r.json()
    api["alice"]("DELETE", f"services/{r.json()['name']}")


def test_the_values_are_listed_and_a_secret_is_not_kept_anywhere(api, launched, kube, hub):
    listed = {s["name"]: s for s in api["alice"]("GET", "services").json()}
    values = listed["kept"]["values"]
    assert values["DATABASE"] == "inventory" and values["NAME"] == "kept"
    assert values["PASSWORD"] is None and PASSWORD not in json.dumps(listed)
    assert api["alice"]("GET", "services/kept").json()["values"] == values
    service = client.CoreV1Api(kube).read_namespaced_service("kept", hub.namespace("alice"))
    assert json.loads(service.metadata.annotations["karvdash.io/values"]) == values
    # the password is where the template put it (its Secret), and in no annotation
    for obj in client.CoreV1Api(kube).list_namespaced_service(hub.namespace("alice")).items:
        assert PASSWORD not in json.dumps(obj.metadata.annotations or {})


def test_launch_again_opens_the_form_with_the_values(as_user, hub, launched, shots):
    page, watch = as_user("alice")
    page.goto(hub.url + S + "services/kept")
    again = page.wait_for_selector("#karvdash-relaunch:not(.d-none)")
    assert "inventory" in page.inner_text("#karvdash-summary")
    assert "secret, not kept" in page.inner_text("#karvdash-summary")
    page.screenshot(path=str(shots / "service-values.png"))
    again.click()
    page.wait_for_function("() => document.getElementById('var-DATABASE').value === 'inventory'")
    assert page.input_value("#var-NAME") == "kept"
    assert page.input_value("#var-PASSWORD") != PASSWORD  # the template's default
    page.fill("#var-NAME", "kept-again")
    page.fill("#var-PASSWORD", "another-secret-1")
    page.click("#karvdash-launch button[type=submit]")
    page.wait_for_url(lambda u: u.endswith("/services/kept-again"), timeout=30_000)
    assert not watch.errors and not watch.dialogs


def test_a_service_launched_again_keeps_its_own_values(api, launched):
    again = api["alice"]("GET", "services/kept-again").json()
    assert again["values"]["DATABASE"] == "inventory" and again["values"]["PASSWORD"] is None
    assert api["alice"]("DELETE", "services/kept-again").status_code == 200
