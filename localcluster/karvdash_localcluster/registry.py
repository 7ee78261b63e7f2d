"""The system registry: Debian's ``docker-registry`` (CNCF Distribution 2.8) on loopback,
from which the real node's containerd pulls the images built here (:mod:`.images`).

Guarantees:

- :meth:`SystemRegistry.start` serves the OCI distribution API, anonymous, on
  ``127.0.0.1:<port>`` only (a free port unless one is given), and returns once ``/v2/``
  answers. It is the platform's own registry for the node; users' images get a separate
  registry behind the hub's token auth.
- Its storage is a persistent cache folder (``~/.cache/karvdash/registry`` by default), so
  pushed images survive restarts; its config file, log and pid file live in ``state_dir``.
- It runs in its own process group; :meth:`stop` ends it, and a registry left running from
  the same ``state_dir`` by a crashed run is stopped by the next :meth:`start`.
- Mirror layout (see :func:`mirror_repository`): images of ``docker.io`` keep their path
  (``docker.io/library/postgres:15`` is ``<address>/library/postgres:15``); images of any
  other upstream are namespaced by its host (``registry.k8s.io/pause:3.10.2`` is
  ``<address>/registry.k8s.io/pause:3.10.2``), because the same path exists on several
  upstreams (``docker.io/jupyter/...`` and ``quay.io/jupyter/...``). :meth:`hosts_toml`
  writes the matching containerd ``hosts.toml``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .errors import ClusterError, log
from .gobuild import cache_root
from .ports import free_port, port_is_free

#: what a manifest request accepts, so that OCI and Docker manifests are both found
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


def registry_storage() -> Path:
    """The default storage folder of the system registry (kept across restarts)."""
    return cache_root() / "registry"


def split_reference(ref: str) -> tuple[str, str, str]:
    """``(upstream host, repository path, tag)`` of an image reference as Docker reads
    it: ``postgres:15`` -> ``("docker.io", "library/postgres", "15")``."""
    name, _, digest = ref.partition("@")
    tag = "" if digest else "latest"
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = "docker.io", name
    if host == "docker.io" and "/" not in path:
        path = f"library/{path}"
    return host, path, tag


def mirror_repository(ref: str) -> str:
    """The repository that holds ``ref`` in the system registry (the mirror layout)."""
    host, path, _ = split_reference(ref)
    return path if host == "docker.io" else f"{host}/{path}"


def manifest_digest(address: str, repository: str, reference: str) -> str | None:
    """The digest the registry at ``address`` serves for ``repository:reference``, or None
    when it has no such manifest."""
    req = urllib.request.Request(
        f"http://{address}/v2/{repository}/manifests/{reference}",
        method="HEAD",
        headers={"Accept": MANIFEST_TYPES},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.headers.get("Docker-Content-Digest")
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise ClusterError(
            f"the registry at {address} answered {err.code} for {repository}"
        ) from err
    except (urllib.error.URLError, OSError) as err:
        raise ClusterError(f"no registry answers at {address} ({err}): start it first") from err


def push_oci(layout: Path, tag: str, address: str, repository: str, digest: str) -> None:
    """Copy ``tag`` of the OCI layout ``layout`` to ``address/repository:tag``, keeping its
    digest (blobs the registry has are not sent again), and check that it serves ``digest``."""
    copy = ["skopeo", "copy", "--quiet", "--preserve-digests", "--dest-tls-verify=false"]
    target = f"docker://{address}/{repository}:{tag}"
    done = subprocess.run([*copy, f"oci:{layout}:{tag}", target], capture_output=True, text=True)
    if done.returncode != 0:
        raise ClusterError(f"skopeo could not push {repository}:{tag} to {address}: {done.stderr}")
    served = manifest_digest(address, repository, tag)
    if served != digest:
        raise ClusterError(f"{address} serves {served} for {repository}:{tag}, not {digest}")


class SystemRegistry:
    """``SystemRegistry(state_dir, port=None)``; ``start()``, ``address``, ``stop()``, or
    ``with SystemRegistry(...) as registry:``. ``storage_dir`` moves the storage (tests)."""

    def __init__(
        self,
        state_dir: Path,
        port: int | None = None,
        storage_dir: Path | None = None,
    ):
        self.state_dir = Path(state_dir).resolve()
        self.port = port
        self.storage_dir = Path(storage_dir or registry_storage()).resolve()
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        if self.port is None:
            raise ClusterError("the system registry has no address until it is started")
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def config_file(self) -> Path:
        return self.state_dir / "registry.json"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "registry.log"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "registry.pid"

    # -- lifecycle

    def start(self, timeout: float = 30) -> SystemRegistry:
        binary = shutil.which("docker-registry") or shutil.which("registry")
        if binary is None:
            raise ClusterError(
                "Debian's docker-registry is not installed: run 'apt-get install"
                " docker-registry' (.ci/run installs it)"
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        self._stop_leftover()
        if self.port is None:
            self.port = free_port()
        elif not port_is_free(self.port):
            raise ClusterError(f"port {self.port} is taken: choose another or leave it free")
        self.config_file.write_text(json.dumps(self._config(), indent=2) + "\n")
        # REGISTRY_* variables would override the config file: keep them out
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        with open(self.log_file, "ab") as out:
            self.process = subprocess.Popen(
                [binary, "serve", str(self.config_file)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        self.pid_file.write_text(str(self.process.pid))
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        log(f"system registry on {self.address}, storage {self.storage_dir}")
        return self

    def stop(self, timeout: float = 10) -> None:
        """End the registry's process group (a no-op when it is not running)."""
        if self.process is not None:
            _kill_group(self.process.pid, timeout)
            with contextlib.suppress(ChildProcessError, OSError):
                self.process.wait(timeout=1)
            self.process = None
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()

    def running_address(self) -> str | None:
        """The address of a registry that another process started from ``state_dir`` and
        that still runs (a cluster's), or None."""
        if self._leftover_pid() is None:
            return None
        return json.loads(self.config_file.read_text())["http"]["addr"]

    def __enter__(self) -> SystemRegistry:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- what the images and the node need

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        """The digest the registry serves for ``repository:reference``, or None."""
        return manifest_digest(self.address, repository, reference)

    def hosts_toml(self, upstream: str) -> str:
        """containerd's ``certs.d/<upstream>/hosts.toml`` that resolves every image of
        ``upstream`` (``docker.io``, ``quay.io``, ``registry.k8s.io``...) in this registry
        only: an image not built here fails to pull instead of reaching the Internet."""
        if upstream == "docker.io":
            return f'server = "http://{self.address}"\n'
        # the API root is given whole: containerd must not append /v2 after the namespace
        return f'server = "http://{self.address}/v2/{upstream}"\noverride_path = true\n'

    # -- internals

    def _config(self) -> dict:
        return {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text", "fields": {"service": "system"}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage_dir)},
                "delete": {"enabled": True},
                "cache": {"blobdescriptor": "inmemory"},
            },
            "http": {
                "addr": self.address,
                "secret": secrets.token_hex(16),
                "headers": {"X-Content-Type-Options": ["nosniff"]},
            },
            "health": {"storagedriver": {"enabled": True, "interval": "10s", "threshold": 3}},
        }

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ClusterError(
                    f"docker-registry exited with {self.process.returncode}; its log"
                    f" {self.log_file} ends with:\n{_tail(self.log_file)}"
                )
            try:
                with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except urllib.error.HTTPError:
                pass
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise ClusterError(
            f"docker-registry did not answer on {self.address} within {timeout:.0f}s;"
            f" see {self.log_file}:\n{_tail(self.log_file)}"
        )

    def _leftover_pid(self) -> int | None:
        """The pid of a registry started from ``state_dir`` that still runs, if any."""
        try:
            pid = int(self.pid_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ValueError, OSError):
            return None
        return pid if str(self.config_file).encode() in cmdline else None

    def _stop_leftover(self) -> None:
        pid = self._leftover_pid()
        if pid is not None:
            log(f"stopping the system registry left running from {self.state_dir} (pid {pid})")
            _kill_group(pid, 10)


def _kill_group(pid: int, timeout: float) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
