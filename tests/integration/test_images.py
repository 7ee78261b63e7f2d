"""The images built here (karvdash_localcluster.images) and the system registry that serves
them (karvdash_localcluster.registry): pushed with the config templates rely on, pushed
once, and each one's entrypoint really works.

No container runtime is used: a :class:`Box` runs an image's root file system the way a
runtime would (new mount, PID, network, UTS and IPC namespaces, a chroot, the image's user,
environment, working folder and entrypoint, volumes bind-mounted), and ``exec`` enters it
like a probe or ``kubectl exec``. The real node runs the same images as pods.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import textwrap
import time
from importlib.metadata import version
from pathlib import Path

import pytest
from karvdash_localcluster import images
from karvdash_localcluster.errors import ClusterError
from karvdash_localcluster.registry import SystemRegistry
from support.box import Box, built
from support.parts import missing_part, need_image_tools

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]

SMALL = [
    "postgres:15",
    "postgres:17",
    "redis:7.0",
    "nginx:1.26",
    "paulbouwer/hello-kubernetes:1.10",
    "registry.k8s.io/pause:3.10.2",
]


def _tools() -> None:
    need_image_tools("docker-registry")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    _tools()
    tmp = tmp_path_factory.mktemp("registry")
    with SystemRegistry(tmp / "state", storage_dir=tmp / "storage") as reg:
        yield reg


@pytest.fixture(scope="module")
def pushed(registry):
    """The small images, built (or taken from the cache) and pushed to an empty registry."""
    lines: list[str] = []
    started = time.monotonic()
    refs = images.ensure_images(registry.address, SMALL, log=lines.append)
    print(f"first ensure_images: {time.monotonic() - started:.1f}s", *lines, sep="\n  ")
    return refs


def inspect(registry, name: str, *what: str) -> dict:
    recipe = images.select([name])[0]
    where = f"docker://{registry.address}/{recipe.repository}:{recipe.tag}"
    cmd = ["skopeo", "inspect", "--tls-verify=false", *what, where]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def test_the_registry_is_loopback_only_and_restarts_cleanly(tmp_path):
    _tools()
    reg = SystemRegistry(tmp_path / "state", storage_dir=tmp_path / "storage").start()
    first = reg.process.pid
    assert reg.address.startswith("127.0.0.1:")
    assert json.loads(reg.config_file.read_text())["http"]["addr"] == reg.address
    # a second start from the same folder (after a crash) stops the one left running
    again = SystemRegistry(tmp_path / "state", storage_dir=tmp_path / "storage").start()
    try:
        assert reg.process.wait(timeout=10) is not None and again.process.pid != first
        assert "override_path = true" in again.hosts_toml("quay.io")
    finally:
        again.stop()
    assert not again.pid_file.exists()


def test_each_image_is_in_the_registry_with_the_config_its_template_needs(registry, pushed):
    assert set(pushed) == set(SMALL)
    entry = "/usr/local/bin/docker-entrypoint.sh"
    expect = {  # entrypoint, user, one variable of the environment
        "postgres:15": (entry, "", "PGDATA=/var/lib/postgresql/data"),
        "postgres:17": (entry, "", "PATH=/usr/lib/postgresql/17/bin:"),
        "redis:7.0": (entry, "", "PATH="),
        "nginx:1.26": (None, "33:33", "PATH="),
        "paulbouwer/hello-kubernetes:1.10": ("/usr/bin/python3", "65534:65534", "PORT=8080"),
        "registry.k8s.io/pause:3.10.2": ("/usr/bin/catatonit", "65535:65535", "PATH="),
    }
    for name, (entrypoint, user, env) in expect.items():
        assert pushed[name].endswith("@" + built(name).digest)
        assert pushed[name].startswith(f"{registry.address}/{images.select([name])[0].repository}:")
        config = inspect(registry, name, "--config")["config"]
        assert (config.get("Entrypoint") or [None])[0] == entrypoint, name
        assert config.get("User", "") == user, name
        assert any(e.startswith(env) for e in config["Env"]), (name, config["Env"])
        assert config["Labels"]["org.opencontainers.image.version"], name
    assert inspect(registry, "nginx:1.26", "--config")["config"]["Cmd"][0] == "nginx"


def test_a_second_ensure_builds_nothing_and_pushes_nothing(registry, pushed):
    lines: list[str] = []
    started = time.monotonic()
    again = images.ensure_images(registry.address, SMALL, log=lines.append)
    took = time.monotonic() - started
    print(f"second ensure_images: {took:.2f}s")
    assert again == pushed
    assert lines == [], lines
    assert took < 30


@pytest.mark.parametrize("major", ["15", "17"])
def test_postgres_initialises_a_database_and_answers_with_a_password(pushed, tmp_path, major):
    data = tmp_path / "volume"
    data.mkdir()  # root-owned, like a fresh hostPath volume
    env = {
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": "s3cret pass",
        "POSTGRES_DB": "appdb",
        "PGDATA": "/var/lib/postgresql/data/pgdata",
    }
    volumes = [(data, "/var/lib/postgresql/data")]
    probe = ["pg_isready", "-U", "postgres", "-h", "127.0.0.1", "-p", "5432"]
    url = "postgresql://postgres:s3cret%20pass@127.0.0.1:5432/appdb"
    with Box(f"postgres:{major}", tmp_path, env=env, volumes=volumes) as box:
        box.wait_until(lambda: box.exec(*probe).returncode == 0)
        assert box.process_uid() == 999
        out = box.exec("psql", url, "-tAc", "select current_database(), version()").stdout
        assert out.startswith(f"appdb|PostgreSQL {major}.")
        box.exec("psql", url, "-c", "create table kept (x int); insert into kept values (42)")
        wrong = box.exec(
            "psql", url.replace("s3cret%20pass", "wrong"), "-c", "select 1", check=False
        )
        assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr
        assert box.stop() == 0
    assert (data / "pgdata" / "PG_VERSION").read_text().strip() == major
    assert (data / "pgdata").stat().st_uid == 999
    # a restart on the same volume keeps the data and does not initialise again
    with Box(f"postgres:{major}", tmp_path, env=env, volumes=volumes) as box:
        box.wait_until(lambda: box.exec(*probe).returncode == 0)
        assert box.exec("psql", url, "-tAc", "select x from kept").stdout.strip() == "42"
        assert "init process complete" not in box.output()
        box.stop()


def test_redis_runs_the_templates_config_with_a_password_and_persistence(pushed, tmp_path):
    conf, data = tmp_path / "conf", tmp_path / "data"
    conf.mkdir(), data.mkdir()
    (conf / "redis.conf").write_text(
        "bind 0.0.0.0\nport 6379\nprotected-mode yes\nrequirepass pw\ndir /data\n"
        "appendonly yes\nappendfsync everysec\nmaxmemory 512mb\nmaxmemory-policy allkeys-lru\n"
    )
    volumes = [(conf, "/etc/redis", "ro"), (data, "/data")]
    args = ["redis-server", "/etc/redis/redis.conf"]
    with Box("redis:7.0", tmp_path, args=args, volumes=volumes) as box:
        box.wait_until(lambda: box.exec("redis-cli", "-a", "pw", "ping").stdout.strip() == "PONG")
        assert box.process_uid() == 999
        assert "NOAUTH" in box.exec("redis-cli", "set", "k", "v", check=False).stdout
        assert box.exec("redis-cli", "-a", "pw", "set", "k", "v").stdout.strip() == "OK"
        assert box.stop() == 0
    assert any(data.rglob("appendonly*")) and data.stat().st_uid == 999


def test_nginx_serves_the_folder_the_templates_config_names(pushed, tmp_path):
    confd, shared = tmp_path / "conf.d", tmp_path / "shared"
    confd.mkdir(), shared.mkdir()
    (shared / "notes.txt").write_text("shared notes\n")
    template = Path(__file__).parents[2] / "karvdash_hub/catalogue/nginx.template.yaml"
    block = template.read_text().split("default.conf: |\n", 1)[1].split("\n---", 1)[0]
    (confd / "default.conf").write_text(textwrap.dedent(block).replace("$SHARED", "/shared"))
    volumes = [(confd, "/etc/nginx/conf.d", "ro"), (shared, "/shared", "ro")]
    with Box("nginx:1.26", tmp_path, volumes=volumes) as box:
        box.wait_until(lambda: box.http("/")[0] == 200)
        assert box.process_uid() == 33
        assert "notes.txt" in box.http("/")[1]
        assert box.http("/notes.txt") == (200, "shared notes\n\n")
        assert box.http("/notes.txt", method="DELETE")[0] == 403
        assert box.stop(signal.SIGQUIT) == 0


def test_hello_kubernetes_shows_the_message_and_stops_on_sigterm(pushed, tmp_path):
    env = {"MESSAGE": "I just deployed <this>!", "PORT": "8080"}
    with Box("paulbouwer/hello-kubernetes:1.10", tmp_path, env=env) as box:
        box.wait_until(lambda: box.http("/")[0] == 200)
        assert box.process_uid() == 65534
        assert "I just deployed &lt;this&gt;!" in box.http("/")[1]
        started = time.monotonic()
        assert box.stop() == 0 and time.monotonic() - started < 5


def test_the_pause_image_sleeps_until_it_is_signalled(pushed, tmp_path):
    with Box("registry.k8s.io/pause:3.10.2", tmp_path) as box:
        time.sleep(1)
        assert box.process.poll() is None and box.process_uid() == 65535
        assert box.stop() == 0


def test_the_single_user_image_runs_jupyterlab_with_karvdash_labext(registry, tmp_path):
    name = next(n for n in images.recipes() if n.startswith("karvdash/singleuser:"))
    try:
        ref = images.ensure_images(registry.address, [name])[name]
    except ClusterError as err:
        if "control plane" in str(err):
            missing_part(f"kubectl for the single-user image: {err}")
        raise
    assert ref.startswith(f"{registry.address}/karvdash/singleuser:{images.project_version()}@")
    env = {"JUPYTER_TOKEN": "t0ken"}
    args = ["jupyter", "lab", "--ServerApp.ip=127.0.0.1", "--ServerApp.port=8888", "--no-browser"]
    with Box(name, tmp_path, env=env, args=args) as box:
        assert box.uid == 1000 and box.env["HOME"] == "/home/jovyan"
        hub = box.exec("jupyterhub-singleuser", "--version").stdout.strip()
        assert hub == version("jupyterhub")
        assert box.exec("python", "-c", "import karvdash_labext").returncode == 0
        assert box.exec("karvdashctl", "--help").returncode == 0
        assert "Client Version" in box.exec("kubectl", "version", "--client").stdout
        box.wait_until(lambda: box.http("/api", port=8888)[0] == 200, timeout=120)
        # the server extension is enabled by the config file the wheel installs; without
        # KARVDASH_API_URL it says what to set
        status, body = box.http("/karvdash/info?token=t0ken", port=8888)
        assert status == 200 and json.loads(body)["configured"] is False, body
        listed = box.exec("jupyter", "server", "extension", "list")
        assert "karvdash_labext" in listed.stdout + listed.stderr
        # and JupyterLab has the prebuilt side panel the wheel ships
        labs = box.exec("jupyter", "labextension", "list")
        assert re.search(r"karvdash-labext v\S+ \S*enabled\S* \S*OK", labs.stdout + labs.stderr)
        assert box.process_uid() == 1000
        assert box.stop() == 0
