"""Running an image built here without a container runtime: a :class:`Box` runs its root
file system the way a runtime would (new mount, PID, network, UTS and IPC namespaces, a
chroot, the image's user, environment, working folder and entrypoint, volumes
bind-mounted), and ``exec`` enters it like a probe or ``kubectl exec``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from karvdash_localcluster import images


def built(name: str) -> images.Built:
    result = images.cached(images.select([name])[0])
    assert result is not None, f"{name} is not in the cache"
    return result


class ExecFailed(AssertionError):
    """A command run in a box failed (its output is in the message)."""


class Box:
    """An image's root file system run as a container runtime would run it (see module)."""

    def __init__(self, name: str, tmp: Path, env=None, args=None, volumes=()):
        self.built, self.tmp = built(name), tmp
        self.bundle = tmp / "bundle"
        if not self.bundle.exists():
            image = f"{self.built.oci_dir}:{self.built.recipe.tag}"
            unpack = ["umoci", "unpack", "--image", image, str(self.bundle)]
            subprocess.run(unpack, check=True, capture_output=True)
        self.root = self.bundle / "rootfs"
        config = _image_config(self.built)["config"]
        self.env = dict(e.split("=", 1) for e in config.get("Env", [])) | (env or {})
        self.argv = (config.get("Entrypoint") or []) + (args or config.get("Cmd") or [])
        uid, _, gid = (config.get("User") or "0:0").partition(":")
        self.uid, self.gid = int(uid), int(gid or 0)
        self.cwd = config.get("WorkingDir") or "/"
        self.volumes = volumes
        self.log = tmp / "output.log"

    def start(self) -> Box:
        mounts = [
            "ip link set lo up",
            'mkdir -p "$R/proc" "$R/dev" "$R/tmp"',
            'mount -t proc proc "$R/proc"',
            'mount -t tmpfs -o mode=755 tmpfs "$R/dev"',
            'mkdir -p "$R/dev/shm"',
            'mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"',
            'ln -s /proc/self/fd "$R/dev/fd"',
            "for i in 0:stdin 1:stdout 2:stderr;"
            ' do ln -s "/proc/self/fd/${i%:*}" "$R/dev/${i#*:}"; done',
            'for d in null zero random urandom full tty; do touch "$R/dev/$d";'
            ' mount --bind "/dev/$d" "$R/dev/$d"; done',
        ]
        for host, target, *ro in self.volumes:
            mounts += [f'mkdir -p "$R{target}"', f'mount --bind "{host}" "$R{target}"']
            if ro:
                mounts.append(f'mount -o remount,bind,ro "$R{target}"')
        spec = json.dumps([str(self.root), self.cwd, self.uid, self.gid, self.argv, self.env])
        launch = (
            "import json,os,sys,warnings; r,cwd,u,g,argv,env=json.loads(sys.argv[1]); os.chroot(r);"
            " os.chdir(cwd); os.setgroups([]); os.setgid(g); os.setuid(u);"
            " os.execvpe(argv[0], argv, env)"
        )
        mounts.append(f"exec {sys.executable} -c '{launch}' '{spec}'")
        with open(self.log, "wb") as out:
            os.chown(self.log, self.uid, self.gid)  # as runc gives its stdio to the user
            namespaces = ["--mount", "--pid", "--net", "--uts", "--ipc", "--propagation=private"]
            self.process = subprocess.Popen(
                ["unshare", *namespaces, "--fork", "--kill-child", "sh", "-euc", "; ".join(mounts)],
                env={"R": str(self.root), "PATH": os.environ["PATH"]},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            kids = children.read_text().split() if children.exists() else []
            cmdline = Path(f"/proc/{kids[0]}/cmdline").read_bytes() if kids else b""
            if cmdline and b"os.chroot(r)" not in cmdline and not cmdline.startswith(b"sh\0"):
                self.pid = int(kids[0])  # the image's process, after chroot and setuid
                return self
            time.sleep(0.05)
        raise AssertionError(f"the box did not start: {self.output()}")

    def exec(self, *argv: str, uid=None, check=True, timeout=30) -> subprocess.CompletedProcess:
        env = [f"{k}={v}" for k, v in self.env.items()]
        # the namespaces of the box, then a chroot to its root as the mount namespace sees it
        user = f"{self.uid if uid is None else uid}:{self.gid}"
        cmd = ["nsenter", "-t", str(self.pid), "-m", "-n", "-p", "-u", "-i"]
        cmd += ["chroot", f"--userspec={user}", str(self.root), "/usr/bin/env", "-i", *env, *argv]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise ExecFailed(f"{argv} exited {done.returncode}: {done.stderr}{done.stdout}")
        return done

    def http(self, path: str, method: str = "GET", port: int = 8080) -> tuple[int, str]:
        """A request from inside the box's network (the host's Python, nsenter --net)."""
        code = textwrap.dedent(f"""
            import urllib.request, urllib.error
            req = urllib.request.Request("http://127.0.0.1:{port}{path}", method="{method}")
            try:
                r = urllib.request.urlopen(req, timeout=5)
                print(r.status); print(r.read().decode())
            except urllib.error.HTTPError as e:
                print(e.code)
        """)
        out = subprocess.run(
            ["nsenter", "-t", str(self.pid), "-n", sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        status, _, body = out.partition("\n")
        return int(status), body

    def wait_until(self, check, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the container exited: {self.output()}")
            try:
                if check():
                    return
            except (ExecFailed, subprocess.CalledProcessError, ValueError):
                pass
            time.sleep(0.3)
        raise AssertionError(f"not ready in {timeout}s: {self.output()}")

    def process_uid(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])

    def stop(self, sig=signal.SIGTERM, timeout=20) -> int:
        """Signal the container's PID 1 (as a runtime does) and wait for it to end."""
        os.kill(self.pid, sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"did not stop on {sig!r}: {self.output()}") from None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _image_config(b: images.Built) -> dict:
    blob = b.oci_dir / "blobs" / "sha256"
    manifest = json.loads((blob / b.digest.split(":")[1]).read_text())
    return json.loads((blob / manifest["config"]["digest"].split(":")[1]).read_text())
