"""MkDocs hook: the API reference is generated from the dashboard service's OpenAPI
document and karvdashctl's own help, so the documentation cannot drift from the code."""

from __future__ import annotations

import json

from karvdash_hub import __version__
from karvdash_hub.apps.dashboard.openapi import document
from karvdash_labext.cli import build_parser


def _schema_name(schema: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"array of {_schema_name(schema['items'])}"
    return schema.get("type", "object") if isinstance(schema.get("type"), str) else "value"


def render_openapi() -> str:
    doc = document(__version__)
    out = [f"Base URL: `{doc['servers'][0]['url']}`. {doc['info']['description']}", ""]
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            out.append(f"### `{method.upper()} {path}`")
            out.append("")
            out.append(f"{op['summary']} (operation `{op['operationId']}`).")
            out.append("")
            params = op.get("parameters", [])
            if params:
                out.append("| parameter | in | meaning |")
                out.append("| --- | --- | --- |")
                for p in params:
                    out.append(f"| `{p['name']}` | {p['in']} | {p.get('description', '')} |")
                out.append("")
            body = op.get("requestBody")
            if body:
                kinds = ", ".join(
                    f"`{ctype}` ({_schema_name(c['schema'])})"
                    for ctype, c in body["content"].items()
                )
                out.append(f"Body: {kinds}.")
                out.append("")
            out.append("| status | meaning | body |")
            out.append("| --- | --- | --- |")
            for status, resp in op["responses"].items():
                content = resp.get("content") or {}
                body_kind = ", ".join(_schema_name(c["schema"]) for c in content.values()) or "none"
                out.append(f"| {status} | {resp['description']} | {body_kind} |")
            out.append("")
    out.append("### Schemas")
    out.append("")
    for name, schema in doc["components"]["schemas"].items():
        out.append(f"`{name}`:")
        out.append("")
        out.append("```json")
        out.append(json.dumps(schema, indent=2))
        out.append("```")
        out.append("")
    return "\n".join(out)


def render_cli() -> str:
    parser = build_parser()
    out = ["```text", parser.format_help().rstrip(), "```", ""]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        out += [f"#### `karvdashctl {name}`", "", "```text", p.format_help().rstrip(), "```", ""]
    return "\n".join(out)


def on_page_markdown(markdown, page, config, files):
    if page.file.src_path != "api.md":
        return markdown
    return markdown.replace("<!-- openapi -->", render_openapi()).replace(
        "<!-- karvdashctl -->", render_cli()
    )
