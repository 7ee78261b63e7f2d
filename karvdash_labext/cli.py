"""karvdashctl: Karvdash from the command line (a client of the dashboard service).

karvdashctl list_services
karvdashctl create_service postgres PASSWORD=secret
karvdashctl get_service postgres
karvdashctl service_events postgres
karvdashctl service_logs postgres --lines 50
karvdashctl namespace
karvdashctl delete_service postgres
karvdashctl list_templates
karvdashctl add_template my.template.yaml
karvdashctl get_template postgres > postgres.template.yaml
karvdashctl remove_template my-template
karvdashctl ls /private
karvdashctl put results.csv /shared/team/
karvdashctl get /private/data/ -o data.zip --format zip
karvdashctl mkdir -p /private/old
karvdashctl mv /private/a.txt /private/old/a.txt
karvdashctl cp /private/a.txt /shared/a.txt
karvdashctl rm -r /private/old
karvdashctl images
karvdashctl push hello.tar alice/hello:1
karvdashctl tags alice/hello
karvdashctl rmi alice/hello:1

Every command is one row of :data:`COMMANDS` (:class:`~karvdash_labext.command.Command`):
its help, its arguments, the client operation it calls (by default the one of the same
name) and how its answer is printed; the argument parser and the dispatch are made from
that table. The file commands' rows are in :mod:`karvdash_labext.filecommands`, the image
commands' in :mod:`karvdash_labext.imagecommands`. An operation of the client that has no
command is named in :data:`LIBRARY_ONLY` (a test holds the two together).

Output: a table or a sentence for people; the answer as JSON with ``--json`` (a template's
YAML stays text). On an error: ``karvdashctl: <the API's message>`` (and the template's
violations, one a line) on standard error, or the error as JSON with ``--json``, and exit
status 1. Where the URL and token come from: see :mod:`karvdash_labext.client`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .client import KarvdashClient, KarvdashError
from .command import Command, arg, table
from .filecommands import FILE_COMMANDS
from .imagecommands import IMAGE_COMMANDS


def parse_variables(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise KarvdashError(0, "bad-argument", f"variables are NAME=VALUE, not {pair!r}")
        out[key] = value
    return out


def read_file(name: str) -> str:
    """A file's text, or standard input's for ``-``."""
    return sys.stdin.read() if name == "-" else Path(name).read_text()


def show_services(services: list[dict]) -> str:
    rows = [
        {
            **s,
            "ready": f"{s['status']['ready']}/{s['status']['total']}",
            "phase": s["status"].get("reason") or s["status"]["phase"],  # as kubectl shows it
            "warning": s["status"].get("warning") or "",
        }
        for s in services
    ]
    columns = [
        ("name", "NAME"),
        ("template", "TEMPLATE"),
        ("ready", "READY"),
        ("phase", "STATUS"),
        ("created", "CREATED"),
        ("url", "URL"),
        ("warning", "LAST WARNING"),
    ]
    return table(rows, columns)


def show_templates(templates: list[dict]) -> str:
    rows = [{**t, "kind": "built-in" if t["builtin"] else "yours"} for t in templates]
    columns = [("id", "ID"), ("name", "NAME"), ("kind", "KIND"), ("description", "DESCRIPTION")]
    return table(rows, columns)


def show_launched(service: dict) -> str:
    lines = [f"launched {service['name']} in {service['namespace']}"]
    if service.get("url"):
        lines.append(f"open {service['url']}")
    if service.get("warning"):
        lines.append(f"note: {service['warning']}")
    return "\n".join(lines)


def show_service(service: dict) -> str:
    st = service["status"]
    lines = [
        f"{service['name']} ({service.get('template_name') or service['template']})"
        f" in {service['namespace']}: {st['ready']}/{st['total']} ready, {st['phase']}",
    ]
    if service.get("url"):
        lines.append(f"open {service['url']}")
    lines += [
        "",
        table(service["objects"], [("kind", "KIND"), ("name", "NAME"), ("status", "STATUS")]),
    ]
    if service["pods"]:
        pods = [{**p, "ready": f"{p['ready']}/{p['total']}"} for p in service["pods"]]
        columns = [
            ("name", "POD"),
            ("ready", "READY"),
            ("phase", "STATUS"),
            ("restarts", "RESTARTS"),
        ]
        lines += ["", table(pods, columns)]
    return "\n".join(lines)


def show_events(events: list[dict]) -> str:
    columns = [
        ("last", "LAST SEEN"),
        ("type", "TYPE"),
        ("reason", "REASON"),
        ("object", "OBJECT"),
        ("message", "MESSAGE"),
    ]
    return table(events, columns) if events else "no recent events"


def show_logs(logs: list[dict]) -> str:
    parts = []
    for entry in logs:
        head = f"==> {entry['pod']} {entry['container']}"
        if entry.get("truncated"):
            head += " (older lines left out)"
        parts.append(head + " <==")
        parts.append(entry.get("error") or entry["log"].rstrip("\n"))
    return "\n".join(parts) if parts else "no pods"


def show_run(results: list[dict]) -> str:
    parts = []
    for entry in results:
        code = entry.get("exit_code")
        state = "timed out" if entry.get("timed_out") else f"exit {code}"
        parts.append(f"==> {entry['pod']} {entry['container']} ({state}) <==")
        text = entry.get("error") or entry["output"].rstrip("\n")
        parts.append(text + ("\n(output cut)" if entry.get("truncated") else ""))
    return "\n".join(parts)


def show_namespace(summary: dict) -> str:
    if not summary["exists"]:
        return f"{summary['namespace']} does not exist yet (made at the first login or launch)"
    head = f"{summary['namespace']}: {summary['services']} services"
    return head + ("\n\n" + table(summary["quota"], QUOTA_COLUMNS) if summary["quota"] else "")


QUOTA_COLUMNS = [("resource", "RESOURCE"), ("used", "USED"), ("hard", "LIMIT")]


def show_whoami(user: dict) -> str:
    admin = " (admin)" if user["admin"] else ""
    return f"{user['name']}{admin}, namespace {user['namespace']}"


_COMMANDS = (
    Command(
        "whoami",
        help="who the token belongs to",
        description="Who the token belongs to.",
        for_user=False,
        show=show_whoami,
    ),
    Command(
        "list_services",
        help="list your services",
        description="List your services with their status and URL.",
        show=show_services,
    ),
    Command(
        "create_service",
        help="launch a service from a template",
        description="Launch a service from a template,"
        " e.g. 'create_service postgres PASSWORD=s3cret'.",
        arguments=(
            arg("template", help="template id (see list_templates)"),
            arg("variables", nargs="*", metavar="NAME=VALUE", help="template variables"),
        ),
        inputs=lambda a: {"template": a.template, "variables": parse_variables(a.variables)},
        show=show_launched,
    ),
    Command(
        "get_service",
        help="show a service's objects and pods",
        description="Show a service's status, objects and pods.",
        arguments=(arg("name"),),
        inputs=lambda a: {"name": a.name},
        show=show_service,
    ),
    Command(
        "service_events",
        help="show the recent events about a service",
        description="Show the recent events about a service's objects, newest first.",
        arguments=(arg("name"),),
        inputs=lambda a: {"name": a.name},
        show=show_events,
    ),
    Command(
        "service_logs",
        help="show the end of a service's logs",
        description="Show the last lines of the logs of each of a service's containers.",
        arguments=(arg("name"), arg("--lines", type=int, help="lines of each log (default 200)")),
        inputs=lambda a: {"name": a.name, "lines": a.lines},
        show=show_logs,
    ),
    Command(
        "run_in_service",
        help="run a command in a service's pods",
        description="Run a command in each running pod of a service (or one), as kubectl"
        " exec does: karvdashctl run_in_service NAME -- ls -l /private.",
        arguments=(
            arg("name"),
            arg(
                "program",
                nargs="+",
                help="the command and its arguments (after --)",
            ),
            arg("--pod", help="only this pod"),
            arg("--container", help="this container (default: the pod's first)"),
            arg("--timeout", type=float, help="seconds (default 30, at most 120)"),
        ),
        inputs=lambda a: {
            "name": a.name,
            "command": a.program,
            "pod": a.pod,
            "container": a.container,
            "timeout": a.timeout,
        },
        show=show_run,
    ),
    Command(
        "namespace",
        help="show your namespace's quota and use",
        description="Show your namespace: how many services run, and its quota used and hard.",
        show=show_namespace,
    ),
    Command(
        "delete_service",
        help="stop a service",
        description="Stop a service and delete everything it created.",
        arguments=(arg("name"),),
        inputs=lambda a: {"name": a.name},
        show=lambda r: f"stopped {r['name']} ({len(r['deleted'])} objects deleted)",
    ),
    Command(
        "list_templates",
        help="list the templates you can launch",
        description="List built-in and your own templates.",
        show=show_templates,
    ),
    Command(
        "add_template",
        help="add one of your own templates",
        description="Add a template from a YAML file ('-' for standard input).",
        arguments=(arg("file"), arg("--id", help="its id (default: from its name)")),
        inputs=lambda a: {"text": read_file(a.file), "template_id": a.id},
        show=lambda r: f"added template {r['id']} ({r['name']})",
    ),
    Command(
        "get_template",
        help="print a template's YAML",
        description="Print a template's YAML (to save or edit it).",
        arguments=(arg("id"),),
        inputs=lambda a: {"template_id": a.id},
        text=True,
        show=lambda r: r.rstrip("\n"),
    ),
    Command(
        "remove_template",
        help="remove one of your templates",
        description="Remove one of your own templates (built-in ones stay).",
        arguments=(arg("id"),),
        inputs=lambda a: {"template_id": a.id},
        result=lambda a, _: {"removed": a.id},
        show=lambda r: f"removed template {r['removed']}",
    ),
)
COMMANDS: dict[str, Command] = {c.name: c for c in (*_COMMANDS, *FILE_COMMANDS, *IMAGE_COMMANDS)}

# operations of the client that are for programs, not for the command line (the resumable
# upload's steps: ``put`` goes through them for a large file)
LIBRARY_ONLY: frozenset[str] = frozenset(
    {"create_upload", "upload_status", "upload_chunk", "cancel_upload"}
    # the identity service's applications: admins manage them on the Applications page
    | {
        "list_clients",
        "register_client",
        "get_client",
        "change_client",
        "delete_client",
        "new_client_secret",
    }
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="karvdashctl",
        description="Launch and manage Karvdash services and templates, your files and"
        " your container images.",
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
    for command in COMMANDS.values():
        p = sub.add_parser(command.name, help=command.help, description=command.description)
        for flags, options in command.arguments:
            p.add_argument(*flags, **options)
    return parser


def run(args: argparse.Namespace) -> Any:
    """Call the API for the parsed command line; its answer (what ``show`` prints)."""
    command = COMMANDS[args.command]
    inputs = command.inputs(args)  # a bad argument needs no server to say so
    if command.for_user:
        inputs["user"] = args.user
    with KarvdashClient(url=args.url, token=args.token) as client:
        if command.run:
            answer = command.run(client, **inputs)
        else:
            answer = getattr(client, command.operation)(**inputs)
    return command.result(args, answer) if command.result else answer


def show(command: str, result: Any) -> str:
    """``result`` of ``command`` for people."""
    return COMMANDS[command].show(result)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = run(args)
    except KarvdashError as err:
        if args.json:
            error = {"status": err.status, "reason": err.reason, "message": err.message}
            print(json.dumps({**error, **err.details}), file=sys.stderr)
        else:
            print(f"karvdashctl: {err.message}", file=sys.stderr)
            for violation in err.details.get("violations", []):
                print(f"  - {violation}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"karvdashctl: {err}", file=sys.stderr)
        return 1
    if args.json and not COMMANDS[args.command].text:
        print(json.dumps(result, indent=2))
    else:
        print(show(args.command, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
