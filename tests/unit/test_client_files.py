"""The file operations of the API client, its transfers (``put``, ``put_folder``, ``get``)
and karvdashctl's file commands.

What each operation sends is checked on its described call and on the wire. The transfers
run with real httpx against a real HTTP server started here on 127.0.0.1: a small file store
on disk that answers in the API's shapes and can misbehave on purpose (drop a chunk's
connection half way, hold an upload busy, lose the answer of the last chunk, cut a download
short). It tests the client's side of the protocol; it is not the dashboard, whose files API
tests/e2e/test_files_cli.py drives through karvdashctl.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import json
import os
import shutil
import socket
import tracemalloc
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pytest
from support.standin import StandIn, serving

from karvdash_labext import cli, filecommands
from karvdash_labext.api import OPERATIONS, describe, filename
from karvdash_labext.client import AsyncKarvdashClient, KarvdashClient, KarvdashError
from karvdash_labext.files import local_name

TOKEN = "t0ken"
MiB = 1 << 20
ONE_MIB = {"chunk_size": MiB}  # the clients' options for chunks of 1 MiB
HOSTILE = "dir with space/we?ird#na%me & +plus.txt"
FILE_OPERATIONS = (
    "stat_file",
    "download_file",
    "upload_file",
    "make_folder",
    "move_file",
    "copy_file",
    "delete_file",
)


# no URL or token from this machine unless a test sets one
pytestmark = pytest.mark.usefixtures("nothing_configured")


# -- a file store over HTTP, in the API's shapes, that can fail on purpose


class Store(StandIn):
    def json_body(self) -> dict:
        body = json.loads(b"".join(self.pieces()) or b"{}")
        self.headers.replace_header("Content-Length", "0")  # read
        return body

    # answers

    def drop(self):
        """Close the connection without an answer."""
        self.close_connection = True

    # where

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, ValueError):
            self.close_connection = True

    def locate(self):
        url = urlsplit(self.path)
        self.query = dict(parse_qsl(url.query))
        self.server.seen.append((self.command, url.path.removeprefix("/api/"), self.query))
        kind, _, rest = url.path.removeprefix("/api/").partition("/")
        return kind, rest

    def place(self, domain: str, raw: str, user: str | None = None) -> Path | None:
        names = [unquote(s) for s in raw.split("/")] if raw else []
        if domain not in ("private", "shared") or any(
            n in ("", ".", "..") or "/" in n for n in names
        ):
            return None
        owner = f"private-{user or self.query.get('user') or 'alice'}"
        return self.server.root.joinpath(owner if domain == "private" else domain, *names)

    def entry(self, place: Path) -> dict:
        top = place.relative_to(self.server.root).parts
        domain = "private" if top[0].startswith("private-") else top[0]
        info = place.stat()
        kind = "folder" if place.is_dir() else "file"
        return {
            "domain": domain,
            "path": "/".join(top[1:]),
            "name": top[-1] if len(top) > 1 else "",
            "type": kind,
            "size": info.st_size,
            "modified": datetime.fromtimestamp(info.st_mtime, UTC).isoformat(),
            "mode": f"{info.st_mode & 0o777:04o}",
        }

    # the API

    def do_GET(self):
        kind, rest = self.locate()
        if kind == "uploads":
            return self.upload_state(rest)
        domain, _, raw = rest.partition("/")
        place = self.place(domain, raw)
        if place is None:
            return self.error(400, "bad-path")
        if not place.exists():
            return self.error(404, "not-found")
        if "download" in self.query:
            return self.download(place)
        found = self.entry(place)
        if place.is_dir():
            children = sorted(place.iterdir(), key=lambda p: (p.is_file(), p.name))
            if self.query.get("order") == "desc":
                children.reverse()
            found["entries"] = [self.entry(c) for c in children]
            found.update(total=len(children), offset=0, limit=1000)
        self.reply(200, found)

    def download(self, place: Path):
        if place.is_dir():  # a stand-in for the archive: its format and folder
            fmt = self.query.get("format", "zip")
            data, name = io.BytesIO(f"{fmt} of {place.name}".encode()), f"{place.name}.{fmt}"
            size = len(data.getvalue())
        else:
            data, name, size = open(place, "rb"), place.name, place.stat().st_size  # noqa: SIM115
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(name)}")
        self.end_headers()
        with data:
            if self.server.faults.pop("cut-download", None):
                self.wfile.write(data.read(size // 2))
                return self.drop()
            while piece := data.read(1 << 16):
                self.wfile.write(piece)

    def do_PUT(self):
        _, rest = self.locate()
        domain, _, raw = rest.partition("/")
        place = self.place(domain, raw)
        if place is None:
            return self.error(400, "bad-path")
        if place.is_dir():
            return self.error(409, "is-a-folder")
        if place.exists() and "overwrite" not in self.query:
            return self.error(409, "file-exists")
        if not place.parent.is_dir():
            if "parents" not in self.query:
                return self.error(404, "not-found")
            place.parent.mkdir(parents=True)
        self.server.put_lengths.append(self.headers.get("Content-Length"))
        existed = place.exists()
        temporary = place.with_name(f".karvdash-upload-{uuid.uuid4().hex}")
        with open(temporary, "wb") as out:
            for piece in self.pieces():
                out.write(piece)
        temporary.replace(place)
        self.reply(200 if existed else 201, self.entry(place))

    def do_POST(self):
        kind, rest = self.locate()
        body = self.json_body()
        if kind == "uploads":
            return self.new_upload(body)
        domain, _, raw = rest.partition("/")
        place = self.place(domain, raw)
        if body["action"] == "mkdir":
            if place.exists():
                if not body["parents"]:
                    return self.error(409, "file-exists")
                return self.reply(200, self.entry(place))
            place.mkdir(parents=body["parents"])
            return self.reply(201, self.entry(place))
        to = self.place(body.get("to_domain", domain), quote(body["to"]))
        if to.exists() and not body["overwrite"]:
            return self.error(409, "file-exists")
        if body["action"] == "move":
            place.rename(to)
            return self.reply(200, self.entry(to))
        copy = shutil.copytree if place.is_dir() else shutil.copyfile
        copy(place, to)
        self.reply(201, self.entry(to))

    def do_DELETE(self):
        kind, rest = self.locate()
        if kind == "uploads":
            upload = self.server.uploads.pop(rest, None)
            if upload is None:
                return self.error(404, "upload-not-found")
            upload["partial"].unlink()
            return self.reply(204)
        domain, _, raw = rest.partition("/")
        place = self.place(domain, raw)
        if place is None:
            return self.error(400, "bad-path")
        if place.is_dir() and any(place.iterdir()) and "recursive" not in self.query:
            return self.error(409, "folder-not-empty")
        shutil.rmtree(place) if place.is_dir() else place.unlink()
        self.reply(204)

    # resumable uploads

    def described(self, upload_id: str) -> dict:
        upload = self.server.uploads[upload_id]
        keys = ("domain", "path", "size")
        return {"id": upload_id, **{k: upload[k] for k in keys}, "offset": upload["offset"]}

    def new_upload(self, body: dict):
        place = self.place(body["domain"], quote(body["path"]), body.get("user"))
        if place.exists() and not body["overwrite"]:
            return self.error(409, "file-exists")
        upload_id = uuid.uuid4().hex
        partial = place.with_name(f".karvdash-upload-{upload_id}")
        partial.write_bytes(b"")
        self.server.uploads[upload_id] = {**body, "place": place, "partial": partial, "offset": 0}
        self.reply(201, {**self.described(upload_id), "expires": 0})

    def upload_state(self, upload_id: str):
        if upload_id not in self.server.uploads:
            return self.error(404, "upload-not-found")
        self.reply(200, self.described(upload_id))

    def do_PATCH(self):
        _, upload_id = self.locate()
        upload, faults = self.server.uploads.get(upload_id), self.server.faults
        if upload is None:
            return self.error(404, "upload-not-found")
        if faults.get("busy"):
            faults["busy"] -= 1
            return self.error(409, "upload-busy")
        if faults.get("full"):
            return self.error(507, "insufficient-storage")
        claimed = int(self.headers["Upload-Offset"])
        if faults.get("mismatch") or claimed != upload["offset"]:
            faults.pop("mismatch", None)
            return self.error(409, "offset-mismatch", offset=upload["offset"])
        self.server.chunk_lengths.append(int(self.headers["Content-Length"]))
        cut = faults.get("drop-after")
        with open(upload["partial"], "ab") as out:
            for piece in self.pieces():
                if cut is not None and faults.get("drops", 0) > 0 and len(piece) >= cut:
                    out.write(piece[:cut])
                    upload["offset"] += cut
                    faults["drops"] -= 1
                    return self.drop()  # what arrived is kept, as the dashboard does
                out.write(piece)
                upload["offset"] += len(piece)
        if upload["offset"] < upload["size"]:
            return self.reply(200, self.described(upload_id))
        upload["partial"].replace(upload["place"])
        answer = {**self.described(upload_id), "file": self.entry(upload["place"])}
        del self.server.uploads[upload_id]
        if faults.pop("lose-last-answer", None):
            return self.drop()
        self.reply(201, answer)


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "store"
    for folder in ("private-alice", "private-bob", "shared"):
        (root / folder).mkdir(parents=True)
    with serving(
        Store, root=root, seen=[], uploads={}, faults={}, put_lengths=[], chunk_lengths=[]
    ) as httpd:
        yield httpd


def run_sync(store, name, *args, client_options=None, **kwargs):
    options = {"url": store.url, "token": TOKEN, **(client_options or {})}
    with KarvdashClient(**options) as client:
        return getattr(client, name)(*args, **kwargs)


def run_async(store, name, *args, client_options=None, **kwargs):
    """The same with the asynchronous client, on an event loop of its own."""

    async def run():
        options = {"url": store.url, "token": TOKEN, **(client_options or {})}
        async with AsyncKarvdashClient(**options) as client:
            return await getattr(client, name)(*args, **kwargs)

    return asyncio.run(run())


TRANSPORTS = pytest.mark.parametrize("call", [run_sync, run_async], ids=["sync", "async"])


def random_file(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- what each operation describes


def test_a_file_path_is_quoted_segment_by_segment():
    call = describe("stat_file", "private", HOSTILE)
    assert call.path == "files/private/dir%20with%20space/we%3Fird%23na%25me%20%26%20%2Bplus.txt"
    assert describe("stat_file", "private", "/a/b/").path == "files/private/a/b"
    assert describe("stat_file", "shared", "").path == "files/shared"
    assert describe("stat_file", "shared", "/").path == "files/shared"


def test_dot_segments_are_sent_encoded_so_no_url_normalisation_climbs_to_another_route():
    call = describe("delete_file", "private", "../../services/pg")
    assert call.path == "files/private/%2E%2E/%2E%2E/services/pg"
    assert describe("delete_service", "..").path == "services/%2E%2E"
    assert describe("stat_file", "private", "a/./b..c").path == "files/private/a/%2E/b..c"


def test_every_file_operation_names_the_user_in_its_query_and_an_upload_in_its_body():
    calls = {
        "stat_file": describe("stat_file", "private", "a", user="bob"),
        "download_file": describe("download_file", "private", "a", None, user="bob"),
        "upload_file": describe("upload_file", "private", "a", b"", user="bob"),
        "make_folder": describe("make_folder", "private", "a", user="bob"),
        "move_file": describe("move_file", "private", "a", "b", user="bob"),
        "copy_file": describe("copy_file", "private", "a", "shared", "b", user="bob"),
        "delete_file": describe("delete_file", "private", "a", user="bob"),
    }
    assert set(calls) == set(FILE_OPERATIONS)
    for name, call in calls.items():
        assert call.query["user"] == "bob", name
        assert "user" not in (call.body or {}), name
    created = describe("create_upload", "private", "a", 10, user="bob")
    assert (created.query, created.body["user"]) == ({}, "bob")
    for name in FILE_OPERATIONS:
        assert "user" not in describe(name, *describe_args(name)).query


def describe_args(name: str) -> tuple:
    return {
        "download_file": ("private", "a", None),
        "upload_file": ("private", "a", b""),
        "move_file": ("private", "a", "b"),
        "copy_file": ("private", "a", "shared", "b"),
    }.get(name, ("private", "a"))


def test_flags_go_in_the_query_only_when_set():
    assert describe("upload_file", "private", "a", b"x").query == {}
    flagged = describe("upload_file", "private", "a", b"x", overwrite=True, parents=True)
    assert flagged.query == {"overwrite": "1", "parents": "1"}
    assert describe("delete_file", "private", "a").query == {}
    assert describe("delete_file", "private", "a", recursive=True).query == {"recursive": "1"}
    listing = describe("stat_file", "shared", "", sort="size", order="desc", offset=0, limit=5)
    assert listing.query == {"sort": "size", "order": "desc", "offset": "0", "limit": "5"}
    download = describe("download_file", "private", "d", None, format="tar.gz")
    assert download.query == {"download": "1", "format": "tar.gz"}
    assert download.answer == "stream"


def test_folder_actions_and_uploads_send_the_bodies_the_api_reads():
    assert describe("make_folder", "private", "a", parents=True).body == {
        "action": "mkdir",
        "parents": True,
    }
    moved = describe("move_file", "private", "a", "old/a", overwrite=True)
    assert (moved.method, moved.body) == (
        "POST",
        {"action": "move", "to": "old/a", "overwrite": True},
    )
    copied = describe("copy_file", "private", "a", "shared", "x/a")
    assert copied.body == {"action": "copy", "to_domain": "shared", "to": "x/a", "overwrite": False}
    created = describe("create_upload", "shared", "/big.bin", 10, parents=True)
    assert (created.method, created.path) == ("POST", "uploads")
    assert created.body == {
        "domain": "shared",
        "path": "big.bin",
        "size": 10,
        "overwrite": False,
        "parents": True,
    }
    chunk = describe("upload_chunk", "abc", 8 * MiB, b"data")
    assert (chunk.method, chunk.path, chunk.content) == ("PATCH", "uploads/abc", b"data")
    assert chunk.headers["Upload-Offset"] == str(8 * MiB)
    put = describe("upload_file", "private", "a", b"data")
    assert (put.method, put.body, put.content) == ("PUT", None, b"data")
    assert describe("cancel_upload", "abc").answer == "none"


def test_the_resumable_upload_operations_are_for_programs_and_the_rest_are_commands():
    uploads = {"create_upload", "upload_status", "upload_chunk", "cancel_upload"}
    assert uploads == {op for op in cli.LIBRARY_ONLY if "upload" in op}
    commands = {c.operation: c.name for c in filecommands.FILE_COMMANDS}
    assert commands == {
        "stat_file": "ls",
        "download_file": "get",
        "upload_file": "put",
        "make_folder": "mkdir",
        "move_file": "mv",
        "copy_file": "cp",
        "delete_file": "rm",
    }
    assert set(commands) | cli.LIBRARY_ONLY <= set(OPERATIONS)


def test_a_content_disposition_gives_the_file_name_and_a_local_name_stays_a_plain_name():
    assert filename("attachment; filename*=UTF-8''caf%C3%A9%20menu.csv") == "café menu.csv"
    assert filename('inline; filename="a.txt"') == "a.txt"
    assert filename("attachment") is None
    assert local_name("../../etc/passwd", "x", "private") == "passwd"
    assert local_name("..\\..\\boot.ini", "x", "private") == "boot.ini"
    assert local_name("..", "data/report.csv", "private") == "report.csv"
    assert local_name(None, "", "shared") == "shared"


# -- on the wire


@TRANSPORTS
def test_every_name_reaches_the_server_exactly_as_written(store, call, tmp_path):
    call(store, "make_folder", "private", "dir with space", user="bob")
    entry = call(store, "upload_file", "private", HOSTILE, b"x", user="bob")
    assert (entry["path"], entry["name"]) == (HOSTILE, HOSTILE.split("/")[1])
    assert (store.root / "private-bob" / HOSTILE).read_bytes() == b"x"
    listed = call(store, "stat_file", "private", "dir with space", user="bob")
    assert [e["name"] for e in listed["entries"]] == [HOSTILE.split("/")[1]]


@TRANSPORTS
def test_dot_segments_arrive_as_names_the_server_can_refuse(store, call):
    with pytest.raises(KarvdashError) as err:
        call(store, "delete_file", "private", "../private-bob")
    assert (err.value.status, err.value.reason) == (400, "bad-path")
    assert store.seen[-1][1] == "files/private/%2E%2E/private-bob"


@TRANSPORTS
def test_an_upload_body_is_sent_from_its_file_with_its_length(store, call, tmp_path):
    data = random_file(tmp_path / "in.bin", 300_000)
    with open(tmp_path / "in.bin", "rb") as file:
        file.seek(100_000)  # from where the file is
        entry = call(store, "upload_file", "shared", "part.bin", file)
    assert entry["size"] == 200_000 and store.put_lengths == ["200000"]
    assert (store.root / "shared" / "part.bin").read_bytes() == data[100_000:]


@TRANSPORTS
def test_an_upload_body_may_be_an_iterable_of_bytes_sent_as_it_comes(store, call):
    pieces = (bytes([i]) * 1000 for i in range(50))
    entry = call(store, "upload_file", "shared", "gen.bin", pieces)
    assert entry["size"] == 50_000 and store.put_lengths == [None]  # chunked
    assert (store.root / "shared" / "gen.bin").read_bytes()[-1000:] == bytes([49]) * 1000


class Recorder:
    def __init__(self):
        self.writes = []

    def write(self, piece: bytes) -> int:
        self.writes.append(len(piece))
        return len(piece)


@TRANSPORTS
def test_a_download_is_written_to_its_file_object_in_pieces(store, call):
    (store.root / "private-alice" / "big.bin").write_bytes(os.urandom(3 * MiB))
    sink = Recorder()
    answer = call(store, "download_file", "private", "big.bin", sink)
    assert answer == {"name": "big.bin", "type": "application/octet-stream", "size": 3 * MiB}
    assert sum(sink.writes) == 3 * MiB
    assert len(sink.writes) >= 48 and max(sink.writes) <= 1 << 16


@TRANSPORTS
def test_a_download_answered_without_content_disposition_is_not_the_api(store, call):
    """A JSON answer (or a web page) where a download was asked: an error, nothing written."""
    sink = Recorder()
    not_a_download = replace(describe("stat_file", "private", ""), answer="stream", sink=sink)
    with pytest.raises(KarvdashError) as err:
        call(store, "_send", not_a_download)
    assert err.value.reason == "error" and "did not answer a download" in err.value.message
    assert sink.writes == []


# -- transfers


@TRANSPORTS
def test_a_small_file_is_one_put(store, call, tmp_path):
    data = random_file(tmp_path / "small.csv", 1000)
    entry = call(store, "put", tmp_path / "small.csv", "shared", "team/small.csv", parents=True)
    assert entry["size"] == 1000
    assert [m for m, *_ in store.seen] == ["PUT"]
    assert (store.root / "shared" / "team" / "small.csv").read_bytes() == data


@TRANSPORTS
def test_a_large_file_goes_up_in_chunks_of_chunk_size(store, call, tmp_path):
    data = random_file(tmp_path / "big.bin", 3 * MiB + 12345)
    options = ONE_MIB
    entry = call(store, "put", tmp_path / "big.bin", "private", "big.bin", client_options=options)
    assert entry["size"] == len(data)
    assert [m for m, *_ in store.seen] == ["POST"] + ["PATCH"] * 4
    assert store.chunk_lengths == [MiB, MiB, MiB, 12345]
    assert digest((store.root / "private-alice" / "big.bin").read_bytes()) == digest(data)
    assert not store.uploads and not list((store.root / "private-alice").glob(".karvdash-*"))


@TRANSPORTS
def test_the_chunk_size_of_one_put_beats_the_clients(store, call, tmp_path):
    random_file(tmp_path / "big.bin", 2 * MiB)
    call(store, "put", tmp_path / "big.bin", "private", "b", chunk_size=MiB // 2)
    assert store.chunk_lengths == [MiB // 2] * 4


@TRANSPORTS
def test_a_dropped_chunk_goes_on_from_what_the_server_has(store, call, tmp_path):
    data = random_file(tmp_path / "big.bin", 3 * MiB)
    store.faults.update({"drop-after": 1000, "drops": 1})
    options = ONE_MIB
    call(store, "put", tmp_path / "big.bin", "private", "big.bin", client_options=options)
    methods = [m for m, *_ in store.seen]
    assert methods == ["POST", "PATCH", "GET", "PATCH", "PATCH", "PATCH"]
    # the server kept 1000 bytes of the dropped chunk: the client went on from there
    assert store.chunk_lengths == [MiB, MiB, MiB, MiB - 1000]
    assert digest((store.root / "private-alice" / "big.bin").read_bytes()) == digest(data)


@TRANSPORTS
def test_put_sends_a_file_object_from_memory_and_tells_its_progress_after_a_drop_too(store, call):
    data = os.urandom(3 * MiB)
    store.faults.update({"drop-after": 1000, "drops": 1})
    told: list[tuple[int, int]] = []
    entry = call(
        store,
        "put",
        io.BytesIO(data),
        "private",
        "memory.bin",
        client_options=ONE_MIB,
        progress=lambda sent, total: told.append((sent, total)),
    )
    assert entry["size"] == len(data)
    assert (store.root / "private-alice" / "memory.bin").read_bytes() == data
    assert told[-1] == (len(data), len(data)) and {t for _, t in told} == {len(data)}
    sent = [s for s, _ in told]
    # the dropped chunk was counted, then counted again from what the server had
    assert any(b < a for a, b in itertools.pairwise(sent))
    assert sent[-4:] == sorted(sent[-4:]) and max(sent) == len(data)


def test_an_upload_held_busy_or_at_another_offset_goes_on(store, tmp_path):
    data = random_file(tmp_path / "big.bin", 2 * MiB)
    store.faults.update({"busy": 1, "mismatch": True})
    run_sync(store, "put", tmp_path / "big.bin", "private", "big.bin", client_options=ONE_MIB)
    assert [m for m, *_ in store.seen] == ["POST", "PATCH", "GET", "PATCH", "PATCH", "PATCH"]
    assert (store.root / "private-alice" / "big.bin").read_bytes() == data


@TRANSPORTS
def test_when_the_last_chunks_answer_is_lost_the_finished_file_is_the_answer(store, call, tmp_path):
    data = random_file(tmp_path / "big.bin", 2 * MiB)
    store.faults["lose-last-answer"] = True
    options = ONE_MIB
    entry = call(store, "put", tmp_path / "big.bin", "shared", "big.bin", client_options=options)
    assert (entry["path"], entry["size"]) == ("big.bin", 2 * MiB)
    assert [m for m, *_ in store.seen] == ["POST", "PATCH", "PATCH", "GET", "GET"]
    assert (store.root / "shared" / "big.bin").read_bytes() == data


def test_an_upload_that_fails_for_good_is_cancelled_and_leaves_nothing(store, tmp_path):
    random_file(tmp_path / "big.bin", 2 * MiB)
    store.faults["full"] = True
    with pytest.raises(KarvdashError) as err:
        run_sync(store, "put", tmp_path / "big.bin", "private", "big.bin", client_options=ONE_MIB)
    assert (err.value.status, err.value.reason) == (507, "insufficient-storage")
    assert [m for m, *_ in store.seen] == ["POST", "PATCH", "DELETE"]
    assert list((store.root / "private-alice").iterdir()) == []


def test_retries_after_dropped_connections_are_bounded(store, tmp_path):
    random_file(tmp_path / "big.bin", 2 * MiB)
    store.faults.update({"drop-after": 10, "drops": 100})
    options = {"chunk_size": MiB, "retries": 1}
    with pytest.raises(KarvdashError) as err:
        run_sync(store, "put", tmp_path / "big.bin", "private", "big.bin", client_options=options)
    assert err.value.reason == "unreachable"
    assert [m for m, *_ in store.seen] == ["POST", "PATCH", "GET", "PATCH", "DELETE"]
    assert list((store.root / "private-alice").iterdir()) == []


@TRANSPORTS
def test_transfers_hold_a_piece_in_memory_not_a_chunk_or_a_file(store, call, tmp_path):
    random_file(tmp_path / "big.bin", 24 * MiB)
    random_file(tmp_path / "small.bin", 6 * MiB)
    options = {"chunk_size": 8 * MiB}
    tracemalloc.start()
    try:
        call(store, "put", tmp_path / "big.bin", "private", "big.bin", client_options=options)
        call(store, "put", tmp_path / "small.bin", "private", "small.bin", client_options=options)
        call(store, "get", "private", "big.bin", tmp_path / "back.bin")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MiB, peak  # client and server together, each a few pieces of 64 KiB
    assert (tmp_path / "back.bin").read_bytes() == (tmp_path / "big.bin").read_bytes()


@TRANSPORTS
def test_get_puts_a_file_in_place_under_the_name_asked_or_the_servers(store, call, tmp_path):
    (store.root / "shared" / "r é.csv").write_bytes(b"a,b\n")
    answer = call(store, "get", "shared", "r é.csv", tmp_path / "out.csv")
    assert answer["path"] == str(tmp_path / "out.csv") and answer["size"] == 4
    assert (tmp_path / "out.csv").read_bytes() == b"a,b\n"
    (tmp_path / "here").mkdir()
    answer = call(store, "get", "shared", "r é.csv", tmp_path / "here")
    assert answer["path"] == str(tmp_path / "here" / "r é.csv")
    answer = call(store, "get", "shared", "", str(tmp_path / "new") + "/", format="tar.gz")
    assert Path(answer["path"]) == tmp_path / "new" / "shared.tar.gz"
    assert Path(answer["path"]).read_bytes() == b"tar.gz of shared"


@TRANSPORTS
def test_an_interrupted_download_leaves_nothing_and_the_old_file_as_it_was(store, call, tmp_path):
    (store.root / "private-alice" / "a.bin").write_bytes(os.urandom(MiB))
    (tmp_path / "a.bin").write_bytes(b"old")
    store.faults["cut-download"] = True
    with pytest.raises(KarvdashError) as err:
        call(store, "get", "private", "a.bin", tmp_path / "a.bin")
    assert err.value.reason == "unreachable"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".karvdash")] == []
    assert (tmp_path / "a.bin").read_bytes() == b"old"
    store.faults["cut-download"] = True
    with pytest.raises(KarvdashError):
        call(store, "get", "private", "a.bin", tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()


@TRANSPORTS
def test_put_folder_sends_the_tree_with_its_folders(store, call, tmp_path):
    tree = tmp_path / "data"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "empty").mkdir()
    (tree / "a.txt").write_bytes(b"a")
    (tree / "sub" / "b.txt").write_bytes(b"b")
    (tree / "sub" / "deeper" / "c.txt").write_bytes(b"c" * 3000)
    (tree / "link").symlink_to(tree / "sub")  # a link to a folder is left out
    made = call(
        store, "put_folder", tree, "shared", "team/data", client_options={"chunk_size": 1000}
    )
    remote = store.root / "shared" / "team" / "data"
    assert sorted(str(p.relative_to(remote)) for p in remote.rglob("*")) == [
        "a.txt",
        "empty",
        "sub",
        "sub/b.txt",
        "sub/deeper",
        "sub/deeper/c.txt",
    ]
    assert (remote / "sub" / "deeper" / "c.txt").read_bytes() == b"c" * 3000
    assert [e["path"] for e in made if e["type"] == "file"] == [
        "team/data/a.txt",
        "team/data/sub/b.txt",
        "team/data/sub/deeper/c.txt",
    ]


# -- karvdashctl


def ctl(store, *argv, capsys, url=None):
    code = cli.main(["--url", url or store.url, "--token", TOKEN, *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "text, domain, path, folder",
    [
        ("/private", "private", "", True),
        ("/private/", "private", "", True),
        ("/shared/team/", "shared", "team", True),
        ("/private/a/b.txt", "private", "a/b.txt", False),
        ("/private//a/./b", "private", "a/b", False),
        ("//shared/x y/z?.txt", "shared", "x y/z?.txt", False),
    ],
)
def test_remote_paths_are_written_as_containers_see_them(text, domain, path, folder):
    where = filecommands.remote(text)
    assert (where.domain, where.path, where.folder) == (domain, path, folder)


@pytest.mark.parametrize("text", ["private/a", "a.txt", "/", "", "/home/alice", "/privatex/a"])
def test_a_remote_path_outside_private_and_shared_is_an_error_before_any_request(text, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{s.getsockname()[1]}/api/"
    code = cli.main(["--url", nowhere, "--token", TOKEN, "ls", text])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err == (
        f"karvdashctl: {text!r} is not a Karvdash path: write /private/... (your files) or"
        " /shared/... (everyone's), as containers see them\n"
    )


def test_dot_dot_is_refused_in_a_remote_path(capsys):
    with pytest.raises(KarvdashError, match=r"'\.\.' is not allowed"):
        filecommands.remote("/private/../shared/x")
    code, _, err = ctl(None, "rm", "/private/a/..", capsys=capsys, url="http://127.0.0.1:9/api/")
    assert code == 1 and "'..' is not allowed" in err


def test_put_into_a_folder_with_a_trailing_slash_else_as_the_name_given(
    store, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    Path("results.csv").write_text("x,y\n")
    code, out, err = ctl(store, "put", "results.csv", "/shared/team/", capsys=capsys)
    assert (code, err) == (0, "")
    assert out == "uploaded /shared/team/results.csv (4 B)\n"
    assert (store.root / "shared" / "team" / "results.csv").read_text() == "x,y\n"
    code, out, _ = ctl(store, "put", "results.csv", "/shared/team/renamed.csv", capsys=capsys)
    assert out == "uploaded /shared/team/renamed.csv (4 B)\n"
    code, _, err = ctl(store, "put", "results.csv", "/shared/team", capsys=capsys)
    assert code == 1
    assert err == "karvdashctl: is-a-folder (to put it into that folder, write /shared/team/)\n"
    code, _, err = ctl(store, "put", "results.csv", "/shared/team/", capsys=capsys)
    assert (code, err) == (1, "karvdashctl: file-exists\n")
    assert ctl(store, "put", "-f", "results.csv", "/shared/team/", capsys=capsys)[0] == 0


def test_put_of_folders_and_several_files_and_a_missing_one(store, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("data/sub").mkdir(parents=True)
    Path("data/sub/a.txt").write_text("a")
    Path("b.txt").write_text("bb")
    code, out, _ = ctl(store, "put", "data", "b.txt", "/private", capsys=capsys)
    assert code == 0
    assert out.splitlines() == [
        "made /private/data/",
        "made /private/data/sub/",
        "uploaded /private/data/sub/a.txt (1 B)",
        "uploaded /private/b.txt (2 B)",
    ]
    code, out, err = ctl(store, "put", "b.txt", "nothing.txt", "/private/", capsys=capsys)
    assert (code, out) == (1, "")
    assert err.startswith("karvdashctl: [Errno 2]") and "nothing.txt" in err
    uploaded = json.loads(ctl(store, "--json", "put", "-f", "b.txt", "/private/", capsys=capsys)[1])
    assert [(e["path"], e["type"]) for e in uploaded] == [("b.txt", "file")]


def test_ls_prints_a_table_for_people_and_the_entry_as_json(store, capsys):
    root = store.root / "private-alice"
    (root / "data").mkdir()
    (root / "data" / "a.csv").write_bytes(b"x" * 2048)
    (root / "data" / "sub").mkdir()
    code, out, _ = ctl(store, "ls", "/private/data", capsys=capsys)
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["TYPE", "SIZE", "MODIFIED", "NAME"]
    assert lines[1].split()[0] == "folder" and lines[1].endswith("sub/")
    assert lines[2].split()[:3] == ["file", "2.0", "KiB"] and lines[2].endswith("a.csv")
    modified = datetime.fromtimestamp((root / "data" / "a.csv").stat().st_mtime)
    assert modified.strftime("%Y-%m-%d %H:%M") in lines[2]
    listed = json.loads(ctl(store, "--json", "ls", "/private/data", capsys=capsys)[1])
    assert [e["name"] for e in listed["entries"]] == ["sub", "a.csv"]
    assert (
        ctl(store, "ls", "/private/data/sub", capsys=capsys)[1] == "/private/data/sub/ is empty\n"
    )
    one = ctl(store, "ls", "/private/data/a.csv", capsys=capsys)[1].splitlines()
    assert len(one) == 2 and one[1].endswith("a.csv")
    ctl(store, "ls", capsys=capsys)
    assert store.seen[-1][1:] == ("files/private", {})
    ctl(store, "ls", "--sort", "size", "--reverse", "--limit", "5", "/shared", capsys=capsys)
    assert store.seen[-1][2] == {"sort": "size", "order": "desc", "limit": "5"}


def test_user_goes_with_every_file_command(store, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("a.txt").write_text("a")
    for argv in (
        ["ls", "/private"],
        ["put", "a.txt", "/private/"],
        ["mkdir", "/private/x"],
        ["cp", "/private/a.txt", "/private/b.txt"],
        ["mv", "/private/b.txt", "/private/x/"],
        ["get", "/private/a.txt", "-o", "back.txt"],
        ["rm", "-r", "/private/x"],
    ):
        code, _, err = ctl(store, "--user", "bob", *argv, capsys=capsys)
        assert (code, err) == (0, ""), argv
        assert store.seen[-1][2].get("user") == "bob", argv
    assert sorted(p.name for p in (store.root / "private-bob").iterdir()) == ["a.txt"]
    assert list((store.root / "private-alice").iterdir()) == []


def test_get_mkdir_mv_cp_rm_say_what_they_did(store, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (store.root / "private-alice" / "data").mkdir()
    (store.root / "private-alice" / "a.txt").write_text("hello")
    out = ctl(store, "get", "/private/a.txt", capsys=capsys)[1]
    assert out == "downloaded /private/a.txt to a.txt (5 B)\n"
    assert Path("a.txt").read_text() == "hello"
    out = ctl(store, "get", "/private/data/", "-o", "arch/", "--format", "tar.gz", capsys=capsys)[1]
    assert out == "downloaded /private/data/ to arch/data.tar.gz (14 B)\n"
    assert store.seen[-1][2] == {"download": "1", "format": "tar.gz"}
    assert ctl(store, "mkdir", "-p", "/private/old/x", capsys=capsys)[1] == "made /private/old/x/\n"
    out = ctl(store, "mv", "/private/a.txt", "/private/old/", capsys=capsys)[1]
    assert out == "moved to /private/old/a.txt\n"
    out = ctl(store, "cp", "/private/old/a.txt", "/shared/", capsys=capsys)[1]
    assert out == "copied to /shared/a.txt\n"
    assert (store.root / "shared" / "a.txt").read_text() == "hello"
    code, _, err = ctl(store, "rm", "/private/old", capsys=capsys)
    assert (code, err) == (1, "karvdashctl: folder-not-empty\n")
    assert ctl(store, "rm", "-r", "/private/old", capsys=capsys)[1] == "removed /private/old\n"
    removed = ctl(store, "--json", "rm", "/shared/a.txt", capsys=capsys)[1]
    assert json.loads(removed) == {"removed": "/shared/a.txt"}


def test_mv_between_private_and_shared_is_an_error_that_says_how(capsys):
    code, _, err = ctl(
        None, "mv", "/private/a", "/shared/a", capsys=capsys, url="http://127.0.0.1:9/api/"
    )
    assert code == 1
    assert err == (
        "karvdashctl: mv moves within /private or within /shared:"
        " to move between them, cp then rm\n"
    )
