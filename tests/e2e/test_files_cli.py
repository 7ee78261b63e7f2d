"""karvdashctl's file commands end to end: the real hub, proxy and dashboard service of the
embedded default, real tokens of two users and an admin, karvdashctl as a process (as a
user runs it), the files on the dashboard's storage."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from karvdash_labext.client import KarvdashClient

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
MiB = 1 << 20


def names(listing: dict) -> set[str]:
    return {e["name"] for e in listing["entries"]}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_files_go_up_come_back_and_move_around_with_karvdashctl(ctl):
    work = ctl.work
    (work / "results.csv").write_bytes(b"a,b\n1,2\n")
    tree = work / "data"
    (tree / "sub").mkdir(parents=True)
    (tree / "empty").mkdir()
    (tree / "a.txt").write_text("hello, files\n")
    (tree / "sub" / "b.bin").write_bytes(os.urandom(300_000))
    expected = {
        "a.txt": (tree / "a.txt").read_bytes(),
        "sub/b.bin": (tree / "sub/b.bin").read_bytes(),
    }

    # up: a file into a folder, a folder with what it holds
    out = ctl("put", "results.csv", "/private/").stdout
    assert out == "uploaded /private/results.csv (8 B)\n"
    out = ctl("put", "data", "/private/").stdout.splitlines()
    assert "made /private/data/" in out and "uploaded /private/data/sub/b.bin (293.0 KiB)" in out
    assert "put it into" in ctl("put", "results.csv", "/private/data", ok=False).stderr

    # listed: a table for people, the entries as JSON
    table = ctl("ls", "/private").stdout.splitlines()
    assert table[0].split() == ["TYPE", "SIZE", "MODIFIED", "NAME"]
    rows = {line.split()[-1]: line.split()[0] for line in table[1:]}
    assert rows["data/"] == "folder" and rows["results.csv"] == "file"
    listing = json.loads(ctl("--json", "ls", "/private/data").stdout)
    assert names(listing) == {"a.txt", "sub", "empty"} and listing["total"] == 3
    assert json.loads(ctl("--json", "ls", "/private/data/a.txt").stdout)["size"] == 13

    # back: the same bytes
    ctl("get", "/private/results.csv", "-o", "back/results.csv")
    assert (work / "back" / "results.csv").read_bytes() == b"a,b\n1,2\n"
    out = ctl("get", "/private/data/sub/b.bin", "-o", "back/").stdout
    assert out.startswith("downloaded /private/data/sub/b.bin to back/b.bin")
    assert (work / "back" / "b.bin").read_bytes() == expected["sub/b.bin"]

    # a folder: its archive (opening into a folder of its name), zip by default or tar.gz
    inside = {f"data/{n}": v for n, v in expected.items()}
    out = ctl("get", "/private/data/").stdout
    assert out.startswith("downloaded /private/data/ to data.zip")
    with zipfile.ZipFile(work / "data.zip") as archive:
        members = set(archive.namelist())
        assert {"data/a.txt", "data/sub/b.bin"} <= members
        assert {"data/sub/", "data/empty/"} <= members
        assert {n: archive.read(n) for n in inside} == inside
    ctl("get", "/private/data/", "-o", "copy.tgz", "--format", "tar.gz")
    with tarfile.open(work / "copy.tgz", "r:gz") as archive:
        assert {"data/a.txt", "data/sub/b.bin", "data/sub", "data/empty"} <= set(archive.getnames())
        assert {n: archive.extractfile(n).read() for n in inside} == inside
        assert archive.getmember("data/empty").isdir()

    # mkdir, mv, cp to /shared, rm -r
    assert ctl("mkdir", "/private/old").stdout == "made /private/old/\n"
    assert "file-exists" in ctl("--json", "mkdir", "/private/old", ok=False).stderr
    assert ctl("mv", "/private/results.csv", "/private/old/").stdout == (
        "moved to /private/old/results.csv\n"
    )
    assert "results.csv" not in names(json.loads(ctl("--json", "ls", "/private").stdout))
    assert "mv moves within" in ctl("mv", "/private/old", "/shared/old", ok=False).stderr
    ctl("cp", "/private/old/results.csv", "/shared/alice-results.csv")
    ctl("cp", "/private/data", "/shared/alice-data")
    ctl("get", "/shared/alice-results.csv", "-o", "shared.csv")
    assert (work / "shared.csv").read_bytes() == b"a,b\n1,2\n"
    assert names(json.loads(ctl("--json", "ls", "/shared/alice-data").stdout)) == {
        "a.txt",
        "sub",
        "empty",
    }
    error = json.loads(ctl("--json", "rm", "/private/old", ok=False).stderr)
    assert (error["status"], error["reason"]) == (409, "folder-not-empty")
    assert ctl("rm", "-r", "/private/old").stdout == "removed /private/old\n"
    assert names(json.loads(ctl("--json", "ls", "/private").stdout)) == {"data"}
    for shared in ("/shared/alice-results.csv", "/shared/alice-data"):
        ctl("rm", "-r", shared)
    ctl("rm", "-r", "/private/data")
    assert json.loads(ctl("--json", "ls", "/private").stdout)["entries"] == []


def test_a_large_file_goes_up_in_resumable_chunks_and_comes_back_whole(ctl, hub, tokens):
    big = ctl.work / "big.bin"
    with open(big, "wb") as out:
        for _ in range(40):
            out.write(os.urandom(MiB))
    out = ctl("put", "big.bin", "/private/").stdout
    assert out == "uploaded /private/big.bin (40.0 MiB)\n"
    ctl("get", "/private/big.bin", "-o", "back.bin")
    assert digest(ctl.work / "back.bin") == digest(big)
    listing = json.loads(ctl("--json", "ls", "/private").stdout)
    assert names(listing) == {"big.bin"}  # nothing of the upload's own left in sight

    # what karvdashctl's put did, seen on the calls of the same client
    sent = []

    class Seeing(KarvdashClient):
        def _send(self, call):
            sent.append((call.method, call.path.split("/")[0]))
            return super()._send(call)

    with Seeing(url=hub.url + "/services/karvdash/api/", token=tokens["alice"]) as client:
        entry = client.put(big, "private", "again.bin")
        assert (entry["size"], client.chunk_size) == (40 * MiB, 8 * MiB)
        sink = io.BytesIO()
        client.download_file("private", "again.bin", sink)
        assert hashlib.sha256(sink.getvalue()).hexdigest() == digest(big)
        client.delete_file("private", "again.bin")
    assert sent[:6] == [("POST", "uploads")] + [("PATCH", "uploads")] * 5
    ctl("rm", "/private/big.bin")


def test_only_an_admin_reaches_another_users_private_files(ctl):
    (ctl.work / "note.txt").write_text("alice's\n")
    ctl("put", "note.txt", "/private/")
    try:
        error = json.loads(
            ctl("--json", "--user", "alice", "ls", "/private", who="bob", ok=False).stderr
        )
        assert (error["status"], error["reason"]) == (404, "not-found")
        assert "note.txt" not in ctl("ls", "/private", who="bob").stdout
        listed = ctl("--user", "alice", "ls", "/private", who="admin").stdout
        assert "note.txt" in listed
    finally:
        ctl("rm", "/private/note.txt")
