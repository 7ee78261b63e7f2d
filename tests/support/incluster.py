"""The hub as a pod of the local cluster, configured the way Zero to JupyterHub configures
it with ``helm-values.yaml``: the project's chart applied first (rendered by helm), then
the objects the jupyterhub chart would make for these values, written out here from what
the chart documents (no third-party chart is copied into the repository):

- ConfigMap ``hub``: a ``jupyterhub_config.py`` with the settings the chart's own
  configuration makes that Karvdash meets (external proxy, hub address and port, the
  database, the single-user image, the culler's service and role), then the values'
  ``hub.extraConfig`` as it is in ``helm-values.yaml``;
- Deployment ``hub`` (ServiceAccount ``hub``, the environment of ``hub.extraEnv`` with
  this machine's volumes, the registry off and ``POD_NAMESPACE``; ``/srv/jupyterhub`` a
  folder of this machine, where the chart has its ``hub-db-dir`` claim)
  and Service ``hub`` (8081, and the dashboard's 10101 from ``hub.service.extraPorts``);
- Deployment ``proxy`` (configurable-http-proxy from the hub image) and Services
  ``proxy-api`` and ``proxy-public``;
- the chart's NetworkPolicies of the hub and the proxy: their own rules (pods labelled
  ``hub.jupyter.org/network-access-*``) and the values' ``hub.networkPolicy.ingress`` and
  ``proxy.chp.networkPolicy.ingress``, so that what lets user namespaces in is the
  values' own rules.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "karvdash"
PROXY_TOKEN = "in-cluster-proxy-token-0123456789"
ADMIN_PASSWORD = "in-cluster-admin-9"

CHART_CONFIG = """
import os
c = get_config()
# what Zero to JupyterHub's jupyterhub_config.py sets, the parts Karvdash meets
c.JupyterHub.hub_bind_url = "http://:8081"
c.JupyterHub.hub_connect_url = "http://hub:8081"
c.ConfigurableHTTPProxy.api_url = "http://proxy-api:8001"
c.ConfigurableHTTPProxy.should_start = False
c.JupyterHub.cleanup_servers = False
c.JupyterHub.db_url = "sqlite:///jupyterhub.sqlite"
c.JupyterHub.authenticator_class = "dummy"
c.KubeSpawner.image = {image!r}
c.KubeSpawner.start_timeout = 300
c.KubeSpawner.uid = 1000
c.KubeSpawner.fs_gid = 100
c.JupyterHub.services = [
    {{"name": "cull-idle", "command": ["python3", "-m", "jupyterhub_idle_culler",
      "--url=http://localhost:8081/hub/api", "--timeout=86400"]}}
]
c.JupyterHub.load_roles = [
    {{"name": "jupyterhub-idle-culler", "services": ["cull-idle"],
      "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]}}
]
# hub.extraConfig
{extra}
"""


def helm_objects(helm: str) -> list[dict]:
    out = subprocess.run(
        [
            helm,
            "template",
            "karvdash-cluster",
            str(REPO / "chart" / "karvdash-cluster"),
            "--namespace",
            NAMESPACE,
            "--set",
            f"adminPassword.value={ADMIN_PASSWORD}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    objects = [d for d in yaml.safe_load_all(out) if d]
    for o in objects:
        if o["kind"] == "Secret":
            o["metadata"]["namespace"] = NAMESPACE
    return objects


def _env(values: dict, overrides: dict[str, str]) -> list[dict]:
    env = []
    for name, value in {**values["hub"]["extraEnv"], **overrides}.items():
        env.append({"name": name, **(value if isinstance(value, dict) else {"value": value})})
    env.append(
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}
    )
    env.append({"name": "CONFIGPROXY_AUTH_TOKEN", "value": PROXY_TOKEN})
    return env


def hub_objects(hub_image: str, singleuser_image: str, files: Path) -> list[dict]:
    """The objects of the jupyterhub chart for helm-values.yaml, on this machine."""
    values = yaml.safe_load((REPO / "helm-values.yaml").read_text())
    extra = "\n".join(values["hub"]["extraConfig"].values())
    config = CHART_CONFIG.format(image=singleuser_image, extra=extra)
    private = {"hostPath": {"path": str(files / "private"), "type": "DirectoryOrCreate"}}
    shared = {"hostPath": {"path": str(files / "shared"), "type": "DirectoryOrCreate"}}
    # this machine's folders instead of NFS, no users' registry, the hub's namespace
    overrides = {
        "KARVDASH_PRIVATE_VOLUME": json.dumps({"hostPath": {"path": str(files / "private")}}),
        "KARVDASH_SHARED_VOLUME": json.dumps({"hostPath": {"path": str(files / "shared")}}),
        "KARVDASH_REGISTRY": "none",
        "KARVDASH_INGRESS_NAMESPACES": NAMESPACE,
        "KARVDASH_DOMAIN": "lab.localtest.me",
    }
    labels = {"app": "jupyterhub", "component": "hub"}
    proxy_labels = {"app": "jupyterhub", "component": "proxy"}
    access = "hub.jupyter.org/network-access-"
    meta = {"namespace": NAMESPACE}
    hub = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "hub", **meta, "labels": labels},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": {**labels, f"{access}proxy-api": "true"}},
                "spec": {
                    "serviceAccountName": "hub",
                    "securityContext": {"fsGroup": 100},
                    "containers": [
                        {
                            "name": "hub",
                            "image": hub_image,
                            "imagePullPolicy": "Always",
                            "args": [
                                "jupyterhub",
                                "--config",
                                "/usr/local/etc/jupyterhub/jupyterhub_config.py",
                                "--upgrade-db",
                            ],
                            "env": _env(values, overrides),
                            "ports": [{"containerPort": 8081}, {"containerPort": 10101}],
                            "readinessProbe": {
                                "httpGet": {"path": "/hub/health", "port": 8081},
                                "periodSeconds": 2,
                            },
                            "volumeMounts": [
                                {"name": "config", "mountPath": "/usr/local/etc/jupyterhub"},
                                {"name": "state", "mountPath": "/srv/jupyterhub"},
                                {"name": "private", "mountPath": "/srv/karvdash/private"},
                                {"name": "shared", "mountPath": "/srv/karvdash/shared"},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "config", "configMap": {"name": "hub"}},
                        # the chart's hub-db-dir claim: the database outlives the pod
                        {"name": "state", "hostPath": {"path": str(files / "hub-state")}},
                        {"name": "private", **private},
                        {"name": "shared", **shared},
                    ],
                },
            },
        },
    }
    proxy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "proxy", **meta, "labels": proxy_labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": proxy_labels},
            "template": {
                "metadata": {"labels": {**proxy_labels, f"{access}hub": "true"}},
                "spec": {
                    "containers": [
                        {
                            "name": "chp",
                            "image": hub_image,
                            "args": [
                                "configurable-http-proxy",
                                "--ip=0.0.0.0",
                                "--port=8000",
                                "--api-ip=0.0.0.0",
                                "--api-port=8001",
                                f"--default-target=http://hub.{NAMESPACE}.svc.cluster.local:8081",
                                f"--error-target=http://hub.{NAMESPACE}.svc.cluster.local:8081/hub/error",
                            ],
                            "env": [{"name": "CONFIGPROXY_AUTH_TOKEN", "value": PROXY_TOKEN}],
                            "ports": [{"containerPort": 8000}, {"containerPort": 8001}],
                        }
                    ]
                },
            },
        },
    }

    def service(name, selector, ports):
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, **meta},
            "spec": {
                "selector": selector,
                "ports": [
                    {"name": n, "port": p, "targetPort": t, "protocol": "TCP"} for n, p, t in ports
                ],
            },
        }

    def policy(name, selector, own, extra):
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, **meta},
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress"],
                "ingress": [
                    *(
                        {"ports": [{"port": port}], "from": [{"podSelector": {"matchLabels": who}}]}
                        for port, who in own
                    ),
                    *extra,
                ],
            },
        }

    chp = values["proxy"]["chp"]["networkPolicy"]["ingress"]
    return [
        policy(
            "hub",
            labels,
            [(8081, {f"{access}hub": "true"})],
            values["hub"]["networkPolicy"]["ingress"],
        ),
        policy(
            "proxy",
            proxy_labels,
            [(8000, {f"{access}proxy-http": "true"}), (8001, {f"{access}proxy-api": "true"})],
            chp,
        ),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "hub", **meta}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "hub", **meta},
            "data": {"jupyterhub_config.py": config},
        },
        service("hub", labels, [("hub", 8081, 8081), ("karvdash", 10101, 10101)]),
        service("proxy-api", proxy_labels, [("api", 8001, 8001)]),
        service("proxy-public", proxy_labels, [("http", 80, 8000)]),
        hub,
        proxy,
    ]
