"""The Files page in a real browser (Debian's Chromium through Playwright) against real
hub, proxy and dashboard processes: uploads of files and folders with their progress
(a large file through the resumable uploads, resumed after a failed chunk, cancelled),
name conflicts, the listing (sorted, paged, folders by links, breadcrumbs and the back
button), downloads of files and of folders as archives, new folders, rename, copy to the
shared domain, delete, previews; hostile file names shown as text; one user's files
hidden from another while the shared ones are everyone's; an admin acting for a user;
keyboard use and a phone's width.

Set KARVDASH_SCREENSHOTS to a folder to keep the screenshots (``files.png``)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import tarfile
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from support.browser import (
    PHONE,
)
from support.cluster import wait_for
from support.hostile import HOSTILE, INJECTED, clean

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

S = "/services/karvdash/"
MIB = 1024 * 1024

#: the hostile texts that can be file names (no "/", at most 255 bytes)
HOSTILE_NAMES = [h for h in HOSTILE if "/" not in h and len(h.encode()) <= 255]
#: injected elements; the entries' menus are the page's own <details>
INJECTED_HERE = INJECTED.replace("#karvdash details", "#karvdash details:not(.karvdash-menu)")

#: waits until no upload of the page is waiting or running
UPLOADS_SETTLED = """() => {
  const items = [...document.querySelectorAll('#karvdash-upload-list > li')];
  const busy = (li) => ['waiting', 'uploading'].includes(li.dataset.state);
  return items.length > 0 && !items.some(busy);
}"""


def png(width: int = 3, height: int = 2) -> bytes:
    """A small valid PNG (red pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\0" + b"\xff\0\0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# -- fixtures


def put(api_for, domain: str, path: str, data: bytes) -> dict:
    r = api_for("PUT", f"files/{domain}/{path}?parents=1&overwrite=1", data=data)
    assert r.status_code in (200, 201), r.text
    return r.json()


def mkdir(api_for, domain: str, path: str) -> None:
    r = api_for("POST", f"files/{domain}/{path}", json={"action": "mkdir", "parents": True})
    assert r.status_code in (200, 201), r.text


def listed(api_for, domain: str, path: str = "") -> list[str]:
    r = api_for("GET", f"files/{domain}/{path}")
    assert r.status_code == 200, r.text
    return [e["name"] for e in r.json()["entries"]]


def read(api_for, domain: str, path: str) -> bytes:
    r = api_for("GET", f"files/{domain}/{path}?download=1")
    assert r.status_code == 200, r.text
    return r.content


def open_folder(page, hub, domain: str, path: str = "", query: str = ""):
    page.goto(f"{hub.url}{S}files/{domain}{'/' + path if path else ''}{query}")
    page.wait_for_selector("#karvdash-files tbody tr:not(.karvdash-loading)")


def names_shown(page) -> list[str]:
    return page.eval_on_selector_all(
        "#karvdash-files tbody tr[data-name]", "rows => rows.map((r) => r.dataset.name)"
    )


def menu(page, name: str, action: str):
    """Open an entry's menu and pick an action (by its label)."""
    page.click(f"summary[aria-label='More actions for {name}']")
    page.click(f"button[aria-label^='{action} {name}']")


def until(page, condition, what: str, timeout: float = 30) -> None:
    """Wait for what Playwright's events tell (they arrive while Playwright waits)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        page.wait_for_timeout(100)


def upload(page, selector: str, files) -> None:
    page.set_input_files(selector, files)
    page.wait_for_function(UPLOADS_SETTLED, timeout=120_000)


def upload_states(page) -> dict[str, str]:
    return page.eval_on_selector_all(
        "#karvdash-upload-list > li[data-upload]",
        "items => Object.fromEntries(items.map((li) => [li.dataset.upload, li.dataset.state]))",
    )


# -- uploads and the listing


def test_files_and_a_folder_are_uploaded_with_progress_and_listed_sorted(
    as_user, hub, api, tmp_path, shots
):
    big = os.urandom(40 * MIB + 123)
    (tmp_path / "big.bin").write_bytes(big)
    small = {
        "alpha.txt": b"alpha\n",
        "beta.csv": b"a,b\n" + b"1,2\n" * 2000,
        "gamma.md": b"# Gamma\n" * 40,
        "red.png": png(),
    }
    for name, data in small.items():
        (tmp_path / name).write_bytes(data)
    project = tmp_path / "project"
    (project / "sub" / "deeper").mkdir(parents=True)
    (project / "readme.txt").write_text("the project")
    (project / "sub" / "data.csv").write_text("x,y\n1,2\n")
    (project / "sub" / "deeper" / "note.txt").write_text("deep")

    page, watch = as_user("alice")
    requests_seen = []
    page.on("request", lambda r: requests_seen.append((r.method, r.url)))
    open_folder(page, hub, "private")
    assert "This folder is empty" in page.inner_text("#karvdash-files")
    page.evaluate(
        """() => {
          window.__progress = [];
          new MutationObserver((records) => {
            for (const r of records) {
              if (r.target.getAttribute('aria-label') === 'Upload of big.bin') {
                window.__progress.push(Number(r.target.value));
              }
            }
          }).observe(document.getElementById('karvdash-upload-list'),
                     {subtree: true, attributes: true, attributeFilter: ['value']});
        }"""
    )
    started = time.monotonic()
    upload(
        page,
        "#karvdash-upload-files",
        [str(tmp_path / n) for n in ("big.bin", *small)],
    )
    took = time.monotonic() - started
    assert set(upload_states(page).values()) == {"done"}, upload_states(page)
    # the big one went in chunks, and its bar moved through them
    progress = page.evaluate("() => window.__progress")
    between = sorted({p for p in progress if 0 < p < len(big)})
    assert len(between) >= 4, progress
    assert page.get_attribute("progress[aria-label='Upload of big.bin']", "value") == str(len(big))
    methods = [(m, u.split("/api/")[1].split("?")[0]) for m, u in requests_seen if "/api/" in u]
    assert ("POST", "uploads") in methods
    assert sum(1 for m, u in methods if m == "PATCH" and u.startswith("uploads/")) == 6
    assert ("PUT", "files/private/alpha.txt") in methods
    assert ("PUT", "files/private/big.bin") not in methods
    assert hashlib.sha256(read(api["alice"], "private", "big.bin")).digest() == (
        hashlib.sha256(big).digest()
    )
    for name, data in small.items():
        assert read(api["alice"], "private", name) == data
    # a folder, with its folders
    upload(page, "#karvdash-upload-folder", str(project))
    page.wait_for_selector("tr[data-name='project'][data-type='folder']")
    assert read(api["alice"], "private", "project/sub/deeper/note.txt") == b"deep"
    assert sorted(listed(api["alice"], "private", "project")) == ["readme.txt", "sub"]
    # listed: folders first, then by name; sizes and times for people
    assert names_shown(page) == [
        "project",
        "alpha.txt",
        "beta.csv",
        "big.bin",
        "gamma.md",
        "red.png",
    ]
    assert page.inner_text("tr[data-name='big.bin'] .karvdash-size") == "40 MiB"
    assert page.get_attribute("tr[data-name='big.bin'] .karvdash-size", "title").startswith(
        "41,943,163"
    )
    assert page.inner_text("tr[data-name='alpha.txt'] .karvdash-size") == "6 B"
    assert page.inner_text("tr[data-name='alpha.txt'] time")
    # sorted by a column's header: size, largest first, then smallest; name backwards
    page.click("th[data-sort='size'] button")
    page.wait_for_selector("th[data-sort='size'][aria-sort='descending']")
    wait_for(lambda: names_shown(page)[:3] == ["project", "big.bin", "beta.csv"], 10, "by size")
    page.click("th[data-sort='size'] button")
    wait_for(lambda: names_shown(page)[1] == "alpha.txt", 10, "by size, smallest first")
    assert page.get_attribute("th[data-sort='name']", "aria-sort") == "none"
    page.click("th[data-sort='name'] button")
    page.click("th[data-sort='name'] button")
    wait_for(
        lambda: (
            names_shown(page)
            == ["project", "red.png", "gamma.md", "big.bin", "beta.csv", "alpha.txt"]
        ),
        10,
        "by name backwards",
    )
    page.screenshot(path=str(shots / "files.png"), full_page=True)
    print(f"uploaded 40 MiB and 4 small files in {took:.1f} s")
    clean(watch)


def test_a_big_upload_resumes_after_a_failed_chunk(as_user, hub, api, tmp_path):
    data = os.urandom(33 * MIB)
    (tmp_path / "resumed.bin").write_bytes(data)
    page, watch = as_user("alice")
    mkdir(api["alice"], "private", "resume")
    open_folder(page, hub, "private", "resume")
    failed = []

    def patch(route):
        request = route.request
        second = request.headers.get("upload-offset") == str(8 * MIB)
        if request.method == "PATCH" and second and not failed:
            failed.append(request.url)
            route.abort("connectionreset")
            return
        route.continue_()

    page.route("**/api/uploads/*", patch)
    asked = []
    page.on("request", lambda r: asked.append(r.method) if "/api/uploads/" in r.url else None)
    upload(page, "#karvdash-upload-files", str(tmp_path / "resumed.bin"))
    assert upload_states(page) == {"resumed.bin": "done"}
    assert failed, "no chunk was made to fail"
    assert "GET" in asked  # it asked the server how far the upload got
    assert read(api["alice"], "private", "resume/resumed.bin") == data
    page.unroute("**/api/uploads/*")
    watch.clear()  # the failed chunk is a console error, on purpose


def test_a_cancelled_upload_leaves_nothing(as_user, hub, api, tmp_path):
    (tmp_path / "cancelled.bin").write_bytes(os.urandom(34 * MIB))
    (tmp_path / "small-cancelled.txt").write_bytes(b"x" * 1000)
    page, watch = as_user("alice")
    mkdir(api["alice"], "private", "cancel")
    open_folder(page, hub, "private", "cancel")
    held = []
    page.route("**/api/uploads/*", lambda route: held.append(route))  # never answered
    page.route("**/api/files/private/cancel/small-cancelled.txt*", lambda route: held.append(route))
    deleted = []
    page.on(
        "request",
        lambda r: (
            deleted.append(r.url) if r.method == "DELETE" and "/api/uploads/" in r.url else None
        ),
    )
    page.set_input_files(
        "#karvdash-upload-files",
        [str(tmp_path / "cancelled.bin"), str(tmp_path / "small-cancelled.txt")],
    )
    until(page, lambda: len(held) >= 2, "the uploads to start")
    page.unroute("**/api/uploads/*")
    page.click("button[aria-label='Cancel upload of cancelled.bin']")
    page.click("button[aria-label='Cancel upload of small-cancelled.txt']")
    page.wait_for_function(UPLOADS_SETTLED)
    assert upload_states(page) == {"cancelled.bin": "cancelled", "small-cancelled.txt": "cancelled"}
    until(page, lambda: deleted, "the partial upload to be deleted")
    assert listed(api["alice"], "private", "cancel") == []
    folder = hub.state / "files" / "private" / "alice" / "cancel"
    wait_for(lambda: list(folder.iterdir()) == [], 10, "no partial data on disk")
    for route in held:
        try:
            route.abort()
        except Exception:  # the browser gave the request up already
            pass
    watch.clear()


def test_a_name_conflict_asks_to_replace_or_skip(as_user, hub, api):
    mkdir(api["alice"], "private", "conflicts")
    put(api["alice"], "private", "conflicts/same.txt", b"old")
    put(api["alice"], "private", "conflicts/other.txt", b"old other")
    page, watch = as_user("alice")
    open_folder(page, hub, "private", "conflicts")
    new = [
        {"name": "same.txt", "mimeType": "text/plain", "buffer": b"new"},
        {"name": "other.txt", "mimeType": "text/plain", "buffer": b"new other"},
    ]
    page.set_input_files("#karvdash-upload-files", new[:1])
    dialog = page.wait_for_selector("dialog[open]")
    assert "same.txt exists" in dialog.inner_text()
    page.click("dialog[open] button[value=skip]")
    page.wait_for_function(UPLOADS_SETTLED)
    assert upload_states(page) == {"same.txt": "skipped"}
    assert read(api["alice"], "private", "conflicts/same.txt") == b"old"
    # replace, for every conflict of the upload at once
    page.click("#karvdash-clear-uploads")
    page.set_input_files("#karvdash-upload-files", new)
    page.wait_for_selector("dialog[open]")
    page.check("dialog[open] input[type=checkbox]")
    page.click("dialog[open] button[value=replace]")
    page.wait_for_function(UPLOADS_SETTLED)
    assert upload_states(page) == {"same.txt": "done", "other.txt": "done"}
    assert page.query_selector("dialog[open]") is None  # asked once
    assert read(api["alice"], "private", "conflicts/same.txt") == b"new"
    assert read(api["alice"], "private", "conflicts/other.txt") == b"new other"
    clean(watch, 409)


def test_files_and_folders_dropped_on_the_listing_are_uploaded(as_user, hub, api):
    mkdir(api["alice"], "private", "dropped")
    page, watch = as_user("alice")
    open_folder(page, hub, "private", "dropped")
    page.evaluate(
        """() => {
          const transfer = new DataTransfer();
          transfer.items.add(new File(['dropped text'], 'dropped.txt', {type: 'text/plain'}));
          transfer.items.add(new File(['more'], 'more.txt', {type: 'text/plain'}));
          const zone = document.querySelector('#karvdash-files tbody');
          for (const type of ['dragenter', 'dragover', 'drop']) {
            zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true,
                                                    dataTransfer: transfer}));
          }
        }"""
    )
    page.wait_for_function(UPLOADS_SETTLED)
    page.wait_for_selector("tr[data-name='more.txt']")
    assert read(api["alice"], "private", "dropped/dropped.txt") == b"dropped text"
    clean(watch)


# -- folders, addresses, the back button, big folders


def test_folders_open_by_links_breadcrumbs_and_the_back_button(as_user, hub, api):
    put(api["alice"], "private", "tree/one/two/leaf.txt", b"leaf")
    mkdir(api["alice"], "private", "tree/empty")
    page, watch = as_user("alice")
    open_folder(page, hub, "private", "tree/one/two")  # a deep link
    assert names_shown(page) == ["leaf.txt"]
    crumbs = page.eval_on_selector_all(
        "#karvdash-breadcrumbs li", "items => items.map((li) => li.textContent)"
    )
    assert crumbs == ["My files", "tree", "one", "two"]
    assert page.get_attribute("#karvdash-breadcrumbs li:last-child", "aria-current") == "page"
    assert page.title().startswith("two · Files")
    page.click("#karvdash-breadcrumbs a:text-is('tree')")
    page.wait_for_url("**/files/private/tree")
    page.wait_for_selector("tr[data-name='empty']")
    assert names_shown(page) == ["empty", "one"]
    page.click("tr[data-name='empty'] a")
    page.wait_for_url("**/files/private/tree/empty")
    page.wait_for_selector("tr.karvdash-empty")
    page.go_back()
    page.wait_for_url("**/files/private/tree")
    page.wait_for_selector("tr[data-name='one']")
    page.go_back()
    page.wait_for_url("**/files/private/tree/one/two")
    page.wait_for_selector("tr[data-name='leaf.txt']")
    page.go_forward()
    page.wait_for_selector("tr[data-name='one']")
    # the keyboard: Tab to a folder's link, Enter opens it
    page.focus("tr[data-name='one'] a")
    page.keyboard.press("Enter")
    page.wait_for_url("**/files/private/tree/one")
    page.wait_for_selector("tr[data-name='two']")
    # the domains' tabs
    page.click("#karvdash-domains a[data-domain='shared']")
    page.wait_for_url("**/files/shared")
    assert page.get_attribute("#karvdash-domains a[data-domain='shared']", "aria-current") == "page"
    page.go_back()
    page.wait_for_selector("tr[data-name='two']")
    # the address of a file: its folder, and its preview
    page.goto(hub.url + S + "files/private/tree/one/two/leaf.txt")
    page.wait_for_url("**/files/private/tree/one/two")
    page.wait_for_selector("dialog[open] pre")
    assert page.eval_on_selector("dialog[open] pre", "e => e.textContent") == "leaf"
    page.keyboard.press("Escape")
    # an address that names nothing: the API's message, where the listing would be
    page.goto(hub.url + S + "files/private/no/such/folder")
    page.wait_for_selector("tr.karvdash-error")
    assert "cannot be shown" in page.inner_text("#karvdash-files")
    page.click("tr.karvdash-error a")
    page.wait_for_url("**/files/private")
    clean(watch, 404)


def test_a_big_folder_is_listed_a_thousand_at_a_time(as_user, hub, api):
    mkdir(api["alice"], "private", "many")
    folder = hub.state / "files" / "private" / "alice" / "many"
    for i in range(1203):
        (folder / f"f{i:05d}.txt").write_text(str(i))
    page, watch = as_user("alice")
    open_folder(page, hub, "private", "many")
    assert len(names_shown(page)) == 1000
    assert "1000 of 1203 shown" in page.inner_text("#karvdash-more")
    page.click("#karvdash-more button")
    wait_for(lambda: len(names_shown(page)) == 1203, 20, "the rest of the folder")
    assert names_shown(page)[-1] == "f01202.txt"
    assert page.inner_text("#karvdash-more") == ""
    clean(watch)


# -- downloads, actions, previews


def test_a_file_and_folders_as_zip_and_tar_gz_are_downloaded(as_user, hub, api):
    data = os.urandom(300_000)
    put(api["alice"], "private", "dl/data.bin", data)
    put(api["alice"], "private", "dl/pack/a.txt", b"a")
    put(api["alice"], "private", "dl/pack/inner/b.txt", b"bb")
    page, watch = as_user("alice")
    open_folder(page, hub, "private", "dl")
    with page.expect_download() as download:
        page.click("a[aria-label='Download data.bin']")
    assert download.value.suggested_filename == "data.bin"
    assert Path(download.value.path()).read_bytes() == data
    with page.expect_download() as download:
        page.click("a[aria-label='Download pack as .zip']")
    assert download.value.suggested_filename == "pack.zip"
    with zipfile.ZipFile(download.value.path()) as archive:
        names = sorted(n for n in archive.namelist() if not n.endswith("/"))
        assert names == ["pack/a.txt", "pack/inner/b.txt"], archive.namelist()
        assert archive.read("pack/inner/b.txt") == b"bb"
    page.click("summary[aria-label='More actions for pack']")
    with page.expect_download() as download:
        page.click("a[aria-label='Download pack as .tar.gz']")
    assert download.value.suggested_filename == "pack.tar.gz"
    with tarfile.open(download.value.path()) as archive:
        members = {m.name: m for m in archive.getmembers() if m.isfile()}
        assert sorted(members) == ["pack/a.txt", "pack/inner/b.txt"]
        assert archive.extractfile(members["pack/a.txt"]).read() == b"a"
    clean(watch)


def test_new_folder_rename_copy_to_shared_and_delete_with_confirmation(as_user, hub, api):
    put(api["alice"], "private", "work/report.txt", b"the report")
    put(api["alice"], "private", "work/taken.txt", b"taken")
    put(api["alice"], "private", "work/old/deep/x.txt", b"x")
    page, watch = as_user("alice")
    open_folder(page, hub, "private", "work")
    # a new folder; a name that is taken is said in the dialog
    page.click("#karvdash-new-folder")
    page.fill("dialog[open] input[name=name]", "old")
    page.click("dialog[open] button[type=submit]")
    page.wait_for_selector("dialog[open] input.is-invalid")
    assert page.inner_text("dialog[open] .invalid-feedback")
    page.fill("dialog[open] input[name=name]", "fresh")
    page.click("dialog[open] button[type=submit]")
    page.wait_for_selector("tr[data-name='fresh'][data-type='folder']")
    assert page.query_selector("dialog[open]") is None
    # rename: the base name is selected; a taken name is refused in the dialog
    menu(page, "report.txt", "Rename")
    assert page.evaluate("() => document.activeElement.selectionEnd") == len("report")
    page.fill("dialog[open] input[name=to]", "taken.txt")
    page.click("dialog[open] button[type=submit]")
    page.wait_for_selector("dialog[open] input.is-invalid")
    page.fill("dialog[open] input[name=to]", "final.txt")
    page.click("dialog[open] button[type=submit]")
    page.wait_for_selector("tr[data-name='final.txt']")
    assert "report.txt" not in names_shown(page)
    assert read(api["alice"], "private", "work/final.txt") == b"the report"
    # moved into a folder of the domain, by a path
    menu(page, "taken.txt", "Rename")
    page.fill("dialog[open] input[name=to]", "fresh/taken.txt")
    page.click("dialog[open] button[type=submit]")
    page.wait_for_selector("tr[data-name='taken.txt']", state="detached")
    assert listed(api["alice"], "private", "work/fresh") == ["taken.txt"]
    # copy to the shared domain
    menu(page, "final.txt", "Copy")
    page.fill("dialog[open] input[name=to]", "alice-final.txt")
    page.click("dialog[open] button[type=submit]")
    page.wait_for_selector("text=/Copied final.txt to Shared/")
    assert read(api["alice"], "shared", "alice-final.txt") == b"the report"
    assert read(api["alice"], "private", "work/final.txt") == b"the report"
    menu(page, "old", "Copy")
    page.fill("dialog[open] input[name=to]", "alice-old")
    page.click("dialog[open] button[type=submit]")
    page.wait_for_selector("text=/Copied old to Shared/")
    assert read(api["alice"], "shared", "alice-old/deep/x.txt") == b"x"
    page.click("#karvdash-status a:text('Open that folder')")
    page.wait_for_url("**/files/shared")
    page.wait_for_selector("tr[data-name='alice-old']")
    page.go_back()
    page.wait_for_selector("tr[data-name='old']")
    # delete: a folder says it takes everything in it; Cancel keeps it
    menu(page, "old", "Delete")
    dialog = page.wait_for_selector("dialog[open]")
    assert "everything in it" in dialog.inner_text()
    page.click("dialog[open] button[value=cancel]")
    assert listed(api["alice"], "private", "work/old") == ["deep"]
    menu(page, "old", "Delete")
    page.click("dialog[open] button[value=confirm]")
    page.wait_for_selector("tr[data-name='old']", state="detached")
    page.wait_for_selector("text=Deleted old.")
    assert "old" not in listed(api["alice"], "private", "work")
    menu(page, "final.txt", "Delete")
    assert "everything in it" not in page.inner_text("dialog[open]")
    page.click("dialog[open] button[value=confirm]")
    page.wait_for_selector("tr[data-name='final.txt']", state="detached")
    assert sorted(listed(api["alice"], "private", "work")) == ["fresh"]
    clean(watch, 409)


def test_text_and_images_are_previewed_and_long_texts_are_cut(as_user, hub, api, shots):
    text = "line one\n<b>not bold</b> & <script>alert(1)</script>\nλ ünïcode\n"
    put(api["alice"], "private", "show/notes.txt", text.encode())
    put(api["alice"], "private", "show/red.png", png(5, 4))
    long_text = ("0123456789abcde\n" * 40_000).encode()  # 640,000 bytes
    put(api["alice"], "private", "show/long.log", long_text)
    put(api["alice"], "private", "show/data.bin", b"\0\1\2")
    page, watch = as_user("alice")
    open_folder(page, hub, "private", "show")
    fetched = []
    page.on("response", lambda r: fetched.append(r) if "long.log" in r.url else None)
    page.click("tr[data-name='notes.txt'] a")  # the name opens the preview
    page.wait_for_selector("dialog[open] pre.karvdash-preview-text")
    assert page.eval_on_selector("dialog[open] pre", "e => e.textContent") == text
    assert page.query_selector("dialog[open] pre b, dialog[open] pre script") is None
    page.screenshot(path=str(shots / "files-preview.png"))
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog[open]", state="detached")
    menu(page, "red.png", "Preview")
    image = page.wait_for_selector("dialog[open] img.karvdash-preview-image")
    wait_for(lambda: image.evaluate("i => i.complete && i.naturalWidth") == 5, 10, "the image")
    assert image.get_attribute("alt") == "Preview of red.png"
    page.click("dialog[open] button[value=close]")
    page.click("tr[data-name='long.log'] a")
    pre = page.wait_for_selector("dialog[open] pre.karvdash-preview-text")
    shown = pre.evaluate("e => e.textContent")
    assert shown == long_text[: 256 * 1024].decode()
    assert "first 256 KiB" in page.inner_text("dialog[open]")
    assert fetched and all(r.status == 206 for r in fetched), [r.status for r in fetched]
    page.keyboard.press("Escape")
    # no preview for what the browser cannot show: the name downloads it
    assert page.query_selector("button[aria-label='Preview data.bin']") is None
    with page.expect_download() as download:
        page.click("tr[data-name='data.bin'] th a")
    assert Path(download.value.path()).read_bytes() == b"\0\1\2"
    clean(watch)


# -- safety and other users


def in_row(page, name: str, selector: str) -> None:
    """Click something in the row of the entry of this exact name (any characters)."""
    page.evaluate(
        """([name, selector]) => [...document.querySelectorAll('tr[data-name]')]
            .find((row) => row.dataset.name === name).querySelector(selector).click()""",
        [name, selector],
    )


def test_hostile_file_names_are_shown_as_text(as_user, hub, api):
    page, watch = as_user("alice")
    mkdir(api["alice"], "private", "hostile")
    open_folder(page, hub, "private", "hostile")
    previewed = f"{HOSTILE_NAMES[6]}.txt"
    files = [*HOSTILE_NAMES, previewed]
    upload(
        page,
        "#karvdash-upload-files",
        [{"name": name, "mimeType": "text/plain", "buffer": name.encode()} for name in files],
    )
    assert set(upload_states(page).values()) == {"done"}, upload_states(page)
    folder = f"{HOSTILE_NAMES[1]} folder"
    mkdir(api["alice"], "private", f"hostile/{folder}")
    page.reload()
    page.wait_for_selector("#karvdash-files tbody tr[data-name]")
    assert sorted(names_shown(page)) == sorted([*files, folder])
    cells = page.eval_on_selector_all(
        "#karvdash-files tbody th", "cells => cells.map((c) => c.textContent)"
    )
    assert sorted(cells) == sorted([*files, folder])
    assert page.query_selector_all(INJECTED_HERE) == []
    # into the folder with a hostile name: the breadcrumbs and the title say it as text
    page.click("tr[data-type='folder'] a")
    page.wait_for_selector("tr.karvdash-empty")
    crumb = page.eval_on_selector("#karvdash-breadcrumbs li:last-child", "e => e.textContent")
    assert crumb == folder
    assert page.title().startswith(folder)
    page.go_back()
    page.wait_for_selector("#karvdash-files tbody tr[data-name]")
    # a preview, the menus and the dialogs say the names as text too
    in_row(page, previewed, "th a")
    pre = page.wait_for_selector("dialog[open] pre")
    assert pre.evaluate("e => e.textContent") == previewed
    assert page.eval_on_selector("dialog[open] h2", "e => e.textContent") == previewed
    page.keyboard.press("Escape")
    in_row(page, HOSTILE_NAMES[0], "summary")
    in_row(page, HOSTILE_NAMES[0], "button[aria-label^='Delete']")
    dialog = page.wait_for_selector("dialog[open]")
    assert HOSTILE_NAMES[0] in dialog.evaluate("e => e.textContent")
    assert page.query_selector("dialog[open] img, dialog[open] svg, dialog[open] script") is None
    page.click("dialog[open] button[value=cancel]")
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__pwned") is None
    assert page.query_selector_all(INJECTED_HERE) == []
    assert HOSTILE_NAMES[0] in listed(api["alice"], "private", "hostile")
    clean(watch)


def test_another_user_does_not_see_the_first_users_files_and_both_see_shared(as_user, hub, api):
    put(api["alice"], "private", "secret/alice-only.txt", b"mine")
    put(api["alice"], "shared", "for-everyone.txt", b"ours")
    page, watch = as_user("bob")
    open_folder(page, hub, "private")
    assert "alice-only.txt" not in page.inner_text("#karvdash-files")
    assert "secret" not in names_shown(page)
    page.click("#karvdash-domains a[data-domain='shared']")
    page.wait_for_selector("tr[data-name='for-everyone.txt']")
    # bob's upload to shared is alice's to see
    upload(
        page,
        "#karvdash-upload-files",
        [{"name": "from-bob.txt", "mimeType": "text/plain", "buffer": b"bob's"}],
    )
    assert read(api["alice"], "shared", "from-bob.txt") == b"bob's"
    # alice's private folder is not found for bob, by the page or the API
    response = page.goto(hub.url + S + "files/private?user=alice")
    assert response.status == 404
    open_folder(page, hub, "private", "secret")
    assert page.query_selector("tr.karvdash-error")
    assert api["bob"]("GET", "files/private/secret?user=alice").status_code == 404
    clean(watch, 404)


def test_an_admin_opens_and_uploads_to_a_users_private_files(as_user, hub, api):
    put(api["alice"], "private", "for-admin/seen.txt", b"seen")
    page, watch = as_user("admin")
    open_folder(page, hub, "private", "for-admin", "?user=alice")
    assert "alice" in page.inner_text(".karvdash-acting-for")
    assert page.inner_text("#karvdash-domains a[data-domain='private']") == "Files of alice"
    assert names_shown(page) == ["seen.txt"]
    upload(
        page,
        "#karvdash-upload-files",
        [{"name": "by-admin.txt", "mimeType": "text/plain", "buffer": b"admin"}],
    )
    assert read(api["alice"], "private", "for-admin/by-admin.txt") == b"admin"
    assert api["admin"]("GET", "files/private/for-admin").status_code == 404
    # links keep whose files these are
    page.click("#karvdash-breadcrumbs a")
    page.wait_for_url(lambda url: url.endswith("/files/private?user=alice"))
    page.wait_for_selector("tr[data-name='for-admin']")
    clean(watch)


def test_the_files_page_at_390_px_and_from_the_keyboard(as_user, hub, api, shots):
    put(api["alice"], "private", "phone/a-rather-long-file-name-for-a-small-screen.txt", b"x")
    put(api["alice"], "private", "phone/folder/inner.txt", b"y")
    page, watch = as_user("alice", PHONE)
    open_folder(page, hub, "private", "phone")
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= PHONE["width"], wide
    assert not page.is_visible("th[data-sort='modified']")
    # Tab reaches the entry's menu; Enter opens it, Escape closes it
    page.focus("tr[data-name='folder'] a")
    for _ in range(10):
        page.keyboard.press("Tab")
        label = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
        if label == "More actions for folder":
            break
    assert label == "More actions for folder"
    page.keyboard.press("Enter")
    page.wait_for_selector("details.karvdash-menu[open] button[aria-label='Rename folder']")
    # the page places the menu on the details' toggle event, a moment after it opens
    inside = """(width) => {
        const box = document.querySelector('details[open] .karvdash-menu-items')
            .getBoundingClientRect();
        return box.left >= 0 && box.right <= width;
    }"""
    with contextlib.suppress(PlaywrightTimeout):  # then the assertion below says where
        page.wait_for_function(inside, arg=PHONE["width"], timeout=5000)
    box = page.eval_on_selector(
        "details[open] .karvdash-menu-items", "e => e.getBoundingClientRect().toJSON()"
    )
    assert box["left"] >= 0 and box["right"] <= PHONE["width"], box
    page.screenshot(path=str(shots / "files-phone.png"))
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('details.karvdash-menu[open]')")
    assert page.evaluate("() => document.activeElement.tagName") == "SUMMARY"
    clean(watch)
