"""The OpenAPI document (data) against the routes the dashboard serves and the error
table every handler uses."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from karvdash_hub import errors
from karvdash_hub.apps.base import NotFoundHandler
from karvdash_hub.apps.dashboard.app import api_routes
from karvdash_hub.apps.dashboard.openapi import document
from karvdash_hub.rules import template

METHODS = ("get", "post", "put", "patch", "delete")


def served() -> dict[str, set[str]]:
    """Every API path the app routes, in OpenAPI form, with the methods its handler has."""
    out = {}
    for pattern, handler in api_routes("/services/karvdash/"):
        if handler is NotFoundHandler:
            continue
        path = pattern.removeprefix("/services/karvdash/api")
        # a route ".../([^/]+)" is the spec's ".../{name}" (any parameter name)
        path = _spec_paths_by_shape().get(path, path)
        out[path] = {m for m in METHODS if m in vars(handler)}
    return out


def _spec_paths_by_shape() -> dict[str, str]:
    """Route pattern shape -> the spec path of that shape (a last ``{path}`` parameter may
    hold "/" and be empty: the route's optional ``(?:/(.*))?``)."""
    shapes = {}
    for path in document("test")["paths"]:
        shape = re.sub(r"/\{path\}$", "(?:/(.*))?", path)
        # an image is a repository with '/' in it (and maybe ':tag')
        shape = re.sub(r"/\{image\}$", "/(.+)", shape)
        shapes[re.sub(r"\{\w+\}", "([^/]+)", shape)] = path
    return shapes


def test_the_document_is_valid_openapi():
    validate(document("1.2.3"))
    assert document("1.2.3")["info"]["version"] == "1.2.3"


def test_every_route_is_documented_and_every_documented_path_is_routed():
    spec = {
        path: {m for m in ops if m in METHODS} for path, ops in document("test")["paths"].items()
    }
    routes = served()
    routes.pop("/openapi.json")  # the document itself
    assert routes == spec


def test_the_route_checker_sees_a_missing_method():
    spec = {p: set(ops) & set(METHODS) for p, ops in document("test")["paths"].items()}
    routes = served()
    routes["/services/{name}"] = routes["/services/{name}"] | {"put"}
    assert routes != spec


def test_every_operation_is_a_method_of_the_python_client_of_the_same_name():
    from karvdash_labext.api import OPERATIONS

    ops = [op for ops in document("test")["paths"].values() for op in ops.values()]
    # an endpoint with modes (GET files: describe or download) names the client's other
    # operations that call it in x-client-operations
    ids = {op["operationId"] for op in ops} | {
        name for op in ops for name in op.get("x-client-operations", [])
    }
    assert ids == set(OPERATIONS)


def test_variable_types_in_the_document_are_the_models():
    schema = document("test")["components"]["schemas"]["Variable"]["properties"]["type"]
    assert schema["enum"] == list(template.VARIABLE_TYPES)


def test_every_documented_error_status_is_one_the_table_gives():
    documented = {
        int(code)
        for ops in document("test")["paths"].values()
        for op in ops.values()
        if isinstance(op, dict)
        for code in op.get("responses", {})
        if code.isdigit() and int(code) >= 400
    }
    assert documented <= set(errors.STATUS.values())


def test_a_reason_has_one_status_and_an_unknown_reason_is_a_server_error():
    assert errors.ApiError("singleton", "x").status == 409
    assert errors.ApiError("no-such-reason", "x").status == 500
    assert errors.NamespaceConflict("x").status == 409
    assert errors.ProvisioningError("x").status == 503
