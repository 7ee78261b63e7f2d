"""The local cluster's ingress controller (karvdash_localcluster.ingress): the Caddyfile it
makes of Ingress objects, their Services and EndpointSlices (pure; Caddy itself runs in
tests/e2e/test_exposure.py)."""

from __future__ import annotations

from karvdash_localcluster import ingress

AUTH = "http://10.0.0.1:9003/services/karvdash/gateway/check"


def ing(host, name="web", ns="karvdash-alice", paths=(("/", "web", 8080),), auth=True):
    return {
        "metadata": {
            "name": name,
            "namespace": ns,
            "annotations": {ingress.AUTH_URL: AUTH} if auth else {},
        },
        "spec": {
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {"path": p, "backend": {"service": {"name": s, "port": {"number": n}}}}
                            for p, s, n in paths
                        ]
                    },
                }
            ]
        },
    }


SERVICES = {
    ("karvdash-alice", "web"): {"spec": {"ports": [{"name": "http", "port": 8080}]}},
    ("karvdash-alice", "api"): {"spec": {"ports": [{"port": 9000}]}},
}
SLICES = {
    ("karvdash-alice", "web"): [
        {
            "ports": [{"name": "http", "port": 8080}],
            "endpoints": [
                {"addresses": ["10.244.0.5"], "conditions": {"ready": True}},
                {"addresses": ["10.244.0.6"], "conditions": {"ready": False}},
            ],
        }
    ]
}


def test_a_service_with_an_auth_url_asks_it_before_its_ready_endpoints():
    lines = ingress.sites([ing("web-alice.localtest.me")], SERVICES, SLICES)[
        "web-alice.localtest.me"
    ]
    text = "\n".join(lines)
    assert "forward_auth http://10.0.0.1:9003" in text
    assert 'uri "/services/karvdash/gateway/check"' in text
    assert "reverse_proxy 10.244.0.5:8080" in text and "10.244.0.6" not in text
    assert text.index("forward_auth") < text.index("reverse_proxy")


def test_a_public_service_has_no_forward_auth():
    text = "\n".join(
        ingress.sites([ing("web-alice.localtest.me", auth=False)], SERVICES, SLICES)[
            "web-alice.localtest.me"
        ]
    )
    assert "forward_auth" not in text and "reverse_proxy 10.244.0.5:8080" in text


def test_a_backend_without_ready_endpoints_answers_503_and_longer_paths_come_first():
    paths = (("/", "web", 8080), ("/api", "api", 9000))
    lines = ingress.sites([ing("web-alice.localtest.me", paths=paths)], SERVICES, SLICES)[
        "web-alice.localtest.me"
    ]
    text = "\n".join(lines)
    assert 'respond "no ready endpoints for service api" 503' in text
    assert text.index('handle "/api*"') < text.index("handle {")


def test_a_backend_in_another_namespace_is_never_reached():
    other = ing("web-bob.localtest.me", ns="karvdash-bob")
    text = "\n".join(ingress.sites([other], SERVICES, SLICES)["web-bob.localtest.me"])
    assert "10.244.0.5" not in text and "503" in text


def test_the_caddyfile_quotes_what_comes_from_objects():
    evil = ing("web-alice.localtest.me", paths=(("/", 'x" }\nrespond 200 {', 80),))
    text = ingress.caddyfile(ingress.global_options("127.0.0.1:1", 2, 3, "/tmp/s"), [evil], {}, {})
    assert 'no ready endpoints for service x\\" }\nrespond 200 {' in text
