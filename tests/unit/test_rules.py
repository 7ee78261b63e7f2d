"""The rules of the pure modules that the layout split out: objects, exposure, status,
environment and the name rules a user's choices go through."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from karvdash_hub.rules import environment, exposure, names, objects, status

users = st.text(min_size=1, max_size=60).filter(lambda s: s.strip() == s and s)


# -- names ---------------------------------------------------------------------------


@given(st.text(max_size=300))
def test_a_template_id_made_from_any_title_is_a_label(title):
    assert names.is_label(names.template_id_for(title))


@given(st.text(max_size=80))
def test_the_one_label_rule_is_the_dns_label_rule(text):
    dns = (
        0 < len(text) <= 63
        and text[0].isascii()
        and text[0].isalpha()
        and text[0].islower()
        and text[-1] in "abcdefghijklmnopqrstuvwxyz0123456789"
        and all(c in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in text)
    )
    assert names.is_label(text) == dns


def test_instance_names_are_labels_of_at_most_40():
    assert names.check_instance_name("a" * 40) == "a" * 40
    for bad in ("a" * 41, "1abc", "abc-", "Abc", "", None, 5, "a_b"):
        with pytest.raises(names.NameError_, match="NAME must be"):
            names.check_instance_name(bad)


@given(st.from_regex(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?", fullmatch=True), users)
def test_a_host_label_is_name_dash_slug_or_refused(name, user):
    try:
        label = names.host_label(name, user)
    except names.NameError_ as err:
        assert "too long" in str(err)
        assert len(f"{name}-{names.user_slug(user)}") > 63
        return
    assert label == f"{name}-{names.user_slug(user)}" and names.is_label(label)


# -- objects -------------------------------------------------------------------------


@given(users)
def test_a_users_objects_are_the_namespace_then_objects_inside_it(user):
    settings = objects.NamespaceSettings(
        hub_service_account="hub-ns/hub",
        resource_quota={"pods": "5"},
        limit_range=[{"type": "Container"}],
        ingress_namespaces=("hub-ns",),
    )
    objs = objects.user_objects(user, settings)
    ns = names.namespace_for(user)
    assert objs[0]["kind"] == "Namespace" and objs[0]["metadata"]["name"] == ns
    assert objs[0]["metadata"]["annotations"][names.USERNAME_ANNOTATION] == user
    assert all(o["metadata"]["namespace"] == ns for o in objs[1:])
    for binding in (o for o in objs if o["kind"] == "RoleBinding"):
        (subject,) = binding["subjects"]
        assert subject["kind"] == "ServiceAccount"
        assert (subject["namespace"], subject["name"]) in {
            (ns, settings.service_account),
            ("hub-ns", "hub"),
        }
    kinds = [o["kind"] for o in objs]
    assert kinds.count("RoleBinding") == 2 and "ResourceQuota" in kinds and "LimitRange" in kinds


def test_without_quota_limits_or_hub_account_those_objects_are_absent():
    objs = objects.user_objects("alice", objects.NamespaceSettings())
    assert [o["kind"] for o in objs] == [
        "Namespace",
        "ServiceAccount",
        "RoleBinding",
        "NetworkPolicy",
    ]
    (rule,) = objs[3]["spec"]["ingress"]
    assert rule["from"] == [{"podSelector": {}}]
    assert objs[3]["spec"]["policyTypes"] == ["Ingress"]  # nothing blocked: no egress rule


def test_egress_goes_anywhere_but_the_blocked_addresses():
    settings = objects.NamespaceSettings(blocked_egress=("169.254.169.254/32", "fd00:ec2::254/128"))
    policy = next(
        o for o in objects.user_objects("alice", settings) if o["kind"] == "NetworkPolicy"
    )
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    pods, v4, v6 = policy["spec"]["egress"]
    assert pods == {"to": [{"namespaceSelector": {}}]}
    assert v4["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]
    assert v6["to"] == [{"ipBlock": {"cidr": "::/0", "except": ["fd00:ec2::254/128"]}}]


def test_a_namespace_is_owned_only_with_the_label_and_the_exact_user():
    made = objects.namespace_object("alice", objects.NamespaceSettings())
    assert objects.owns(made, "alice")
    assert not objects.owns(made, "Alice") and not objects.owns(made, "bob")
    unlabelled = {"metadata": {"annotations": made["metadata"]["annotations"]}}
    assert not objects.owns(unlabelled, "alice")
    assert not objects.owns({"metadata": {"labels": made["metadata"]["labels"]}}, "alice")


# -- exposure ------------------------------------------------------------------------


def ingress(host="web-alice.example.org", **meta):
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", **meta},
        "spec": {"rules": [{"host": host}]},
    }


def test_auth_true_services_get_no_ingress_without_an_ingress_login():
    rules = exposure.Exposure(domain="example.org")
    objs = [{"kind": "Service", "metadata": {"name": "web"}}, ingress()]
    assert [o["kind"] for o in rules.decorate(list(objs), "web-alice.example.org", True)] == [
        "Service"
    ]
    assert len(rules.decorate(list(objs), "web-alice.example.org", False)) == 2
    opted = exposure.Exposure(domain="example.org", expose_without_login=True)
    assert opted.exposes(True)


def test_decoration_adds_the_host_label_class_tls_and_login_annotations_only():
    login = {"example/auth-url": "http://hub/auth"}
    rules = exposure.Exposure(
        domain="example.org", ingress_class="nginx", tls_secret="wild", auth_annotations=login
    )
    (ing,) = rules.decorate([ingress()], "web-alice.example.org", True)
    assert ing["metadata"]["labels"] == {exposure.HOST_LABEL: "web-alice"}
    assert ing["metadata"]["annotations"] == login
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"] == [{"hosts": ["web-alice.example.org"], "secretName": "wild"}]
    (public,) = rules.decorate([ingress()], "web-alice.example.org", False)
    assert "annotations" not in public["metadata"]


def test_possible_holders_are_every_suffix_after_a_hyphen_but_ones_own():
    assert exposure.possible_holders("web-x-bob", "x-bob") == {"bob"}
    assert exposure.possible_holders("web-x-bob", "bob") == {"x-bob"}
    assert exposure.possible_holders("web", "bob") == set()


def test_an_ingress_serves_a_host_only_by_its_rules():
    rules = exposure.Exposure(domain="example.org")
    assert rules.serves(ingress(), "web-alice")
    assert not rules.serves(ingress(host="other.example.org"), "web-alice")
    assert not rules.serves({"spec": {}}, "web-alice")


# -- status --------------------------------------------------------------------------


def svc(name, created="2026-01-01T00:00:00Z", label=None):
    return {
        "metadata": {
            "name": name,
            "labels": {status.SERVICE_LABEL: label or name, status.TEMPLATE_LABEL: "t"},
            "creationTimestamp": created,
        }
    }


def pod(name, service, phase="Running", ready=True):
    return {
        "metadata": {"name": name, "labels": {status.SERVICE_LABEL: service}},
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def warning(involved, message, when):
    return {"involvedObject": {"name": involved}, "message": message, "lastTimestamp": when}


def test_status_counts_ready_pods_and_is_running_only_when_every_pod_is():
    (entry,) = status.services(
        [svc("db")], [pod("db-0", "db"), pod("db-1", "db", "Pending", False)], [], [], "https"
    )
    assert entry["status"]["ready"] == 1 and entry["status"]["total"] == 2
    assert entry["status"]["phase"] == "Pending"
    (alone,) = status.services([svc("db")], [], [], [], "https")
    assert alone["status"]["phase"] == "NoPods"


def test_the_latest_warning_shows_only_while_unhealthy():
    warnings = [
        warning("db-0", "old", "2026-01-01T00:00:01Z"),
        warning("db-0", "new", "2026-01-01T00:00:02Z"),
    ]
    (sick,) = status.services([svc("db")], [pod("db-0", "db", ready=False)], [], warnings, "https")
    assert sick["status"]["warning"] == "new"
    (well,) = status.services([svc("db")], [pod("db-0", "db")], [], warnings, "https")
    assert well["status"]["warning"] is None


def test_objects_without_their_service_are_not_listed_and_the_list_is_by_age():
    listed = status.services(
        [svc("b", "2026-01-02T00:00:00Z"), svc("a", "2026-01-03T00:00:00Z"), svc("x", label="y")],
        [pod("orphan", "gone")],
        [dict(ingress("b-alice.example.org"), metadata={"labels": {status.SERVICE_LABEL: "b"}})],
        [],
        "https",
    )
    assert [e["name"] for e in listed] == ["b", "a"]
    assert listed[0]["url"] == "https://b-alice.example.org/" and listed[1]["url"] is None


# -- environment ---------------------------------------------------------------------


def test_the_environment_contract():
    assert environment.environment("ns") == {
        "KARVDASH_NAMESPACE": "ns",
        "KARVDASH_PRIVATE_DIR": "/private",
        "KARVDASH_SHARED_DIR": "/shared",
    }
    full = environment.environment(
        "ns", registry="registry.example.org", api_url="http://hub/api/", service="db"
    )
    assert full["KARVDASH_REGISTRY"] == "registry.example.org"
    assert full["KARVDASH_API_URL"] == "http://hub/api/" and full["KARVDASH_SERVICE"] == "db"


def test_a_container_killed_for_memory_is_the_reason_and_the_warning():
    oom = pod("db-0", "db", ready=False)
    oom["status"]["containerStatuses"] = [
        {
            "name": "postgres",
            "restartCount": 2,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
        }
    ]
    warnings = [warning("db-0", "Back-off restarting failed container", "2026-01-01T00:00:01Z")]
    (entry,) = status.services([svc("db")], [oom], [], warnings, "https")
    assert entry["status"]["reason"] == "OOMKilled"
    assert entry["status"]["warning"].startswith("postgres: killed for using more memory")
    assert "restarted 2 times" in entry["status"]["warning"]


def test_an_image_that_cannot_be_pulled_is_named_with_the_runtimes_message():
    stuck = pod("web-0", "web", phase="Pending", ready=False)
    stuck["status"]["containerStatuses"] = [
        {
            "name": "web",
            "state": {
                "waiting": {
                    "reason": "ErrImagePull",
                    "message": 'failed to pull image "example.org/nope:1": not found',
                }
            },
        }
    ]
    (entry,) = status.services([svc("web")], [stuck], [], [], "https")
    assert entry["status"]["reason"] == "ErrImagePull"
    assert entry["status"]["warning"] == (
        'web: ErrImagePull: failed to pull image "example.org/nope:1": not found'
    )


def test_a_healthy_service_has_no_reason_even_after_an_old_oom_kill():
    recovered = pod("db-0", "db")
    recovered["status"]["containerStatuses"] = [
        {
            "name": "db",
            "state": {"running": {}},
            "lastState": {"terminated": {"reason": "OOMKilled"}},
        }
    ]
    (entry,) = status.services([svc("db")], [recovered], [], [], "https")
    assert entry["status"]["reason"] is None and entry["status"]["warning"] is None


def test_creating_a_container_is_not_a_problem():
    starting = pod("db-0", "db", phase="Pending", ready=False)
    starting["status"]["containerStatuses"] = [
        {"name": "db", "state": {"waiting": {"reason": "ContainerCreating"}}}
    ]
    (entry,) = status.services([svc("db")], [starting], [], [], "https")
    assert entry["status"]["reason"] is None


def test_with_a_registry_both_service_accounts_pull_with_the_namespaces_secret():
    from karvdash_hub.rules.objects import NamespaceSettings, user_objects

    objs = user_objects("alice", NamespaceSettings(pull_secret="karvdash-registry"))
    accounts = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ServiceAccount"}
    assert set(accounts) == {"karvdash-user", "default"}
    for account in accounts.values():
        assert account["imagePullSecrets"] == [{"name": "karvdash-registry"}]
        assert account["metadata"]["namespace"] == "karvdash-alice"
    without = user_objects("alice", NamespaceSettings())
    assert [o["metadata"]["name"] for o in without if o["kind"] == "ServiceAccount"] == [
        "karvdash-user"
    ]
    assert all("imagePullSecrets" not in o for o in without)


def test_the_provisioner_writes_the_pull_secret_in_the_users_namespace(tmp_path):
    from traitlets.config import Config

    from karvdash_hub.provisioning import Provisioner

    c = Config()
    c.Installation.registry = "127.0.0.1:5000"
    c.RegistryAuth.key_file = str(tmp_path / "registry-token.key")
    objs = Provisioner(config=c).objects("alice")
    (secret,) = [o for o in objs if o["kind"] == "Secret"]
    assert secret["metadata"]["name"] == "karvdash-registry"
    assert secret["metadata"]["namespace"] == "karvdash-alice"
    assert secret["metadata"]["labels"]["karvdash.io/user"] == "alice"
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    assert len(names) == len(objs)  # nothing written twice under one name
