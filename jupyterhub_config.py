"""Karvdash's JupyterHub configuration.

The environment is mapped to traits here, and only here.

Embedded default (``make run``): everything on this machine, with the local control
plane (``make cluster``) as the cluster, native accounts, and each user's JupyterLab as
a local process in the user's private folder.

In a cluster, set ``KARVDASH_MODE=kubernetes``: notebooks are pods started by
KarvdashSpawner in each user's namespace, and the file domains are the volumes named by
``KARVDASH_PRIVATE_VOLUME`` and ``KARVDASH_SHARED_VOLUME`` (JSON volume sources).

| variable | meaning | default |
| --- | --- | --- |
| KARVDASH_MODE | ``local`` (one machine) or ``kubernetes`` | local |
| KARVDASH_KUBECONFIG | kubeconfig of the cluster | the local one / in-cluster |
| KARVDASH_STATE_DIR | database, secrets (and local files) | .karvdash beside this file |
| KARVDASH_PORT | port of the hub's public URL (embedded default) | 8000 |
| KARVDASH_ADMIN_PASSWORD | password of ``admin`` at the first start | generated |
| KARVDASH_AUTH | ``native`` or ``generic-oauth`` (see docs) | native |
| KARVDASH_DOMAIN | the domain under which services are reachable | localtest.me |
| KARVDASH_REGISTRY | the users' registry, host[:port] as nodes see it; ``none``: none | ours |
| KARVDASH_REGISTRY_API_URL | how the dashboard reaches that registry's API | https://<registry> |
| KARVDASH_REGISTRY_PORT | port of the embedded default's registry (loopback) | KARVDASH_PORT + 4 |
| KARVDASH_IMAGE_MAX_ARCHIVE_BYTES, _UNPACKED_BYTES, _LAYERS | image uploads | 32, 64 GiB; 127 |
| KARVDASH_PRIVATE_VOLUME / _SHARED_VOLUME | JSON volume sources (kubernetes mode) | required |
| KARVDASH_PRIVATE_ROOT / _SHARED_ROOT | where the hub pod mounts the volumes (Files) | (none) |
| KARVDASH_FILES_OWNER | ``uid:gid`` of what the hub writes in them | 1000:100 |
| KARVDASH_INGRESS_NAMESPACES | comma-separated namespaces allowed into user namespaces | hub's |
| KARVDASH_TITLE, KARVDASH_LOGO | the installation's name and logo (``c.Branding``) | Karvdash's |
| KARVDASH_NOTEBOOKS | pods, processes or auto (pods with a local real node) | auto |
| KARVDASH_SINGLEUSER_IMAGE | the notebook pods' image (local real node) | ours |
| KARVDASH_IDENTITY | ``on``: the OIDC provider at /services/identity (in progress) | off |
| KARVDASH_PUBLIC_URL | the hub's public URL (the OIDC issuer is under it) | loopback:port |
| KARVDASH_OIDC_CLIENTS | JSON list of the provider's clients (``IdentityApp.clients``) | [] |
| KARVDASH_IDENTITY_PORT | port of the identity service | KARVDASH_PORT + 5 |
| KARVDASH_OIDC_CODE_LIFETIME | seconds an authorization code may be used | 60 |
"""

import json
import os
import secrets
import sys
from pathlib import Path

import karvdash_hub
from karvdash_hub.hub.configmerge import add_role, add_service, set_default

c = get_config()

here = Path(__file__).resolve().parent
mode = os.environ.get("KARVDASH_MODE", "local")
local_host = "127.0.0.1"  # where the hub and the dashboard listen in the embedded default


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


state = Path(os.environ.get("KARVDASH_STATE_DIR", here / ".karvdash")).resolve()
state.mkdir(parents=True, exist_ok=True)
# every process the hub starts carries it (what a crashed run left is found by it)
os.environ["KARVDASH_STATE_DIR"] = str(state)

# -- the hub -------------------------------------------------------------------------
c.JupyterHub.template_paths = [karvdash_hub.TEMPLATES]
# what a chart set (Zero to JupyterHub's hub.db, its cookie secret) is kept; see
# karvdash_hub/hub/configmerge.py
if os.environ.get("KARVDASH_DB_URL"):
    c.JupyterHub.db_url = os.environ["KARVDASH_DB_URL"]
set_default(c.JupyterHub, "db_url", f"sqlite:///{state / 'jupyterhub.sqlite'}")
set_default(c.JupyterHub, "cookie_secret_file", str(state / "jupyterhub_cookie_secret"))
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60

# -- branding: one place for the title, logo and colours of the hub's and dashboard's pages
if os.environ.get("KARVDASH_TITLE"):
    c.Branding.title = os.environ["KARVDASH_TITLE"]
if os.environ.get("KARVDASH_LOGO"):
    c.Branding.logo_file = os.environ["KARVDASH_LOGO"]

# -- accounts ------------------------------------------------------------------------
# the authenticator is Karvdash's (it provisions at login); its settings are defaults
# that a chart's hub.config may have set otherwise, and admin_users adds 'admin'
auth = os.environ.get("KARVDASH_AUTH", "native")
c.Authenticator.admin_users = {"admin", *(c.Authenticator.get("admin_users") or ())}
if auth == "native":
    c.JupyterHub.authenticator_class = "karvdash-native"
    # the native authenticator itself refuses users an admin has not approved
    set_default(c.Authenticator, "allow_all", True)
    for key, value in [
        ("open_signup", False),
        ("minimum_password_length", 8),
        ("check_common_password", True),
        ("allowed_failed_logins", 5),
        ("seconds_before_next_try", 60),
    ]:
        set_default(c.NativeAuthenticator, key, value)
    c.KarvdashNativeAuthenticator.admin_password = os.environ.get("KARVDASH_ADMIN_PASSWORD", "")
    c.KarvdashNativeAuthenticator.admin_password_file = str(state / "admin-password")
elif auth == "generic-oauth":
    # an upstream identity provider; see docs/technical-overview.md
    c.JupyterHub.authenticator_class = "karvdash-generic-oauth"
    # each variable given sets its trait; those not given leave the hub's configuration's
    for key, variable in [
        ("client_id", "CLIENT_ID"),
        ("client_secret", "CLIENT_SECRET"),
        ("oauth_callback_url", "CALLBACK_URL"),
        ("authorize_url", "AUTHORIZE_URL"),
        ("token_url", "TOKEN_URL"),
        ("userdata_url", "USERDATA_URL"),
        ("username_claim", "USERNAME_CLAIM"),
    ]:
        if os.environ.get(f"KARVDASH_OAUTH_{variable}"):
            c.GenericOAuthenticator[key] = os.environ[f"KARVDASH_OAUTH_{variable}"]
    set_default(c.GenericOAuthenticator, "username_claim", "preferred_username")
    set_default(c.GenericOAuthenticator, "scope", ["openid", "profile", "email"])
    set_default(c.GenericOAuthenticator, "allow_all", True)
    missing = [
        k
        for k in ("client_id", "authorize_url", "token_url", "userdata_url")
        if not c.GenericOAuthenticator.get(k)
    ]
    if missing:
        raise ValueError(
            "KARVDASH_AUTH=generic-oauth needs the upstream provider's "
            + ", ".join(f"GenericOAuthenticator.{k}" for k in missing)
            + " (KARVDASH_OAUTH_* variables, or the hub's configuration)"
        )
else:
    raise ValueError(f"KARVDASH_AUTH must be 'native' or 'generic-oauth', not {auth!r}")

# -- user namespaces and storage -----------------------------------------------------
c.Provisioner.namespace_prefix = os.environ.get("KARVDASH_NAMESPACE_PREFIX", "karvdash")
if os.environ.get("KARVDASH_INGRESS_NAMESPACES"):
    c.Provisioner.ingress_namespaces = os.environ["KARVDASH_INGRESS_NAMESPACES"].split(",")
registry = os.environ.get("KARVDASH_REGISTRY", "")
c.Installation.registry = "" if registry == "none" else registry
c.Installation.registry_api_url = os.environ.get("KARVDASH_REGISTRY_API_URL", "")

if mode == "local":
    port = int(os.environ.get("KARVDASH_PORT", "8000"))
    c.JupyterHub.bind_url = f"http://127.0.0.1:{port}"
    c.JupyterHub.hub_ip = "127.0.0.1"
    # random free ports for the hub's API and the proxy's API, so that several
    # embedded hubs (tests) can run side by side
    c.JupyterHub.hub_port = int(os.environ.get("KARVDASH_HUB_PORT", "0")) or port + 1
    c.ConfigurableHTTPProxy.api_url = (
        f"http://127.0.0.1:{int(os.environ.get('KARVDASH_PROXY_API_PORT', '0')) or port + 2}"
    )
    c.ConfigurableHTTPProxy.auth_token = secrets.token_hex(32)
    # what a crashed run left (its proxy, dashboard, registry) is stopped, and the proxy
    # dies with this hub, whatever kills it (karvdash_hub/lifecycle.py)
    from karvdash_hub.lifecycle import clean_stale

    clean_stale(state)
    c.ConfigurableHTTPProxy.command = [
        sys.executable,
        "-m",
        "karvdash_hub.lifecycle",
        "configurable-http-proxy",
    ]
    c.Provisioner.kubeconfig = os.environ.get("KARVDASH_KUBECONFIG") or str(
        state / "cluster" / "kubeconfig"
    )
    files = state / "files"
    c.UserFiles.private_root = str(files / "private")
    c.UserFiles.shared_root = str(files / "shared")
    c.Provisioner.private_volume = {"hostPath": {"path": str(files / "private")}}
    c.Provisioner.shared_volume = {"hostPath": {"path": str(files / "shared")}}
    # notebooks as pods when the local cluster has a real node (it says so in node.json,
    # beside its kubeconfig), else as local processes
    node = _read_json(Path(c.Provisioner.kubeconfig).parent / "node.json")
    notebooks = os.environ.get("KARVDASH_NOTEBOOKS", "auto")
    if notebooks not in ("auto", "pods", "processes"):
        raise ValueError(f"KARVDASH_NOTEBOOKS must be auto, pods or processes, not {notebooks!r}")
    real_node = node.get("mode") == "real" and node.get("host_address")
    if notebooks == "pods" and not real_node:
        raise ValueError(
            "KARVDASH_NOTEBOOKS=pods needs the local cluster's real node, and it has none"
            f" ({node.get('reason') or 'no node.json beside the kubeconfig'})"
        )
    if real_node and notebooks != "processes":
        # the same code path as a cluster: KarvdashSpawner starts a pod from the
        # single-user image; pods reach the hub's API and the dashboard at the node's
        # address on the host, and the proxy reaches the pods on the pod network
        local_host = node["host_address"]
        c.JupyterHub.hub_ip = local_host
        c.JupyterHub.spawner_class = "karvdash"
        c.KarvdashSpawner.image = os.environ.get(
            "KARVDASH_SINGLEUSER_IMAGE", f"docker.io/karvdash/singleuser:{karvdash_hub.__version__}"
        )
        # the tag stays while the image is rebuilt from the working tree: the node asks
        # its (local) registry each time, which costs a manifest request
        c.KarvdashSpawner.image_pull_policy = "Always"
        c.KarvdashSpawner.cmd = ["jupyterhub-singleuser"]
        c.KarvdashSpawner.start_timeout = 300  # the first pull of the image
        c.Spawner.default_url = "/lab"
        # the notebook runs as uid 1000, gid 100: the folders the hub makes are theirs
        c.UserFiles.folder_owner = "1000:100"
        print(f"[karvdash] notebooks run as pods on the local cluster's real node ({local_host})")
    else:
        c.LocalKarvdashSpawner.sessions_root = str(state / "sessions")
        c.JupyterHub.spawner_class = "karvdash-local"
        # the same Python as the hub, whatever the PATH
        c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
        if os.geteuid() == 0:
            # containers and CI machines often run everything as root
            c.Spawner.args = ["--allow-root"]
        why = "asked for" if notebooks == "processes" else node.get("reason", "no real node")
        print(f"[karvdash] notebooks run as local processes ({why})")
elif mode == "kubernetes":
    c.Provisioner.kubeconfig = os.environ.get("KARVDASH_KUBECONFIG", "")
    hub_namespace = os.environ.get("POD_NAMESPACE", "jupyterhub")
    # pods of karvdash-<user> namespaces reach the hub and the proxy by fully qualified
    # names (the chart's short 'hub' resolves only in the hub's own namespace)
    cluster_domain = os.environ.get("KARVDASH_CLUSTER_DOMAIN", "cluster.local")
    in_cluster = f"{hub_namespace}.svc.{cluster_domain}"
    c.JupyterHub.hub_connect_url = (
        f"http://hub.{in_cluster}:{os.environ.get('HUB_SERVICE_PORT', '8081')}"
    )
    # JupyterHub binds to the connect URL's host unless told otherwise (the chart tells it)
    set_default(c.JupyterHub, "hub_bind_url", "http://:8081")
    # users' servers are pods: they keep running while the hub restarts (an upgrade)
    set_default(c.JupyterHub, "cleanup_servers", False)
    if not os.environ.get("KARVDASH_INGRESS_NAMESPACES"):
        c.Provisioner.ingress_namespaces = [hub_namespace]
    c.Provisioner.private_volume = json.loads(os.environ["KARVDASH_PRIVATE_VOLUME"])
    c.Provisioner.shared_volume = json.loads(os.environ["KARVDASH_SHARED_VOLUME"])
    c.UserFiles.private_root = os.environ.get("KARVDASH_PRIVATE_ROOT", "")
    c.UserFiles.shared_root = os.environ.get("KARVDASH_SHARED_ROOT", "")
    # what the dashboard writes (uploads, new folders) belongs to the notebooks' user
    c.UserFiles.folder_owner = os.environ.get("KARVDASH_FILES_OWNER", "1000:100")
    # the hub's own ServiceAccount gets 'admin' in user namespaces only
    c.Provisioner.hub_service_account = os.environ.get(
        "KARVDASH_HUB_SERVICE_ACCOUNT", f"{hub_namespace}/hub"
    )
    c.JupyterHub.spawner_class = "karvdash"
    c.Spawner.default_url = "/lab"
else:
    raise ValueError(f"KARVDASH_MODE must be 'local' or 'kubernetes', not {mode!r}")

# -- the dashboard service -----------------------------------------------------------
# started by the hub; its configuration is the part of the hub's that it shares
# (Installation, Provisioner, UserFiles, ServiceManager, DashboardApp), exported by the
# hub at start to a file (owner-only) wherever those settings were made
shared_config = state / "karvdash-dashboard-config.json"
c.KarvdashAccountsMixin.dashboard_config_file = str(shared_config)
# where the proxy reaches the hub's services: loopback, or the hub's Service
service_host = local_host if mode == "local" else f"hub.{in_cluster}"
dashboard_port = int(os.environ.get("KARVDASH_DASHBOARD_PORT", "0")) or (
    int(os.environ.get("KARVDASH_PORT", "8000")) + 3 if mode == "local" else 10101
)
add_service(
    c,
    {
        "name": "karvdash",
        # the proxy reaches it here; in a cluster, through the hub's Service (add the
        # port to hub.service.extraPorts) while it listens on every address
        "url": f"http://{service_host}:{dashboard_port}",
        "command": [
            sys.executable,
            "-m",
            "karvdash_hub.apps.dashboard",
            "--config",
            str(shared_config),
        ],
        "environment": {
            **{
                k: v
                for k, v in os.environ.items()
                if k.startswith(("KARVDASH_", "KUBERNETES_", "POD_"))
            },
            "KARVDASH_STATE_DIR": str(state),
        },
        "oauth_no_confirm": True,
        # its pages are in every page's navigation, not in the hub's Services menu
        "display": False,
    },
)
c.DashboardApp.ip = local_host if mode == "local" else "0.0.0.0"
# browsers stay logged in to the dashboard service across restarts
c.DashboardApp.cookie_secret_file = str(state / "karvdash_dashboard_cookie_secret")
# the users' registry trusts this key's certificate (registry-token.crt beside it); the
# dashboard signs its tokens (/services/karvdash/registry/token)
c.RegistryAuth.key_file = str(state / "registry-token.key")
# uploaded image archives wait there while they are checked and pushed
c.ImageStore.work_dir = str(state / "image-uploads")
for trait, variable in [
    ("max_archive_bytes", "KARVDASH_IMAGE_MAX_ARCHIVE_BYTES"),
    ("max_unpacked_bytes", "KARVDASH_IMAGE_MAX_UNPACKED_BYTES"),
    ("max_layers", "KARVDASH_IMAGE_MAX_LAYERS"),
]:
    if os.environ.get(variable):
        setattr(c.ImageStore, trait, int(os.environ[variable]))
if mode == "local" and not registry:
    # the embedded default's registry: Debian's docker-registry on loopback, started and
    # stopped by the hub (karvdash_hub/registryserver.py); the node's containerd pulls
    # from 127.0.0.1 over plain HTTP, as it does for any loopback registry
    from karvdash_hub import registryserver

    registry_port = int(os.environ.get("KARVDASH_REGISTRY_PORT", "0")) or (
        int(os.environ.get("KARVDASH_PORT", "8000")) + 4
    )
    if registryserver.binary():
        c.Installation.registry = f"127.0.0.1:{registry_port}"
        c.Installation.registry_api_url = f"http://127.0.0.1:{registry_port}"
        hub_port = os.environ.get("KARVDASH_PORT", "8000")
        add_service(
            c,
            {
                "name": "registry",
                "command": [
                    sys.executable,
                    "-m",
                    "karvdash_hub.registryserver",
                    f"--address=127.0.0.1:{registry_port}",
                    f"--storage={state / 'registry'}",
                    f"--config-file={state / 'registry.json'}",
                    f"--key-file={state / 'registry-token.key'}",
                    f"--realm=http://127.0.0.1:{hub_port}/services/karvdash/registry/token",
                ],
                "environment": {"KARVDASH_STATE_DIR": str(state)},
                "display": False,
            },
        )
    else:
        print("[karvdash] no registry: Debian's docker-registry is not installed")
c.Installation.domain = os.environ.get("KARVDASH_DOMAIN", "localtest.me")
# the hub's public URL: where a service's visitor signs in (the gateway), and the identity
# service's issuer
public_url = os.environ.get("KARVDASH_PUBLIC_URL", "") or (
    f"http://127.0.0.1:{os.environ.get('KARVDASH_PORT', '8000')}" if mode == "local" else ""
)
c.Installation.public_url = public_url
if mode == "local" and (ingress := node.get("ingress")):
    # the local cluster's ingress (Caddy) serves services over HTTPS on this machine and
    # asks the gateway (the dashboard's gateway/check) before letting anyone in to those
    # that want their owner's login; it understands ingress-nginx's auth-url annotation
    c.ServiceManager.url_port = ingress["https_port"]
    c.ServiceManager.auth_annotations = {
        "nginx.ingress.kubernetes.io/auth-url": (
            f"http://{local_host}:{dashboard_port}/services/karvdash/gateway/check"
        )
    }
    print(
        f"[karvdash] services at https://<name>-<user>.{c.Installation.domain}:"
        f"{ingress['https_port']}/ (the local ingress); to trust its certificates, add"
        f" {ingress['root_certificate']} to your browser's authorities"
    )
# how code in a user's server reaches the API (KARVDASH_API_URL): through the proxy, or
# straight to the dashboard from a pod of the local real node (the proxy listens on
# loopback only)
if mode == "local" and local_host != "127.0.0.1":
    local_api = f"http://{local_host}:{dashboard_port}/services/karvdash/api/"
else:
    local_api = f"http://127.0.0.1:{os.environ.get('KARVDASH_PORT', '8000')}/services/karvdash/api/"
c.Installation.api_url = os.environ.get("KARVDASH_API_URL") or (
    local_api if mode == "local" else f"http://proxy-public.{in_cluster}/services/karvdash/api/"
)
# the user's server token may call the dashboard service as its owner (karvdashctl,
# the JupyterLab extension and the widgets use it)
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    "access:services!service=karvdash",
]
# -- the identity service: an OpenID Connect provider for the installation's other
# applications, behind the hub's login (karvdash_hub/apps/identity); its configuration,
# clients' secrets included, is a file only the hub's user reads
identity = os.environ.get("KARVDASH_IDENTITY", "off")
if identity not in ("on", "off"):
    raise ValueError(f"KARVDASH_IDENTITY must be on or off, not {identity!r}")
identity_on = identity == "on" and bool(public_url)
if identity == "on" and not public_url:
    print("[karvdash] no identity service: set KARVDASH_PUBLIC_URL (the hub's public URL)")
elif identity_on:
    from karvdash_hub.rules import oidc
    from karvdash_hub.secretfile import write_private

    oidc_clients = json.loads(os.environ.get("KARVDASH_OIDC_CLIENTS", "") or "[]")
    oidc.clients_from_config(oidc_clients)  # a wrong client stops the hub here, with why
    identity_port = int(os.environ.get("KARVDASH_IDENTITY_PORT", "0")) or (
        int(os.environ.get("KARVDASH_PORT", "8000")) + 5 if mode == "local" else 10102
    )
    identity_config = state / "karvdash-identity-config.json"
    # the applications admins register, consents and tokens: one database that the
    # dashboard (Applications page, api/clients) and the identity service share
    c.IdentityStore.issuer = public_url.rstrip("/") + "/services/identity"
    c.IdentityStore.db_file = str(state / "identity.sqlite")
    write_private(
        identity_config,
        json.dumps(
            {
                "IdentityStore": dict(c.IdentityStore),
                "Branding": dict(c.Branding),
                "Installation": {
                    k: v for k, v in dict(c.Installation).items() if k == "service_name"
                },
                "IdentityApp": {
                    "issuer": public_url.rstrip("/") + "/services/identity",
                    "state_dir": str(state),
                    "clients": oidc_clients,
                    "code_lifetime": float(os.environ.get("KARVDASH_OIDC_CODE_LIFETIME", "60")),
                    "ip": local_host if mode == "local" else "0.0.0.0",
                    "cookie_secret_file": str(state / "karvdash_identity_cookie_secret"),
                },
            }
        ),
    )
    add_service(
        c,
        {
            "name": "identity",
            "url": f"http://{service_host}:{identity_port}",
            "command": [
                sys.executable,
                "-m",
                "karvdash_hub.apps.identity",
                "--config",
                str(identity_config),
            ],
            "oauth_no_confirm": True,
            "environment": {"KARVDASH_STATE_DIR": str(state)},
            "display": False,
        },
    )
# roles are added to the chart's (the culler's, hub.loadRoles), merged by name
for role in [
    # every user may use the dashboard service (it decides what is theirs)
    {
        "name": "user",
        "scopes": [
            "self",
            "access:services!service=karvdash",
            *(["access:services!service=identity"] if identity_on else []),
        ],
    },
    # the service asks the hub who users are (to check admins), and makes (and revokes)
    # the API tokens of services whose template has 'api: true' (the hub gives a token
    # no more than its user's own permissions; karvdash_hub/hubtokens.py)
    {
        "name": "karvdash-dashboard",
        "services": ["karvdash"],
        "scopes": ["read:users", "list:users", "tokens"],
    },
]:
    add_role(c, role)
if identity_on:
    # the identity service reads who a user is (name, created, groups, admin)
    add_role(c, {"name": "karvdash-identity", "services": ["identity"], "scopes": ["read:users"]})
