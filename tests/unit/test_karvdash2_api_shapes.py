"""Karvdash 2.4's API served by the dashboard (``karvdash2/api/...``): the routes answer
every request its client makes, and the answers have its shapes (pure parts; the
requests themselves are in tests/e2e/test_karvdash2_api.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from karvdash_hub.apps.dashboard import karvdash2
from karvdash_hub.errors import ApiError
from karvdash_hub.rules import names
from karvdash_hub.rules import template as tmodel

REDIS = Path(__file__).resolve().parents[1] / "support" / "karvdash2" / "redis.template.yaml"

#: what karvdash_client (Karvdash v2.4.3, client/karvdash_client/api.py) requests
CLIENT_CALLS = [
    ("GET", "api/services/"),  # list_services
    ("POST", "api/services/"),  # create_service
    ("POST", "api/services/cache/"),  # exec_service
    ("DELETE", "api/services/cache/"),  # delete_service
    ("GET", "api/templates/"),  # list_templates
    ("POST", "api/templates/"),  # add_template
    ("GET", "api/templates/redis-abcd/"),  # get_template
    ("DELETE", "api/templates/redis-abcd/"),  # remove_template
]


def handler_for(path: str):
    """The handler tornado picks for a path (first match, whole path)."""
    return next(h for p, h in karvdash2.default_handlers if re.fullmatch(p, path))


@pytest.mark.parametrize(("method", "path"), CLIENT_CALLS)
def test_every_request_of_karvdashs_client_has_a_handler_with_its_method(method, path):
    for variant in (path, path.rstrip("/")):
        handler = handler_for(variant)
        assert handler is not karvdash2.NotHereHandler, variant
        assert method.lower() in vars(handler), (method, variant)


def test_datasets_and_other_paths_are_not_here():
    assert handler_for("api/datasets/") is karvdash2.NotHereHandler
    assert handler_for("api/services/a/b/") is karvdash2.NotHereHandler


def summary(**over) -> dict:
    base = {
        "id": "redis",
        "name": "Redis",
        "description": "Key-value store",
        "singleton": False,
        "auth": True,
        "variables": [{"name": "NAME", "default": "redis", "help": "", "type": "string"}],
    }
    return {**base, **over}


def test_a_builtin_template_has_its_filename_and_is_not_custom():
    shape = karvdash2.template_shape(summary(), builtin=True)
    assert shape == {
        "id": "redis",
        "name": "Redis",
        "description": "Key-value store",
        "singleton": False,
        "auth": True,
        "datasets": False,
        "variables": [{"name": "NAME", "default": "redis", "help": ""}],
        "custom": False,
        "filename": "redis.template.yaml",
    }


def test_a_users_template_is_custom_without_a_filename():
    shape = karvdash2.template_shape(summary(id="mine", warnings=["w"]), builtin=False)
    assert shape["custom"] is True and "filename" not in shape and "warnings" not in shape


def test_a_service_has_its_template_with_the_values_it_was_launched_with():
    entry = {
        "name": "cache",
        "template": "redis",
        "values": {"NAME": "cache"},
        "created": "2026-01-02T03:04:05Z",
        "url": None,
        "status": {"phase": "Running"},
    }
    template = karvdash2.template_shape(summary(), builtin=True)
    shape = karvdash2.service_shape(entry, template)
    assert shape == {
        "name": "cache",
        "url": None,
        "created": "2026-01-02T03:04:05+00:00",
        "actions": True,
        "template": {**template, "values": {"NAME": "cache"}},
    }
    assert "values" not in template  # the shared shape is not changed


def test_a_service_whose_template_is_gone_has_none():
    entry = {"name": "x", "template": "gone", "values": None, "created": "2026-01-02T03:04:05Z"}
    assert karvdash2.service_shape(entry, None)["template"] is None


def test_a_launch_takes_the_template_id_and_the_rest_as_variables():
    assert karvdash2.launch_request({"id": "redis", "NAME": "c"}) == ("redis", {"NAME": "c"})
    assert karvdash2.launch_request({"filename": "redis.template.yaml", "NAME": "c"})[0] == "redis"
    with pytest.raises(ApiError) as err:
        karvdash2.launch_request({"NAME": "c"})
    assert err.value.status == 400


def test_a_launch_ignores_what_the_system_fills_in_and_unknown_keys_and_needs_a_name():
    template = tmodel.parse(REDIS.read_text(), "redis")
    body = {"NAME": "cache", "HOSTNAME": "evil.example", "NAMESPACE": "kube-system", "X": 1}
    assert karvdash2.launch_values(template, body) == {"NAME": "cache"}
    with pytest.raises(ApiError) as err:
        karvdash2.launch_values(template, {"X": 1})
    assert err.value.status == 400 and "NAME" in err.value.message


def test_launched_values_are_the_users_variables_with_the_name_it_got():
    template = tmodel.parse(REDIS.read_text(), "redis")
    assert karvdash2.launched_values(template, {"NAME": "cache"}, "cache-x1y2z") == {
        "NAME": "cache-x1y2z"
    }


@pytest.mark.parametrize("title", ["Redis", "A" * 80, "  !!  ", "3D viewer"])
def test_a_suffixed_id_is_a_label_ending_in_four_letters(title):
    made = karvdash2.suffixed_id(title)
    assert names.is_label(made) and re.search(r"-[a-z]{4}$", made), made
    assert made.startswith(names.template_id_for(title)[:58].rstrip("-"))
