"""The image operations of the API client (``list_images``, ``get_image``, ``push_image``,
``delete_image``) and karvdashctl's image commands (``images``, ``tags``, ``push``, ``rmi``).

What each operation sends is checked on its described call and on the wire. The calls run
with real httpx against a real HTTP server started here on 127.0.0.1: a small image store in
memory that answers in the API's shapes (a pushed archive's digest is the sha256 of the
bytes that arrived; alice may push to alice/ only). It tests the client's side; it is not
the dashboard, whose images API tests/e2e/test_images_cli.py drives through karvdashctl.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import socket
import threading
import tracemalloc
from datetime import datetime
from urllib.parse import unquote, urlsplit

import pytest
from support.standin import StandIn, serving

from karvdash_labext import cli, imagecommands
from karvdash_labext.api import OPERATIONS, describe
from karvdash_labext.client import AsyncKarvdashClient, KarvdashClient, KarvdashError
from karvdash_labext.images import PIECE, image_path

TOKEN = "t0ken"
MiB = 1 << 20
HOST = "registry.example.org:5000"
CREATED = "2026-11-20T10:30:00Z"
IMAGE_OPERATIONS = ("list_images", "get_image", "push_image", "delete_image")

# no URL or token from this machine unless a test sets one
pytestmark = pytest.mark.usefixtures("nothing_configured")


# -- an image store over HTTP, in the API's shapes


class Registry(StandIn):
    def target(self) -> tuple[str, str | None]:
        """The raw path after ``/api/``, recorded; the repository and tag it names."""
        path = urlsplit(self.path).path.removeprefix("/api/")
        self.server.seen.append((self.command, path, dict(self.headers)))
        raw = path.removeprefix("images").removeprefix("/")
        name, colon, tag = raw.rpartition(":")
        return (unquote(name), unquote(tag)) if colon else (unquote(raw), None)

    def details(self, name: str, tag: str) -> dict:
        digest, size = self.server.repositories[name][tag]
        return {
            "name": name,
            "tag": tag,
            "digest": digest,
            "media_type": "application/vnd.docker.distribution.manifest.v2+json",
            "size": size,
            "created": CREATED,
            "architecture": "amd64",
            "os": "linux",
            "layers": 1,
            "reference": f"{HOST}/{name}:{tag}",
            "template_reference": f"$REGISTRY/{name}:{tag}",
        }

    def repository(self, name: str) -> dict:
        tags = sorted(self.server.repositories[name])
        mine = name.startswith("alice/")
        owner = name.split("/")[0]
        return {"name": name, "owner": owner, "tags": tags, "can_push": mine, "can_delete": mine}

    def do_GET(self):
        name, tag = self.target()
        repositories = self.server.repositories
        if not name:
            listed = [self.repository(n) for n in sorted(repositories) if repositories[n]]
            return self.reply(200, {"registry": HOST, "namespace": "alice", "repositories": listed})
        if not repositories.get(name) or (tag and tag not in repositories[name]):
            return self.error(404, "image-not-found", f"there is no image {name!r}")
        if tag:
            return self.reply(200, self.details(name, tag))
        tags = sorted(repositories[name])
        details = [self.details(name, t) for t in tags]
        self.reply(200, {**self.repository(name), "details": details})

    def do_PUT(self):
        name, tag = self.target()
        if not name.startswith("alice/"):
            return self.error(403, "not-yours", "you may push to alice/... only")
        h, received = hashlib.sha256(), 0
        for piece in self.pieces():
            h.update(piece)
            received += len(piece)
        digest = f"sha256:{h.hexdigest()}"
        known = any(
            d == digest for tags in self.server.repositories.values() for d, _ in tags.values()
        )
        self.server.repositories.setdefault(name, {})[tag] = (digest, received)
        blobs = {"total": 2, "sent": 0 if known else 2, "existing": 2 if known else 0}
        self.reply(201, {**self.details(name, tag), "format": "docker-archive", "blobs": blobs})

    def do_DELETE(self):
        name, tag = self.target()
        tags = self.server.repositories.get(name) or {}
        if not tags or (tag and tag not in tags):
            return self.error(404, "image-not-found", f"there is no image {name!r}")
        doomed = {tags[tag][0]} if tag else {d for d, _ in tags.values()}
        gone = sorted(t for t, (d, _) in tags.items() if d in doomed)
        for t in gone:
            del tags[t]
        self.reply(200, {"name": name, "digests": sorted(doomed), "tags": gone})


@pytest.fixture
def registry():
    with serving(Registry, seen=[], repositories={}) as httpd:
        yield httpd


def run_sync(registry, name, *args, **kwargs):
    with KarvdashClient(url=registry.url, token=TOKEN) as client:
        return getattr(client, name)(*args, **kwargs)


def run_async(registry, name, *args, **kwargs):
    """The same with the asynchronous client, on an event loop of its own."""

    async def run():
        async with AsyncKarvdashClient(url=registry.url, token=TOKEN) as client:
            return await getattr(client, name)(*args, **kwargs)

    return asyncio.run(run())


TRANSPORTS = pytest.mark.parametrize("call", [run_sync, run_async], ids=["sync", "async"])


def random_file(path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


class Progress:
    def __init__(self):
        self.calls = []

    def __call__(self, sent, total):
        self.calls.append((sent, total))


# -- what each operation describes


def test_the_image_operations_are_the_apis_and_each_has_a_command():
    assert set(IMAGE_OPERATIONS) <= set(OPERATIONS)
    commands = {c.operation: c.name for c in imagecommands.IMAGE_COMMANDS}
    assert commands == {
        "list_images": "images",
        "get_image": "tags",
        "push_image": "push",
        "delete_image": "rmi",
    }
    assert all(cli.COMMANDS[name].operation == op for op, name in commands.items())


def test_an_image_path_keeps_its_slashes_and_the_colon_before_its_tag():
    assert (describe("list_images").method, describe("list_images").path) == ("GET", "images")
    got = describe("get_image", "alice/hello")
    assert (got.method, got.path, got.query) == ("GET", "images/alice/hello", {})
    assert describe("get_image", "alice/hello:1").path == "images/alice/hello:1"
    deep = "library/tools.x/py__thon-3:v3.12_rc-1"
    assert describe("delete_image", deep).path == f"images/{deep}"
    assert describe("delete_image", deep).method == "DELETE"
    assert describe("delete_image", "alice/hello").path == "images/alice/hello"
    pushed = describe("push_image", b"archive", "alice/hello:1")
    assert (pushed.method, pushed.path, pushed.body) == ("PUT", "images/alice/hello:1", None)
    assert pushed.headers == {"Content-Type": "application/x-tar"}


def test_each_part_of_a_repository_is_quoted_on_its_own():
    assert image_path("a b/c?d#e", "x%y") == "images/a%20b/c%3Fd%23e:x%25y"
    assert image_path("alice/hello") == "images/alice/hello"


BAD = [
    ("Alice/hello:1", "is not a repository name"),
    ("alice//hello:1", "is not a repository name"),
    ("/alice/hello:1", "is not a repository name"),
    ("alice/hello/:1", "is not a repository name"),
    ("alice/../etc:1", "is not a repository name"),
    ("alice/he llo:1", "is not a repository name"),
    ("a" * 256 + ":1", "is not a repository name"),
    ("alice/hello:", "is not a tag"),
    ("alice/hello:-1", "is not a tag"),
    ("alice/hello:" + "x" * 129, "is not a tag"),
    ("alice/hello:1?x=2", "is not a tag"),
    ("alice/hello@sha256:" + "0" * 64, "not by a digest"),
    ("127.0.0.1:5000/alice/hello:1", "without the registry's host (127.0.0.1:5000)"),
    ("", "is not an image"),
]


@pytest.mark.parametrize("name", ["get_image", "delete_image", "push_image"])
@pytest.mark.parametrize("image, says", BAD)
def test_a_bad_reference_is_refused_before_any_request(registry, name, image, says):
    args = (b"archive", image) if name == "push_image" else (image,)
    with pytest.raises(KarvdashError) as err:
        run_sync(registry, name, *args)
    assert (err.value.status, err.value.reason) == (0, "bad-reference")
    assert says in err.value.message
    assert registry.seen == []


def test_a_push_needs_a_tag_and_says_how_to_write_one(registry):
    with pytest.raises(KarvdashError) as err:
        run_sync(registry, "push_image", b"archive", "alice/hello")
    assert err.value.reason == "bad-reference"
    assert err.value.message == "'alice/hello' has no tag: write NAME:TAG, e.g. alice/hello:latest"
    assert registry.seen == []


# -- on the wire


@TRANSPORTS
def test_an_archive_is_streamed_from_its_path_in_pieces_with_its_length_and_progress(
    registry, call, tmp_path
):
    data = random_file(tmp_path / "hello.tar", 3 * MiB + 1234)
    progress = Progress()
    pushed = call(registry, "push_image", tmp_path / "hello.tar", "alice/hello:1", progress)
    assert pushed["digest"] == sha256(data) and pushed["tag"] == "1"
    method, path, headers = registry.seen[-1]
    assert (method, path) == ("PUT", "images/alice/hello:1")
    assert headers["Content-Type"] == "application/x-tar"
    assert headers["Content-Length"] == str(len(data))
    # the file went in pieces of at most PIECE bytes, each reported once it was sent
    sent = [s for s, _ in progress.calls]
    assert len(sent) == -(-len(data) // PIECE) and sent[-1] == len(data)
    assert all(0 < b - a <= PIECE for a, b in zip([0, *sent], sent, strict=False))
    assert {t for _, t in progress.calls} == {len(data)}


class Reads(io.BufferedReader):
    """A binary file that remembers how much each read asked for."""

    def __init__(self, path):
        super().__init__(io.FileIO(path))
        self.asked = []

    def read(self, size=-1):
        self.asked.append(size)
        return super().read(size)


@TRANSPORTS
def test_a_file_object_is_read_in_pieces_from_where_it_is_never_whole(registry, call, tmp_path):
    data = random_file(tmp_path / "hello.tar", 2 * MiB)
    with Reads(tmp_path / "hello.tar") as file:
        file.seek(1000)
        pushed = call(registry, "push_image", file, "alice/hello:1")
        assert file.asked and max(file.asked) <= PIECE and -1 not in file.asked
        assert len(file.asked) >= (2 * MiB - 1000) // PIECE
    assert pushed["digest"] == sha256(data[1000:]) and pushed["size"] == 2 * MiB - 1000
    assert registry.seen[-1][2]["Content-Length"] == str(2 * MiB - 1000)


@TRANSPORTS
def test_a_pipe_goes_without_a_length_and_its_progress_without_a_total(registry, call):
    data = os.urandom(5 * PIECE + 7)
    read, write = os.pipe()

    def feed():
        with os.fdopen(write, "wb") as out:
            out.write(data)

    feeder = threading.Thread(target=feed)
    feeder.start()
    progress = Progress()
    with os.fdopen(read, "rb") as pipe:
        pushed = call(registry, "push_image", pipe, "alice/piped:1", progress)
    feeder.join()
    assert pushed["digest"] == sha256(data)
    headers = registry.seen[-1][2]
    assert "Content-Length" not in headers and headers["Transfer-Encoding"] == "chunked"
    assert progress.calls[-1] == (len(data), None) and len(progress.calls) > 1


@TRANSPORTS
def test_pushing_holds_a_piece_in_memory_not_the_archive(registry, call, tmp_path):
    random_file(tmp_path / "big.tar", 24 * MiB)
    tracemalloc.start()
    try:
        call(registry, "push_image", str(tmp_path / "big.tar"), "alice/big:1", Progress())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MiB, peak  # client and server together, each a few pieces


@TRANSPORTS
def test_a_missing_archive_or_a_folder_is_an_os_error_before_any_request(registry, call, tmp_path):
    with pytest.raises(FileNotFoundError):
        call(registry, "push_image", tmp_path / "nothing.tar", "alice/hello:1")
    with pytest.raises(IsADirectoryError, match="a folder, not an image archive"):
        call(registry, "push_image", tmp_path, "alice/hello:1")
    assert registry.seen == []


@TRANSPORTS
def test_images_are_listed_described_and_deleted_with_the_answers_of_the_api(registry, call):
    archive = b"one image"
    call(registry, "push_image", archive, "alice/hello:1")
    again = call(registry, "push_image", archive, "alice/hello:latest", Progress())
    assert again["blobs"] == {"total": 2, "sent": 0, "existing": 2}
    listed = call(registry, "list_images")
    assert listed["registry"] == HOST
    assert [(r["name"], r["tags"]) for r in listed["repositories"]] == [
        ("alice/hello", ["1", "latest"])
    ]
    image = call(registry, "get_image", "alice/hello")
    assert [d["digest"] for d in image["details"]] == [sha256(archive)] * 2
    assert call(registry, "get_image", "alice/hello:1")["reference"] == f"{HOST}/alice/hello:1"
    deleted = call(registry, "delete_image", "alice/hello:1")
    assert deleted == {"name": "alice/hello", "digests": [sha256(archive)], "tags": ["1", "latest"]}
    assert [m for m, *_ in registry.seen] == ["PUT", "PUT", "GET", "GET", "GET", "DELETE"]


@TRANSPORTS
def test_an_api_error_about_an_image_is_a_karvdash_error(registry, call):
    with pytest.raises(KarvdashError) as err:
        call(registry, "push_image", b"archive", "bob/hello:1")
    assert (err.value.status, err.value.reason) == (403, "not-yours")
    with pytest.raises(KarvdashError) as err:
        call(registry, "get_image", "alice/nothing")
    assert (err.value.status, err.value.reason) == (404, "image-not-found")


# -- karvdashctl


def ctl(registry, *argv, capsys, url=None):
    code = cli.main(["--url", url or registry.url, "--token", TOKEN, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def nowhere() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/api/"


def test_push_prints_the_references_the_digest_and_what_was_sent(registry, tmp_path, capsys):
    data = random_file(tmp_path / "hello.tar", 100_000)
    code, out, err = ctl(
        registry, "push", str(tmp_path / "hello.tar"), "alice/hello:1", capsys=capsys
    )
    assert (code, err) == (0, "")  # standard error is not a terminal here: no progress
    assert out.splitlines() == [
        f"pushed $REGISTRY/alice/hello:1 ({HOST}/alice/hello:1)",
        f"digest {sha256(data)}",
        "sent 2 of 2 blobs (0 already in the registry)",
    ]
    pushed = json.loads(
        ctl(
            registry, "--json", "push", str(tmp_path / "hello.tar"), "alice/hello:2", capsys=capsys
        )[1]
    )
    assert (pushed["digest"], pushed["blobs"]["existing"]) == (sha256(data), 2)


def test_push_shows_its_progress_on_a_terminal(registry, tmp_path, capsys, monkeypatch):
    random_file(tmp_path / "hello.tar", 10 * PIECE)
    monkeypatch.setattr(imagecommands.sys.stderr, "isatty", lambda: True, raising=False)
    code, _, err = ctl(
        registry, "push", str(tmp_path / "hello.tar"), "alice/hello:1", capsys=capsys
    )
    assert code == 0
    shown = [part.split(": ")[1].split(",")[0] for part in err.split("\r")[1:]]
    assert shown == [f"{n}%" for n in range(10, 101, 10)]
    assert err.endswith(": 100%, the dashboard checks it and pushes it to the registry...\n")


def test_push_reads_standard_input_for_dash(registry, capsys, monkeypatch):
    data = os.urandom(3 * PIECE)

    class Stdin:
        buffer = io.BytesIO(data)

    monkeypatch.setattr("sys.stdin", Stdin())
    code, out, _ = ctl(registry, "push", "-", "alice/piped:1", capsys=capsys)
    assert code == 0 and f"digest {sha256(data)}" in out


@pytest.mark.parametrize(
    "argv, says",
    [
        (["push", "hello.tar", "alice/hello"], "'alice/hello' has no tag: write NAME:TAG"),
        (["push", "hello.tar", "Alice/hello:1"], "'Alice/hello' is not a repository name"),
        (["rmi", "alice/hello"], "alice/hello names no tag: 'rmi alice/hello:TAG' deletes"),
        (["rmi", "alice/hello:1", "alice/x:"], "'' is not a tag"),
        (["tags", "alice/Hello"], "'alice/Hello' is not a repository name"),
    ],
)
def test_a_bad_image_argument_is_an_error_before_any_request(argv, says, capsys):
    code = cli.main(["--url", nowhere(), "--token", TOKEN, *argv])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.startswith(f"karvdashctl: {says}") and err.count("\n") == 1


def test_push_of_a_missing_file_says_so(registry, tmp_path, capsys):
    code, out, err = ctl(registry, "push", str(tmp_path / "no.tar"), "alice/hello:1", capsys=capsys)
    assert (code, out) == (1, "")
    assert err.startswith("karvdashctl: [Errno 2]") and "no.tar" in err
    assert registry.seen == []


def test_push_into_another_users_namespace_is_the_apis_error(registry, tmp_path, capsys):
    random_file(tmp_path / "hello.tar", 1000)
    code, _, err = ctl(registry, "push", str(tmp_path / "hello.tar"), "bob/hello:1", capsys=capsys)
    assert (code, err) == (1, "karvdashctl: you may push to alice/... only\n")
    code, _, err = ctl(
        registry, "--json", "push", str(tmp_path / "hello.tar"), "bob/hello:1", capsys=capsys
    )
    assert json.loads(err)["reason"] == "not-yours"


def push_all(registry, images: dict[str, bytes]):
    for image, data in images.items():
        run_sync(registry, "push_image", data, image)


def test_images_lists_names_and_tags_and_the_registry(registry, capsys):
    code, out, _ = ctl(registry, "images", capsys=capsys)
    assert (code, out) == (
        0,
        f"registry {HOST} ($REGISTRY in templates)\n"
        "no images yet: push one with 'karvdashctl push FILE alice/NAME:TAG'\n",
    )
    push_all(registry, {"alice/hello:1": b"a", "alice/hello:latest": b"a"})
    push_all(registry, {f"alice/many:{n}": bytes([n]) for n in range(6)})
    code, out, _ = ctl(registry, "images", capsys=capsys)
    lines = out.splitlines()
    assert lines[:2] == [f"registry {HOST} ($REGISTRY in templates)", ""]
    assert [line.split(None, 1) for line in lines[2:]] == [
        ["NAME", "TAGS"],
        ["alice/hello", "1, latest"],
        ["alice/many", "0, 1, 2, ... (6 tags)"],
    ]
    listed = json.loads(ctl(registry, "--json", "images", capsys=capsys)[1])
    assert listed["repositories"][1]["tags"] == [str(n) for n in range(6)]


def test_tags_shows_digest_size_created_and_the_reference_for_templates(registry, capsys):
    one, other = os.urandom(3000), os.urandom(2 * MiB)
    push_all(registry, {"alice/hello:1": one, "alice/hello:2": other})
    code, out, _ = ctl(registry, "tags", "alice/hello", capsys=capsys)
    created = datetime.fromisoformat(CREATED).astimezone().strftime("%Y-%m-%d %H:%M")
    rows = [line.split("  ") for line in out.splitlines()]
    rows = [[cell.strip() for cell in row if cell.strip()] for row in rows]
    assert code == 0
    assert rows == [
        ["TAG", "DIGEST", "SIZE", "CREATED", "REFERENCE"],
        ["1", sha256(one)[:19], "2.9 KiB", created, "$REGISTRY/alice/hello:1"],
        ["2", sha256(other)[:19], "2.0 MiB", created, "$REGISTRY/alice/hello:2"],
    ]
    assert (
        ctl(registry, "tags", "alice/hello:2", capsys=capsys)[1].splitlines()[1:]
        == (out.splitlines()[2:])
    )
    code, _, err = ctl(registry, "tags", "alice/nothing", capsys=capsys)
    assert (code, err) == (1, "karvdashctl: there is no image 'alice/nothing'\n")


def test_rmi_says_which_tags_went_with_the_image(registry, capsys):
    push_all(registry, {"alice/hello:1": b"a", "alice/hello:latest": b"a", "alice/hello:2": b"b"})
    code, out, _ = ctl(registry, "rmi", "alice/hello:1", "alice/hello:latest", capsys=capsys)
    assert code == 0
    assert out.splitlines() == [
        "deleted alice/hello:1",
        "  and with it alice/hello:latest (tags of the same image)",
    ]
    # latest went with 1: it was not asked for again
    assert [(m, p) for m, p, _ in registry.seen if m == "DELETE"] == [
        ("DELETE", "images/alice/hello:1")
    ]
    assert sorted(registry.repositories["alice/hello"]) == ["2"]


def test_rmi_of_a_whole_repository_needs_all_tags(registry, capsys):
    push_all(registry, {"alice/hello:1": b"a", "alice/hello:2": b"b"})
    code, _, err = ctl(registry, "rmi", "alice/hello", capsys=capsys)
    assert code == 1 and "--all-tags" in err and registry.repositories["alice/hello"]
    removed = json.loads(
        ctl(registry, "--json", "rmi", "--all-tags", "alice/hello", capsys=capsys)[1]
    )
    assert [(r["asked"], r["tags"]) for r in removed] == [("alice/hello", ["1", "2"])]
    assert registry.seen[-1][:2] == ("DELETE", "images/alice/hello")
    push_all(registry, {"alice/hello:1": b"a"})
    out = ctl(registry, "rmi", "--all-tags", "alice/hello", capsys=capsys)[1]
    assert out == "deleted alice/hello with all its tags: 1\n"


def test_rmi_that_fails_half_way_says_what_it_deleted_before(registry, capsys):
    push_all(registry, {"alice/hello:1": b"a"})
    code, out, err = ctl(registry, "rmi", "alice/hello:1", "alice/hello:9", capsys=capsys)
    assert (code, out) == (1, "")
    assert err == (
        "karvdashctl: there is no image 'alice/hello' (deleted before that: alice/hello:1)\n"
    )
    assert registry.repositories["alice/hello"] == {}
