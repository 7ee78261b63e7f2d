"""The template model: parse, validate and render Karvdash templates (pure: no I/O).

A template is a multi-document YAML file (the original Karvdash format): one document of
``kind: Template`` names it and declares its variables; every other document is a
Kubernetes object in which ``$VARIABLE`` (or ``${VARIABLE}``) stands for a value.

Rules guaranteed (tested, fuzzed with hypothesis):

- Rendering works on the parsed objects, never on text: a value replaces a reference
  inside a string and stays a string (or, when the whole string is one reference to an
  ``integer`` or ``boolean`` variable, becomes that number or boolean). No value can
  add a key, an object, a document or any YAML structure, whatever it contains
  (newlines, ``: ``, ``---``, tags, anchors, quotes).
- Parsing refuses aliases and anchors (no alias bombs), unknown tags, documents that are
  not mappings, more than :data:`MAX_DOCUMENTS` documents and text over
  :data:`MAX_BYTES`.
- Validation refuses, with the document and field at fault: no or several ``Template``
  documents; a variable without a default, declared twice, or badly named; a system
  variable other than NAME declared; a reference to an undeclared variable; not exactly
  one Service named ``$NAME``; an object without apiVersion, kind or metadata.name.
- ``$$`` renders as a literal ``$``.
- System variables: NAME (the instance name, which the user may choose), NAMESPACE,
  HOSTNAME, REGISTRY, PRIVATE and SHARED are filled in by the system; all but NAME are
  hidden from the user.
- Templates of the original Karvdash (2.x) are read as it read them
  (:mod:`karvdash_hub.rules.compat`): declared system variables, ``${NAME}`` Services,
  removed API versions, numbers from untyped variables; each difference is a warning
  (``Template.warnings``), never a silent change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import compat, yamldocs

MAX_BYTES = 256 * 1024
MAX_DOCUMENTS = 64
MAX_VALUE_LENGTH = 4096
MAX_DEPTH = yamldocs.MAX_DEPTH
SYSTEM_VARIABLES = ("NAME", "NAMESPACE", "HOSTNAME", "REGISTRY", "PRIVATE", "SHARED")
HIDDEN_VARIABLES = tuple(v for v in SYSTEM_VARIABLES if v != "NAME")
VARIABLE_TYPES = ("string", "integer", "boolean")

_VAR_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_REFERENCE = re.compile(r"\$(?:\$|\{([A-Z][A-Z0-9_]*)\}|([A-Z][A-Z0-9_]*))")


class TemplateError(ValueError):
    """A template or a value is not acceptable; ``where`` points at the document/field."""

    def __init__(self, message: str, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class Variable:
    name: str
    default: Any
    help: str = ""
    type: str = "string"
    choices: tuple[str, ...] | None = None
    #: its value is not recorded with the service (a password, a key)
    secret: bool = False

    def to_dict(self) -> dict:
        out = {"name": self.name, "default": self.default, "help": self.help, "type": self.type}
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.secret:
            out["secret"] = True
        return out


@dataclass
class Template:
    id: str
    name: str
    description: str
    singleton: bool
    auth: bool
    variables: list[Variable]
    objects: list[dict]
    source: str = field(repr=False, default="")
    #: its pods get KARVDASH_API_URL and a token for the owner's dashboard access
    api: bool = False
    #: the hidden system variables it is given (Karvdash 2.x files: those it declares)
    system_names: tuple[str, ...] = HIDDEN_VARIABLES
    #: variables declared without a type (their whole-field numbers become numbers)
    untyped: frozenset[str] = frozenset()
    #: what was read differently from this project's own format (Karvdash 2.x files)
    warnings: list[str] = field(default_factory=list)

    @property
    def legacy(self) -> bool:
        """Whether it is read the way Karvdash 2.x read templates."""
        return self.system_names != HIDDEN_VARIABLES

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    @property
    def user_variables(self) -> list[Variable]:
        """What a form shows: everything but the hidden system variables."""
        return [v for v in self.variables if v.name not in HIDDEN_VARIABLES]

    def summary(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "singleton": self.singleton,
            "auth": self.auth,
            "api": self.api,
            "variables": [v.to_dict() for v in self.user_variables],
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }


# -- parsing ------------------------------------------------------------------------


def parse(text: str, template_id: str) -> Template:
    """Parse and validate a template's text; raises :class:`TemplateError`."""
    if not isinstance(text, str):
        raise TemplateError("a template is YAML text")
    try:
        docs = yamldocs.load(text, max_bytes=MAX_BYTES, max_documents=MAX_DOCUMENTS)
    except yamldocs.DocumentError as err:
        raise TemplateError(err.message, err.where) from None
    headers = [
        i for i, d in enumerate(docs) if d.get("kind") == "Template" and "apiVersion" not in d
    ]
    if len(headers) != 1:
        raise TemplateError(
            f"a template needs exactly one document of 'kind: Template' (found {len(headers)})"
        )
    hi = headers[0]
    head = docs[hi]
    warnings: list[str] = []
    objects = []
    for i, doc in enumerate(docs):
        if i != hi:
            doc, note = compat.convert(doc)
            objects.append(doc)
            if note:
                warnings.append(f"document {i + 1}: {note}")
    where = f"document {hi + 1} (Template)"
    name = head.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TemplateError("'name' is required and must be text", where)
    description = head.get("description", "")
    if not isinstance(description, str):
        raise TemplateError("'description' must be text", where)
    singleton = _boolean(head.get("singleton", False), f"{where}.singleton")
    auth = _boolean(head.get("auth", True), f"{where}.auth")
    api = _boolean(head.get("api", False), f"{where}.api")
    variables, system, untyped = _variables(head.get("variables", []), where)
    if system:
        warnings.append(
            f"{', '.join(system)} {'is' if len(system) == 1 else 'are'} filled in by the system"
            " (the template's default is not used); as in Karvdash 2, only the variables the"
            " template declares are filled in"
        )
    template = Template(
        id=template_id,
        name=name.strip(),
        description=description.strip(),
        singleton=singleton,
        auth=auth,
        api=api,
        variables=variables,
        objects=objects,
        source=text,
        system_names=tuple(system) if system else HIDDEN_VARIABLES,
        untyped=frozenset(untyped),
        warnings=warnings,
    )
    validate(template, object_documents=[i + 1 for i in range(len(docs)) if i != hi])
    return template


def _boolean(value, where) -> bool:
    if isinstance(value, bool):
        return value
    raise TemplateError("must be true or false", where)


def _variables(raw, where) -> tuple[list[Variable], list[str], list[str]]:
    """The declared variables, the system variables declared (Karvdash 2.x files: they
    are filled in by the system, not the template), and the variables without a type."""
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise TemplateError("'variables' must be a list", where)
    seen: set[str] = set()
    out = []
    system: list[str] = []
    untyped: list[str] = []
    for i, item in enumerate(raw):
        at = f"{where}.variables[{i}]"
        if not isinstance(item, dict):
            raise TemplateError("a variable is a mapping with name and default", at)
        name = item.get("name")
        if not isinstance(name, str) or not _VAR_NAME.match(name):
            raise TemplateError(
                "a variable's name is upper-case letters, digits and '_', starting with a letter",
                at,
            )
        if name in seen:
            raise TemplateError(f"variable {name} is declared twice", at)
        seen.add(name)
        if name in HIDDEN_VARIABLES:
            system.append(name)
            continue
        if "default" not in item or item["default"] is None:
            raise TemplateError(f"variable {name} needs a default", at)
        vtype = item.get("type", "string")
        if vtype not in VARIABLE_TYPES:
            raise TemplateError(f"type must be one of {', '.join(VARIABLE_TYPES)}", at)
        choices = item.get("choices")
        if choices is not None:
            if not isinstance(choices, list) or not choices:
                raise TemplateError("choices must be a non-empty list", at)
            choices = tuple(str(c) for c in choices)
        help_text = item.get("help", "")
        if not isinstance(help_text, str):
            raise TemplateError("help must be text", at)
        secret = _boolean(item.get("secret", False), f"{at}.secret")
        var = Variable(name, item["default"], help_text, vtype, choices, secret)
        try:
            default = coerce(var, item["default"])
        except TemplateError as err:
            raise TemplateError(f"the default of {name}: {err.message}", at) from None
        out.append(Variable(name, default, help_text, vtype, choices, secret))
        if "type" not in item:
            untyped.append(name)
    if "NAME" not in seen:
        raise TemplateError("variable NAME must be declared, with the default instance name", where)
    return out, system, untyped


# -- validation ---------------------------------------------------------------------


def references(value: Any) -> set[str]:
    """The variable names referenced in strings (and keys) of a parsed structure."""
    found: set[str] = set()

    def walk(v):
        if isinstance(v, str):
            for m in _REFERENCE.finditer(v):
                if m.group(0) != "$$":
                    found.add(m.group(1) or m.group(2))
        elif isinstance(v, dict):
            for k, item in v.items():
                walk(k)
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(value)
    return found


def validate(template: Template, object_documents: list[int] | None = None) -> None:
    docs = object_documents or list(range(1, len(template.objects) + 1))
    declared = {v.name for v in template.variables} | {"NAME", *template.system_names}
    services = []
    left: set[str] = set()
    for n, obj in zip(docs, template.objects, strict=True):
        where = f"document {n}"
        for key in ("apiVersion", "kind"):
            if not isinstance(obj.get(key), str) or not obj[key]:
                raise TemplateError(f"'{key}' is required", where)
        where = f"document {n} ({obj['kind']})"
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
            raise TemplateError("'metadata.name' is required", where)
        ns = meta.get("namespace")
        if ns is not None and ns != "$NAMESPACE":
            raise TemplateError(
                "objects are created in the user's namespace: leave metadata.namespace out"
                " (or write $NAMESPACE)",
                f"{where}.metadata.namespace",
            )
        undeclared = references(obj) - declared
        if undeclared and template.legacy:
            left |= undeclared  # Karvdash 2.x: left as written (the shell's, say)
        elif undeclared:
            raise TemplateError(
                f"uses undeclared variable(s) {', '.join(sorted(undeclared))}: declare them"
                " in the Template document's variables",
                where,
            )
        if obj["apiVersion"] == "v1" and obj["kind"] == "Service":
            services.append((where, meta["name"]))
    named = [s for s in services if s[1] in ("$NAME", "${NAME}")]
    if len(named) != 1:
        raise TemplateError(
            "a template needs exactly one Service named $NAME (the service users open),"
            f" found {len(named)}"
        )
    if left:
        names_left = ", ".join(f"${n}" for n in sorted(left))
        template.warnings.append(
            f"{names_left}: not variables of the template, left as written (as Karvdash 2"
            " did: for the container's shell, say)"
        )


# -- values and rendering -----------------------------------------------------------


def coerce(var: Variable, value: Any) -> Any:
    """Check a value against a variable's type and choices; return its typed form. An
    error's ``where`` is ``variables.<NAME>`` (the form field at fault)."""
    at = f"variables.{var.name}"
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float | str):
        text = str(value)
    else:
        raise TemplateError(f"the value of {var.name} must be text, a number or a boolean", at)
    if len(text) > MAX_VALUE_LENGTH:
        raise TemplateError(
            f"the value of {var.name} is longer than {MAX_VALUE_LENGTH} characters", at
        )
    if "\x00" in text:
        raise TemplateError(f"the value of {var.name} contains a NUL character", at)
    if var.choices is not None and text not in var.choices:
        raise TemplateError(f"{var.name} must be one of: {', '.join(var.choices)}", at)
    if var.type == "integer":
        if not re.fullmatch(r"-?[0-9]{1,18}", text):
            raise TemplateError(f"{var.name} must be a whole number", at)
        return int(text)
    if var.type == "boolean":
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise TemplateError(f"{var.name} must be true or false", at)
        return lowered == "true"
    return text
