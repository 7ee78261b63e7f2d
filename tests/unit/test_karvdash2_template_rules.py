"""Karvdash 2.4's template files (tests/support/karvdash2: its 19 built-in templates and
the example of its docs, written out from its format) parse, validate, render and pass
the policy unchanged, read as Karvdash read them (karvdash_hub.rules.compat); and what a
template may say about access in its namespace (karvdash_hub.rules.rbac)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from karvdash_hub.rules import policy
from karvdash_hub.rules.rendering import render
from karvdash_hub.rules.template import TemplateError, parse

CORPUS = Path(__file__).resolve().parents[1] / "support" / "karvdash2"
FILES = sorted(CORPUS.glob("*.template.yaml"))
NS = "karvdash-alice"
SYSTEM = {
    "NAMESPACE": NS,
    "HOSTNAME": "x-alice.example.org",
    "REGISTRY": "registry.example.org",
    "PRIVATE": "/private",
    "SHARED": "/shared",
}
CUSTOM = frozenset(
    {("monitoring.coreos.com/v1", "Prometheus"), ("monitoring.coreos.com/v1", "ServiceMonitor")}
)


def load(name: str):
    return parse((CORPUS / f"{name}.template.yaml").read_text(), name)


def objects_of(name: str, values=None) -> list[dict]:
    return render(load(name), values or {}, SYSTEM)


def by_kind(objects, kind) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def test_the_corpus_is_karvdash_24s_19_templates_and_its_docs_example():
    assert len(FILES) == 20


@pytest.mark.parametrize("path", FILES, ids=[p.name.split(".")[0] for p in FILES])
def test_every_karvdash_template_renders_current_objects_the_policy_accepts(path):
    name = path.name.split(".")[0]
    template = parse(path.read_text(), name)
    assert template.legacy and template.warnings  # it says what it read differently
    objects = render(template, {}, SYSTEM)
    for obj in objects:
        assert obj["apiVersion"] not in ("networking.k8s.io/v1beta1", "extensions/v1beta1")
        assert not obj["apiVersion"].startswith(("apps/v1beta", "extensions/"))
    services = [o["metadata"]["name"] for o in by_kind(objects, "Service")]
    assert template.variable("NAME").default in services
    policy.check(objects, NS, SYSTEM["HOSTNAME"], CUSTOM)


def test_declared_system_variables_get_the_systems_values_with_a_warning():
    template = load("zeppelin")
    assert {"NAMESPACE", "HOSTNAME", "PRIVATE"} <= set(template.system_names)
    assert any(
        "NAMESPACE, HOSTNAME, PRIVATE are filled in by the system" in w for w in template.warnings
    )
    assert [v.name for v in template.user_variables] == ["NAME"]
    (ingress,) = by_kind(objects_of("zeppelin"), "Ingress")
    assert ingress["spec"]["rules"][0]["host"] == SYSTEM["HOSTNAME"]
    with pytest.raises(TemplateError, match="filled in by the system"):
        objects_of("zeppelin", {"HOSTNAME": "evil.example.org"})


def test_a_v1beta1_ingress_is_converted_to_v1():
    (ingress,) = by_kind(objects_of("hello-kubernetes"), "Ingress")
    assert ingress["apiVersion"] == "networking.k8s.io/v1"
    (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    assert path["pathType"] == "Prefix"
    assert path["backend"] == {"service": {"name": "hello-kubernetes", "port": {"number": 8080}}}
    assert any("v1beta1 Ingress converted" in w for w in load("hello-kubernetes").warnings)


def test_kafka_keeps_its_shells_variables_and_gets_a_numeric_replica_count():
    objects = objects_of("kafka")
    (statefulset,) = by_kind(objects, "StatefulSet")
    assert statefulset["apiVersion"] == "apps/v1"
    assert statefulset["spec"]["selector"] == {"matchLabels": {"app": "cp-kafka"}}
    assert statefulset["spec"]["replicas"] == 3  # replicas: ${SERVERS}, untyped
    script = statefulset["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    assert "${HOSTNAME##*-}" in script and "${HOSTNAME}.kafka:9092" in script
    assert "/private/.cp-kafka-$KAFKA_BROKER_ID" in script  # ${PRIVATE} is declared
    assert any("$HOSTNAME" in w and "left as written" in w for w in load("kafka").warnings)
    assert objects_of("kafka", {"SERVERS": 5})[1]["spec"]["replicas"] == 5


@given(
    st.text(min_size=1, max_size=40).filter(
        lambda t: "\x00" not in t and not t.strip("-").isdigit()
    )
)
def test_an_untyped_value_that_is_not_a_whole_number_stays_text(value):
    (statefulset,) = by_kind(objects_of("kafka", {"SERVERS": value}), "StatefulSet")
    assert statefulset["spec"]["replicas"] == value  # the API server refuses it, clearly


def test_the_service_named_with_braces_is_the_services_service():
    assert by_kind(objects_of("neo4j"), "Service")[0]["metadata"]["name"] == "neo4j"


def test_a_bare_pod_gets_the_same_pod_rules_as_a_workload():
    (pod,) = by_kind(objects_of("minio"), "Pod")
    pod["spec"]["hostNetwork"] = True
    with pytest.raises(policy.PolicyError, match="hostNetwork is not allowed"):
        policy.check([pod], NS, SYSTEM["HOSTNAME"])
    (injected,) = policy.inject([by_kind(objects_of("minio"), "Pod")[0]], {"a": "b"}, {})
    mounts = {m["mountPath"] for m in injected["spec"]["containers"][0]["volumeMounts"]}
    assert {"/private", "/shared"} <= mounts and injected["metadata"]["labels"]["a"] == "b"


def test_argos_own_accounts_roles_and_bindings_stay_in_the_namespace():
    objects = objects_of("argo")
    assert by_kind(objects, "ServiceAccount") and by_kind(objects, "Role")
    for binding in by_kind(objects, "RoleBinding"):
        assert all(s["kind"] == "ServiceAccount" for s in binding["subjects"])


RB = "rbac.authorization.k8s.io/v1"


def role(rules):
    return {"apiVersion": RB, "kind": "Role", "metadata": {"name": "r"}, "rules": rules}


def binding(ref, subjects):
    return {
        "apiVersion": RB,
        "kind": "RoleBinding",
        "metadata": {"name": "b"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", **ref},
        "subjects": subjects,
    }


SA = {"kind": "ServiceAccount", "name": "argo"}


@pytest.mark.parametrize(
    "obj, why",
    [
        (role([{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}]), "verbs"),
        (role([{"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]}]), "no \\*"),
        (role([{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}]), "no \\*"),
        (
            role(
                [
                    {
                        "apiGroups": ["rbac.authorization.k8s.io"],
                        "resources": ["roles"],
                        "verbs": ["create"],
                    }
                ]
            ),
            "roles and bindings",
        ),
        (
            role([{"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}]),
            "impersonate",
        ),
        (role([{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]), "nonResourceURLs"),
        (binding({"kind": "ClusterRole", "name": "cluster-admin"}, [SA]), "only the ClusterRoles"),
        (binding({"kind": "Role", "name": "r"}, [{"kind": "User", "name": "bob"}]), "no users"),
        (
            binding({"kind": "Role", "name": "r"}, [{"kind": "Group", "name": "system:masters"}]),
            "no users",
        ),
        (binding({"kind": "Role", "name": "r"}, [{**SA, "namespace": "karvdash-bob"}]), NS),
    ],
)
def test_access_wider_than_the_namespace_or_its_admin_is_refused(obj, why):
    with pytest.raises(policy.PolicyError, match=why):
        policy.check([obj], NS, SYSTEM["HOSTNAME"])


def test_a_role_of_named_rights_bound_to_the_namespaces_account_is_allowed():
    policy.check(
        [
            role(
                [
                    {
                        "apiGroups": ["argoproj.io"],
                        "resources": ["workflows"],
                        "verbs": ["get", "list"],
                    }
                ]
            ),
            binding({"kind": "Role", "name": "r"}, [SA, {**SA, "namespace": NS}]),
            binding({"kind": "ClusterRole", "name": "edit"}, [SA]),
        ],
        NS,
        SYSTEM["HOSTNAME"],
    )


def test_a_custom_kind_is_a_templates_only_when_the_installation_allows_it():
    objects = objects_of("argo-metrics")
    with pytest.raises(policy.PolicyError, match="Prometheus cannot be created"):
        policy.check(objects, NS, SYSTEM["HOSTNAME"])
    policy.check(objects, NS, SYSTEM["HOSTNAME"], CUSTOM)


def test_a_template_of_this_projects_format_is_not_read_the_old_way():
    native = (CORPUS.parent.parent.parent / "karvdash_hub" / "catalogue").glob("*.template.yaml")
    for path in native:
        template = parse(path.read_text(), path.name.split(".")[0])
        assert not template.legacy and not template.warnings, path.name
