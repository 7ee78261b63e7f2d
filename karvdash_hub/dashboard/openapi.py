"""The OpenAPI document of the dashboard service's REST API (served at api/openapi.json,
checked against real responses by the tests)."""

from __future__ import annotations

from .. import template as tmodel

ERROR = {"$ref": "#/components/schemas/Error"}


def _error_responses(*codes: int) -> dict:
    text = {
        400: "Bad input (reason says which)",
        401: "Not authenticated",
        403: "Not yours, or not allowed",
        404: "No such user, service or template",
        409: "Taken or in the way: the name, a singleton, a template id, an object of"
        " the service (object-exists), the user's namespace (namespace-conflict,"
        " namespace-terminating)",
        422: "The template is invalid, not allowed by policy, or refused by the cluster",
        503: "The cluster or the hub cannot be reached or refused the service; try again",
    }
    responses = {
        str(c): {"description": text[c], "content": {"application/json": {"schema": ERROR}}}
        for c in codes
    }
    responses["default"] = {
        "description": "Any other error, as the same JSON: 405 for a method the path does"
        " not have, 500 for a fault of the service",
        "content": {"application/json": {"schema": ERROR}},
    }
    return responses


ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}

USER_PARAM = {
    "name": "user",
    "in": "query",
    "required": False,
    "description": "Act on this user's services or templates (admins only; default: yourself).",
    "schema": {"type": "string"},
}


def document(version: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Karvdash dashboard service",
            "version": version,
            "description": "Launch, list and stop services from templates; manage templates."
            " Authenticate with a JupyterHub token (`Authorization: token <token>`) or the"
            " service's login cookie (browsers: a page opened without the cookie is sent"
            " through the hub's login and back; writes need the `X-XSRFToken` header, the"
            " value of the `_xsrf` cookie). Without either, the answer is a 401 in JSON.",
        },
        "servers": [{"url": "/services/karvdash/api"}],
        "components": {
            "securitySchemes": {
                "hubToken": {"type": "apiKey", "in": "header", "name": "Authorization"}
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["status", "reason", "message"],
                    "properties": {
                        "status": {"type": "integer"},
                        "reason": {"type": "string"},
                        "message": {"type": "string"},
                        "where": {"type": "string"},
                        "violations": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Variable": {
                    "type": "object",
                    "required": ["name", "default", "type"],
                    "properties": {
                        "name": {"type": "string"},
                        "default": {
                            "oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]
                        },
                        "help": {"type": "string"},
                        "type": {"type": "string", "enum": list(tmodel.VARIABLE_TYPES)},
                        "choices": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Template": {
                    "type": "object",
                    "required": [
                        "id",
                        "name",
                        "description",
                        "singleton",
                        "auth",
                        "variables",
                        "builtin",
                    ],
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "description": {"type": "string"},
                        "singleton": {"type": "boolean"},
                        "auth": {"type": "boolean"},
                        "builtin": {"type": "boolean"},
                        "variables": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Variable"},
                        },
                    },
                },
                "ServiceStatus": {
                    "type": "object",
                    "required": ["ready", "total", "phase"],
                    "properties": {
                        "ready": {"type": "integer"},
                        "total": {"type": "integer"},
                        "phase": {"type": "string"},
                        "warning": {"type": ["string", "null"]},
                    },
                },
                "Service": {
                    "type": "object",
                    "required": ["name", "template", "created", "url", "status"],
                    "properties": {
                        "name": {"type": "string"},
                        "template": {"type": "string"},
                        "template_name": {"type": ["string", "null"]},
                        "created": {"type": "string", "format": "date-time"},
                        "url": {"type": ["string", "null"]},
                        "status": {"$ref": "#/components/schemas/ServiceStatus"},
                    },
                },
                "LaunchRequest": {
                    "type": "object",
                    "required": ["template"],
                    "properties": {
                        "template": {"type": "string", "description": "a template id"},
                        "variables": {
                            "type": "object",
                            "additionalProperties": {
                                "oneOf": [
                                    {"type": "string"},
                                    {"type": "integer"},
                                    {"type": "boolean"},
                                ]
                            },
                        },
                        "user": {"type": "string", "description": "admins only"},
                    },
                },
                "Launched": {
                    "type": "object",
                    "required": ["name", "template", "namespace", "url", "objects"],
                    "properties": {
                        "name": {
                            "type": "string",
                            "description": "the final name (NAME, or NAME with a suffix)",
                        },
                        "template": {"type": "string"},
                        "namespace": {"type": "string"},
                        "url": {
                            "type": ["string", "null"],
                            "description": "null when the service has no Ingress, or asks"
                            " for its owner's login and the installation has no ingress"
                            " login configured (then `warning` says so)",
                        },
                        "objects": {"type": "array", "items": {"type": "string"}},
                        "warning": {
                            "type": "string",
                            "description": "something the user should know about the"
                            " launched service",
                        },
                    },
                    "additionalProperties": False,
                },
                "Stopped": {
                    "type": "object",
                    "required": ["name", "deleted"],
                    "properties": {
                        "name": {"type": "string"},
                        "deleted": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Me": {
                    "type": "object",
                    "required": ["name", "admin", "namespace"],
                    "properties": {
                        "name": {"type": "string"},
                        "admin": {"type": "boolean"},
                        "namespace": {"type": "string"},
                    },
                },
            },
        },
        "security": [{"hubToken": []}],
        "paths": {
            "/user": {
                "get": {
                    "operationId": "whoami",
                    "summary": "Who the request is authenticated as",
                    "responses": {
                        "200": {
                            "description": "you",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Me"}}
                            },
                        },
                        **_error_responses(401, 403, 503),
                    },
                }
            },
            "/services": {
                "get": {
                    "operationId": "list_services",
                    "summary": "List the user's services",
                    "parameters": [USER_PARAM],
                    "responses": {
                        "200": {
                            "description": "the services",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Service"},
                                    }
                                }
                            },
                        },
                        **_error_responses(401, 403, 404, 503),
                    },
                },
                "post": {
                    "operationId": "create_service",
                    "summary": "Launch a service from a template",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/LaunchRequest"}
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "launched",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Launched"}
                                }
                            },
                        },
                        **_error_responses(400, 401, 403, 404, 409, 422, 503),
                    },
                },
            },
            "/services/{name}": {
                "delete": {
                    "operationId": "delete_service",
                    "summary": "Stop a service: delete every object labelled with it",
                    "parameters": [
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        USER_PARAM,
                    ],
                    "responses": {
                        "200": {
                            "description": "stopped",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Stopped"}
                                }
                            },
                        },
                        **_error_responses(401, 403, 404, 503),
                    },
                }
            },
            "/templates": {
                "get": {
                    "operationId": "list_templates",
                    "summary": "List the built-in templates and the user's own",
                    "parameters": [USER_PARAM],
                    "responses": {
                        "200": {
                            "description": "the templates",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Template"},
                                    }
                                }
                            },
                        },
                        **_error_responses(401, 403, 404, 503),
                    },
                },
                "post": {
                    "operationId": "add_template",
                    "summary": "Add a custom template (its YAML as the body, or JSON {data, id})",
                    "parameters": [USER_PARAM],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/yaml": {"schema": {"type": "string"}},
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["data"],
                                    "properties": {
                                        "data": {"type": "string"},
                                        "id": {"type": "string"},
                                    },
                                }
                            },
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "added",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Template"}
                                }
                            },
                        },
                        **_error_responses(400, 401, 403, 404, 409, 422, 503),
                    },
                },
            },
            "/templates/{id}": {
                "get": {
                    "operationId": "get_template",
                    "summary": "Download a template's YAML",
                    "parameters": [
                        ID_PARAM,
                        USER_PARAM,
                    ],
                    "responses": {
                        "200": {
                            "description": "the template",
                            "content": {"application/yaml": {"schema": {"type": "string"}}},
                        },
                        **_error_responses(401, 403, 404, 422, 503),
                    },
                },
                "delete": {
                    "operationId": "remove_template",
                    "summary": "Remove a custom template (built-in ones cannot be removed)",
                    "parameters": [
                        ID_PARAM,
                        USER_PARAM,
                    ],
                    "responses": {
                        "204": {"description": "removed"},
                        **_error_responses(401, 403, 404, 503),
                    },
                },
            },
        },
    }
