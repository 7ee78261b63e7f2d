"""Benchmark: 1 GiB up and down through the hub's proxy to the dashboard's Files API,
against ``cp`` of the same file on the same disk and JupyterLab's contents API upload.

    python benchmarks/files.py [--size-mib 1024] [--runs 3] [--kubeconfig PATH]

Starts the embedded default (hub, configurable-http-proxy, dashboard: real processes, as
the end-to-end tests do) with a user whose JupyterLab runs as a local process, and makes
a file of ``--size-mib`` random bytes in the hub's state folder (the disk the domains are
on). Each figure is the median of ``--runs``, all in the same run:

- ``cp`` of the file to the private domain's folder (the physical limit here: read and
  write on one disk, through the page cache, as the uploads are);
- upload with ``PUT api/files/private/...`` (curl, the body streamed: what karvdashctl
  and scripts do) and with the resumable API in 8 MiB chunks (what the Files page does
  for large files);
- download with ``GET ...?download=1`` to a file on the same disk (curl);
- both again straight to the dashboard's port, as a pod reaches it (what the proxy costs);
- the same file uploaded through the user's JupyterLab contents API as JupyterLab's file
  browser does it: 1 MiB chunks, base64 in JSON (``PUT /user/<name>/api/contents``).

The issue's goals: upload at least 50% of cp and 3 x the contents API; download at least
70% of cp. It also prints the dashboard's peak resident memory (VmHWM) after all of it.
Without --kubeconfig it starts a local cluster (kwok node) in a temporary folder.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import karvdash_localcluster as localcluster
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.browser import approve, token_for  # noqa: E402
from support.hub import Browser, HubProcess  # noqa: E402

USER, PASSWORD = "bench", "bench-secret-7"
MiB = 1 << 20


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def curl(*args: str) -> None:
    subprocess.run(["curl", "--silent", "--show-error", "--fail", *args], check=True)


def contents_upload(hub: HubProcess, token: str, source: Path, name: str) -> None:
    """JupyterLab's large-file upload: 1 MiB chunks as base64 in JSON, numbered from 1,
    the last one -1 (the file browser's own protocol)."""
    url = f"{hub.url}/user/{USER}/api/contents/{name}"
    headers = {"Authorization": f"token {token}"}
    size = source.stat().st_size
    with requests.Session() as s, source.open("rb") as f:
        chunk = 1
        while piece := f.read(MiB):
            last = f.tell() >= size
            body = {
                "type": "file",
                "format": "base64",
                "name": name,
                "chunk": -1 if last else chunk,
                "content": base64.b64encode(piece).decode(),
            }
            r = s.put(url, json=body, headers=headers, timeout=120)
            assert r.status_code in (200, 201), r.text[:300]
            chunk += 1


def resumable_upload(api: str, headers: dict, source: Path, path: str, chunk=8 * MiB) -> None:
    size = source.stat().st_size
    with requests.Session() as s, source.open("rb") as f:
        r = s.post(
            api + "uploads",
            json={"domain": "private", "path": path, "size": size, "overwrite": True},
            headers=headers,
            timeout=60,
        )
        assert r.status_code == 201, r.text
        upload = r.json()["id"]
        offset = 0
        while piece := f.read(chunk):
            r = s.patch(
                api + f"uploads/{upload}",
                data=piece,
                headers={**headers, "Upload-Offset": str(offset)},
                timeout=120,
            )
            assert r.status_code in (200, 201), r.text
            offset += len(piece)


def run(kubeconfig: Path, size_mib: int, runs: int, work: Path) -> None:
    hub = HubProcess(work / "karvdash", kubeconfig)
    try:
        approve(hub, USER, PASSWORD)
        token = token_for(hub, USER, PASSWORD)
        headers = {"Authorization": f"token {token}"}
        api = hub.url + "/services/karvdash/api/"
        auth = ["-H", f"Authorization: token {token}"]
        assert requests.get(api + "files/private/", headers=headers, timeout=30).ok
        private = Path(hub.state) / "files" / "private" / USER
        source = Path(hub.state) / "source.bin"
        with source.open("wb") as f:
            for _ in range(size_mib):
                f.write(os.urandom(MiB))
        browser = Browser(hub)
        assert browser.login(USER, PASSWORD)
        browser.start_server(USER)
        size = size_mib * MiB

        # the dashboard itself, as a pod of the cluster reaches it: what the proxy costs
        direct = hub.dashboard_url + "/services/karvdash/api/"
        cp, put, chunks, down, contents, put_direct, down_direct = [], [], [], [], [], [], []
        for _ in range(runs):
            target = private / "copied.bin"
            cp.append(timed(lambda t=target: subprocess.run(["cp", source, t], check=True)))
            target.unlink()
            put.append(
                timed(
                    lambda: curl(
                        *auth,
                        "-o",
                        "/dev/null",
                        "-T",
                        str(source),
                        api + "files/private/up.bin?overwrite=1",
                    )
                )
            )
            assert (private / "up.bin").stat().st_size == size
            chunks.append(timed(lambda: resumable_upload(api, headers, source, "chunked.bin")))
            assert (private / "chunked.bin").stat().st_size == size
            out = Path(hub.state) / "downloaded.bin"
            url = api + "files/private/up.bin?download=1"
            down.append(timed(lambda o=out, u=url: curl(*auth, "-o", str(o), u)))
            assert out.stat().st_size == size
            out.unlink()
            put_direct.append(
                timed(
                    lambda: curl(
                        *auth, "-o", "/dev/null", "-T", str(source), direct + "files/private/d.bin"
                    )
                )
            )
            url = direct + "files/private/d.bin?download=1"
            down_direct.append(timed(lambda o=out, u=url: curl(*auth, "-o", str(o), u)))
            out.unlink()
            for name in ("up.bin", "chunked.bin", "d.bin"):
                (private / name).unlink()
        # the contents API is slow: one run is enough to see the order of magnitude
        contents.append(timed(lambda: contents_upload(hub, token, source, "contents.bin")))
        sessions = Path(hub.state) / "sessions"
        uploaded = next(sessions.rglob("contents.bin"), None) or private / "contents.bin"
        assert uploaded.stat().st_size == size, uploaded

        def rate(seconds):
            return size / MiB / statistics.median(seconds)

        anchor = rate(cp)
        print(f"file: {size_mib} MiB, median of {runs} (contents API: 1 run)")
        print(f"cp on the same disk (anchor)           {anchor:8.0f} MB/s")
        for label, values in [
            ("upload, PUT through the proxy", put),
            ("upload, resumable 8 MiB chunks", chunks),
            ("download through the proxy", down),
            ("upload, PUT straight to the dashboard", put_direct),
            ("download straight from the dashboard", down_direct),
            ("JupyterLab contents API upload", contents),
        ]:
            print(f"{label:<38} {rate(values):8.0f} MB/s  {rate(values) / anchor:5.0%} of cp")
        print(f"upload (PUT) / contents API            {rate(put) / rate(contents):8.1f} x")
        print(f"upload (chunks) / contents API         {rate(chunks) / rate(contents):8.1f} x")
        print(f"dashboard peak resident memory         {hub.dashboard_peak_mb():8.0f} MB")
    finally:
        hub.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kubeconfig", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="karvdash-bench-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        if args.kubeconfig:
            run(args.kubeconfig, args.size_mib, args.runs, work)
        else:
            with localcluster.LocalCluster(work / "cluster", node="kwok") as cluster:
                run(cluster.kubeconfig, args.size_mib, args.runs, work)


if __name__ == "__main__":
    main()
