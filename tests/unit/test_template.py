"""The template model (karvdash_hub.template) and the policy (karvdash_hub.policy):
parsing, validation, rendering, and an injection corpus."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from karvdash_hub.rules import policy
from karvdash_hub.rules.rendering import render
from karvdash_hub.rules.template import MAX_BYTES, TemplateError, parse, references

SYSTEM = {
    "NAMESPACE": "karvdash-alice",
    "HOSTNAME": "hello-alice.example.org",
    "REGISTRY": "registry.example.org",
    "PRIVATE": "/private",
    "SHARED": "/shared",
}

HELLO = """
kind: Template
name: Hello Kubernetes
description: Show a message in a web page
singleton: false
auth: true
variables:
- name: NAME
  default: hello
- name: MESSAGE
  default: I just deployed this on Kubernetes!
  help: Message to display
- name: REPLICAS
  default: 1
  type: integer
- name: DEBUG
  default: false
  type: boolean
- name: SIZE
  default: small
  choices: [small, large]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $NAME
spec:
  replicas: $REPLICAS
  selector:
    matchLabels: {app: $NAME}
  template:
    metadata:
      labels: {app: $NAME}
    spec:
      containers:
      - name: hello
        image: $REGISTRY/hello:1
        env:
        - {name: MESSAGE, value: $MESSAGE}
        - {name: DEBUG, value: "${DEBUG}"}
        - {name: PRICE, value: "costs $$5 in ${SIZE} size"}
---
apiVersion: v1
kind: Service
metadata:
  name: $NAME
spec:
  selector: {app: $NAME}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: $NAME
spec:
  rules:
  - host: $HOSTNAME
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: $NAME, port: {number: 80}}}
"""


def hello():
    return parse(HELLO, "hello")


def env_of(objects):
    return {
        e["name"]: e["value"]
        for e in objects[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    }


# -- the model ------------------------------------------------------------------------


def test_a_template_parses_with_its_variables():
    t = hello()
    assert (t.name, t.singleton, t.auth) == ("Hello Kubernetes", False, True)
    assert [v.name for v in t.user_variables] == ["NAME", "MESSAGE", "REPLICAS", "DEBUG", "SIZE"]
    assert t.variable("REPLICAS").default == 1 and t.variable("DEBUG").default is False
    assert len(t.objects) == 3
    assert t.summary()["variables"][4]["choices"] == ["small", "large"]


def test_rendering_fills_user_and_system_variables():
    objs = render(hello(), {"NAME": "greeter", "MESSAGE": "hi"}, SYSTEM)
    assert [o["metadata"]["name"] for o in objs] == ["greeter"] * 3
    assert objs[0]["spec"]["replicas"] == 1  # an integer variable stays an integer
    assert (
        objs[0]["spec"]["template"]["spec"]["containers"][0]["image"]
        == "registry.example.org/hello:1"
    )
    assert env_of(objs) == {"MESSAGE": "hi", "DEBUG": False, "PRICE": "costs $5 in small size"}
    assert objs[2]["spec"]["rules"][0]["host"] == "hello-alice.example.org"


def test_the_original_karvdash_format_without_types_works():
    text = HELLO.replace("  type: integer\n", "").replace("  type: boolean\n", "")
    objs = render(parse(text, "hello"), {}, SYSTEM)
    # untyped: a whole number where the Kubernetes schema wants one (Karvdash's text
    # substitution made it one too), text everywhere else
    assert objs[0]["spec"]["replicas"] == 1
    assert env_of(objs)["DEBUG"] == "false"


@pytest.mark.parametrize(
    "values, message",
    [
        ({"REPLICAS": "two"}, "whole number"),
        ({"DEBUG": "maybe"}, "true or false"),
        ({"SIZE": "huge"}, "one of: small, large"),
        ({"NAME": "Bad_Name"}, "NAME must be"),
        ({"NAME": "x" * 41}, "NAME must be"),
        ({"NAMESPACE": "kube-system"}, "filled in by the system"),
        ({"HOSTNAME": "evil.example.org"}, "filled in by the system"),
        ({"PASSWORD": "x"}, "has no variable PASSWORD"),
        ({"MESSAGE": "x" * 5000}, "longer than"),
        ({"MESSAGE": ["a", "b"]}, "must be text"),
        ({"MESSAGE": {"a": "b"}}, "must be text"),
    ],
)
def test_a_bad_value_is_refused_with_a_clear_message(values, message):
    with pytest.raises(TemplateError, match=message):
        render(hello(), values, SYSTEM)


@pytest.mark.parametrize(
    "text, message",
    [
        ("kind: Template\nname: x\nvariables: [{name: NAME, default: x}]\n", "exactly one Service"),
        (
            HELLO.replace("kind: Template\n", "kind: Other\n", 1),
            "exactly one document of 'kind: Template'",
        ),
        (HELLO + "---\nkind: Template\nname: again\n", "exactly one document"),
        (
            HELLO.replace(
                "- name: MESSAGE\n  default: I just deployed this on Kubernetes!\n",
                "- name: MESSAGE\n",
            ),
            "needs a default",
        ),
        (HELLO.replace("value: $MESSAGE", "value: $UNDECLARED"), "undeclared variable"),
        (HELLO.replace("- name: NAME\n  default: hello\n", ""), "NAME must be declared"),
        (HELLO.replace("- name: SIZE", "- name: MESSAGE"), "declared twice"),
        (HELLO.replace("- name: SIZE", "- name: size"), "upper-case"),
        (
            HELLO.replace(
                "  name: $NAME\nspec:\n  selector: {app: $NAME}",
                "  name: other\nspec:\n  selector: {app: $NAME}",
            ),
            "Service named \\$NAME",
        ),
        (
            HELLO.replace(
                "kind: Service\nmetadata:\n  name: $NAME\n",
                "kind: Service\nmetadata:\n  name: $NAME\n  namespace: kube-system\n",
            ),
            "leave metadata.namespace out",
        ),
        (HELLO + "---\njust a string\n", "must be a mapping"),
        (HELLO + "---\napiVersion: v1\nmetadata: {name: x}\n", "'kind' is required"),
        ("kind: Template\nname: [unclosed\n", "not valid YAML"),
        ("a: &anchor {b: 1}\nc: *anchor\n", "anchors"),
        ("kind: Template\nname: !!python/object:os.system x\n", "not valid YAML"),
        ("x" * (MAX_BYTES + 1), "at most 256 KiB"),
        ("---\n".join(["a: 1\n"] * 70), "at most 64 documents"),
    ],
)
def test_a_bad_template_is_refused_with_where_and_why(text, message):
    with pytest.raises(TemplateError, match=message):
        parse(text, "bad")


def test_an_alias_bomb_is_refused_before_it_expands():
    bomb = "a: &a ['x','x','x','x','x','x','x','x','x']\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(20)
    )
    with pytest.raises(TemplateError, match=r"anchors|aliases"):
        parse(bomb, "bomb")


def test_the_error_names_the_document_and_field():
    with pytest.raises(TemplateError) as err:
        parse(HELLO.replace("- name: SIZE", "- name: size"), "x")
    assert err.value.where == "document 1 (Template).variables[4]"


# -- injection: values cannot change the structure ---------------------------------------


def shape(v):
    """The structure of rendered objects: keys and types, without the strings."""
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(x) for x in v]
    return type(v).__name__


INJECTIONS = [
    "x\nkind: ClusterRole",
    "x\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding",
    "a: b",
    "key: value\nother: thing",
    "---",
    "...",
    "!!python/object/apply:os.system ['id']",
    "&anchor x",
    "*alias",
    "{a: 1, b: [2, 3]}",
    "[1, 2, 3]",
    "'quoted' \"double\"",
    "${NAMESPACE}",
    "$HOSTNAME",
    "$$",
    "\x00",
    "line1\r\nline2",
    "# comment",
    "|\n  block",
    "hostPath: {path: /}",
    "privileged: true",
    "🙂 unicode",
    "\\u0000",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_value_never_adds_structure(value):
    t = hello()
    try:
        objs = render(t, {"MESSAGE": value}, SYSTEM)
    except TemplateError as err:  # refused outright is fine too
        assert "NUL" in str(err)
        return
    baseline = render(t, {"MESSAGE": "plain"}, SYSTEM)
    # same objects, same keys everywhere; only the message string differs
    assert len(objs) == len(baseline) == 3
    assert shape(objs) == shape(baseline)
    assert env_of(objs)["MESSAGE"] == value  # verbatim: not re-parsed, not substituted
    assert [o["kind"] for o in objs] == ["Deployment", "Service", "Ingress"]
    policy.check(objs, SYSTEM["NAMESPACE"], SYSTEM["HOSTNAME"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_no_value_changes_the_rendered_structure(value):
    """Fuzzed: whatever the value, the keys and kinds are those of the template."""
    if "\x00" in value:
        return
    objs = render(hello(), {"MESSAGE": value}, SYSTEM)
    baseline = render(hello(), {"MESSAGE": "plain"}, SYSTEM)
    assert shape(objs) == shape(baseline)
    assert env_of(objs)["MESSAGE"] == value


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_parsing_arbitrary_text_fails_only_with_a_template_error(text):
    try:
        parse(text, "fuzz")
    except TemplateError:
        pass


def test_a_key_reference_cannot_collide_with_another_key():
    text = HELLO.replace(
        "  selector: {app: $NAME}\n  ports", "  selector: {app: $NAME, $MESSAGE: x}\n  ports"
    )
    with pytest.raises(TemplateError, match="same key"):
        render(parse(text, "k"), {"MESSAGE": "app"}, SYSTEM)


def test_references_are_found_in_keys_and_values():
    assert references({"a$X": ["$Y", {"k": "${Z} $$W"}]}) == {"X", "Y", "Z"}


# -- policy ---------------------------------------------------------------------------


def with_object(extra: str) -> str:
    return HELLO + "---\n" + extra


POLICY_CASES = {
    "ClusterRole": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: $NAME-cr}\nrules: []\n",
    "RoleBinding": "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: $NAME-rb}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: default, namespace: $NAMESPACE}]\n",
    "Namespace": "apiVersion: v1\nkind: Namespace\nmetadata: {name: $NAME-ns}\n",
    "PersistentVolume": "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: $NAME-pv}\nspec: {hostPath: {path: /}}\n",
    "CRD": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x.example.org}\n",
    "Webhook": "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: $NAME-wh}\n",
    "privileged bare Pod": "apiVersion: v1\nkind: Pod\nmetadata: {name: $NAME-pod}\nspec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}\n",
    "hostPath": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: $NAME-h}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: x}]\n      volumes: [{name: root, hostPath: {path: /}}]\n",
    "privileged": "apiVersion: batch/v1\nkind: Job\nmetadata: {name: $NAME-p}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: x, securityContext: {privileged: true}}]\n",
    "privileged init": "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: $NAME-s}\nspec:\n  serviceName: $NAME\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      initContainers: [{name: i, image: x, securityContext: {privileged: true}}]\n      containers: [{name: c, image: x}]\n",
    "CronJob hostNetwork": "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: $NAME-c}\nspec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          hostNetwork: true\n          restartPolicy: Never\n          containers: [{name: c, image: x}]\n",
    "SYS_ADMIN": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: $NAME-cap}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: x, securityContext: {capabilities: {add: [SYS_ADMIN]}}}]\n",
    "hostPort": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: $NAME-hp}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: x, ports: [{containerPort: 80, hostPort: 80}]}]\n",
    "NodePort": "apiVersion: v1\nkind: Service\nmetadata: {name: $NAME-np}\nspec: {type: NodePort, ports: [{port: 80}]}\n",
    "claim another volume": "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: $NAME-steal}\nspec: {volumeName: karvdash-bob-private, accessModes: [ReadWriteMany], resources: {requests: {storage: 1Gi}}}\n",
    "another host": "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: $NAME-i}\nspec:\n  rules: [{host: zeppelin-bob.example.org}]\n",
}


DEPLOYMENT_WITH_VOLUME = """apiVersion: apps/v1
kind: Deployment
metadata: {name: $NAME-v}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers: [{name: c, image: x}]
      volumes: [{name: v, VOLUME}]
"""
INGRESS = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: $NAME-i, annotations: {ANNOTATIONS}}
spec:
SPEC"""
BACKEND = "{service: {name: $NAME, port: {number: 80}}}"


def ingress(spec: str, annotations: str = "") -> str:
    return INGRESS.replace("ANNOTATIONS", annotations).replace("SPEC", spec)


POLICY_CASES.update(
    {
        # inline network storage would reach files behind any user's claims
        "nfs volume": DEPLOYMENT_WITH_VOLUME.replace(
            "VOLUME", "nfs: {server: nfs.example.org, path: /exports/karvdash/private}"
        ),
        "csi inline volume": DEPLOYMENT_WITH_VOLUME.replace(
            "VOLUME", "csi: {driver: nfs.csi.k8s.io, volumeAttributes: {server: x, share: /}}"
        ),
        "iscsi volume": DEPLOYMENT_WITH_VOLUME.replace(
            "VOLUME", "iscsi: {targetPortal: 10.0.0.1, iqn: x, lun: 0}"
        ),
        "ephemeral claim choosing a volume": DEPLOYMENT_WITH_VOLUME.replace(
            "VOLUME",
            "ephemeral: {volumeClaimTemplate: {spec: {volumeName: karvdash-bob-private,"
            " accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}}",
        ),
        "StatefulSet claim choosing a volume": """apiVersion: apps/v1
kind: StatefulSet
metadata: {name: $NAME-s}
spec:
  serviceName: $NAME
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec: {containers: [{name: c, image: x}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      selector: {matchLabels: {user: bob}}
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
""",
        # another user's service behind this user's address
        "ExternalName": """apiVersion: v1
kind: Service
metadata: {name: $NAME-x}
spec: {type: ExternalName, externalName: zeppelin.karvdash-bob.svc.cluster.local}
""",
        # taking more than the service's own address
        "Ingress rule without a host": ingress(
            "  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: " + BACKEND + "}]}}]\n"
        ),
        "Ingress default backend": ingress("  defaultBackend: " + BACKEND + "\n"),
        "Ingress server alias": ingress(
            "  rules: [{host: $HOSTNAME}]\n",
            "nginx.ingress.kubernetes.io/server-alias: zeppelin-bob.example.org",
        ),
        "Ingress snippet": ingress(
            "  rules: [{host: $HOSTNAME}]\n",
            "nginx.ingress.kubernetes.io/configuration-snippet: 'auth_request off;'",
        ),
        "Ingress auth override": ingress(
            "  rules: [{host: $HOSTNAME}]\n", "nginx.ingress.kubernetes.io/auth-url: ''"
        ),
        "Ingress own class": ingress(
            "  ingressClassName: public-no-auth\n  rules: [{host: $HOSTNAME}]\n"
        ),
        "Ingress TLS for another host": ingress(
            "  rules: [{host: $HOSTNAME}]\n  tls: [{hosts: [zeppelin-bob.example.org]}]\n"
        ),
    }
)

#: fields of the wrong shape: a violation that names the field, never a crash
SHAPE_CASES = {
    "volumes not a list": ("volumes: 5", "volumes must be a list"),
    "capabilities a list": (
        "containers: [{name: c, image: x, securityContext: {capabilities: [SYS_ADMIN]}}]",
        "capabilities must be a mapping",
    ),
    "volumeMounts a mapping": (
        "containers: [{name: c, image: x, volumeMounts: {}}]",
        "volumeMounts must be a list",
    ),
    "containers a string": ("containers: nginx", "containers must be a list"),
    "env a mapping": ("containers: [{name: c, image: x, env: {A: b}}]", "env must be a list"),
}


@pytest.mark.parametrize("case", sorted(POLICY_CASES))
def test_the_policy_refuses_what_a_template_may_not_create(case):
    objs = render(parse(with_object(POLICY_CASES[case]), "evil"), {}, SYSTEM)
    with pytest.raises(policy.PolicyError) as refused:
        policy.check(objs, SYSTEM["NAMESPACE"], SYSTEM["HOSTNAME"])
    assert refused.value.violations
    # the violations name the offending object, not the harmless ones of the template
    harmless = tuple(f"{kind} hello:" for kind in ("Deployment", "Service", "Ingress"))
    assert not any(v.startswith(harmless) for v in refused.value.violations), refused.value


@pytest.mark.parametrize("case", sorted(SHAPE_CASES))
def test_a_field_of_the_wrong_shape_is_a_violation_not_a_crash(case):
    field, message = SHAPE_CASES[case]
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: $NAME-w}\nspec:\n"
        "  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n"
        f"    spec:\n      {field}\n"
    )
    objs = render(parse(with_object(text), "shape"), {}, SYSTEM)
    with pytest.raises(policy.PolicyError, match=message):
        policy.check(objs, SYSTEM["NAMESPACE"], SYSTEM["HOSTNAME"])


#: YAML that parses but that JSON (and so the Kubernetes API) cannot hold
NON_JSON_CASES = [
    ("data: {a: " + "[" * 100 + "]" * 100 + "}", "nests more than"),
    ("data: !!set {a, b}", "a set value"),
    ("data: {a: !!binary aGVsbG8=}", "a bytes value"),
    ("data: {1: one}", "keys must be text"),
]


@pytest.mark.parametrize("doc, message", NON_JSON_CASES)
def test_yaml_that_is_not_json_is_refused_where_it_is(doc, message):
    text = with_object(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: $NAME-c}}\n{doc}\n")
    with pytest.raises(TemplateError, match=message) as refused:
        parse(text, "nonjson")
    assert "document 5" in str(refused.value) or "line " in str(refused.value)


def test_dates_stay_text():
    text = with_object(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: $NAME-c}\ndata: {day: 2024-01-01}\n"
    )
    objs = render(parse(text, "dates"), {}, SYSTEM)
    assert objs[-1]["data"] == {"day": "2024-01-01"}


def test_statefulset_claims_carry_the_service_labels():
    text = with_object(
        POLICY_CASES["StatefulSet claim choosing a volume"].replace(
            "      selector: {matchLabels: {user: bob}}\n", ""
        )
    )
    objs = render(parse(text, "sts"), {}, SYSTEM)
    policy.check(objs, SYSTEM["NAMESPACE"], SYSTEM["HOSTNAME"])
    labels = {"karvdash.io/service": "hello"}
    out = policy.inject(objs, labels, {})
    claim = out[-1]["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["labels"] == labels


def test_an_object_in_another_namespace_is_refused():
    objs = render(hello(), {}, SYSTEM)
    objs[1]["metadata"]["namespace"] = "karvdash-bob"
    with pytest.raises(policy.PolicyError, match="only be created in namespace karvdash-alice"):
        policy.check(objs, SYSTEM["NAMESPACE"], SYSTEM["HOSTNAME"])


def test_injection_adds_labels_storage_and_environment_to_every_pod():
    extra = POLICY_CASES["privileged"].replace(", securityContext: {privileged: true}", "")
    objs = render(parse(with_object(extra), "x"), {}, SYSTEM)
    labels = {"app.kubernetes.io/managed-by": "karvdash", "karvdash.io/service": "hello"}
    out = policy.inject(objs, labels, {"KARVDASH_NAMESPACE": "karvdash-alice"})
    assert all(labels.items() <= o["metadata"]["labels"].items() for o in out)
    pods = [out[0]["spec"]["template"], out[3]["spec"]["template"]]
    for pod in pods:
        assert labels.items() <= pod["metadata"]["labels"].items()
        claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]}
        assert claims == {"karvdash-private", "karvdash-shared"}
        for c in pod["spec"]["containers"]:
            assert {m["mountPath"] for m in c["volumeMounts"]} == {"/private", "/shared"}
            assert {"name": "KARVDASH_NAMESPACE", "value": "karvdash-alice"} in c["env"]
    assert objs[0]["spec"]["template"]["spec"].get("volumes") is None  # input untouched
    # the template's own env and selector are kept
    assert out[0]["spec"]["selector"] == {"matchLabels": {"app": "hello"}}


def test_the_corpus_has_the_size_the_technical_overview_states():
    """docs/technical-overview.md promises these numbers; a case lost shows up here."""
    sizes = {
        "hostile values": len(INJECTIONS),
        "hostile objects": len(POLICY_CASES),
        "fields of the wrong shape": len(SHAPE_CASES),
        "YAML documents that JSON cannot hold": len(NON_JSON_CASES),
    }
    assert sizes == {
        "hostile values": 23,
        "hostile objects": 29,
        "fields of the wrong shape": 5,
        "YAML documents that JSON cannot hold": 4,
    }
    assert sum(sizes.values()) == 61
    # a case written twice would count without trying anything new
    assert len(set(INJECTIONS)) == len(INJECTIONS)
    assert len(set(POLICY_CASES.values())) == len(POLICY_CASES)
    assert len({doc for doc, _ in NON_JSON_CASES}) == len(NON_JSON_CASES)


def test_the_values_kept_with_a_service_never_hold_a_secret_variables_value():
    from karvdash_hub.rules.rendering import recorded, resolve
    from karvdash_hub.rules.status import _values

    text = HELLO.replace(
        "  help: Message to display\n", "  help: Message to display\n  secret: true\n"
    )
    template = parse(text, "hello")
    assert template.variable("MESSAGE").secret and template.variable("MESSAGE").to_dict()["secret"]
    final = resolve(template, {"NAME": "greeter", "MESSAGE": "hunter2", "REPLICAS": 2}, SYSTEM)
    kept = recorded(template, final)
    assert kept["MESSAGE"] is None and "hunter2" not in str(kept)
    assert kept["NAME"] == "greeter" and kept["REPLICAS"] == 2
    assert set(kept) == {v.name for v in template.user_variables}  # no system variable
    assert _values('{"A": 1}') == {"A": 1}
    assert _values("[1]") is None and _values("not json") is None and _values(None) is None
    with pytest.raises(TemplateError, match="true or false"):
        parse(text.replace("secret: true", "secret: maybe"), "hello")
