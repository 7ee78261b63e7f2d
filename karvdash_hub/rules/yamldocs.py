"""Strict YAML for templates: what a user's text may be before it is a template (pure).

Rules guaranteed (tested in the template tests, fuzzed with hypothesis):

- PyYAML's safe loader only, without anchors and aliases (no alias bombs) and with
  nesting at most :data:`MAX_DEPTH` deep;
- dates stay text, and only what JSON has is accepted (no sets, bytes or binary): a
  Kubernetes object is JSON;
- every document is a mapping with text keys; the size and the number of documents are
  bounded by the caller;
- every refusal is a :class:`DocumentError` with the line or the document and field.
"""

from __future__ import annotations

import yaml

MAX_DEPTH = 48


class DocumentError(ValueError):
    def __init__(self, message: str, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without anchors and aliases, nesting at most :data:`MAX_DEPTH` deep,
    and with dates left as text (Kubernetes objects are JSON)."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent, index):
        event = self.peek_event()
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise DocumentError(
                    f"the YAML nests more than {MAX_DEPTH} levels deep",
                    f"line {event.start_mark.line + 1}",
                )
            return self._compose_checked(event, parent, index)
        finally:
            self._depth -= 1

    def _compose_checked(self, event, parent, index):
        if isinstance(event, yaml.AliasEvent):
            raise DocumentError(
                "YAML aliases (*name) are not allowed in templates",
                f"line {event.start_mark.line + 1}",
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise DocumentError(
                "YAML anchors (&name) are not allowed in templates",
                f"line {event.start_mark.line + 1}",
            )
        return super().compose_node(parent, index)


def load(text: str, *, max_bytes: int, max_documents: int) -> list[dict]:
    """The documents of ``text`` (see the module's rules); None documents skipped."""
    if len(text.encode("utf-8", "replace")) > max_bytes:
        raise DocumentError(f"a template may be at most {max_bytes // 1024} KiB")
    try:
        docs = []
        for doc in yaml.load_all(text, Loader=_StrictLoader):
            if doc is None:
                continue
            docs.append(doc)
            if len(docs) > max_documents:
                raise DocumentError(f"a template may have at most {max_documents} documents")
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else None
        problem = getattr(err, "problem", None) or str(err)
        raise DocumentError(f"not valid YAML: {problem}", where) from None
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict):
            raise DocumentError("every document must be a mapping", f"document {i + 1}")
        _check_json(doc, f"document {i + 1}")
    return docs


def _check_json(value, where: str, path: str = "") -> None:
    """Only what JSON has: a Kubernetes object cannot hold sets, bytes or dates."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise DocumentError(
                    f"keys must be text; quote {key!r}", f"{where}, {path or 'top level'}"
                )
            _check_json(item, where, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _check_json(item, where, f"{path}[{n}]")
    elif not isinstance(value, str | int | float | bool | type(None)):
        raise DocumentError(
            f"a {type(value).__name__} value cannot be part of a Kubernetes object",
            f"{where}, {path or 'top level'}",
        )
