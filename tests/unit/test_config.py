"""jupyterhub_config.py: the embedded default and the cluster switch map the
environment to the right traits."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

CONFIG = Path(__file__).resolve().parents[2] / "jupyterhub_config.py"


def load(monkeypatch, tmp_path, config: Path = CONFIG, **env):
    """The configuration file loaded with exactly these KARVDASH_* variables."""
    for key in list(os.environ):
        if key.startswith("KARVDASH_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KARVDASH_STATE_DIR", str(tmp_path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return PyFileConfigLoader(config.name, path=str(config.parent)).load_config()


def test_the_embedded_default_runs_everything_on_this_machine(monkeypatch, tmp_path):
    c = load(monkeypatch, tmp_path, KARVDASH_PORT="8100")
    assert c.JupyterHub.spawner_class == "karvdash-local"
    assert c.JupyterHub.authenticator_class == "karvdash-native"
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8100"
    assert c.Provisioner.kubeconfig == str(tmp_path / "cluster" / "kubeconfig")
    assert c.Provisioner.private_volume == {
        "hostPath": {"path": str(tmp_path / "files" / "private")}
    }
    services = {s["name"]: s for s in c.JupyterHub.services}
    service = services["karvdash"]
    assert service["url"] == "http://127.0.0.1:8103"
    assert service["environment"]["KARVDASH_STATE_DIR"] == str(tmp_path)
    # the users' registry: started by the hub on loopback, token auth by the dashboard
    if shutil.which("docker-registry"):
        registry = services["registry"]
        assert "--address=127.0.0.1:8104" in registry["command"]
        assert (
            "--realm=http://127.0.0.1:8100/services/karvdash/registry/token"
            in (registry["command"])
        )
        assert c.Installation.registry == "127.0.0.1:8104"
        assert c.Installation.registry_api_url == "http://127.0.0.1:8104"
    assert c.Installation.api_url == "http://127.0.0.1:8100/services/karvdash/api/"
    assert "access:services!service=karvdash" in c.Spawner.server_token_scopes
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["user"]["scopes"] == ["self", "access:services!service=karvdash"]
    assert roles["karvdash-dashboard"]["services"] == ["karvdash"]


def test_the_cluster_switch_uses_the_kubernetes_spawner_and_configured_volumes(
    monkeypatch, tmp_path
):
    private = {"nfs": {"server": "nfs.example.org", "path": "/exports/private"}}
    shared = {"nfs": {"server": "nfs.example.org", "path": "/exports/shared"}}
    c = load(
        monkeypatch,
        tmp_path,
        KARVDASH_MODE="kubernetes",
        POD_NAMESPACE="lab",
        KARVDASH_PRIVATE_VOLUME=json.dumps(private),
        KARVDASH_SHARED_VOLUME=json.dumps(shared),
        KARVDASH_DOMAIN="lab.example.org",
    )
    assert c.JupyterHub.spawner_class == "karvdash"
    assert c.Provisioner.private_volume == private and c.Provisioner.shared_volume == shared
    assert c.Provisioner.kubeconfig == ""  # in-cluster
    assert c.Provisioner.hub_service_account == "lab/hub"
    assert c.Provisioner.ingress_namespaces == ["lab"]
    # user servers in other namespaces reach the hub and the proxy by full names
    assert c.JupyterHub.services[0]["url"] == "http://hub.lab.svc.cluster.local:10101"
    assert c.JupyterHub.hub_connect_url == "http://hub.lab.svc.cluster.local:8081"
    assert c.JupyterHub.cleanup_servers is False  # servers outlive a hub restart
    assert c.DashboardApp.ip == "0.0.0.0"
    assert c.Installation.domain == "lab.example.org"
    assert (
        c.Installation.api_url == "http://proxy-public.lab.svc.cluster.local/services/karvdash/api/"
    )


@pytest.mark.parametrize(
    "env, message",
    [({"KARVDASH_MODE": "docker"}, "KARVDASH_MODE"), ({"KARVDASH_AUTH": "ldap"}, "KARVDASH_AUTH")],
)
def test_a_wrong_switch_is_refused_with_its_name(monkeypatch, tmp_path, env, message):
    with pytest.raises(ValueError, match=message):
        load(monkeypatch, tmp_path, **env)


def test_the_dashboards_cookie_secret_is_kept_and_repaired(tmp_path):
    """Kept across restarts (browsers stay logged in); an empty, short or garbled file
    is replaced by a whole new secret rather than breaking the service; owner-only."""
    from karvdash_hub.apps.dashboard.app import DashboardApp

    path = tmp_path / "state" / "cookie_secret"
    app = DashboardApp(cookie_secret_file=str(path))
    first = app.cookie_secret()
    assert len(first) == 32 and app.cookie_secret() == first
    assert path.stat().st_mode & 0o777 == 0o600
    for bad in ("", "abcd", "not hex at all\n"):
        path.write_text(bad)
        path.chmod(0o644)
        fresh = app.cookie_secret()
        assert len(fresh) == 32 and fresh != first
        assert bytes.fromhex(path.read_text().strip()) == fresh
        assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    assert app.cookie_secret() == fresh and path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["cookie_secret"]


def test_the_dashboard_reads_the_hubs_shared_settings_wherever_they_were_set(monkeypatch, tmp_path):
    """The hub exports its whole configuration's shared sections (including settings
    made after jupyterhub_config.py, as hub.extraConfig does); the dashboard reads that
    file instead of running the hub's configuration again."""
    from karvdash_hub.apps.dashboard.app import DashboardApp
    from karvdash_hub.hub.accounts import KarvdashAccountsMixin

    c = load(monkeypatch, tmp_path, KARVDASH_DOMAIN="lab.example.org")
    c.ServiceManager.ingress_class = "traefik"  # as if set later, by extra configuration
    c.Provisioner.resource_quota = {"pods": "7"}
    path = Path(c.KarvdashAccountsMixin.dashboard_config_file)
    assert path.parent == tmp_path
    KarvdashAccountsMixin(config=c).export_shared_config(path)
    assert path.stat().st_mode & 0o777 == 0o600
    app = DashboardApp()
    app.initialize(["--config", str(path)])
    assert app.config.Installation.domain == "lab.example.org"
    assert app.config.ServiceManager.ingress_class == "traefik"
    assert app.config.Provisioner.resource_quota == {"pods": "7"}
    assert app.config.UserFiles.private_root == c.UserFiles.private_root
    assert "JupyterHub" not in app.config and "ConfigurableHTTPProxy" not in app.config
    service = next(s for s in c.JupyterHub.services if s["name"] == "karvdash")
    assert service["command"][-2:] == ["--config", str(path)]


def write_node(tmp_path, **info):
    (tmp_path / "cluster").mkdir(exist_ok=True)
    (tmp_path / "cluster" / "node.json").write_text(json.dumps(info))


def test_with_a_real_node_notebooks_are_pods_that_reach_the_hub_at_the_nodes_address(
    monkeypatch, tmp_path
):
    write_node(tmp_path, mode="real", host_address="10.244.0.1", reason="can run containers")
    c = load(monkeypatch, tmp_path, KARVDASH_PORT="8100")
    assert c.JupyterHub.spawner_class == "karvdash"
    assert c.JupyterHub.hub_ip == "10.244.0.1"
    assert c.KarvdashSpawner.image.startswith("docker.io/karvdash/singleuser:")
    assert c.KarvdashSpawner.cmd == ["jupyterhub-singleuser"]
    assert c.UserFiles.folder_owner == "1000:100"
    service = c.JupyterHub.services[0]
    assert service["url"] == "http://10.244.0.1:8103" and c.DashboardApp.ip == "10.244.0.1"
    assert c.Installation.api_url == "http://10.244.0.1:8103/services/karvdash/api/"
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8100"  # the browser's side stays local


def test_without_a_real_node_notebooks_are_processes_and_pods_cannot_be_forced(
    monkeypatch, tmp_path
):
    write_node(tmp_path, mode="kwok", host_address=None, reason="no real node: not root")
    c = load(monkeypatch, tmp_path)
    assert c.JupyterHub.spawner_class == "karvdash-local" and c.JupyterHub.hub_ip == "127.0.0.1"
    with pytest.raises(ValueError, match=r"needs the local cluster's real node.*not root"):
        load(monkeypatch, tmp_path, KARVDASH_NOTEBOOKS="pods")
    write_node(tmp_path, mode="real", host_address="10.244.0.1")
    c = load(monkeypatch, tmp_path, KARVDASH_NOTEBOOKS="processes")
    assert c.JupyterHub.spawner_class == "karvdash-local"
    with pytest.raises(ValueError, match="KARVDASH_NOTEBOOKS must be"):
        load(monkeypatch, tmp_path, KARVDASH_NOTEBOOKS="vms")


def test_an_external_registry_or_none_replaces_the_embedded_one(monkeypatch, tmp_path):
    c = load(monkeypatch, tmp_path, KARVDASH_REGISTRY="registry.example.org")
    assert c.Installation.registry == "registry.example.org"
    assert "registry" not in [s["name"] for s in c.JupyterHub.services]
    c = load(monkeypatch, tmp_path, KARVDASH_REGISTRY="none")
    assert c.Installation.registry == ""
    assert "registry" not in [s["name"] for s in c.JupyterHub.services]


def test_the_identity_service_runs_beside_the_hub_with_its_issuer_under_the_hub(
    monkeypatch, tmp_path
):
    client = {
        "client_id": "grafana",
        "client_secret": "s" * 20,
        "redirect_uris": ["https://g.org/cb"],
    }
    c = load(
        monkeypatch,
        tmp_path,
        KARVDASH_IDENTITY="on",
        KARVDASH_PORT="8100",
        KARVDASH_OIDC_CLIENTS=json.dumps([client]),
    )
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert services["identity"]["url"] == "http://127.0.0.1:8105"
    config_file = Path(services["identity"]["command"][-1])
    assert config_file.stat().st_mode & 0o777 == 0o600  # it holds clients' secrets
    settings = json.loads(config_file.read_text())["IdentityApp"]
    assert settings["issuer"] == "http://127.0.0.1:8100/services/identity"
    assert settings["clients"] == [client] and settings["state_dir"] == str(tmp_path)
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["karvdash-identity"] == {
        "name": "karvdash-identity",
        "services": ["identity"],
        "scopes": ["read:users"],
    }


def test_a_client_that_cannot_work_stops_the_hub_with_the_reason(monkeypatch, tmp_path):
    bad = [{"client_id": "g", "redirect_uris": ["http://g.example.org/cb"]}]
    with pytest.raises(ValueError, match="https"):
        load(monkeypatch, tmp_path, KARVDASH_IDENTITY="on", KARVDASH_OIDC_CLIENTS=json.dumps(bad))


def test_the_identity_service_is_off_unless_switched_on(monkeypatch, tmp_path):
    c = load(monkeypatch, tmp_path)
    assert "identity" not in {s["name"] for s in c.JupyterHub.services}
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert "karvdash-identity" not in roles
    assert "access:services!service=identity" not in roles["user"]["scopes"]


#: what Zero to JupyterHub's own jupyterhub_config.py has set when its hub.extraConfig
#: runs Karvdash's file (the culler, hub.services, hub.loadRoles, hub.db, hub.config)
CHART = """
c = get_config()
c.JupyterHub.services = [
    {"name": "cull-idle", "command": ["python3", "-m", "jupyterhub_idle_culler"]},
    {"name": "grafana", "url": "http://grafana", "api_token": "x"},
]
c.JupyterHub.load_roles = [
    {"name": "jupyterhub-idle-culler", "services": ["cull-idle"], "scopes": ["list:users"]},
    {"name": "user", "scopes": ["self", "read:groups"]},
]
c.JupyterHub.db_url = "postgresql://hub@db/jupyterhub"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.admin_users = {"ops"}
c.NativeAuthenticator.minimum_password_length = 14
c.GenericOAuthenticator.client_id = "from-hub-config"
c.GenericOAuthenticator.authorize_url = "https://sso.example.org/auth"
c.GenericOAuthenticator.token_url = "https://sso.example.org/token"
c.GenericOAuthenticator.userdata_url = "https://sso.example.org/userinfo"
c.GenericOAuthenticator.client_secret = "s"
# hub.extraConfig, as helm-values.yaml has it
from karvdash_hub.hub.configmerge import load_into
load_into(c, %r)
"""


def load_in_chart(monkeypatch, tmp_path, **env):
    private = {"nfs": {"server": "nfs.example.org", "path": "/exports/private"}}
    chart = tmp_path / "z2jh_config.py"
    chart.write_text(CHART % str(CONFIG))
    env = {
        "KARVDASH_MODE": "kubernetes",
        "POD_NAMESPACE": "karvdash",
        "KARVDASH_PRIVATE_VOLUME": json.dumps(private),
        "KARVDASH_SHARED_VOLUME": json.dumps(private),
        **env,
    }
    return load(monkeypatch, tmp_path, config=chart, **env)


def test_the_charts_services_roles_database_and_authenticator_settings_are_kept(
    monkeypatch, tmp_path
):
    c = load_in_chart(monkeypatch, tmp_path)
    services = [s["name"] for s in c.JupyterHub.services]
    assert services == ["cull-idle", "grafana", "karvdash"]
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["jupyterhub-idle-culler"]["services"] == ["cull-idle"]
    assert roles["user"]["scopes"] == ["self", "read:groups", "access:services!service=karvdash"]
    assert "karvdash-dashboard" in roles
    assert c.JupyterHub.db_url == "postgresql://hub@db/jupyterhub"
    assert "cookie_secret_file" in c.JupyterHub  # the chart sets none: Karvdash's
    # Karvdash's authenticator (it provisions at login), the chart's settings of it
    assert c.JupyterHub.authenticator_class == "karvdash-native"
    assert c.NativeAuthenticator.minimum_password_length == 14
    assert c.NativeAuthenticator.allowed_failed_logins == 5  # unset there: Karvdash's
    assert c.Authenticator.admin_users == {"ops", "admin"}


def test_upstream_login_settings_from_the_chart_are_enough(monkeypatch, tmp_path):
    c = load_in_chart(monkeypatch, tmp_path, KARVDASH_AUTH="generic-oauth")
    assert c.JupyterHub.authenticator_class == "karvdash-generic-oauth"
    assert c.GenericOAuthenticator.client_id == "from-hub-config"
    assert c.GenericOAuthenticator.username_claim == "preferred_username"
    c = load_in_chart(
        monkeypatch, tmp_path, KARVDASH_AUTH="generic-oauth", KARVDASH_OAUTH_CLIENT_ID="env"
    )
    assert c.GenericOAuthenticator.client_id == "env"  # a variable given wins


def test_upstream_login_without_its_endpoints_stops_the_hub_saying_which(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match=r"GenericOAuthenticator\.client_id"):
        load(monkeypatch, tmp_path, KARVDASH_AUTH="generic-oauth")
