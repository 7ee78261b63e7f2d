"""The file store on a real filesystem (a tmp_path each): walking beneath a root (links, FIFOs,
swaps), uploads, folder operations, archives. A test that blocks fails after 10 s."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import stat
import subprocess
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from karvdash_hub import archive, confined
from karvdash_hub.errors import ApiError
from karvdash_hub.filestore import FileStore
from karvdash_hub.rules.files import RESERVED_PREFIX, partial_name
from karvdash_hub.userfiles import UserFiles

pytestmark = pytest.mark.timeout(10, method="signal")

USER = "ada"
# as root (the hub's pod), the notebook's user; else oneself, which anyone can chown to
OWNER = (1000, 100) if os.geteuid() == 0 else (os.getuid(), os.getgid())
#: what a hostile tree holds that a copy, an archive or a listing shows
REGULAR = {"a.txt": b"A", "empty/": None, "sub/": None, "sub/b.bin": b"B" * 10}


@pytest.fixture
def store(tmp_path) -> FileStore:
    for folder in ("shared", "outside"):
        (tmp_path / folder).mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret")
    roots = {"private_root": str(tmp_path / "private"), "shared_root": str(tmp_path / "shared")}
    files = UserFiles(**roots, folder_owner="{}:{}".format(*OWNER))
    return FileStore(files=files, upload_expiry_seconds=60)


@pytest.fixture
def shared(store) -> Path:
    return Path(store.files.shared_root)


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(ApiError) as err:
        call(*args, **kwargs)
    return err.value.reason


def owner_and_mode(path: Path) -> tuple:
    st = path.lstat()
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def hostile_tree(folder: Path, outside: Path) -> None:
    """REGULAR, links (inside, outside, to a folder), a FIFO, an upload, a non-UTF-8 name."""
    folder.mkdir(exist_ok=True)
    for name, content in REGULAR.items():
        (folder / name).mkdir() if content is None else (folder / name).write_bytes(content)
    os.symlink("a.txt", folder / "link-in")
    os.symlink(outside, folder / "link-out")
    os.symlink("sub", folder / "link-dir")
    os.mkfifo(folder / "pipe")
    (folder / partial_name("0f")).write_bytes(b"partial")
    Path(os.fsdecode(os.fsencode(folder) + b"/bad-\xff")).write_bytes(b"?")


def tree(folder: Path) -> dict:
    """Everything under ``folder``: content, None for a folder, or what else it is."""
    found = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[name] = "link"
        elif path.is_dir():
            found[name + "/"] = None
        else:
            found[name] = path.read_bytes() if path.is_file() else "special"
    return found


def upload(store, path, data=b"data", **kwargs) -> dict:
    up = store.begin_upload("shared", USER, path, **kwargs)
    up.write(data)
    return up.commit()


def under(top: str, entries: dict) -> dict:
    return {top + "/": None} | {f"{top}/{name}": value for name, value in entries.items()}


def contents(data: bytes | int, fmt: str, top: str) -> dict:
    """Names and contents (None: a folder) of an archive or an open folder's (closed here)."""
    if isinstance(data, int):
        sink = io.BytesIO()
        archive.write_archive(data, fmt, sink, top)
        os.close(data)
        data = sink.getvalue()
    if fmt == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return {n: None if n.endswith("/") else z.read(n) for n in z.namelist()}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
        return files | {m.name + "/": None for m in t.getmembers() if m.isdir()}


def test_a_relative_link_inside_the_domain_is_followed(store, shared):
    (shared / "docs").mkdir()
    (shared / "docs" / "a.txt").write_text("a")
    os.symlink("docs", shared / "here")
    os.symlink("../docs/a.txt", shared / "docs" / "again")
    listed = store.describe("shared", USER, "here")["entries"]
    assert [e["name"] for e in listed] == ["a.txt", "again"]
    fd, st, name = store.open_file("shared", USER, "here/again")
    with os.fdopen(fd, "rb") as f:
        assert (f.read(), st.st_size, name) == (b"a", 1, "again")


@pytest.mark.parametrize("target", ["{outside}", "..", "../outside", "sub/../../outside"])
def test_a_link_that_is_absolute_or_climbs_out_is_refused_as_outside(store, shared, target):
    (shared / "sub").mkdir()
    os.symlink(target.format(outside=shared.parent / "outside"), shared / "way")
    assert refused(store.describe, "shared", USER, "way/secret.txt") == "outside-domain"
    assert refused(store.open_file, "shared", USER, "way/secret.txt") == "outside-domain"
    assert refused(store.begin_upload, "shared", USER, "way/new.txt") == "outside-domain"
    assert tree(shared.parent / "outside") == {"secret.txt": b"secret"}


#: (method, arguments after domain and user, reason) refused in the folder the test makes
REFUSALS = {
    "a loop of links": ("describe", "a", "outside-domain"),
    "a file in the middle of a path": ("describe", "f/x", "not-a-folder"),
    "a link to a file in the middle of a path": ("describe", "to-f/x", "not-a-folder"),
    "a missing folder in a path": ("describe", "missing/x", "not-found"),
    "reading a folder": ("open_file", "d", "is-a-folder"),
    "reading the root": ("open_file", "", "is-a-folder"),
    "an upload over a file": ("begin_upload", "f", "file-exists"),
    "an upload over a folder": ("begin_upload", "d", {"overwrite": True}, "is-a-folder"),
    "an upload to the root": ("begin_upload", "", "bad-path"),
    "an upload in a missing folder": ("begin_upload", "p/q", "not-found"),
    "an upload too big": ("begin_upload", "big", {"size": 1 << 62}, "insufficient-storage"),
    "a folder in a missing folder": ("make_folder", "p/q", "not-found"),
    "a folder that exists": ("make_folder", "d", "file-exists"),
    "a move over a file (NOREPLACE)": ("move", "f", "d/g", "file-exists"),
    "a move over the root": ("move", "f", "", "bad-path"),
    "a move into itself": ("move", "d", "d/e", "bad-path"),
    "a move into itself through a link": ("move", "d", "l/e", "bad-path"),
    "a copy over a file": ("copy", "f", "shared", "d/g", "file-exists"),
    "a copy into itself": ("copy", "d", "shared", "d/e", "bad-path"),
    "a copy of the root into itself": ("copy", "", "shared", "e", "bad-path"),
    "a copy of a FIFO": ("copy", "pipe", "shared", "e", "not-a-file"),
    "deleting a folder that is not empty": ("delete", "d", "folder-not-empty"),
    "deleting the root": ("delete", "", "bad-path"),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_what_cannot_be_done_is_refused_with_its_reason_and_changes_nothing(store, shared, case):
    (shared / "f").write_bytes(b"f")
    (shared / "d").mkdir()
    (shared / "d" / "g").write_bytes(b"g")
    os.mkfifo(shared / "pipe")
    for link, target in {"to-f": "f", "l": "d", "a": "b", "b": "a"}.items():
        os.symlink(target, shared / link)
    call, *args, reason = case
    kwargs = args.pop() if isinstance(args[-1], dict) else {}
    before = tree(shared)
    assert refused(getattr(store, call), "shared", USER, *args, **kwargs) == reason
    assert tree(shared) == before


def test_a_folder_swapped_for_a_link_between_two_calls_cannot_lead_outside(store, shared):
    (shared / "docs").mkdir()
    (shared / "docs" / "kept.txt").write_text("k")
    up = store.begin_upload("shared", USER, "docs/new.txt")
    folder, name = store.open_folder("shared", USER, "docs")
    (shared / "docs").rename(shared / "docs-was")
    os.symlink(shared.parent / "outside", shared / "docs")
    # what was open before the swap stays where it was; what is looked up again is refused
    up.write(b"n")
    up.commit()
    assert contents(folder, "zip", name) == under("docs", {"kept.txt": b"k", "new.txt": b"n"})
    assert refused(store.describe, "shared", USER, "docs") == "outside-domain"
    assert refused(store.open_file, "shared", USER, "docs/secret.txt") == "outside-domain"
    assert refused(store.open_folder, "shared", USER, "docs") == "outside-domain"
    assert tree(shared.parent / "outside") == {"secret.txt": b"secret"}


def test_a_fifo_blocks_neither_a_listing_nor_a_read(store, shared):
    os.mkfifo(shared / "pipe")
    listed = store.describe("shared", USER, "")["entries"]
    assert [(e["name"], e["type"]) for e in listed] == [("pipe", "other")]
    assert refused(store.open_file, "shared", USER, "pipe") == "not-a-file"


def test_the_private_folder_is_made_on_first_use_for_its_owner(store):
    assert store.describe("private", USER, "")["entries"] == []
    assert owner_and_mode(store.files.private_folder(USER))[:2] == OWNER


def test_a_listing_is_sorted_paged_and_hides_uploads_and_names_that_are_not_utf8(store, shared):
    hostile_tree(shared, shared.parent / "outside")
    (shared / "B.txt").write_bytes(b"12345")
    whole = store.describe("shared", USER, "")
    assert whole["type"] == "folder" and whole["total"] == 8
    names = ["empty", "sub", "a.txt", "B.txt", "link-dir", "link-in", "link-out", "pipe"]
    assert [e["name"] for e in whole["entries"]] == names
    # folders, then the link outside (long target), link-in and B.txt (5 bytes), ...
    page = store.describe("shared", USER, "", sort="size", order="desc", offset=3, limit=2)
    assert [e["name"] for e in page["entries"]] == ["link-in", "B.txt"]
    assert (page["offset"], page["limit"], page["total"]) == (3, 2, 8)
    entry = store.describe("shared", USER, "B.txt")
    assert (entry["type"], entry["size"], entry["mime"]) == ("file", 5, "text/plain")
    assert "mtime" not in entry and "entries" not in entry


def test_an_upload_is_invisible_until_committed_and_nothing_is_left_of_an_abort(store, shared):
    up = store.begin_upload("shared", USER, "new.txt")
    up.write(b"hello")
    assert store.describe("shared", USER, "")["entries"] == []
    assert up.commit()["size"] == 5
    assert owner_and_mode(shared / "new.txt") == (*OWNER, 0o644)
    up = store.begin_upload("shared", USER, "other.txt")
    up.write(b"bye")
    up.abort()
    assert tree(shared) == {"new.txt": b"hello"}


def test_a_commit_refuses_a_name_that_appeared_after_the_upload_began(store, shared):
    up = store.begin_upload("shared", USER, "new.txt")
    up.write(b"mine")
    (shared / "new.txt").write_bytes(b"theirs")
    assert refused(up.commit) == "file-exists"
    assert tree(shared) == {"new.txt": b"theirs"}


def test_an_upload_replaces_when_asked_and_over_a_link_never_writes_through_it(store, shared):
    (shared / "f").write_bytes(b"old")
    os.symlink(shared.parent / "outside" / "secret.txt", shared / "l")
    upload(store, "f", b"new", overwrite=True)
    upload(store, "l", b"new", overwrite=True)
    assert tree(shared) == {"f": b"new", "l": b"new"}
    assert tree(shared.parent / "outside") == {"secret.txt": b"secret"}


def test_a_resumable_upload_keeps_its_data_between_requests_until_committed(store, shared):
    part = partial_name("abc")
    assert store.partial_size("shared", USER, "r.txt", part) is None
    for piece in (b"hel", b"lo"):
        up = store.begin_upload("shared", USER, "r.txt", partial=part)
        up.write(piece)
        up.close()
    assert store.partial_size("shared", USER, "r.txt", part) == 5
    assert store.describe("shared", USER, "")["entries"] == []
    store.begin_upload("shared", USER, "r.txt", partial=part).commit()
    store.begin_upload("shared", USER, "s.txt", partial=part).close()
    assert store.remove_partial("shared", USER, "s.txt", part) is True
    assert store.remove_partial("shared", USER, "s.txt", part) is False
    assert tree(shared) == {"r.txt": b"hello"}


def test_an_expired_partial_upload_is_swept_when_another_upload_starts(store, shared):
    old, fresh = shared / partial_name("old"), shared / partial_name("fresh")
    old.write_bytes(b"o")
    fresh.write_bytes(b"f")
    os.utime(old, (0, 0))
    upload(store, "x.txt")
    assert sorted(tree(shared)) == sorted([fresh.name, "x.txt"])


def test_what_a_stopped_dashboard_left_mid_upload_is_swept_once_abandoned(store, shared):
    """A one-shot upload's file and a copy's folder (the dashboard killed in their middle):
    removed when nothing was written to them for ``abandoned_write_seconds``, not before."""
    store.abandoned_write_seconds = 600
    left_file = store.begin_upload("shared", USER, "big.bin")
    left_file.write(b"half")
    os.close(left_file.fd)  # the process died: nobody commits or aborts it
    left_folder = shared / f"{RESERVED_PREFIX}copy"
    (left_folder / "sub").mkdir(parents=True)
    (left_folder / "sub" / "a").write_bytes(b"a")
    writing = store.begin_upload("shared", USER, "live.bin")  # still being written
    writing.write(b"x")
    for path in (shared / left_file.temp, left_folder):
        os.utime(path, (time.time() - 601, time.time() - 601))
    upload(store, "x.txt")
    assert sorted(tree(shared)) == sorted([writing.temp, "x.txt"])
    assert writing.commit()["path"] == "live.bin"
    assert tree(shared) == {"live.bin": b"x", "x.txt": b"data"}


def test_a_folder_named_like_a_partial_upload_does_not_stop_other_uploads(store, shared):
    # a user's pod can make one (in the shared domain: in everybody's way)
    (shared / partial_name("odd")).mkdir()
    os.utime(shared / partial_name("odd"), (0, 0))
    upload(store, "x.txt")
    assert (shared / "x.txt").read_bytes() == b"data"


def test_missing_parents_are_made_for_their_owner_when_asked(store, shared):
    upload(store, "x/y/z.txt", parents=True)
    assert owner_and_mode(shared / "x") == owner_and_mode(shared / "x/y") == (*OWNER, 0o755)
    entry, made = store.make_folder("shared", USER, "a/b", parents=True)
    assert (entry["type"], entry["path"], made) == ("folder", "a/b", True)
    assert store.make_folder("shared", USER, "a/b", parents=True)[1] is False
    assert owner_and_mode(shared / "a") == owner_and_mode(shared / "a/b") == (*OWNER, 0o755)


def test_making_parents_follows_a_link_to_a_folder_above(store, shared):
    (shared / "sub").mkdir()
    os.symlink("..", shared / "sub" / "up")  # inside the domain: followed
    store.make_folder("shared", USER, "sub/up/new", parents=True)
    upload(store, "sub/up/made/f.txt", parents=True)
    assert (shared / "new").is_dir() and (shared / "made" / "f.txt").is_file()


def test_move_renames_within_a_domain_and_replaces_only_when_asked(store, shared):
    (shared / "a").write_bytes(b"a")
    (shared / "b").write_bytes(b"b")
    (shared / "d").mkdir()
    assert store.move("shared", USER, "a", "d/a")["path"] == "d/a"
    store.move("shared", USER, "d/a", "b", overwrite=True)
    assert tree(shared) == {"b": b"a", "d/": None}


def test_a_copy_of_a_file_or_a_folder_crosses_domains_and_leaves_out_links(store, shared):
    hostile_tree(shared / "src", shared.parent / "outside")
    assert store.copy("shared", USER, "src", "private", "copy")["type"] == "folder"
    store.copy("shared", USER, "src/a.txt", "shared", "a-copy.txt")
    copy = store.files.private_folder(USER) / "copy"
    assert REGULAR.items() <= tree(copy).items()
    assert not {"link-in", "link-out", "link-dir", "pipe"} & set(tree(copy))
    assert owner_and_mode(copy) == owner_and_mode(copy / "sub") == (*OWNER, 0o755)
    assert owner_and_mode(copy / "sub/b.bin") == (*OWNER, 0o644)
    assert (shared / "a-copy.txt").read_bytes() == b"A"
    assert owner_and_mode(shared / "a-copy.txt") == (*OWNER, 0o644)


def test_a_copied_folder_leaves_out_uploads_in_progress(store, shared):
    hostile_tree(shared / "src", shared.parent / "outside")
    store.copy("shared", USER, "src", "shared", "copy")
    assert list((shared / "copy").rglob(RESERVED_PREFIX + "*")) == []


def test_a_copy_is_not_under_its_final_name_until_it_is_complete(store, shared, monkeypatch):
    (shared / "d").mkdir()
    (shared / "d" / "f").write_bytes(b"f")
    seen = []

    def watching(real):
        return lambda *args: seen.append(os.listdir(shared)) or real(*args)

    for name in ("copy_data", "copy_tree"):  # called with positional arguments only
        monkeypatch.setattr(confined, name, watching(getattr(confined, name)))
    for source, final in (("d/f", "g"), ("d", "e")):
        seen.clear()
        store.copy("shared", USER, source, "shared", final)
        assert seen and all(final not in names for names in seen)
        assert all(any(n.startswith(RESERVED_PREFIX) for n in names) for names in seen)
    assert tree(shared) == {"d/": None, "d/f": b"f", "e/": None, "e/f": b"f", "g": b"f"}


def test_a_folder_copied_into_itself_through_a_link_does_not_recurse_without_end(store, shared):
    (shared / "sub").mkdir()
    os.symlink("..", shared / "sub" / "up")  # the domain's root, seen from sub
    try:
        with contextlib.suppress(ApiError):  # refused, or copied once: both are fine
            store.copy("shared", USER, "sub/up", "shared", "sub/copy")
        assert list(shared.rglob(RESERVED_PREFIX + "*")) == []
    finally:  # a failure leaves a thousand folders nested: too deep for shutil.rmtree
        subprocess.run(["rm", "-rf", "--", shared / "sub"], check=True)


def test_delete_removes_a_file_a_link_itself_and_a_folder_with_its_contents(store, shared):
    hostile_tree(shared / "d", shared.parent / "outside")
    (shared / "f").write_bytes(b"f")
    os.symlink("d", shared / "l")
    store.delete("shared", USER, "f")
    store.delete("shared", USER, "l")  # the link, not what it leads to
    store.delete("shared", USER, "d/empty")
    store.delete("shared", USER, "d", recursive=True)
    assert tree(shared) == {}
    assert tree(shared.parent / "outside") == {"secret.txt": b"secret"}


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_an_archive_holds_exactly_the_regular_files_and_folders(tmp_path, fmt):
    hostile_tree(tmp_path / "f", tmp_path)  # and its FIFO does not block
    folder = os.open(tmp_path / "f", os.O_RDONLY | os.O_DIRECTORY)
    assert contents(folder, fmt, "f") == under("f", REGULAR)


async def test_an_archive_reaches_the_event_loop_in_pieces_from_a_thread(tmp_path):
    big = os.urandom(3 * archive.PIECE)  # does not compress: several pieces
    (tmp_path / "big.bin").write_bytes(big)
    folder = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    sink = archive.ChunkSink(asyncio.get_running_loop(), depth=1)

    def make():  # as the download handler does
        try:
            archive.write_archive(folder, "zip", sink, "data")
        except BaseException as err:
            sink.close_with(err)
        else:
            sink.close_with(None)
        finally:
            os.close(folder)

    threading.Thread(target=make).start()
    pieces = []
    while (piece := await sink.next()) is not None:  # None: the thread closed the sink
        pieces.append(piece)
    assert len(pieces) >= 3
    assert contents(b"".join(pieces), "zip", "data") == under("data", {"big.bin": big})
