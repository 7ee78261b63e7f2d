"""The Images page in a real browser (Debian's Chromium through Playwright) against real
hub, proxy and dashboard processes and the registry the hub starts (Debian's
docker-registry behind the dashboard's tokens): the empty page and how to use the
registry, an image archive uploaded through the page with its progress and listed with
what the API says of it, a bad archive refused with the server's message, deleting a tag
(and every tag of its image) and a repository after a confirmation, one user's images
hidden from another, and a phone's width.

Set KARVDASH_SCREENSHOTS to a folder to keep the screenshots (``images*.png``)."""

from __future__ import annotations

import os
import re

import pytest
from support.browser import PHONE
from support.cluster import wait_for
from support.hostile import clean
from support.imagearchives import CORPUS, docker_archive, layer
from support.parts import need_registry

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture(scope="module", autouse=True)
def _registry():
    need_registry()


S = "/services/karvdash/"
KIB = 1024

#: the states the upload's progress went through, and the bar's values
WATCH_UPLOAD = """() => {
  window.__states = [];
  window.__values = [];
  const box = document.getElementById('karvdash-image-progress');
  new MutationObserver(() => window.__states.push(box.dataset.state))
    .observe(box, {attributes: true, attributeFilter: ['data-state']});
  const bar = document.getElementById('karvdash-image-bar');
  new MutationObserver(() => window.__values.push(Number(bar.value)))
    .observe(bar, {attributes: true, attributeFilter: ['value']});
}"""
UPLOAD_SETTLED = """() => ['done', 'failed', 'cancelled'].includes(
  document.getElementById('karvdash-image-progress').dataset.state)"""


# -- fixtures


def archive(path, files: dict[str, bytes]) -> dict:
    """A docker-archive (``docker save``) of one image with one layer of these files."""
    return docker_archive(path, [layer(files)])


def push(api_for, reference: str, path) -> dict:
    r = api_for(
        "PUT",
        f"images/{reference}",
        data=path.read_bytes(),
        headers={"Content-Type": "application/x-tar"},
    )
    assert r.status_code == 201, r.text
    return r.json()


def repositories(api_for) -> list[str]:
    r = api_for("GET", "images")
    assert r.status_code == 200, r.text
    return [repo["name"] for repo in r.json()["repositories"]]


def open_images(page, hub):
    page.goto(hub.url + S + "images")
    page.wait_for_selector("#karvdash-images > :not(.karvdash-loading)")


def shown(page) -> list[str]:
    return page.eval_on_selector_all(
        "li[data-repository]", "items => items.map((li) => li.dataset.repository)"
    )


def expand(page, name: str):
    """Open a repository's tags (and wait for them)."""
    item = f"li[data-repository='{name}']"
    page.click(f"{item} .karvdash-repo-toggle")
    page.wait_for_selector(f"{item} .karvdash-repo-toggle[aria-expanded=true]")
    page.wait_for_selector(f"{item} table.karvdash-tags tbody tr")


def tags_shown(page, name: str) -> dict[str, str]:
    """tag -> digest, as the repository's opened table shows them."""
    return page.eval_on_selector_all(
        f"li[data-repository='{name}'] tr[data-tag]",
        "rows => Object.fromEntries(rows.map((r) => [r.dataset.tag, r.dataset.digest]))",
    )


def upload_through_page(page, path, tag: str | None = None):
    page.set_input_files("#karvdash-image-file", str(path))
    if tag is not None:
        page.fill("#karvdash-image-tag", tag)
    page.click("#karvdash-image-submit")
    page.wait_for_function(UPLOAD_SETTLED, timeout=180_000)


# -- the page


def test_with_no_images_the_page_explains_the_registry_and_offers_an_upload(
    as_user, hub, api, shots
):
    page, watch = as_user("bob")
    open_images(page, hub)
    answer = api["bob"]("GET", "images").json()
    assert answer["repositories"] == []
    empty = page.inner_text(".karvdash-images-empty")
    assert "No images yet" in empty and "docker save" in empty
    # the registry, once, with how a template names an image and how docker logs in
    assert page.is_visible("#karvdash-registry-help")
    hosts = page.eval_on_selector_all(
        ".karvdash-registry-host", "nodes => nodes.map((n) => n.textContent)"
    )
    assert set(hosts) == {answer["registry"]} and answer["registry"]
    help_text = page.inner_text("#karvdash-registry-help")
    assert "image: $REGISTRY/<name>:<tag>" in help_text
    assert f"docker login {answer['registry']}" in help_text
    assert f"{answer['registry']}/{answer['namespace']}/<image>" in help_text
    assert page.get_attribute("#karvdash-registry-help a", "href") == "/hub/token"
    page.screenshot(path=str(shots / "images-empty.png"), full_page=True)
    # the empty page's button opens the upload form, the name in the user's namespace
    page.click("#karvdash-empty-upload")
    page.wait_for_selector("#karvdash-upload:not([hidden])")
    assert page.input_value("#karvdash-image-name") == "bob/"
    assert page.input_value("#karvdash-image-tag") == "latest"
    assert page.get_attribute("#karvdash-upload-image", "aria-expanded") == "true"
    page.click("#karvdash-image-cancel")
    page.wait_for_selector("#karvdash-upload[hidden]", state="attached")
    clean(watch)


def test_an_archive_uploaded_through_the_page_is_listed_with_what_the_api_says(
    as_user, hub, api, tmp_path, shots
):
    path = tmp_path / "Hello App.tar"
    facts = archive(path, {"app/hello.txt": b"hello\n", "app/data.bin": os.urandom(6 * 1024 * KIB)})
    page, watch = as_user("alice")
    open_images(page, hub)
    page.click("#karvdash-upload-image")
    page.set_input_files("#karvdash-image-file", str(path))
    # the name is guessed from the file's, in alice's namespace
    assert page.input_value("#karvdash-image-name") == "alice/hello-app"
    page.evaluate(WATCH_UPLOAD)
    upload_through_page(page, path, tag="1")
    states = page.evaluate("() => window.__states")
    assert states[-1] == "done", (states, page.inner_text("#karvdash-upload"))
    assert "pushing" in states, states  # the bytes were sent, then the push was waited for
    assert states.index("uploading") < states.index("pushing") < states.index("done")
    assert page.get_attribute("#karvdash-image-bar", "value") == str(facts["size"])
    assert page.get_attribute("#karvdash-image-bar", "max") == str(facts["size"])
    values = page.evaluate("() => window.__values")
    assert values and values == sorted(values), values
    # the result: the blobs sent (the layer and the config), none in the registry before
    result = page.inner_text("#karvdash-status")
    assert re.search(
        r"Pushed alice/hello-app:1\b.*: 2 blobs sent, 0 already in the registry", result
    )
    # listed, opened, with the tag as the API says it
    page.wait_for_selector("li[data-repository='alice/hello-app'] tr[data-tag='1']")
    tag = api["alice"]("GET", "images/alice/hello-app:1").json()
    assert tags_shown(page, "alice/hello-app") == {"1": tag["digest"]}
    row = "li[data-repository='alice/hello-app'] tr[data-tag='1']"
    assert page.get_attribute(f"{row} .karvdash-digest code", "title") == tag["digest"]
    assert page.inner_text(f"{row} .karvdash-digest code") == tag["digest"][: len("sha256:") + 12]
    assert page.inner_text(f"{row} .karvdash-reference code") == tag["template_reference"]
    assert tag["template_reference"] == "$REGISTRY/alice/hello-app:1"
    assert page.inner_text(f"{row} .karvdash-platform") == f"{tag['os']}/{tag['architecture']}"
    assert page.inner_text(f"{row} .karvdash-size").endswith("MiB")
    assert page.get_attribute(f"{row} time", "datetime") == tag["created"]
    assert page.is_visible(f"{row} button[aria-label='Delete alice/hello-app:1']")
    assert "alice/hello-app" in repositories(api["alice"])
    # the same archive again, as a second tag of the repository: nothing new is sent
    page.click("button[aria-label='Upload a tag of alice/hello-app']")
    assert page.input_value("#karvdash-image-name") == "alice/hello-app"
    upload_through_page(page, path, tag="2")
    assert "0 blobs sent, 2 already in the registry" in page.inner_text("#karvdash-status")
    page.wait_for_selector("li[data-repository='alice/hello-app'] tr[data-tag='2']")
    badges = page.eval_on_selector_all(
        "li[data-repository='alice/hello-app'] .karvdash-tag",
        "tags => tags.map((t) => t.textContent)",
    )
    assert badges == ["1", "2"]
    page.screenshot(path=str(shots / "images.png"), full_page=True)
    clean(watch)


@pytest.mark.parametrize("bad", ["not_a_tar", "missing_layer"])
def test_a_bad_archive_shows_the_servers_message_and_nothing_is_listed(
    bad, as_user, hub, api, tmp_path, shots
):
    path = tmp_path / f"{bad}.tar"
    CORPUS[bad](path)
    refused = api["alice"](
        "PUT",
        "images/alice/broken:1",
        data=path.read_bytes(),
        headers={"Content-Type": "application/x-tar"},
    )
    assert refused.status_code == 400, refused.text
    page, watch = as_user("alice")
    open_images(page, hub)
    page.click("#karvdash-upload-image")
    page.set_input_files("#karvdash-image-file", str(path))
    page.fill("#karvdash-image-name", "alice/broken")
    upload_through_page(page, path)
    assert page.get_attribute("#karvdash-image-progress", "data-state") == "failed"
    error = page.inner_text("#karvdash-image-error")
    assert refused.json()["message"].rstrip(".") in error, error
    assert page.get_attribute("#karvdash-image-file", "aria-invalid") == "true"
    if bad == "not_a_tar":
        page.screenshot(path=str(shots / "images-bad-archive.png"), full_page=True)
    assert "alice/broken" not in shown(page)
    assert "alice/broken" not in repositories(api["alice"])
    assert api["alice"]("GET", "images/alice/broken").status_code == 404
    clean(watch, 400)


def test_deleting_a_tag_asks_first_and_takes_every_tag_of_its_image(
    as_user, hub, api, tmp_path, shots
):
    same = tmp_path / "same.tar"
    other = tmp_path / "other.tar"
    archive(same, {"app/v.txt": b"one image\n"})
    archive(other, {"app/v.txt": b"another image\n"})
    first = push(api["alice"], "alice/del:1", same)
    second = push(api["alice"], "alice/del:stable", same)
    kept = push(api["alice"], "alice/del:other", other)
    assert first["digest"] == second["digest"] != kept["digest"]
    page, watch = as_user("alice")
    open_images(page, hub)
    expand(page, "alice/del")
    assert tags_shown(page, "alice/del") == {
        "1": first["digest"],
        "other": kept["digest"],
        "stable": first["digest"],
    }
    # the dialog says that the tags of the same image go too; Cancel keeps them
    page.click("button[aria-label='Delete alice/del:1']")
    dialog = page.wait_for_selector("dialog[open]")
    text = dialog.inner_text()
    assert "Delete alice/del:1?" in text
    assert "1, stable" in text and "other" not in text.split("?", 1)[1], text
    page.screenshot(path=str(shots / "images-delete.png"))
    page.click("dialog[open] button[value=cancel]")
    assert api["alice"]("GET", "images/alice/del:1").status_code == 200
    page.click("button[aria-label='Delete alice/del:1']")
    page.click("dialog[open] button[value=confirm]")
    page.wait_for_selector("li[data-repository='alice/del'] tr[data-tag='1']", state="detached")
    assert "Deleted alice/del:1" in page.inner_text("#karvdash-status")
    for gone in ("1", "stable"):
        assert api["alice"]("GET", f"images/alice/del:{gone}").status_code == 404
    assert api["alice"]("GET", "images/alice/del:other").json()["digest"] == kept["digest"]
    wait_for(lambda: tags_shown(page, "alice/del") == {"other": kept["digest"]}, 10, "the rest")
    # the whole repository, after its own question
    page.click("button[aria-label='Delete alice/del']")
    assert "Every tag of it goes: other." in page.inner_text("dialog[open]")
    page.click("dialog[open] button[value=confirm]")
    page.wait_for_selector("li[data-repository='alice/del']", state="detached")
    assert api["alice"]("GET", "images/alice/del").status_code == 404
    assert "alice/del" not in repositories(api["alice"])
    clean(watch)


def test_another_user_does_not_see_the_first_users_images_nor_pushes_there(
    as_user, hub, api, tmp_path
):
    path = tmp_path / "secret.tar"
    archive(path, {"app/secret.txt": b"alice's\n"})
    push(api["alice"], "alice/secret-app:1", path)
    page, watch = as_user("bob")
    open_images(page, hub)
    assert "alice/secret-app" not in shown(page)
    assert "alice/secret-app" not in page.inner_text("#karvdash-images")
    assert "alice/secret-app" not in repositories(api["bob"])
    assert api["bob"]("GET", "images/alice/secret-app").status_code == 404
    assert api["bob"]("DELETE", "images/alice/secret-app").status_code in (403, 404)
    # the page offers bob his own namespace; alice's is refused with the server's message
    page.click("#karvdash-upload-image")
    page.set_input_files("#karvdash-image-file", str(path))
    assert page.input_value("#karvdash-image-name") == "bob/secret"
    page.fill("#karvdash-image-name", "alice/secret-app")
    upload_through_page(page, path, tag="2")
    assert page.get_attribute("#karvdash-image-progress", "data-state") == "failed"
    assert page.get_attribute("#karvdash-image-name", "aria-invalid") == "true"
    refused = api["bob"](
        "PUT",
        "images/alice/secret-app:2",
        data=path.read_bytes(),
        headers={"Content-Type": "application/x-tar"},
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["message"].rstrip(".") in page.inner_text("#karvdash-image-error")
    assert api["alice"]("GET", "images/alice/secret-app:2").status_code == 404
    clean(watch, 403)


def test_the_images_page_at_390_px(as_user, hub, api, tmp_path, shots):
    path = tmp_path / "phone.tar"
    archive(path, {"app/phone.txt": b"small screens\n"})
    name = "alice/a-rather-long-image-name-for-a-small-screen"
    push(api["alice"], f"{name}:a-long-tag-name-1.2.3", path)
    page, watch = as_user("alice", PHONE)
    open_images(page, hub)
    expand(page, name)
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= PHONE["width"], wide
    # a tag's name, what a template writes and Delete fit; the details are the desktop's
    row = f"li[data-repository='{name}'] tr[data-tag]"
    for hidden in ("digest", "size", "created", "platform"):
        assert not page.is_visible(f"{row} .karvdash-{hidden}"), hidden
    inside = """(width) => [...document.querySelectorAll('tr[data-tag] button')]
        .every((b) => b.getBoundingClientRect().right <= width)"""
    assert page.evaluate(inside, PHONE["width"])
    page.screenshot(path=str(shots / "images-phone.png"))
    page.click("#karvdash-upload-image")
    page.wait_for_selector("#karvdash-upload:not([hidden])")
    wide = page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= PHONE["width"], wide
    clean(watch)
