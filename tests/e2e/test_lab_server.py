"""The jupyter_server extension (karvdash_labext.serverextension) in a real Jupyter server
(pytest-jupyter's ``jp_serverapp`` and ``jp_fetch``) in front of a real hub and dashboard:
every resource of the API answered through it as the API answers, its own errors in the
API's shape, nothing reachable but the API, nothing without the server's own auth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from jupyter_server.utils import url_path_join
from pytest_jupyter.jupyter_server import *  # noqa: F403  (the jp_ fixtures, this module only)
from tornado.httpclient import HTTPClientError

pytestmark = pytest.mark.e2e

TOKEN = "karvdash-test-server-token"


@pytest.fixture
def jp_server_config(hub, tokens):
    return {
        "ServerApp": {"jpserver_extensions": {"karvdash_labext": True}},
        "IdentityProvider": {"token": TOKEN},
        "KarvdashExtension": {
            "api_url": hub.url + "/services/karvdash/api/",
            "api_token": tokens["alice"],
        },
    }


@pytest.fixture
def jp_auth_header():
    return {"Authorization": f"token {TOKEN}"}


@pytest.fixture
def call(jp_fetch, jp_asyncio_loop, http_server_client, jp_base_url, jp_auth_header):
    """``call(method, "api/services", body=..., raw=...)`` through the extension: (status,
    headers, bytes), errors included. The path is quoted by jp_fetch; with ``quoted=True``
    it is sent as given (to send encoded slashes and dots)."""

    def send(method, path, body=None, raw=None, headers=None, params=None, quoted=False):
        if body is not None:
            raw = json.dumps(body).encode()
        if raw is None and method in ("POST", "PUT", "PATCH"):
            raw = b""
        options = {
            "method": method,
            "headers": {**(headers or {})},
            "allow_nonstandard_methods": True,
            **({"body": raw} if raw is not None else {}),
        }
        if quoted:
            for key, value in jp_auth_header.items():
                options["headers"].setdefault(key, value)
            url = url_path_join(jp_base_url, "karvdash", path)
            fetching = http_server_client.fetch(url, **options)
        else:
            fetching = jp_fetch("karvdash", path, params=params or {}, **options)
        try:
            r = jp_asyncio_loop.run_until_complete(fetching)
        except HTTPClientError as err:
            r = err.response
        return r.code, r.headers, r.body

    return send


def as_json(answer):
    status, _, body = answer
    return status, json.loads(body) if body else None


def test_the_extension_is_listed_as_enabled_by_the_config_file_the_package_installs():
    venv_bin = Path(sys.executable).parent
    listed = subprocess.run(
        [venv_bin / "jupyter", "server", "extension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JUPYTER_CONFIG_DIR": "/nonexistent"},
    )
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout + listed.stderr
    lines = [line for line in out.splitlines() if "karvdash_labext" in line]
    assert any("enabled" in line for line in lines), out
    assert any("OK" in line and "0.1.0" in line for line in lines), out
    installed = Path(sys.prefix, "etc/jupyter/jupyter_server_config.d/karvdash_labext.json")
    assert json.loads(installed.read_text()) == {
        "ServerApp": {"jpserver_extensions": {"karvdash_labext": True}}
    }


def test_info_names_the_servers_user_and_the_dashboards_pages(call):
    status, info = as_json(call("GET", "info"))
    assert status == 200
    assert info["configured"] is True
    assert info["dashboard"].endswith("/services/karvdash/")
    assert info["version"] == "0.1.0"
    assert info["user"]


def test_services_and_templates_go_through_as_the_api_answers_them(call, api):
    status, me = as_json(call("GET", "api/user"))
    assert (status, me["name"]) == (200, "alice")
    status, templates = as_json(call("GET", "api/templates"))
    assert status == 200
    assert templates == api["alice"]("GET", "templates").json()
    status, _, text = call("GET", "api/templates/redis")
    assert status == 200 and b"kind: Template" in text
    status, launched = as_json(
        call("POST", "api/services", body={"template": "redis", "variables": {"NAME": "labcache"}})
    )
    assert status == 201, launched
    try:
        status, listed = as_json(call("GET", "api/services"))
        assert "labcache" in {s["name"] for s in listed}
        assert as_json(call("GET", "api/services/labcache"))[1]["name"] == "labcache"
        assert as_json(call("GET", "api/services/labcache/events"))[0] == 200
        assert as_json(call("GET", "api/services/labcache/logs"))[0] == 200
        status, ns = as_json(call("GET", "api/namespace"))
        assert status == 200 and ns["namespace"] == me["namespace"]
    finally:
        status, stopped = as_json(call("DELETE", "api/services/labcache"))
    assert status == 200 and stopped["name"] == "labcache"
    names = {s["name"] for s in api["alice"]("GET", "services").json()}
    assert "labcache" not in names


def test_the_apis_errors_pass_through_unchanged(call, api):
    launch = {"template": "redis", "variables": {"NAME": "No!"}}
    status, error = as_json(call("POST", "api/services", body=launch))
    direct = api["alice"]("POST", "services", json=launch)
    assert status == direct.status_code == 400
    assert error == direct.json()
    assert error["reason"] and error["message"]
    status, error = as_json(call("GET", "api/templates/no-such-template"))
    assert status == 404 and error["reason"] == "template-not-found", error


def test_files_go_up_and_down_with_their_headers(call, api):
    data = bytes(range(256)) * 40
    status, entry = as_json(
        call(
            "PUT",
            "api/files/private/lab/data.bin",
            raw=data,
            params={"parents": "1"},
            headers={"Content-Type": "application/octet-stream"},
        )
    )
    assert status == 201 or status == 200, entry
    status, headers, body = call("GET", "api/files/private/lab/data.bin", params={"download": "1"})
    assert status == 200 and body == data
    assert "data.bin" in headers["Content-Disposition"]
    status, headers, body = call(
        "GET",
        "api/files/private/lab/data.bin",
        headers={"Range": "bytes=0-9"},
        params={"download": "1"},
    )
    assert status == 206 and body == data[:10]
    assert headers["Content-Range"].startswith("bytes 0-9/")
    status, folder = as_json(call("GET", "api/files/private/lab"))
    assert [e["name"] for e in folder["entries"]] == ["data.bin"]
    status, upload = as_json(
        call("POST", "api/uploads", body={"domain": "private", "path": "lab/big.bin", "size": 4})
    )
    assert status == 201, upload
    status, upload = as_json(
        call(
            "PATCH",
            f"api/uploads/{upload['id']}",
            raw=b"abcd",
            headers={"Content-Type": "application/octet-stream", "Upload-Offset": "0"},
        )
    )
    # the last chunk completes it: 201, with the file's entry
    assert status == 201 and upload["offset"] == 4, upload
    assert upload["file"]["name"] == "big.bin", upload
    assert call("DELETE", "api/files/private/lab", params={"recursive": "1"})[0] == 204
    assert api["alice"]("GET", "files/private/lab").status_code == 404


def test_another_users_things_stay_out_of_reach(call, api):
    bob = api["bob"]
    assert bob("POST", "services", json={"template": "redis", "variables": {"NAME": "bobs"}}).ok
    try:
        status, error = as_json(call("GET", "api/services/bobs"))
        assert status == 404, error
        status, error = as_json(call("GET", "api/services", params={"user": "bob"}))
        assert status == 403, error
    finally:
        bob("DELETE", "services/bobs")


@pytest.mark.parametrize(
    "path",
    [
        "api/..%2F..%2Fhub%2Fapi%2Fusers",
        "api/services/%2e%2e/%2e%2e/hub/api/users",
        "api/files/private/%2E%2E/%2E%2E/%2E%2E/hub/api",
        "api/services/a%2Fb",
        "api/services/a%5Cb",
    ],
)
def test_a_path_that_would_leave_the_api_is_refused(call, path):
    status, error = as_json(call("GET", path, quoted=True))
    assert status == 400 and error["reason"] == "bad-path", (path, error)


@pytest.mark.parametrize(
    "path", ["api/hub/api/users", "api/", "api/services_x", "api/oauth_callback"]
)
def test_only_the_apis_resources_are_reachable(call, path):
    status, error = as_json(call("GET", path))
    assert status == 404 and error["reason"] == "not-found", (path, error)
    assert "services" in error["message"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "token not-the-servers"}])
def test_a_request_without_the_servers_auth_is_refused(call, headers):
    for path in ("info", "api/services", "api/user"):
        status, _, body = call("GET", path, headers=headers or {"Authorization": ""})
        assert status == 403, (path, body)
        assert b"alice" not in body
        assert json.loads(body)["reason"] == "forbidden", body
    status, _, _ = call(
        "POST", "api/services", body={"template": "redis"}, headers=headers or {"Authorization": ""}
    )
    assert status == 403


def test_a_body_over_the_limit_is_refused_and_writes_nothing(jp_serverapp, call, api):
    jp_serverapp.web_app.settings["karvdash"]["max_body_size"] = 1000
    status, error = as_json(
        call(
            "PUT",
            "api/files/private/too-big.bin",
            raw=b"x" * 2000,
            headers={"Content-Type": "application/octet-stream"},
        )
    )
    assert status == 413 and error["reason"] == "too-large", error
    assert "karvdashctl" in error["message"]
    assert api["alice"]("GET", "files/private/too-big.bin").status_code == 404


@pytest.fixture
def unconfigured(monkeypatch, tmp_path):
    for name in ("KARVDASH_API_URL", "KARVDASH_API_TOKEN", "JUPYTERHUB_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))


class TestWithoutTheApi:
    @pytest.fixture
    def jp_server_config(self, unconfigured):
        return {
            "ServerApp": {"jpserver_extensions": {"karvdash_labext": True}},
            "IdentityProvider": {"token": TOKEN},
        }

    def test_a_server_that_does_not_know_the_api_says_what_to_set(self, call):
        status, info = as_json(call("GET", "info"))
        assert status == 200 and info["configured"] is False
        assert "KARVDASH_API_URL" in info["message"]
        status, error = as_json(call("GET", "api/services"))
        assert status == 503 and error["reason"] == "not-configured", error
        assert "KARVDASH_API_URL" in error["message"]


class TestWithTheDashboardDown:
    @pytest.fixture
    def jp_server_config(self, unconfigured):
        import socket

        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return {
            "ServerApp": {"jpserver_extensions": {"karvdash_labext": True}},
            "IdentityProvider": {"token": TOKEN},
            "KarvdashExtension": {
                "api_url": f"http://127.0.0.1:{port}/services/karvdash/api/",
                "api_token": "t",
                "timeout": 5,
            },
        }

    def test_an_unreachable_dashboard_is_a_503_in_the_apis_shape(self, call):
        status, error = as_json(call("GET", "api/services"))
        assert status == 503 and error["reason"] == "unreachable", error
        assert error["status"] == 503


def test_names_with_spaces_and_unicode_keep_their_encoding(call, api):
    name = "ünï côde.txt"
    path = "api/files/private/" + name
    status, entry = as_json(
        call("PUT", path, raw=b"hello", headers={"Content-Type": "application/octet-stream"})
    )
    assert status in (200, 201), entry
    try:
        assert entry["name"] == name
        assert api["alice"]("GET", "files/private/" + quote(name)).json()["name"] == name
    finally:
        api["alice"]("DELETE", "files/private/" + quote(name))
