"""The API client's transports and karvdashctl's command table.

The clients talk to a real HTTP server started here on 127.0.0.1 that answers with the
API's JSON shapes (this tests the client, not the dashboard: tests/e2e/test_api.py drives
the real service). The first part of a path chooses how the server behaves: ``/api/``
answers like the API, ``/slow/`` too but half a second late, ``/down/`` is a proxy whose
upstream is gone (502, HTML), ``/page/`` is a web page instead of the API (200, HTML),
``/odd/`` answers errors whose JSON is not an object. (The file transfers, against a server
that keeps files, are in test_client_files.py.)
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlencode, urlsplit

import pytest

from karvdash_labext import cli
from karvdash_labext.api import OPERATIONS, describe
from karvdash_labext.client import AsyncKarvdashClient, KarvdashClient, KarvdashError

TOKEN = "t0ken"
USER = {"name": "alice", "admin": False, "namespace": "karvdash-alice"}
SERVICE = {
    "name": "pg",
    "template": "postgres",
    "created": "2026-11-23T20:58:01Z",
    "url": None,
    "status": {"ready": 1, "total": 1, "phase": "Running", "warning": None},
}
TEMPLATES = [
    {"id": "postgres", "name": "PostgreSQL", "builtin": True, "description": "A database"},
    {"id": "notes-board", "name": "Notes board", "builtin": False, "description": "Notes"},
]
YAML = "kind: Template\nname: PostgreSQL\n"
DETAIL = {
    **SERVICE,
    "namespace": "karvdash-alice",
    "objects": [{"kind": "Service", "name": "pg", "status": "ClusterIP, port 5432"}],
    "pods": [
        {
            "name": "pg-0",
            "phase": "Running",
            "ready": 1,
            "total": 1,
            "restarts": 2,
            "containers": ["db"],
        }
    ],
}
EVENT = {
    "type": "Warning",
    "reason": "BackOff",
    "message": "Back-off pulling image",
    "object": "Pod/pg-0",
    "count": 3,
    "last": "2026-11-23T21:00:00Z",
}
LOGS = [
    {"pod": "pg-0", "container": "db", "log": "ready\n", "truncated": True},
    {
        "pod": "pg-1",
        "container": "db",
        "log": "",
        "truncated": False,
        "error": "no log: not started",
    },
]
NAMESPACE = {
    "user": "alice",
    "namespace": "karvdash-alice",
    "exists": True,
    "services": 1,
    "quota": [{"resource": "pods", "used": "1", "hard": "50"}],
}
VIOLATIONS = ["ClusterRoleBinding x: not allowed", "Namespace y: not allowed"]
ENTRY = {"domain": "private", "path": "a b.txt", "name": "a b.txt", "type": "file", "size": 5}
UPLOAD = {"id": "u1", "domain": "private", "path": "big", "size": 9, "offset": 0, "expires": 1}
FILE_BYTES = b"hello"


# no URL or token from this machine unless a test sets one
pytestmark = pytest.mark.usefixtures("nothing_configured")


def api(method: str, route: str, body: dict | None, query: str = "") -> tuple[int, object]:
    """The API's answers, in its JSON shapes (a download: bytes)."""
    kind, _, name = route.partition("/")
    name = unquote(name)
    if kind == "files":
        if method == "GET" and "download=1" in query:
            return 200, FILE_BYTES
        return {"DELETE": (204, None), "PUT": (201, ENTRY)}.get(method, (200, ENTRY))
    if kind == "uploads":
        answers = {"POST": (201, UPLOAD), "DELETE": (204, None), "PATCH": (200, UPLOAD)}
        return answers.get(method, (200, UPLOAD))
    if kind == "images":  # its answers' shapes: test_client_images.py
        return (201 if method == "PUT" else 200), {"route": unquote(route)}
    if kind == "clients":  # the shapes are the OpenAPI document's (tests/e2e/test_identity_apps)
        return (201 if (method, route) == ("POST", "clients") else 200), {"route": route}
    if (method, route) == ("GET", "user"):
        return 200, USER
    if (method, route) == ("GET", "services"):
        return 200, [SERVICE]
    if (method, kind) == ("POST", "services") and name.endswith("/exec"):
        result = {"pod": "pg-0", "container": "db", "exit_code": 0, "output": "hi\n"}
        return 200, [{**result, "truncated": False}]
    if (method, kind) == ("GET", "services"):
        sub = name.partition("/")[2]
        return 200, {"events": [EVENT], "logs": LOGS}.get(sub, DETAIL)
    if (method, route) == ("GET", "namespace"):
        return 200, NAMESPACE
    if (method, route) == ("POST", "services"):
        if body["template"] == "nope":
            msg = "there is no template 'nope'"
            return 404, {"status": 404, "reason": "template-not-found", "message": msg}
        if body["template"] == "evil":
            msg = "this template creates what it may not"
            error = {"status": 422, "reason": "template-not-allowed", "message": msg}
            return 422, {**error, "violations": VIOLATIONS}
        launched = body["variables"].get("NAME", body["template"])
        url = f"https://{launched}-alice.example.org" if body["template"] != "postgres" else None
        return 201, {"name": launched, "namespace": "karvdash-alice", "url": url}
    if (method, kind) == ("DELETE", "services"):
        if name == "nothing-here":
            msg = "there is no service 'nothing-here'"
            return 404, {"status": 404, "reason": "service-not-found", "message": msg}
        return 200, {"name": name, "deleted": ["Deployment/x", "Service/x", "Ingress/x"]}
    if (method, route) == ("GET", "templates"):
        return 200, TEMPLATES
    if (method, route) == ("POST", "templates"):
        return 201, {"id": body.get("id") or "notes-board", "name": "Notes board"}
    if (method, kind) == ("GET", "templates"):
        return 200, YAML
    if (method, kind) == ("DELETE", "templates"):
        return 204, None
    return 404, {"status": 404, "reason": "not-found", "message": f"no route {route}"}


@dataclass(frozen=True)
class Seen:
    method: str
    target: str  # path and query
    authorization: str | None
    body: dict | None
    content: bytes | None = None  # a body that is not JSON


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else None
        body = content = None
        if self.headers.get("Content-Type") == "application/json":
            body = json.loads(data)
        else:
            content = data
        self.server.seen.append(
            Seen(self.command, self.path, self.headers.get("Authorization"), body, content)
        )
        target = urlsplit(self.path)
        mode, _, route = target.path.lstrip("/").partition("/")
        if mode == "slow":
            time.sleep(0.5)
        status, answer = api(self.command, route, body, target.query)
        ctype = "application/json"
        if mode == "down":
            status, ctype, answer = 502, "text/html", "<html>Bad Gateway</html>"
        elif mode == "page":
            status, ctype, answer = 200, "text/html", "<html>Sign in</html>"
        elif mode == "odd" and status >= 400:
            answer = ["not", "an", "object"]
        if isinstance(answer, bytes):
            ctype, data = "text/plain", answer
        elif isinstance(answer, str):
            ctype = "text/yaml" if mode == "api" else ctype
            data = answer.encode()
        else:
            data = b"" if answer is None else json.dumps(answer).encode()
        self.send_response(status)
        if isinstance(answer, bytes):
            self.send_header("Content-Disposition", "attachment; filename*=UTF-8''a%20b.txt")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url(server, mode: str = "api") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/{mode}/"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def call_sync(base: str, name: str, *args, wait: float = 10, **kwargs):
    with KarvdashClient(url=base, token=TOKEN, timeout=wait) as client:
        return getattr(client, name)(*args, **kwargs)


async def call_async(base: str, name: str, *args, wait: float = 10, **kwargs):
    async with AsyncKarvdashClient(url=base, token=TOKEN, timeout=wait) as client:
        return await getattr(client, name)(*args, **kwargs)


TRANSPORTS = pytest.mark.parametrize("call", [call_sync, call_async], ids=["sync", "async"])

# one way to call every operation (a new operation needs a line here: a test says so)
SAMPLES = {
    "whoami": ((), {}),
    "list_services": ((), {"user": "bob"}),
    "create_service": (("hello", {"NAME": "hi", "MESSAGE": "a b"}), {"user": "bob"}),
    "delete_service": (("a/b c",), {"user": "bob"}),
    "get_service": (("pg",), {"user": "bob"}),
    "service_events": (("pg",), {}),
    "service_logs": (("pg", 50), {"user": "bob"}),
    "namespace": ((), {"user": "bob"}),
    "list_templates": ((), {}),
    "add_template": (("kind: Template\n", "mine"), {"user": "bob"}),
    "get_template": (("post gres",), {}),
    "remove_template": (("notes-board",), {"user": "bob"}),
    "stat_file": (("private", "a b/c?#%.txt"), {"user": "bob", "sort": "size", "limit": 10}),
    "download_file": (("shared", "data", io.BytesIO()), {"format": "tar.gz", "user": "bob"}),
    "upload_file": (("private", "a b.txt", b"hello"), {"overwrite": True, "user": "bob"}),
    "make_folder": (("private", "new/folder"), {"parents": True, "user": "bob"}),
    "move_file": (("private", "a b.txt", "old/a b.txt"), {"user": "bob"}),
    "copy_file": (("private", "a b.txt", "shared", "a b.txt"), {"overwrite": True}),
    "delete_file": (("private", "old"), {"recursive": True, "user": "bob"}),
    "create_upload": (("private", "big", 9), {"parents": True, "user": "bob"}),
    "upload_status": (("u1",), {}),
    "upload_chunk": (("u1", 0, b"123456789"), {}),
    "cancel_upload": (("u1",), {}),
    "list_images": ((), {}),
    "get_image": (("alice/hello",), {}),
    "push_image": ((b"an archive", "alice/hello:1"), {}),
    "delete_image": (("library/hello:1.0",), {}),
    "run_in_service": (("pg", ["sh", "-c", "ls /"]), {"pod": "pg-0", "timeout": 5, "user": "bob"}),
    "list_clients": ((), {}),
    "register_client": (("Grafana", ["https://grafana.example.org/cb"]), {"trusted": True}),
    "get_client": (("grafana-1a2b/x",), {}),
    "change_client": (("grafana-1a2b",), {"disabled": True}),
    "delete_client": (("grafana-1a2b",), {}),
    "new_client_secret": (("grafana-1a2b",), {}),
}


def test_every_operation_has_a_sample_call():
    assert set(SAMPLES) == set(OPERATIONS)


@pytest.mark.parametrize("name", sorted(SAMPLES))
async def test_the_sync_and_async_clients_send_the_same_described_request(server, name):
    args, kwargs = SAMPLES[name]
    answers, requests = [], []
    for call in (call_sync, call_async):
        server.seen.clear()
        answers.append(await call(url(server), name, *args, **kwargs))
        requests.append(list(server.seen))
    assert answers[0] == answers[1]
    assert requests[0] == requests[1]
    expected = describe(name, *args, **kwargs)
    query = f"?{urlencode(expected.query)}" if expected.query else ""
    assert requests[0] == [
        Seen(
            expected.method,
            f"/api/{expected.path}{query}",
            f"token {TOKEN}",
            expected.body,
            expected.content,
        )
    ]


def test_requests_quote_names_and_carry_the_user_where_the_api_reads_it():
    deleting = describe("delete_service", "a/b c", user="bob")
    assert (deleting.method, deleting.path, deleting.query) == (
        "DELETE",
        "services/a%2Fb%20c",
        {"user": "bob"},
    )
    creating = describe("create_service", "hello", {"NAME": "hi"}, user="bob")
    assert (creating.method, creating.path, creating.query) == ("POST", "services", {})
    assert creating.body == {"template": "hello", "variables": {"NAME": "hi"}, "user": "bob"}
    assert describe("add_template", "x").body == {"data": "x"}
    assert describe("list_services").query == {}


@TRANSPORTS
async def test_answers_are_json_text_or_nothing_as_each_operation_says(server, call):
    assert await call(url(server), "whoami") == USER
    assert await call(url(server), "list_services") == [SERVICE]
    assert await call(url(server), "get_template", "postgres") == YAML
    assert await call(url(server), "remove_template", "notes-board") is None


@TRANSPORTS
async def test_an_api_error_is_a_karvdash_error_with_its_status_reason_and_details(server, call):
    with pytest.raises(KarvdashError) as err:
        await call(url(server), "create_service", "evil")
    e = err.value
    assert (e.status, e.reason) == (422, "template-not-allowed")
    assert e.message == "this template creates what it may not"
    assert e.details == {"violations": VIOLATIONS}
    assert str(e) == "this template creates what it may not (422 template-not-allowed)"


@TRANSPORTS
async def test_an_error_answer_that_is_not_json_is_a_karvdash_error_with_reason_error(server, call):
    with pytest.raises(KarvdashError) as err:
        await call(url(server, "down"), "list_services")
    assert (err.value.status, err.value.reason) == (502, "error")
    assert err.value.message == "<html>Bad Gateway</html>"


@TRANSPORTS
async def test_an_error_answer_whose_json_is_not_an_object_has_reason_error(server, call):
    with pytest.raises(KarvdashError) as err:
        await call(url(server, "odd"), "delete_service", "nothing-here")
    assert (err.value.status, err.value.reason) == (404, "error")


@TRANSPORTS
async def test_a_web_page_instead_of_the_api_is_an_error_that_names_the_api_url(server, call):
    with pytest.raises(KarvdashError) as err:
        await call(url(server, "page"), "list_services")
    assert (err.value.status, err.value.reason) == (200, "error")
    assert "/services/karvdash/api/" in err.value.message


@TRANSPORTS
async def test_a_connection_failure_is_a_karvdash_error_with_reason_unreachable(call):
    base = f"http://127.0.0.1:{closed_port()}/api/"
    with pytest.raises(KarvdashError) as err:
        await call(base, "whoami")
    assert (err.value.status, err.value.reason) == (0, "unreachable")
    assert err.value.message.startswith(f"cannot reach {base}: ")


@TRANSPORTS
async def test_a_timeout_is_a_karvdash_error_with_reason_unreachable(server, call):
    with pytest.raises(KarvdashError) as err:
        await call(url(server, "slow"), "whoami", wait=0.1)
    assert (err.value.status, err.value.reason) == (0, "unreachable")


@TRANSPORTS
async def test_a_url_without_a_scheme_is_unreachable_not_a_crash(call):
    with pytest.raises(KarvdashError) as err:
        await call("lab.example.org/services/karvdash/api/", "whoami")
    assert (err.value.status, err.value.reason) == (0, "unreachable")


async def test_the_async_client_does_not_block_the_event_loop_while_the_api_answers(server):
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.02)

    ticker = asyncio.ensure_future(tick())
    try:
        async with AsyncKarvdashClient(url=url(server, "slow"), token=TOKEN) as client:
            assert await client.whoami() == USER
    finally:
        ticker.cancel()
    assert ticks >= 10  # the answer took 0.5 s: the loop kept running meanwhile


# -- where the URL and the token come from


@pytest.mark.parametrize("client_class", [KarvdashClient, AsyncKarvdashClient])
def test_without_a_url_the_error_says_what_to_set(client_class):
    with pytest.raises(KarvdashError) as err:
        client_class(token=TOKEN)
    assert (err.value.status, err.value.reason) == (0, "no-url")
    assert "KARVDASH_API_URL" in err.value.message and "config.json" in err.value.message


@pytest.mark.parametrize("client_class", [KarvdashClient, AsyncKarvdashClient])
def test_without_a_token_the_error_says_where_to_get_one(client_class):
    with pytest.raises(KarvdashError) as err:
        client_class(url="http://example.org/api")
    assert (err.value.status, err.value.reason) == (0, "no-token")
    assert "/hub/token" in err.value.message


def test_arguments_beat_the_environment_which_beats_the_config_file(monkeypatch, tmp_path):
    saved = tmp_path / "config" / "karvdash" / "config.json"
    saved.parent.mkdir(parents=True)
    saved.write_text(json.dumps({"url": "http://file/api", "token": "file-token"}))
    client = KarvdashClient()
    assert (client.url, client.token) == ("http://file/api/", "file-token")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "server-token")
    assert KarvdashClient().token == "server-token"
    monkeypatch.setenv("KARVDASH_API_URL", "http://env/api/")
    monkeypatch.setenv("KARVDASH_API_TOKEN", "env-token")
    client = KarvdashClient()
    assert (client.url, client.token) == ("http://env/api/", "env-token")
    client = KarvdashClient(url="http://arg/api", token="arg-token")
    assert (client.url, client.token) == ("http://arg/api/", "arg-token")


def test_a_config_file_that_is_not_a_json_object_is_ignored(tmp_path):
    saved = tmp_path / "config" / "karvdash" / "config.json"
    saved.parent.mkdir(parents=True)
    saved.write_text("[1, 2]")
    with pytest.raises(KarvdashError, match="where is Karvdash"):
        KarvdashClient()


# -- karvdashctl: the command table


def subparsers():
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return parser, action.choices


def test_every_command_has_a_help_line_and_a_description():
    for command in cli.COMMANDS.values():
        assert command.help and command.description.endswith("."), command.name


def test_every_client_operation_is_a_command_or_listed_as_library_only():
    used = {command.operation for command in cli.COMMANDS.values()}
    assert used <= set(OPERATIONS), used - set(OPERATIONS)
    assert not used & cli.LIBRARY_ONLY
    assert used | cli.LIBRARY_ONLY == set(OPERATIONS)


ARGV = {
    "whoami": [],
    "list_services": [],
    "create_service": ["postgres", "NAME=pg", "PASSWORD=a=b"],
    "delete_service": ["pg"],
    "get_service": ["pg"],
    "service_events": ["pg"],
    "service_logs": ["pg", "--lines", "20"],
    "run_in_service": ["pg", "--pod", "pg-0", "--", "sh", "-c", "ls /"],
    "namespace": [],
    "list_templates": [],
    "add_template": ["-", "--id", "mine"],
    "get_template": ["postgres"],
    "remove_template": ["mine"],
    "ls": ["/private/data", "--sort", "size", "--reverse"],
    "get": ["/shared/data/", "-o", "data.zip", "--format", "zip"],
    "put": ["a.csv", "b.csv", "/shared/team/", "-f"],
    "mkdir": ["-p", "/private/a/b"],
    "mv": ["/private/a.txt", "/private/old/"],
    "cp": ["/private/a.txt", "/shared/"],
    "rm": ["-r", "/private/old"],
    "images": [],
    "tags": ["alice/hello"],
    "push": ["hello.tar", "alice/hello:1"],
    "rmi": ["alice/hello:1", "alice/hello", "--all-tags"],
}


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_each_command_passes_arguments_its_client_operation_takes(name, monkeypatch):
    assert set(ARGV) == set(cli.COMMANDS)
    monkeypatch.setattr("sys.stdin", io.StringIO("kind: Template\n"))
    command = cli.COMMANDS[name]
    args = cli.build_parser().parse_args(["--user", "bob", name, *ARGV[name]])
    inputs = command.inputs(args)
    if command.for_user:
        inputs["user"] = args.user
    called = command.run or getattr(KarvdashClient, command.operation)
    inspect.signature(called).bind(None, **inputs)


def test_the_main_help_lists_every_command_with_its_help():
    parser, commands = subparsers()
    text = parser.format_help()
    assert text.startswith("usage: karvdashctl ")
    assert list(commands) == list(cli.COMMANDS)
    for command in cli.COMMANDS.values():
        assert command.name in text and command.help in text.replace("\n" + " " * 19, " ")


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_each_commands_help_shows_its_usage_and_description(name, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([name, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: karvdashctl {name} ")
    assert " ".join(cli.COMMANDS[name].description.split()) in " ".join(out.split())
    for flags, _ in cli.COMMANDS[name].arguments:
        assert flags[0].lstrip("-") in out


def test_variables_are_name_equals_value_and_a_value_may_hold_equals():
    assert cli.parse_variables(["NAME=pg", "PASSWORD=a=b", "EMPTY="]) == {
        "NAME": "pg",
        "PASSWORD": "a=b",
        "EMPTY": "",
    }
    for bad in ("PASSWORD", "=x"):
        with pytest.raises(KarvdashError, match="variables are NAME=VALUE"):
            cli.parse_variables([bad])


def ctl(server, *argv, capsys, mode="api"):
    code = cli.main(["--url", url(server, mode), "--token", TOKEN, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_bad_variable_is_an_error_that_shows_the_right_form(server, capsys):
    code, out, err = ctl(server, "create_service", "postgres", "PASSWORD", capsys=capsys)
    assert (code, out) == (1, "")
    assert err == "karvdashctl: variables are NAME=VALUE, not 'PASSWORD'\n"


def test_karvdashctl_prints_tables_and_sentences_for_people(server, capsys):
    code, out, _ = ctl(server, "list_services", capsys=capsys)
    assert code == 0
    assert out.splitlines() == [
        "NAME  TEMPLATE  READY  STATUS   CREATED               URL  LAST WARNING",
        "pg    postgres  1/1    Running  2026-11-23T20:58:01Z",
    ]
    assert ctl(server, "whoami", capsys=capsys)[1] == "alice, namespace karvdash-alice\n"
    launched = ctl(server, "create_service", "hello", "NAME=hi", capsys=capsys)[1]
    assert launched == "launched hi in karvdash-alice\nopen https://hi-alice.example.org\n"
    stopped = ctl(server, "delete_service", "hi", capsys=capsys)[1]
    assert stopped == "stopped hi (3 objects deleted)\n"
    assert "notes-board  Notes board  yours" in ctl(server, "list_templates", capsys=capsys)[1]
    assert ctl(server, "get_template", "postgres", capsys=capsys)[1] == YAML
    assert ctl(server, "remove_template", "x", capsys=capsys)[1] == "removed template x\n"


def test_karvdashctl_shows_a_service_its_events_logs_and_the_namespace(server, capsys):
    shown = ctl(server, "get_service", "pg", capsys=capsys)[1].splitlines()
    assert shown[0] == "pg (postgres) in karvdash-alice: 1/1 ready, Running"
    assert "Service  pg    ClusterIP, port 5432" in shown
    assert "pg-0  1/1    Running  2" in shown
    events = ctl(server, "service_events", "pg", capsys=capsys)[1]
    assert "Warning  BackOff  Pod/pg-0  Back-off pulling image" in events
    logs = ctl(server, "service_logs", "pg", capsys=capsys)[1].splitlines()
    assert logs == [
        "==> pg-0 db (older lines left out) <==",
        "ready",
        "==> pg-1 db <==",
        "no log: not started",
    ]
    summary = ctl(server, "namespace", capsys=capsys)[1].splitlines()
    assert summary[0] == "karvdash-alice: 1 services"
    assert summary[-1].split() == ["pods", "1", "50"]


def test_karvdashctl_json_prints_the_answer_except_a_templates_yaml(server, capsys):
    assert json.loads(ctl(server, "--json", "list_services", capsys=capsys)[1]) == [SERVICE]
    removed = ctl(server, "--json", "remove_template", "x", capsys=capsys)[1]
    assert json.loads(removed) == {"removed": "x"}
    assert ctl(server, "--json", "get_template", "postgres", capsys=capsys)[1] == YAML


def test_karvdashctl_errors_go_to_stderr_with_the_violations_and_exit_1(server, capsys):
    code, out, err = ctl(server, "create_service", "evil", capsys=capsys)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "karvdashctl: this template creates what it may not",
        *(f"  - {v}" for v in VIOLATIONS),
    ]
    code, _, err = ctl(server, "--json", "create_service", "nope", capsys=capsys)
    assert code == 1
    assert json.loads(err) == {
        "status": 404,
        "reason": "template-not-found",
        "message": "there is no template 'nope'",
    }


def test_karvdashctl_says_so_when_a_file_cannot_be_read(server, capsys, tmp_path):
    code, _, err = ctl(server, "add_template", str(tmp_path / "missing.yaml"), capsys=capsys)
    assert code == 1 and err.startswith("karvdashctl: [Errno 2]")
