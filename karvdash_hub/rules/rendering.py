"""Rendering a template (pure: no I/O): its variables' final values and its objects with
every reference replaced, on the parsed objects, never on text.

Rules guaranteed (tested, fuzzed with hypothesis; see also :mod:`.template`):

- A value replaces a reference inside a string and stays a string, or, when the whole
  string is one reference, becomes the variable's number or boolean (``integer`` and
  ``boolean`` variables), or the number of an untyped variable at a key the Kubernetes
  schema types as an integer (:func:`karvdash_hub.rules.compat.wants_integer`). No value
  can add a key, an object, a document or any YAML structure, whatever it contains.
- ``$$`` renders as a literal ``$``; a reference to a name the template is not given
  (a Karvdash 2.x file's shell variables) stays as written.
- The system variables a template is given are the system's values, whatever the user
  sends; NAME is checked as an instance name.
"""

from __future__ import annotations

import copy
from typing import Any

from . import compat, names
from .template import _REFERENCE, HIDDEN_VARIABLES, Template, TemplateError, coerce


def check_instance_name(name: Any) -> str:
    """NAME as :func:`names.check_instance_name` has it, as a :class:`TemplateError`."""
    try:
        return names.check_instance_name(name)
    except names.NameError_ as err:
        raise TemplateError(str(err), "variables.NAME") from None


def resolve(template: Template, values: dict[str, Any], system: dict[str, str]) -> dict[str, Any]:
    """All variables' final values: system ones, then the user's over the defaults."""
    if not isinstance(values, dict):
        raise TemplateError("variables must be a mapping of names to values")
    for key in values:
        if key in HIDDEN_VARIABLES:
            raise TemplateError(
                f"{key} is filled in by the system and cannot be set", f"variables.{key}"
            )
        if template.variable(key) is None:
            raise TemplateError(
                f"template '{template.id}' has no variable {key}", f"variables.{key}"
            )
    final: dict[str, Any] = {}
    for var in template.variables:
        final[var.name] = coerce(var, values[var.name]) if var.name in values else var.default
    final["NAME"] = check_instance_name(final["NAME"])
    for key in template.system_names:
        final[key] = system.get(key, "")
    return final


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def substitute(
    value: Any, variables: dict[str, Any], untyped: frozenset[str] = frozenset(), key: Any = None
) -> Any:
    """Replace references in every string (and mapping key) of a parsed structure; a
    reference to a name that is not in ``variables`` stays as written."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole and whole.group(0) != "$$" and (whole.group(1) or whole.group(2)) in variables:
            name = whole.group(1) or whole.group(2)
            resolved = variables[name]
            if isinstance(resolved, bool | int):
                return resolved
            text = _to_text(resolved)
            return int(text) if name in untyped and compat.wants_integer(key, text) else text

        def one(m):
            if m.group(0) == "$$":
                return "$"
            name = m.group(1) or m.group(2)
            return _to_text(variables[name]) if name in variables else m.group(0)

        return _REFERENCE.sub(one, value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            new_key = substitute(k, variables) if isinstance(k, str) else k
            if not isinstance(new_key, str):
                new_key = _to_text(new_key) if isinstance(k, str) else new_key
            if new_key in out:
                raise TemplateError(f"two keys render to the same key {new_key!r}")
            out[new_key] = substitute(v, variables, untyped, k)
        return out
    if isinstance(value, list):
        return [substitute(v, variables, untyped, key) for v in value]
    return value


def render(template: Template, values: dict[str, Any], system: dict[str, str]) -> list[dict]:
    """The template's objects with every reference replaced (see module rules)."""
    final = resolve(template, values, system)
    objects = [substitute(copy.deepcopy(o), final, template.untyped) for o in template.objects]
    for obj in objects:
        obj.setdefault("metadata", {}).pop("namespace", None)
    return objects


def recorded(template: Template, final: dict[str, Any]) -> dict[str, Any]:
    """What is kept of a launch's values with the service: every variable the user sees,
    a secret one (``secret: true``) as None, never its value."""
    return {
        v.name: None if v.secret else final.get(v.name, v.default) for v in template.user_variables
    }
