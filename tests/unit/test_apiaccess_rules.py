"""The objects of a service with API access (``api: true``): pure rules."""

from __future__ import annotations

import pytest

from karvdash_hub.rules import apiaccess
from karvdash_hub.rules import template as tmodel
from karvdash_hub.rules.policy import PolicyError

URL = "http://hub.karvdash.svc.cluster.local:8081/services/karvdash/api/"


def pod(containers):
    return {"containers": containers}


OBJECTS = [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "w"}},
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "w"},
        "spec": {"template": {"spec": pod([{"name": "a"}, {"name": "b", "env": []}])}},
    },
    {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "w-nightly"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": pod([{"name": "c"}])}}}},
    },
    {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "w-pod"},
        "spec": pod([{"name": "d", "env": [{"name": "KARVDASH_API_URL", "value": "mine"}]}]),
    },
]


def containers(objects):
    deployment, cronjob, bare = objects[1], objects[2], objects[3]
    return [
        *deployment["spec"]["template"]["spec"]["containers"],
        *cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"],
        *bare["spec"]["containers"],
    ]


def test_every_container_gets_the_url_and_the_token_by_reference():
    out = apiaccess.attach(OBJECTS, "w", URL)
    assert OBJECTS[1]["spec"]["template"]["spec"]["containers"][0] == {"name": "a"}  # a copy
    for c in containers(out):
        env = {e["name"]: e for e in c["env"]}
        ref = env["KARVDASH_API_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "w-karvdash-api", "key": "token"}
        assert "value" not in env["KARVDASH_API_TOKEN"]
        expected = "mine" if c["name"] == "d" else URL  # a container's own value stays
        assert env["KARVDASH_API_URL"]["value"] == expected
    secret = out[-1]
    assert (secret["kind"], secret["metadata"]["name"]) == ("Secret", "w-karvdash-api")
    assert secret["stringData"] == {"token": ""}


def test_the_token_and_its_id_are_filled_in_and_read_back():
    out = apiaccess.fill(apiaccess.attach(OBJECTS, "w", URL), "w", "s3cr3t", "a42")
    secret = out[-1]
    assert secret["stringData"] == {"token": "s3cr3t"}
    assert apiaccess.token_ids([secret, {"metadata": {"annotations": None}}]) == ["a42"]
    assert "s3cr3t" not in repr(out[:-1])


def test_a_template_may_not_take_the_secrets_name():
    squatter = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "w-karvdash-api"}}
    with pytest.raises(PolicyError, match="w-karvdash-api"):
        apiaccess.attach([*OBJECTS, squatter], "w", URL)


def test_the_scope_is_the_dashboard_alone():
    assert apiaccess.scopes("karvdash") == ["access:services!service=karvdash"]


HEAD = """kind: Template
name: W
api: {api}
variables:
- name: NAME
  default: w
---
apiVersion: v1
kind: Service
metadata: {{name: $NAME}}
spec: {{ports: [{{port: 80}}]}}
"""


def test_the_template_field_is_a_boolean_off_by_default():
    assert tmodel.parse(HEAD.format(api="true"), "w").summary()["api"] is True
    assert tmodel.parse(HEAD.replace("api: {api}\n", "").format(), "w").api is False
    with pytest.raises(tmodel.TemplateError) as err:
        tmodel.parse(HEAD.format(api="yes please"), "w")
    assert err.value.where.endswith(".api")
