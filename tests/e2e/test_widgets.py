"""The notebook widgets (karvdash_labext.widgets) end to end, from Python: a real hub and
dashboard, the local control plane, the registry the hub starts; each widget built with a
user's own token, its buttons clicked as a browser would (without a running event loop the
operations run at once, so each click's effect is there when it returns). The same in a
real JupyterLab: tests/e2e/test_widgets_lab.py."""

from __future__ import annotations

import io
import uuid

import pytest
import requests
from support import imagearchives as archives
from support.parts import need_registry

from karvdash_labext.client import KarvdashClient, KarvdashError
from karvdash_labext.widgets import Dashboard, Files, Images, Launcher, Services
from karvdash_labext.widgets.base import Confirm

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

FORM = """
kind: Template
name: Form Board
description: A web page with settings of every kind
variables:
- {name: NAME, default: board}
- {name: TITLE, default: My board, help: Page title}
- {name: REPLICAS, default: 2, type: integer, help: How many pods}
- {name: DEBUG, default: false, type: boolean, help: Log every request}
- {name: THEME, default: dark, choices: [light, dark], help: Colours}
---
apiVersion: v1
kind: Service
metadata: {name: $NAME}
spec: {selector: {app: $NAME}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: $NAME}
spec:
  replicas: $REPLICAS
  selector: {matchLabels: {app: $NAME}}
  template:
    metadata: {labels: {app: $NAME}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        env:
        - {name: TITLE, value: $TITLE}
        - {name: SETTINGS, value: "debug=$DEBUG theme=$THEME"}
"""


@pytest.fixture(scope="module")
def clients(hub, tokens):
    """A Python client of each user, as a notebook of theirs has (their own token)."""
    made = {
        name: KarvdashClient(url=hub.url + "/services/karvdash/api/", token=token)
        for name, token in tokens.items()
    }
    yield made
    for client in made.values():
        client.close()


@pytest.fixture
def stop_after(clients):
    """Services to stop after the test, whatever happened: (user, name)."""
    started: list[tuple[str, str]] = []
    yield started
    for user, name in started:
        try:
            clients[user].delete_service(name)
        except KarvdashError as err:
            assert err.status == 404, err


@pytest.fixture
def form_template(clients):
    template = clients["alice"].add_template(FORM, "form-board")
    yield template["id"]
    clients["alice"].remove_template(template["id"])


def names(services: list[dict]) -> list[str]:
    return [s["name"] for s in services]


def choose(uploader, name: str, data: bytes) -> None:
    """What the browser sends when a file is chosen in an upload button."""
    chosen = {"name": name, "type": "", "size": len(data), "content": memoryview(data)}
    uploader.set_state({"value": [{**chosen, "last_modified": 1_700_000_000_000}]})


def confirms(widget) -> list[Confirm]:
    return [c for c in widget.listing.children if isinstance(c, Confirm)]


def test_the_launchers_form_is_made_of_the_templates_variables(clients, form_template):
    launcher = Launcher(client=clients["alice"])
    assert {"hello-kubernetes", "postgres", form_template} <= {t["id"] for t in launcher.templates}
    launcher.select(form_template)
    fields = launcher.fields
    assert list(fields) == ["NAME", "TITLE", "REPLICAS", "DEBUG", "THEME"]
    kinds = {name: type(field).__name__ for name, field in fields.items()}
    assert kinds == {
        "NAME": "Text",
        "TITLE": "Text",
        "REPLICAS": "IntText",
        "DEBUG": "Checkbox",
        "THEME": "Dropdown",
    }
    assert launcher.values() == {
        "NAME": "board",
        "TITLE": "My board",
        "REPLICAS": 2,
        "DEBUG": False,
        "THEME": "dark",
    }
    assert fields["THEME"].options == ("light", "dark")
    assert fields["REPLICAS"].tooltip == "How many pods"
    launcher.select("postgres")
    assert launcher.fields["VERSION"].options == ("15", "17")
    assert launcher.fields["VERSION"].value == "17"
    with pytest.raises(KarvdashError, match="no template 'nope'"):
        launcher.select("nope")
    launcher.close()


def test_a_launch_from_the_form_sends_its_values_and_shows_in_services(
    clients, form_template, stop_after, kube, hub
):
    from kubernetes import client as k8s

    launcher = Launcher(client=clients["alice"], template=form_template)
    launched = []
    launcher.on_launch(launched.append)
    launcher.fields["NAME"].value = "boardw"
    launcher.fields["REPLICAS"].value = 3
    launcher.fields["DEBUG"].value = True
    launcher.fields["THEME"].value = "light"
    stop_after.append(("alice", "boardw"))
    launcher.launch_button.click()
    assert [a["name"] for a in launched] == ["boardw"], launcher.status.value
    assert "Launched boardw" in launcher.status.value
    assert not launcher.launch_button.disabled
    deployment = k8s.AppsV1Api(kube).read_namespaced_deployment("boardw", hub.namespace("alice"))
    assert deployment.spec.replicas == 3
    env = {e.name: e.value for e in deployment.spec.template.spec.containers[0].env}
    assert env["TITLE"] == "My board" and env["SETTINGS"] == "debug=true theme=light"

    services = Services(client=clients["alice"], interval=0)
    assert "boardw" in names(services.refresh()) and "boardw" in services.rows
    assert services.rows["boardw"].cells[1].value == "Form Board"
    services.close()
    launcher.close()


def test_an_invalid_value_is_shown_at_its_field_and_launches_nothing(clients):
    launcher = Launcher(client=clients["alice"], template="hello-kubernetes")
    launcher.fields["NAME"].value = "Not A Name"
    launcher.launch_button.click()
    assert "NAME" in launcher.errors["NAME"].value and "color" in launcher.errors["NAME"].value
    assert all(not e.value for n, e in launcher.errors.items() if n != "NAME")
    assert "correct NAME" in launcher.status.value
    assert clients["alice"].list_services() == []
    # the Python API raises the API's error, with the field it is about
    with pytest.raises(KarvdashError) as raised:
        launcher.launch("hello-kubernetes", NAME="Not A Name")
    assert (raised.value.status, raised.value.where) == (400, "variables.NAME")
    # corrected, the field's error goes
    launcher.fields["NAME"].value = "hello-ok"
    launcher.launch_button.click()
    try:
        assert launcher.errors["NAME"].value == ""
        assert names(clients["alice"].list_services()) == ["hello-ok"]
    finally:
        clients["alice"].delete_service("hello-ok")
    launcher.close()


def test_a_service_stopped_from_the_table_is_gone(clients, stop_after):
    clients["alice"].create_service("hello-kubernetes", {"NAME": "tostop"})
    stop_after.append(("alice", "tostop"))
    services = Services(client=clients["alice"], interval=0)
    assert "tostop" in services.rows
    row = services.rows["tostop"]
    assert "/" in row.cells[2].value  # ready/total and phase
    row.stop.button.click()
    assert "tostop" in names(clients["alice"].list_services())  # asked first
    row.stop.yes.click()
    assert "tostop" not in services.rows and "Stopped tostop" in services.status.value
    assert "tostop" not in names(clients["alice"].list_services())
    # and from Python
    clients["alice"].create_service("hello-kubernetes", {"NAME": "tostop2"})
    stop_after.append(("alice", "tostop2"))
    assert services.stop("tostop2")["name"] == "tostop2"
    assert "tostop2" not in names(services.refresh())
    with pytest.raises(KarvdashError) as raised:
        services.stop("tostop2")
    assert raised.value.status == 404
    services.close()


def test_widgets_of_bob_never_show_alices_services(clients, stop_after):
    clients["alice"].create_service("hello-kubernetes", {"NAME": "alices"})
    stop_after.append(("alice", "alices"))
    bobs = Services(client=clients["bob"], interval=0)
    assert "alices" not in names(bobs.refresh()) and "alices" not in bobs.rows
    with pytest.raises(KarvdashError) as raised:
        bobs.stop("alices")
    assert raised.value.status == 404
    assert "alices" in names(clients["alice"].list_services())
    dashboard = Dashboard(client=clients["bob"], interval=0)
    assert "alices" not in dashboard.services.rows
    assert "as bob" in dashboard.title.value
    dashboard.close()
    bobs.close()


def test_files_upload_list_mkdir_download_and_delete(hub, clients, tokens, tmp_path):
    files = Files(client=clients["alice"], base_url="/")
    folder = f"/private/widgets-{uuid.uuid4().hex[:6]}"
    assert files.mkdir(folder)["type"] == "folder"
    assert files.upload("notes.txt", b"hello widgets\n", folder=folder)["size"] == 14
    (tmp_path / "big.bin").write_bytes(b"x" * 300_000)
    assert files.upload("big.bin", str(tmp_path / "big.bin"), folder=folder)["size"] == 300_000
    listed = files.list(folder)
    assert files.path == folder
    assert [(e["name"], e["type"]) for e in listed] == [("big.bin", "file"), ("notes.txt", "file")]
    # the view: a download link per file, to the dashboard's files API as the browser sees it
    url = files.download_url(f"{folder}/notes.txt")
    links = [c.value for c in files.listing.children if getattr(c, "value", "").startswith("<a ")]
    assert any(f'href="{url}"' in link for link in links), links
    got = requests.get(hub.url + url, headers={"Authorization": f"token {tokens['alice']}"})
    assert got.status_code == 200 and got.content == b"hello widgets\n"
    assert "attachment" in got.headers["Content-Disposition"]

    # files chosen in the browser go up to the folder shown, with a progress bar
    choose(files.uploader, "chosen.csv", b"a,b\n")
    assert files.uploader.value == ()
    assert "Uploaded chosen.csv" in files.status.value, files.status.value
    assert files.meter.bar.value == files.meter.bar.max == 4
    assert "chosen.csv" in [e["name"] for e in files.entries]

    # a new folder from the form, entered by a click; .. goes back
    files.folder_name.value = "inner"
    files.mkdir_button.click()
    assert ("inner", "folder") in [(e["name"], e["type"]) for e in files.entries]
    inner = next(c for c in files.listing.children if getattr(c, "description", None) == "inner")
    inner.click()
    assert files.path == f"{folder}/inner" and files.entries == []
    up = next(c for c in files.listing.children if getattr(c, "description", None) == "..")
    up.click()
    assert files.path == folder

    # delete asks first
    (delete_chosen,) = [c for c in confirms(files) if "chosen.csv" in c.question.value]
    delete_chosen.button.click()
    assert "chosen.csv" in [
        e["name"] for e in clients["alice"].stat_file("private", folder[9:])["entries"]
    ]
    delete_chosen.yes.click()
    assert "chosen.csv" not in [e["name"] for e in files.entries]

    # bob sees none of it: his /private is his own
    bobs = Files(client=clients["bob"])
    assert folder[9:] not in [e["name"] for e in bobs.list("/private")]
    with pytest.raises(KarvdashError) as raised:
        bobs.list(folder)
    assert raised.value.status == 404
    bob_got = requests.get(hub.url + url, headers={"Authorization": f"token {tokens['bob']}"})
    assert bob_got.status_code == 404

    files.delete(f"{folder}/notes.txt")
    with pytest.raises(KarvdashError) as raised:
        files.delete(folder)  # not empty
    assert raised.value.status == 409
    files.delete(folder, recursive=True)
    assert folder[9:] not in [e["name"] for e in files.list("/private")]
    with pytest.raises(KarvdashError, match="is not in a file domain"):
        files.list("/etc")
    files.close()
    bobs.close()


def test_images_push_list_and_delete(hub, clients, tmp_path):
    need_registry()
    path = tmp_path / "hello.tar"
    archives.docker_archive(path, [archives.layer(archives.HELLO)])
    images = Images(client=clients["alice"])
    assert images.available and images.namespace == "alice" and images.registry == hub.registry
    told = []
    answer = images.push(str(path), "alice/widget:1", progress=lambda s, t: told.append((s, t)))
    assert answer["template_reference"] == "$REGISTRY/alice/widget:1"
    assert told and told[-1] == (path.stat().st_size, path.stat().st_size)
    assert {"name": "alice/widget", "tags": ["1"]}.items() <= next(
        r for r in images.list() if r["name"] == "alice/widget"
    ).items()

    # from the form: a path in the notebook's file system and a name:tag
    images.source.value = str(path)
    images.image_name.value = "alice/widget:2"
    images.push_button.click()
    assert "Pushed alice/widget:2" in images.status.value, images.status.value
    assert images.meter.bar.value == path.stat().st_size
    shown = [c.value for c in images.listing.children if "<code>" in getattr(c, "value", "")]
    assert "<code>$REGISTRY/alice/widget:2</code>" in shown, shown
    # from an archive chosen in the browser
    choose(images.uploader, "hello.tar", path.read_bytes())
    images.image_name.value = "alice/other:1"
    images.push_button.click()
    assert "Pushed alice/other:1" in images.status.value, images.status.value
    # a bad name is refused before anything is sent
    images.image_name.value = "Alice/UPPER"
    images.push_button.click()
    assert "is not a repository name" in images.status.value

    # bob sees none of alice's images
    assert not [r for r in Images(client=clients["bob"]).list() if r["owner"] == "alice"]

    (delete_other,) = [c for c in confirms(images) if "alice/other:1" in c.question.value]
    delete_other.button.click()
    delete_other.yes.click()
    assert "alice/other" not in [r["name"] for r in images.repositories]
    # the two tags name one image: deleting one deletes both
    assert images.delete("alice/widget:1")["tags"] == ["1", "2"]
    assert "alice/widget" not in [r["name"] for r in images.list()]
    images.close()


def test_the_dashboard_has_the_tabs_and_a_launch_refreshes_its_services(clients, stop_after):
    need_registry()
    dashboard = Dashboard(client=clients["alice"], interval=0)
    assert dashboard.titles == ("Services", "Launcher", "Files", "Images")
    assert dashboard.tabs.children == (
        dashboard.services,
        dashboard.launcher,
        dashboard.files,
        dashboard.images,
    )
    assert {p.client for p in dashboard.tabs.children} == {clients["alice"]}
    dashboard.launcher.select("hello-kubernetes")
    dashboard.launcher.fields["NAME"].value = "fromtab"
    stop_after.append(("alice", "fromtab"))
    dashboard.launcher.launch_button.click()
    assert "fromtab" in dashboard.services.rows, dashboard.launcher.status.value
    assert "fromtab" in names(dashboard.services.services)
    dashboard.close()


def test_a_files_upload_from_bytes_in_memory_and_a_file_object(clients):
    files = Files(client=clients["alice"], path="/shared")
    name = f"w-{uuid.uuid4().hex[:6]}.txt"
    files.upload(name, io.BytesIO(b"from a file object"))
    assert name in [e["name"] for e in files.entries] and files.path == "/shared"
    files.delete(f"/shared/{name}")
    assert name not in [e["name"] for e in files.entries]
    files.close()
