"""karvdashctl: Karvdash from the command line (a client of the dashboard service).

karvdashctl list_services
karvdashctl create_service postgres PASSWORD=secret
karvdashctl delete_service postgres
karvdashctl list_templates
karvdashctl add_template my.template.yaml
karvdashctl get_template postgres > postgres.template.yaml
karvdashctl remove_template my-template
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .client import KarvdashClient, KarvdashError


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    cells = [[title for _, title in columns]]
    for row in rows:
        cells.append(["" if row.get(key) is None else str(row.get(key)) for key, _ in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells
    )


def parse_variables(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise KarvdashError(0, "bad-argument", f"variables are NAME=VALUE, not {pair!r}")
        out[key] = value
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="karvdashctl",
        description="Launch and manage Karvdash services and templates.",
        epilog="URL and token come from --url/--token, KARVDASH_API_URL/KARVDASH_API_TOKEN"
        " (set in every Karvdash server), or ~/.config/karvdash/config.json.",
    )
    parser.add_argument(
        "--url", help="the dashboard API, e.g. https://lab.example.org/services/karvdash/api/"
    )
    parser.add_argument("--token", help="a JupyterHub token (create one at /hub/token)")
    parser.add_argument("--user", help="act on another user's things (admins only)")
    parser.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser(
        "whoami", help="who the token belongs to", description="Who the token belongs to."
    )
    sub.add_parser(
        "list_services",
        help="list your services",
        description="List your services with their status and URL.",
    )
    p = sub.add_parser(
        "create_service",
        help="launch a service from a template",
        description="Launch a service from a template,"
        " e.g. 'create_service postgres PASSWORD=s3cret'.",
    )
    p.add_argument("template", help="template id (see list_templates)")
    p.add_argument("variables", nargs="*", metavar="NAME=VALUE", help="template variables")
    p = sub.add_parser(
        "delete_service",
        help="stop a service",
        description="Stop a service and delete everything it created.",
    )
    p.add_argument("name")
    sub.add_parser(
        "list_templates",
        help="list the templates you can launch",
        description="List built-in and your own templates.",
    )
    p = sub.add_parser(
        "add_template",
        help="add one of your own templates",
        description="Add a template from a YAML file ('-' for standard input).",
    )
    p.add_argument("file")
    p.add_argument("--id", help="its id (default: from its name)")
    p = sub.add_parser(
        "get_template",
        help="print a template's YAML",
        description="Print a template's YAML (to save or edit it).",
    )
    p.add_argument("id")
    p = sub.add_parser(
        "remove_template",
        help="remove one of your templates",
        description="Remove one of your own templates (built-in ones stay).",
    )
    p.add_argument("id")
    return parser


def run(args) -> object:
    client = KarvdashClient(url=args.url, token=args.token)
    cmd = args.command
    if cmd == "whoami":
        return client.whoami()
    if cmd == "list_services":
        return client.list_services(user=args.user)
    if cmd == "create_service":
        return client.create_service(args.template, parse_variables(args.variables), user=args.user)
    if cmd == "delete_service":
        return client.delete_service(args.name, user=args.user)
    if cmd == "list_templates":
        return client.list_templates(user=args.user)
    if cmd == "add_template":
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        return client.add_template(text, args.id, user=args.user)
    if cmd == "get_template":
        return client.get_template(args.id, user=args.user)
    if cmd == "remove_template":
        client.remove_template(args.id, user=args.user)
        return {"removed": args.id}
    raise AssertionError(cmd)


def show(command: str, result) -> str:
    if command == "list_services":
        rows = [
            {
                **s,
                "ready": f"{s['status']['ready']}/{s['status']['total']}",
                "phase": s["status"]["phase"],
                "warning": s["status"].get("warning") or "",
            }
            for s in result
        ]
        return table(
            rows,
            [
                ("name", "NAME"),
                ("template", "TEMPLATE"),
                ("ready", "READY"),
                ("phase", "STATUS"),
                ("created", "CREATED"),
                ("url", "URL"),
                ("warning", "LAST WARNING"),
            ],
        )
    if command == "list_templates":
        rows = [{**t, "kind": "built-in" if t["builtin"] else "yours"} for t in result]
        return table(
            rows, [("id", "ID"), ("name", "NAME"), ("kind", "KIND"), ("description", "DESCRIPTION")]
        )
    if command == "create_service":
        lines = [f"launched {result['name']} in {result['namespace']}"]
        if result.get("url"):
            lines.append(f"open {result['url']}")
        if result.get("warning"):
            lines.append(f"note: {result['warning']}")
        return "\n".join(lines)
    if command == "delete_service":
        return f"stopped {result['name']} ({len(result['deleted'])} objects deleted)"
    if command == "get_template":
        return result.rstrip("\n")
    if command == "add_template":
        return f"added template {result['id']} ({result['name']})"
    if command == "remove_template":
        return f"removed template {result['removed']}"
    if command == "whoami":
        admin = " (admin)" if result["admin"] else ""
        return f"{result['name']}{admin}, namespace {result['namespace']}"
    return json.dumps(result, indent=2)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = run(args)
    except KarvdashError as err:
        if args.json:
            print(
                json.dumps(
                    {
                        "status": err.status,
                        "reason": err.reason,
                        "message": err.message,
                        **err.details,
                    }
                ),
                file=sys.stderr,
            )
        else:
            print(f"karvdashctl: {err.message}", file=sys.stderr)
            for violation in err.details.get("violations", []):
                print(f"  - {violation}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"karvdashctl: {err}", file=sys.stderr)
        return 1
    if args.json and args.command != "get_template":
        print(json.dumps(result, indent=2))
    else:
        print(show(args.command, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
