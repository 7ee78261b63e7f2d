"""The local cluster's ingress: Caddy, built from its Go module (``localcluster/ingress``),
serves the cluster's Ingress objects over HTTPS, with certificates from Caddy's own
certificate authority, and this controller keeps Caddy's configuration in step with them.

A real cluster has an ingress controller of its admins' choice; this one does what such a
controller does with what Karvdash writes, so that services are reachable at
``https://<name>-<user>.<domain>:<port>/`` on this machine:

- every rule's host becomes a site of Caddy (``tls internal``), every path a route to the
  ready endpoints of the backend Service (its EndpointSlices: pod addresses on the real
  node, or any address an EndpointSlice names), longest path first; a backend without
  ready endpoints answers 503;
- an Ingress with ingress-nginx's ``nginx.ingress.kubernetes.io/auth-url`` annotation
  (what Karvdash writes for services that ask for their owner's login) gets Caddy's
  ``forward_auth`` to that URL: the request goes on only when the URL answers 2xx, and any
  other answer (the gateway's redirect to the hub's sign-in, its 403) goes back to the
  browser as it is.

Caddy's admin API listens on loopback; the configuration is a Caddyfile, loaded whole
(``POST /load``) when it changes; the controller looks at the cluster every second.
Caddy keeps its certificate authority in ``<state>/ingress``: its root certificate is
``<state>/ingress/pki/authorities/local/root.crt`` (what a browser must trust).

    python -m karvdash_localcluster.ingress --kubeconfig PATH --caddy-admin HOST:PORT
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

AUTH_URL = "nginx.ingress.kubernetes.io/auth-url"
CLASS_NAME = "karvdash-local"


def root_certificate(storage: Path) -> Path:
    return Path(storage) / "pki" / "authorities" / "local" / "root.crt"


def global_options(admin: str, https_port: int, http_port: int, storage: Path) -> str:
    return "\n".join(
        [
            "{",
            f"\tadmin {admin}",
            f"\thttp_port {http_port}",
            f"\thttps_port {https_port}",
            "\tlocal_certs",
            "\tskip_install_trust",
            "\tauto_https disable_redirects",
            f'\tstorage file_system "{storage}"',
            "}",
            "",
        ]
    )


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def upstreams(backend: dict, namespace: str, services: dict, slices: dict) -> list[str]:
    """The ``address:port`` of each ready endpoint of an Ingress backend."""
    svc = backend.get("service") or {}
    service = services.get((namespace, svc.get("name")))
    if service is None:
        return []
    wanted = svc.get("port") or {}
    port_spec = next(
        (
            p
            for p in service.get("spec", {}).get("ports") or []
            if ("number" in wanted and p.get("port") == wanted["number"])
            or ("name" in wanted and p.get("name") == wanted["name"])
        ),
        None,
    )
    if port_spec is None:
        return []
    found = []
    for sl in slices.get((namespace, svc["name"]), []):
        number = next(
            (
                p.get("port")
                for p in sl.get("ports") or []
                if (p.get("name") or "") == (port_spec.get("name") or "")
            ),
            None,
        )
        if number is None:
            continue
        for endpoint in sl.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            found += [f"{address}:{number}" for address in endpoint.get("addresses") or []]
    return sorted(set(found))


def _auth(url: str) -> tuple[str, str] | None:
    """``(upstream, uri)`` of an auth-url, for Caddy's forward_auth."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    uri = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return f"{parts.scheme}://{parts.netloc}", uri


def sites(ingresses: list[dict], services: dict, slices: dict) -> dict[str, list[str]]:
    """Each host's Caddyfile lines (its forward_auth and its routes)."""
    hosts: dict[str, dict] = {}
    for ing in ingresses:
        meta, spec = ing.get("metadata") or {}, ing.get("spec") or {}
        auth = _auth((meta.get("annotations") or {}).get(AUTH_URL, ""))
        for rule in spec.get("rules") or []:
            host = rule.get("host")
            if not host or "*" in host:
                continue
            site = hosts.setdefault(host, {"auth": auth, "paths": {}})
            for path in (rule.get("http") or {}).get("paths") or []:
                prefix = path.get("path") or "/"
                found = upstreams(path.get("backend") or {}, meta["namespace"], services, slices)
                site["paths"].setdefault(prefix, (found, path.get("backend", {})))
    out = {}
    for host, site in hosts.items():
        lines = ["\ttls internal"]
        if site["auth"]:
            upstream, uri = site["auth"]
            lines += [f"\tforward_auth {upstream} {{", f"\t\turi {_quoted(uri)}", "\t}"]
        for prefix in sorted(site["paths"], key=len, reverse=True):
            found, backend = site["paths"][prefix]
            matcher = "" if prefix == "/" else f" {_quoted(prefix.rstrip('/') + '*')}"
            if found:
                route = f"reverse_proxy {' '.join(found)}"
            else:
                name = (backend.get("service") or {}).get("name", "?")
                route = f"respond {_quoted(f'no ready endpoints for service {name}')} 503"
            lines += [f"\thandle{matcher} {{", f"\t\t{route}", "\t}"]
        out[host] = lines
    return out


def caddyfile(options: str, ingresses: list[dict], services: dict, slices: dict) -> str:
    blocks = [options]
    for host, lines in sorted(sites(ingresses, services, slices).items()):
        blocks.append("\n".join([f"https://{host} {{", *lines, "}", ""]))
    return "\n".join(blocks)


def load(admin: str, text: str) -> None:
    request = urllib.request.Request(
        f"http://{admin}/load",
        data=text.encode(),
        method="POST",
        headers={"Content-Type": "text/caddyfile"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def read_cluster(api) -> tuple[list[dict], dict, dict]:
    """The Ingresses, and the Services and EndpointSlices of the namespaces that have
    Ingresses only: the cost follows what is exposed, not every Service of the cluster."""
    from kubernetes import client

    sanitize = api.sanitize_for_serialization
    net = client.NetworkingV1Api(api)
    ingresses = [sanitize(i) for i in net.list_ingress_for_all_namespaces().items]
    core, discovery = client.CoreV1Api(api), client.DiscoveryV1Api(api)
    services: dict[tuple[str, str], dict] = {}
    slices: dict[tuple[str, str], list[dict]] = {}
    for namespace in sorted({i["metadata"]["namespace"] for i in ingresses}):
        for s in core.list_namespaced_service(namespace).items:
            services[(namespace, s.metadata.name)] = sanitize(s)
        for sl in discovery.list_namespaced_endpoint_slice(namespace).items:
            name = (sl.metadata.labels or {}).get("kubernetes.io/service-name")
            if name:
                slices.setdefault((namespace, name), []).append(sanitize(sl))
    return ingresses, services, slices


def ingress_class() -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {
            "name": CLASS_NAME,
            "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
        },
        "spec": {"controller": "karvdash.io/local-caddy"},
    }


def run(kubeconfig: str, admin: str, options: str) -> None:
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=kubeconfig)
    try:
        client.NetworkingV1Api(api).create_ingress_class(ingress_class())
    except client.ApiException as err:
        if err.status != 409:
            raise
    loaded = None
    while True:
        try:
            text = caddyfile(options, *read_cluster(api))
            if text != loaded:
                load(admin, text)
                loaded = text
        except Exception as err:  # the API server or Caddy away for a moment: try again
            print(f"ingress: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        time.sleep(1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--caddy-admin", required=True, help="HOST:PORT of Caddy's admin API")
    parser.add_argument("--https-port", required=True, type=int)
    parser.add_argument("--http-port", required=True, type=int)
    parser.add_argument("--storage", required=True, type=Path)
    args = parser.parse_args(argv)
    options = global_options(args.caddy_admin, args.https_port, args.http_port, args.storage)
    run(args.kubeconfig, args.caddy_admin, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
