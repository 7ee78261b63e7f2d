"""Start the embedded default (jupyterhub_config.py) as a real JupyterHub process, and
talk to it as a browser would (cookies, XSRF tokens, redirects)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from karvdash_localcluster import free_ports

REPO = Path(__file__).resolve().parents[2]


def find_proxy() -> str | None:
    local = REPO / "node_modules" / ".bin" / "configurable-http-proxy"
    return str(local) if local.exists() else shutil.which("configurable-http-proxy")


class HubProcess:
    def __init__(
        self,
        state: Path,
        kubeconfig: Path,
        admin_password: str | None = "admin-pass-1",
        notebooks: str = "processes",
        environment: dict[str, str] | None = None,
        ports: list[int] | None = None,
    ):
        """``notebooks``: ``processes`` (the default of these tests: fast), or ``pods``
        (KarvdashSpawner on the local cluster's real node). ``environment``: more
        settings (KARVDASH_* variables of jupyterhub_config.py). ``ports``: six free
        ports chosen beforehand (:func:`free_ports`), when a setting needs the hub's URL."""
        self.state = state
        self.kubeconfig = kubeconfig
        ports = ports or free_ports(6)
        self.port, hub_port, proxy_port, dashboard_port, registry_port, identity_port = ports
        self.url = f"http://127.0.0.1:{self.port}"
        # the dashboard service itself, as pods of the real node reach it (no proxy)
        self.dashboard_url = f"http://127.0.0.1:{dashboard_port}"
        # the users' registry the hub starts (token auth by the dashboard)
        self.registry = f"127.0.0.1:{registry_port}"
        # the OpenID Connect provider (the identity service), when it runs
        self.issuer = f"{self.url}/services/identity"
        self.log = state / "hub.log"
        # hubs of one test run share the cluster: each gets namespaces of its own
        self.prefix = f"kd{uuid.uuid4().hex[:6]}"
        env = dict(os.environ)
        env.update(
            KARVDASH_STATE_DIR=str(state),
            KARVDASH_PORT=str(self.port),
            KARVDASH_HUB_PORT=str(hub_port),
            KARVDASH_PROXY_API_PORT=str(proxy_port),
            KARVDASH_DASHBOARD_PORT=str(dashboard_port),
            KARVDASH_REGISTRY_PORT=str(registry_port),
            KARVDASH_IDENTITY_PORT=str(identity_port),
            KARVDASH_NAMESPACE_PREFIX=self.prefix,
            KARVDASH_KUBECONFIG=str(kubeconfig),
            KARVDASH_NOTEBOOKS=notebooks,
            PATH=f"{Path(find_proxy()).parent}:{Path(sys.executable).parent}:{env['PATH']}",
        )
        for name in (
            "KARVDASH_ADMIN_PASSWORD",
            "KARVDASH_REGISTRY",
            "KARVDASH_REGISTRY_API_URL",
            "KARVDASH_PUBLIC_URL",
            "KARVDASH_OIDC_CLIENTS",
        ):
            env.pop(name, None)
        if admin_password:
            env["KARVDASH_ADMIN_PASSWORD"] = admin_password
        env.update(environment or {})
        self.admin_password = admin_password
        self.identity = env.get("KARVDASH_IDENTITY", "off") == "on"
        state.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(REPO / "jupyterhub_config.py")],
                cwd=state,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self.wait_up()
        except BaseException:
            self.stop()  # a hub that did not come up is not left running
            raise

    def wait_up(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the hub exited:\n" + self.log.read_text()[-4000:])
            # up = the hub's API and the dashboard service answer through the proxy
            # (before its routes exist, the proxy serves the hub's error page)
            try:
                hub = requests.get(self.url + "/hub/api/", timeout=2)
                api = requests.get(self.url + "/services/karvdash/api/openapi.json", timeout=2)
                # the registry asks for a token (when this machine has one)
                registry = (
                    requests.get(f"http://{self.registry}/v2/", timeout=2).status_code == 401
                    if shutil.which("docker-registry")
                    else True
                )
                # the identity service answers its discovery document (when it runs)
                identity = (
                    requests.get(
                        self.issuer + "/.well-known/openid-configuration", timeout=2
                    ).headers.get("Content-Type", "")
                    == "application/json"
                    if self.identity
                    else True
                )
                if (
                    hub.ok
                    and "version" in hub.json()
                    and api.ok
                    and api.headers.get("Content-Type", "").startswith("application/json")
                    and registry
                    and identity
                ):
                    return
            except (requests.ConnectionError, ValueError):
                pass
            time.sleep(0.3)
        raise RuntimeError("the hub did not answer:\n" + self.log.read_text()[-4000:])

    def part_pid(self, marker: str) -> int:
        """The pid of this hub's process whose command holds ``marker`` (the dashboard:
        ``apps.dashboard``; the registry: ``docker-registry``)."""
        from karvdash_hub.lifecycle import stale_processes

        found = [pid for pid, command in stale_processes(self.state) if marker in command]
        assert len(found) == 1, f"this hub's processes with {marker!r}: {found}"
        return found[0]

    def dashboard_peak_mb(self) -> float:
        """The peak resident memory (VmHWM) of this hub's dashboard service, in MB."""
        status = Path(f"/proc/{self.part_pid('apps.dashboard')}/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024

    def namespace(self, user: str) -> str:
        return f"{self.prefix}-{user}"

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class Browser:
    """A requests session that behaves like a browser towards the hub."""

    def __init__(self, hub: HubProcess):
        self.hub = hub
        self.s = requests.Session()

    def xsrf(self, path="/hub/"):
        values = [c.value for c in self.s.cookies if c.name == "_xsrf" and c.path == path]
        if not values:
            self.s.get(self.hub.url + path.rstrip("/") + ("/login" if path == "/hub/" else "/"))
            values = [c.value for c in self.s.cookies if c.name == "_xsrf" and c.path == path]
        return values[0]

    def get(self, path, **kw):
        return self.s.get(self.hub.url + path, **kw)

    def post_form(self, path, data, **kw):
        self.s.get(self.hub.url + path)
        return self.s.post(self.hub.url + path, data={**data, "_xsrf": self.xsrf()}, **kw)

    def signup(self, username, password):
        return self.post_form(
            "/hub/signup",
            {
                "username": username,
                "signup_password": password,
                "signup_password_confirmation": password,
            },
        )

    def login(self, username, password):
        """True when the hub accepted the credentials (it redirects away from login)."""
        r = self.post_form(
            "/hub/login", {"username": username, "password": password}, allow_redirects=False
        )
        self.last = r
        return r.status_code == 302

    def api(self, method, path, **kw):
        headers = {"X-XSRFToken": self.xsrf(), **kw.pop("headers", {})}
        return self.s.request(method, self.hub.url + "/hub/api" + path, headers=headers, **kw)

    def start_server(self, name, timeout=90):
        r = self.api("POST", f"/users/{name}/server")
        assert r.status_code in (201, 202, 400), r.text
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{name}").json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                return server
            time.sleep(0.5)
        raise AssertionError(f"{name}'s server was not ready after {timeout}s")
