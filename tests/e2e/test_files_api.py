"""The Files API end to end: real hub, proxy and dashboard processes, real tokens, the
real disk. Confinement (an attack corpus of paths and names, symbolic links out of the
domain, a link swapped in while requests run), all-or-nothing writes (a dropped upload,
concurrent uploads, a full disk), resumable uploads, downloads with ranges and archives,
and the dashboard's memory while 2 GiB go up and down."""

from __future__ import annotations

import ctypes
import hashlib
import http.client
import io
import json as jsonlib
import os
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import pytest
import requests
from support.browser import Api, approve, token_for
from support.cluster import wait_for
from support.parts import missing_part

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

MiB = 1 << 20
SECRET = b"BOB-SECRET-7f3a"
OUTSIDE = b"OUTSIDE-THE-DOMAINS-91c2"
ATTACK = b"ATTACK-PAYLOAD-5d1e"


@pytest.fixture(scope="module")
def users(hub):
    approve(hub, "alice", "alice-secret-9")
    approve(hub, "bob", "bob-secret-99")
    return {
        "alice": Api(hub, token_for(hub, "alice", "alice-secret-9")),
        "bob": Api(hub, token_for(hub, "bob", "bob-secret-99")),
        "admin": Api(hub, token_for(hub, "admin", hub.admin_password)),
    }


@pytest.fixture(scope="module")
def spec(hub):
    return requests.get(hub.url + "/services/karvdash/api/openapi.json", timeout=30).json()


def check(spec, r, method, path):
    """The answer is one the OpenAPI document gives for this operation, in its shape."""
    op = spec["paths"][path][method]
    documented = op["responses"].get(str(r.status_code)) or op["responses"]["default"]
    content = documented.get("content")
    if not content:
        assert not r.content, (r.status_code, r.text)
        return
    if r.headers.get("Content-Type", "").startswith("application/json"):
        schema = {**content["application/json"]["schema"], "components": spec["components"]}
        jsonschema.validate(r.json(), schema)
    else:
        assert "application/octet-stream" in content, (r.status_code, r.headers)


@pytest.fixture(scope="module")
def roots(hub, users):
    """Where the domains are on disk, after each user's folder exists (their first call)."""
    for api in users.values():
        assert api("GET", "files/private/").status_code == 200
    files = Path(hub.state) / "files"
    return {
        "alice": files / "private" / "alice",
        "bob": files / "private" / "bob",
        "shared": files / "shared",
        "state": Path(hub.state),
    }


def test_a_user_writes_lists_reads_and_organizes_their_files(users, roots, spec):
    alice = users["alice"]
    r = alice("PUT", "files/private/notes/today.txt?parents=1", data=b"hello\n")
    assert r.status_code == 201, r.text
    check(spec, r, "put", "/files/{domain}/{path}")
    assert r.json()["type"] == "file" and r.json()["size"] == 6
    assert (roots["alice"] / "notes" / "today.txt").read_bytes() == b"hello\n"
    assert (roots["alice"] / "notes" / "today.txt").stat().st_mode & 0o777 == 0o644
    # without overwrite an existing name is refused; with it, replaced (200)
    r = alice("PUT", "files/private/notes/today.txt", data=b"again")
    assert r.status_code == 409 and r.json()["reason"] == "file-exists"
    r = alice("PUT", "files/private/notes/today.txt?overwrite=1", data=b"again\n")
    assert r.status_code == 200 and r.json()["size"] == 6
    # a missing parent folder is a 404 unless asked to make it
    r = alice("PUT", "files/private/nowhere/x.txt", data=b"x")
    assert r.status_code == 404 and r.json()["reason"] == "not-found"

    r = alice("POST", "files/private/notes/old", json={"action": "mkdir"})
    assert r.status_code == 201 and r.json()["type"] == "folder"
    check(spec, r, "post", "/files/{domain}/{path}")
    r = alice("POST", "files/private/notes/old", json={"action": "mkdir"})
    assert r.status_code == 409 and r.json()["reason"] == "file-exists"
    r = alice("POST", "files/private/notes/old", json={"action": "mkdir", "parents": True})
    assert r.status_code == 200

    listing = alice("GET", "files/private/notes")
    check(spec, listing, "get", "/files/{domain}/{path}")
    body = listing.json()
    assert body["type"] == "folder" and body["total"] == 2
    assert [e["name"] for e in body["entries"]] == ["old", "today.txt"]  # folders first

    r = alice(
        "POST", "files/private/notes/today.txt", json={"action": "move", "to": "notes/old/t.txt"}
    )
    assert r.status_code == 200 and r.json()["path"] == "notes/old/t.txt"
    assert not (roots["alice"] / "notes" / "today.txt").exists()
    r = alice("POST", "files/private/notes", json={"action": "move", "to": "notes/old/inside"})
    assert r.status_code == 400 and r.json()["reason"] == "bad-path"

    r = alice(
        "POST",
        "files/private/notes",
        json={"action": "copy", "to_domain": "shared", "to": "alice-notes"},
    )
    assert r.status_code == 201, r.text
    assert (roots["shared"] / "alice-notes" / "old" / "t.txt").read_bytes() == b"again\n"
    # everyone sees the shared copy; nobody else sees alice's private files
    shared = users["bob"]("GET", "files/shared/alice-notes/old").json()
    assert [e["name"] for e in shared["entries"]] == ["t.txt"]
    r = users["bob"]("GET", "files/private/notes")
    assert r.status_code == 404

    r = alice("DELETE", "files/private/notes")
    assert r.status_code == 409 and r.json()["reason"] == "folder-not-empty"
    r = alice("DELETE", "files/private/notes?recursive=1")
    assert r.status_code == 204 and not r.content
    check(spec, r, "delete", "/files/{domain}/{path}")
    assert not (roots["alice"] / "notes").exists()
    r = alice("DELETE", "files/private/")
    assert r.status_code == 400 and r.json()["reason"] == "bad-path"
    assert alice("DELETE", "files/shared/alice-notes?recursive=1").status_code == 204


def test_another_users_private_files_are_404_and_admins_reach_them(users, roots):
    (roots["bob"] / "secret.txt").write_bytes(SECRET)
    alice, admin = users["alice"], users["admin"]
    for method, path in [
        ("GET", "files/private/?user=bob"),
        ("GET", "files/private/secret.txt?user=bob"),
        ("GET", "files/private/secret.txt?user=bob&download=1"),
        ("PUT", "files/private/x.txt?user=bob"),
        ("DELETE", "files/private/secret.txt?user=bob"),
    ]:
        r = alice(method, path, data=ATTACK if method == "PUT" else None)
        assert r.status_code == 404, (method, path, r.status_code)
        assert SECRET not in r.content
    assert not (roots["bob"] / "x.txt").exists() and (roots["bob"] / "secret.txt").exists()
    r = admin("GET", "files/private/secret.txt?user=bob&download=1")
    assert r.status_code == 200 and r.content == SECRET
    r = admin("GET", "files/private/?user=nobody-such")
    assert r.status_code == 404 and r.json()["reason"] == "no-such-user"


def _attack_links(root: Path, roots) -> None:
    """Links in alice's folder that lead out of it (made again before each attack)."""
    for name, target in {
        "to-root": "/",
        "to-bob": "../bob",
        "abs-bob": str(roots["bob"]),
        "up": "..",
        "deep": "a/../../../..",
        "loop": "loop",
        "to-state": "../../..",
    }.items():
        link = root / name
        if link.is_symlink() and os.readlink(link) == target:
            continue
        if link.is_dir() and not link.is_symlink():
            shutil.rmtree(link)
        elif link.exists() or link.is_symlink():
            link.unlink()
        os.symlink(target, link)


#: raw paths after files/private/ (as they go on the wire), each naming something it must
#: not reach or cannot be a name
CORPUS = [
    "..%2Fbob%2Fsecret.txt",
    "..%2F..%2F..%2Foutside.txt",
    "%2E%2E/bob/secret.txt",
    "%2e%2e%2fbob%2fsecret.txt",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "a/%2E%2E/%2E%2E/bob/secret.txt",
    "..",
    "../",
    ".",
    "./..",
    "a/./b",
    "a//b",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "..%5Cbob%5Csecret.txt",
    "%5C..%5Cbob",
    "a%5Cb",
    "secret%00.txt",
    "%00",
    "a%00/../../bob",
    "name%0A",
    "x%0D%0ASet-Cookie:%20a=b",
    "%1B%5B31m",
    "del%7F",
    "c1%C2%85",
    "%FF%FE",
    "%C0%AE%C0%AE/bob/secret.txt",
    "%C0%AF",
    "%ED%A0%80",
    "%E0%80%AE%E0%80%AE",
    "a" * 256,
    "b/" * 2100 + "c",
    ".karvdash-upload-abc",
    ".karvdash-upload-abc.part",
    "to-root/etc/passwd",
    "to-root",
    "to-bob/secret.txt",
    "to-bob",
    "abs-bob/secret.txt",
    "up/bob/secret.txt",
    "up",
    "deep/etc/passwd",
    "loop",
    "loop/x",
    "to-state/outside.txt",
    "to-bob/../bob/secret.txt",
]


def _everything_outside(roots) -> dict[str, bytes]:
    """Every file of the domains but alice's folder (and what she copied of it to shared,
    'stolen'), and the file planted beside them."""
    stolen = roots["shared"] / "stolen"
    found = {str(roots["state"] / "outside.txt"): (roots["state"] / "outside.txt").read_bytes()}
    for folder, _, names in os.walk(roots["state"] / "files"):
        if Path(folder).is_relative_to(roots["alice"]) or Path(folder).is_relative_to(stolen):
            continue
        for name in names:
            path = Path(folder) / name
            if not path.is_symlink():
                found[str(path)] = path.read_bytes()
    return found


class Raw:
    """Requests sent as written (http.client): no client normalizes '..' or '%2e' away."""

    def __init__(self, hub, api: Api, direct=False):
        url = urlparse(hub.dashboard_url if direct else hub.url)
        self.host, self.port = url.hostname, url.port
        self.headers = dict(api.headers)

    def __call__(self, method, path, data=None, json=None):
        headers = dict(self.headers)
        if json is not None:
            data = jsonlib.dumps(json).encode()
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, "/services/karvdash/api/" + path, body=data, headers=headers)
            r = conn.getresponse()
            return RawAnswer(r.status, r.read())
        finally:
            conn.close()


class RawAnswer:
    def __init__(self, status, content):
        self.status_code, self.content = status, content
        self.text = content.decode(errors="replace")


def test_an_attack_corpus_of_paths_reads_and_writes_nothing_outside_the_domain(hub, users, roots):
    assert len(CORPUS) >= 40
    (roots["bob"] / "secret.txt").write_bytes(SECRET)
    (roots["state"] / "outside.txt").write_bytes(OUTSIDE)
    before = _everything_outside(roots)
    # through the proxy (which resolves '..' and refuses some encodings itself), and
    # straight to the dashboard, as a pod of the cluster reaches it
    through_proxy, direct = Raw(hub, users["alice"]), Raw(hub, users["alice"], direct=True)
    for raw in CORPUS:
        for alice in (through_proxy, direct):
            _attack_links(roots["alice"], roots)
            url = "files/private/" + raw
            answers = [
                alice("GET", url),
                alice("GET", url + "?download=1"),
                alice("GET", url + "?download=1&format=tar.gz"),
                alice("PUT", url + "?overwrite=1&parents=1", data=ATTACK),
                alice("POST", url, json={"action": "mkdir", "parents": True}),
                alice("POST", url, json={"action": "copy", "to_domain": "shared", "to": "stolen"}),
                alice("DELETE", url + "?recursive=1"),
            ]
            for i, r in enumerate(answers):
                assert SECRET not in r.content and OUTSIDE not in r.content, raw
                assert b"root:x:0:0" not in r.content, raw
                if alice is direct:
                    assert r.status_code < 500, (raw, i, r.status_code, r.text)
            if alice is direct:  # every path of the corpus was refused when read
                assert answers[0].status_code in (400, 403, 404), (raw, answers[0].text)
                assert answers[1].status_code in (400, 403, 404), (raw, answers[1].text)
    alice = direct
    # the destination of a move or copy is held to the same rules
    _attack_links(roots["alice"], roots)
    (roots["alice"] / "mine.txt").write_bytes(b"mine")
    for to in [
        "../bob/x",
        "/etc/x",
        "to-bob/x",
        "abs-bob/x",
        "up/x",
        "a/../../x",
        "x\x00",
        "to-root/tmp/x",
    ]:
        for action in ("move", "copy"):
            r = alice("POST", "files/private/mine.txt", json={"action": action, "to": to})
            assert r.status_code in (400, 403, 404), (action, to, r.status_code, r.text)
    # nothing outside alice's folder changed, and no attack payload landed anywhere else
    assert _everything_outside(roots) == before
    # what was copied (alice's own files: the proxy resolves '..' to her root) is hers only
    for folder, _, names in os.walk(roots["shared"] / "stolen"):
        for name in names:
            data = (Path(folder) / name).read_bytes()
            assert SECRET not in data and OUTSIDE not in data
    assert (roots["bob"] / "secret.txt").read_bytes() == SECRET


def test_a_link_swapped_in_while_requests_run_is_never_followed_out(users, roots):
    """A folder and a link to bob's folder trade places as fast as the kernel can
    (renameat2 RENAME_EXCHANGE) while alice reads and writes through that name."""
    alice_root, bob_root = roots["alice"], roots["bob"]
    (bob_root / "f.txt").write_bytes(SECRET)
    safe = alice_root / "race-dir"
    safe.mkdir(exist_ok=True)
    (safe / "f.txt").write_bytes(b"ALICE-OK")
    if not (alice_root / "race").exists():
        os.symlink("../bob", alice_root / "race-link")
        os.rename(safe, alice_root / "race")
        os.rename(alice_root / "race-link", safe)  # race = folder, race-dir = link
    libc = ctypes.CDLL(None, use_errno=True)
    stop = threading.Event()
    swaps = [0]

    def swap():
        a, b = os.fsencode(alice_root / "race"), os.fsencode(safe)
        while not stop.is_set():
            assert libc.renameat2(-100, a, -100, b, 2) == 0, ctypes.get_errno()
            swaps[0] += 1

    swapper = threading.Thread(target=swap)
    swapper.start()
    outcomes = []
    try:
        for i in range(150):
            r = users["alice"]("GET", "files/private/race/f.txt?download=1")
            assert SECRET not in r.content
            outcomes.append(r.status_code)
            r = users["alice"]("PUT", f"files/private/race/w{i}.txt", data=ATTACK)
            outcomes.append(r.status_code)
            assert r.status_code in (201, 403), r.text
    finally:
        stop.set()
        swapper.join()
    assert swaps[0] > 1000
    assert 200 in outcomes and 403 in outcomes  # both sides of the race were seen
    assert not [p for p in bob_root.iterdir() if p.name.startswith("w")]


def _raw_put(hub, token: str, path: str, length: int, send: int) -> None:
    """A PUT that announces ``length`` bytes, sends ``send`` and drops the connection."""
    url = urlparse(hub.url)
    with socket.create_connection((url.hostname, url.port)) as s:
        s.sendall(
            (
                f"PUT /services/karvdash/api/{path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                f"Authorization: token {token}\r\nContent-Length: {length}\r\n\r\n"
            ).encode()
        )
        block = b"x" * MiB
        for _ in range(send // MiB):
            s.sendall(block)
        time.sleep(0.5)


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".karvdash-upload-")]


def test_an_upload_dropped_midway_leaves_nothing(hub, users, roots):
    token = users["alice"].headers["Authorization"].split()[1]
    _raw_put(hub, token, "files/private/dropped.bin", 64 * MiB, 8 * MiB)
    wait_for(lambda: not _leftovers(roots["alice"]), 15, "the partial upload to be removed")
    assert not (roots["alice"] / "dropped.bin").exists()


def test_concurrent_uploads_to_one_name_do_not_interleave(users, roots):
    alice = users["alice"]
    bodies = [bytes([i]) * (8 * MiB) for i in range(1, 5)]

    def put(body, overwrite):
        return alice(
            "PUT", f"files/private/same.bin{'?overwrite=1' if overwrite else ''}", data=body
        )

    with ThreadPoolExecutor(4) as pool:
        first = list(pool.map(lambda b: put(b, False), bodies))
    assert sorted(r.status_code for r in first) == [201, 409, 409, 409]
    winner = bodies[[r.status_code for r in first].index(201)]
    assert (roots["alice"] / "same.bin").read_bytes() == winner
    with ThreadPoolExecutor(4) as pool:
        second = list(pool.map(lambda b: put(b, True), bodies))
    assert all(r.status_code == 200 for r in second)
    assert (roots["alice"] / "same.bin").read_bytes() in bodies  # one whole body, not a mix
    assert not _leftovers(roots["alice"])


def test_downloads_stream_with_ranges_types_and_safe_dispositions(users):
    alice = users["alice"]
    data = bytes(range(256)) * 4096  # 1 MiB
    assert alice("PUT", "files/private/ranged.bin?overwrite=1", data=data).status_code in (200, 201)
    r = alice("GET", "files/private/ranged.bin?download=1")
    assert r.content == data and r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Security-Policy"] == "sandbox"
    r = alice("GET", "files/private/ranged.bin?download=1", headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == data[100:200]
    assert r.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    r = alice("GET", "files/private/ranged.bin?download=1", headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == data[-10:]
    r = alice(
        "GET", "files/private/ranged.bin?download=1", headers={"Range": f"bytes={len(data)}-"}
    )
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{len(data)}"
    # a page in the service's origin must never render uploaded HTML or SVG
    page = b"<script>alert(1)</script>"
    for name in ("page.html", "pic.svg"):
        assert alice("PUT", f"files/private/{name}?overwrite=1", data=page).status_code in (
            200,
            201,
        )
        r = alice("GET", f"files/private/{name}?download=1&inline=1")
        assert r.headers["Content-Type"] == "text/plain; charset=utf-8" or (
            r.headers["Content-Disposition"].startswith("attachment;")
        ), r.headers
    r = alice("GET", "files/private/page.html?download=1&inline=1")
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    name = 'résumé \u202e"quoted";.txt'
    assert (
        alice("PUT", f"files/private/{requests.utils.quote(name)}", data=b"cv").status_code == 201
    )
    r = alice("GET", f"files/private/{requests.utils.quote(name)}?download=1")
    disposition = r.headers["Content-Disposition"]
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%80%AE%22quoted%22%3B.txt" in disposition
    assert "\n" not in disposition and r.content == b"cv"


def test_a_folder_downloads_as_a_zip_or_tar_gz_with_its_content(users):
    alice = users["alice"]
    files = {"pack/a.txt": b"A" * 1000, "pack/sub/b.csv": b"x,y\n1,2\n", "pack/sub/deep/c": b""}
    for path, data in files.items():
        assert alice("PUT", f"files/private/{path}?parents=1&overwrite=1", data=data).ok
    assert alice("POST", "files/private/pack/empty", json={"action": "mkdir"}).status_code == 201
    r = alice("GET", "files/private/pack?download=1")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    assert "pack.zip" in r.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    # it opens into a folder of its name, as archives of a folder usually do
    assert {n: archive.read(n) for n in archive.namelist() if not n.endswith("/")} == files
    assert {"pack/", "pack/empty/", "pack/sub/deep/"} <= set(archive.namelist())
    r = alice("GET", "files/private/pack?download=1&format=tar.gz")
    assert r.headers["Content-Type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        got = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    assert got == files
    r = alice("GET", "files/private/pack?download=1&format=rar")
    assert r.status_code == 400


def test_a_big_folder_lists_in_sorted_pages(users, roots):
    big = roots["alice"] / "big"
    big.mkdir(exist_ok=True)
    for i in range(2500):
        (big / f"f{i:05d}.dat").write_bytes(b"x" * (i % 7))
    alice = users["alice"]
    first = alice("GET", "files/private/big?limit=1000").json()
    assert first["total"] == 2500 and len(first["entries"]) == 1000
    rest = alice("GET", "files/private/big?offset=1000&limit=5000").json()["entries"]
    names = [e["name"] for e in first["entries"] + rest]
    assert names == sorted(names) and len(set(names)) == 2500
    desc = alice("GET", "files/private/big?sort=size&order=desc&limit=5").json()["entries"]
    assert [e["size"] for e in desc] == [6] * 5
    assert alice("GET", "files/private/big?limit=0").status_code == 400
    assert alice("GET", "files/private/big?sort=color").status_code == 400


def test_a_resumable_upload_survives_a_dropped_chunk_and_lands_whole(hub, users, roots, spec):
    alice, bob = users["alice"], users["bob"]
    data = os.urandom(3 * MiB + 123)
    r = alice(
        "POST",
        "uploads",
        json={"domain": "private", "path": "resumed/r.bin", "size": len(data), "parents": True},
    )
    assert r.status_code == 201, r.text
    check(spec, r, "post", "/uploads")
    upload = r.json()
    assert upload["offset"] == 0
    uid = upload["id"]
    r = alice("PATCH", f"uploads/{uid}", data=data[:MiB], headers={"Upload-Offset": "0"})
    assert r.status_code == 200 and r.json()["offset"] == MiB
    check(spec, r, "patch", "/uploads/{id}")
    # a chunk at the wrong offset says where the server is
    r = alice("PATCH", f"uploads/{uid}", data=data[:10], headers={"Upload-Offset": "5"})
    assert (
        r.status_code == 409
        and r.json()["reason"] == "offset-mismatch"
        and r.json()["offset"] == MiB
    )
    # a chunk whose connection drops half-way: what arrived is kept, the client resumes
    token = alice.headers["Authorization"].split()[1]
    url = urlparse(hub.url)
    with socket.create_connection((url.hostname, url.port)) as s:
        s.sendall(
            (
                f"PATCH /services/karvdash/api/uploads/{uid} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                f"Authorization: token {token}\r\nUpload-Offset: {MiB}\r\n"
                f"Content-Length: {MiB}\r\n\r\n"
            ).encode()
            + data[MiB : MiB + MiB // 2]
        )
        time.sleep(1)
    wait_for(lambda: alice("GET", f"uploads/{uid}").status_code == 200, 15, "the upload")
    offset = alice("GET", f"uploads/{uid}").json()["offset"]
    assert MiB <= offset <= MiB + MiB // 2
    assert not (roots["alice"] / "resumed" / "r.bin").exists()
    # another user cannot see or feed it; a forged id is no upload
    assert bob("GET", f"uploads/{uid}").status_code == 404
    assert (
        bob(
            "PATCH", f"uploads/{uid}", data=b"x", headers={"Upload-Offset": str(offset)}
        ).status_code
        == 404
    )
    assert alice("GET", "uploads/" + uid[:-2] + "AA").status_code == 404
    # past the size: refused
    r = alice(
        "PATCH",
        f"uploads/{uid}",
        data=data[offset:] + b"extra",
        headers={"Upload-Offset": str(offset)},
    )
    assert r.status_code == 413
    offset = alice("GET", f"uploads/{uid}").json()["offset"]
    r = alice("PATCH", f"uploads/{uid}", data=data[offset:], headers={"Upload-Offset": str(offset)})
    assert r.status_code == 201, r.text
    assert r.json()["file"]["path"] == "resumed/r.bin"
    assert (roots["alice"] / "resumed" / "r.bin").read_bytes() == data
    assert not _leftovers(roots["alice"] / "resumed")
    assert alice("GET", f"uploads/{uid}").status_code == 404  # finished
    # cancel
    uid = alice("POST", "uploads", json={"domain": "shared", "path": "c.bin", "size": 10}).json()[
        "id"
    ]
    assert alice("PATCH", f"uploads/{uid}", data=b"12345", headers={"Upload-Offset": "0"}).ok
    r = alice("DELETE", f"uploads/{uid}")
    assert r.status_code == 204
    check(spec, r, "delete", "/uploads/{id}")
    assert not _leftovers(roots["shared"]) and not (roots["shared"] / "c.bin").exists()


def test_a_full_disk_is_a_clear_507_with_nothing_left_behind(users, roots):
    """The shared domain on a 4 MiB tmpfs for this test."""
    shared = roots["shared"]
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(shared)], check=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as err:
        missing_part(f"mounting a small tmpfs (root and mount): {err}")
    try:
        alice = users["alice"]
        r = alice("PUT", "files/shared/big.bin", data=b"x" * (6 * MiB))  # announced: refused early
        assert r.status_code == 507 and r.json()["reason"] == "insufficient-storage", r.text
        r = alice(
            "PUT", "files/shared/big.bin", data=iter([b"y" * MiB] * 6)
        )  # chunked: found on write
        assert r.status_code == 507 and r.json()["reason"] == "insufficient-storage", r.text
        r = alice("POST", "uploads", json={"domain": "shared", "path": "u.bin", "size": 6 * MiB})
        assert r.status_code == 507
        assert list(shared.iterdir()) == []
    finally:
        subprocess.run(["umount", str(shared)], check=True)


class Stream:
    """``size`` bytes of a repeated random block, with a length (so requests sends a
    Content-Length) and a digest of what was read."""

    def __init__(self, size: int):
        self.size, self.left = size, size
        self.block = os.urandom(MiB)
        self.digest = hashlib.sha256()

    def __len__(self):
        return self.left

    def read(self, n=-1):
        n = min(MiB if n is None or n < 0 else n, self.left, MiB)
        piece = self.block[:n]
        self.left -= n
        self.digest.update(piece)
        return piece


def test_two_gib_go_up_and_down_with_the_dashboards_memory_bounded(hub, users, roots):
    alice = users["alice"]
    size = 2 << 30
    body = Stream(size)
    r = alice("PUT", "files/private/two-gib.bin?overwrite=1", data=body)
    assert r.status_code in (200, 201), r.text
    assert (roots["alice"] / "two-gib.bin").stat().st_size == size
    down = hashlib.sha256()
    got = 0
    with requests.get(
        alice.base + "files/private/two-gib.bin?download=1",
        headers=alice.headers,
        stream=True,
        timeout=120,
    ) as r:
        assert r.status_code == 200
        for piece in r.iter_content(MiB):
            down.update(piece)
            got += len(piece)
    assert got == size and down.digest() == body.digest.digest()
    peak = hub.dashboard_peak_mb()
    print(f"dashboard peak resident memory after 2 GiB up and down: {peak:.0f} MB")
    assert peak < 200
    (roots["alice"] / "two-gib.bin").unlink()
