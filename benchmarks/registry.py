"""Benchmark: image uploads through the dashboard API against skopeo straight to the
registry, and the images API's listing with a thousand repositories (issue 11).

    python benchmarks/registry.py [--quick] [--runs 3] [--kubeconfig PATH]

Starts the embedded default (hub, configurable-http-proxy, dashboard and the users'
registry the hub runs: Debian's docker-registry with the dashboard's token auth; real
processes, as the end-to-end tests do) and signs up three users: ``bench`` uploads,
``owner1k`` gets a thousand repositories and ``owner1`` one. All in the same run:

- uploads of a docker-archive of 200 MB and 1 GB (4 layers of random data):
  ``PUT images/<repo>:<tag>`` through the proxy with bench's hub token, the file streamed
  from disk, against the anchor ``skopeo copy docker-archive:... docker://...`` with the
  same token straight to the same registry, taking turns, ``--runs`` of each (median).
  Every push gets a new archive and a new repository: skopeo's blob-info cache (shared
  with the dashboard's skopeo, both running as this user) could otherwise mount blobs it
  has seen instead of sending them; the registry's log shows every blob uploaded. The
  goal: the API at most 1.2 x skopeo. Then the last API archive once more as a new tag
  of its repository (every blob already there): the answer's ``blobs`` beside the blob
  uploads the registry's log shows;
- the dashboard's peak resident memory (VmHWM) after the uploads, and after the listings;
- one small image pushed through the API (``bench/seed:1``), then copied by the
  registry's own API as an admin (a token from the dashboard's token endpoint, mounts of
  its blobs across repositories, its manifest put under 10 tags) into ``owner1k/r0000``
  ... ``r0999`` and ``owner1/r0000``, 8 threads: how long that took;
- p50/p95 of ``GET images`` (20 each) as the admin (who sees every repository), owner1k
  and owner1, and of ``GET images/<repo>`` of a repository with 10 tags (50 each), with
  how many requests the registry served for one of each.

``--quick``: 20 MB and 50 MB archives and 50 repositories (to try it out). Without
--kubeconfig it starts a local cluster (kwok node) in a temporary folder; everything it
writes (archives, the hub's state, the registry's blobs) is in that folder.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import karvdash_localcluster as localcluster
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support import imagearchives as archives  # noqa: E402
from support.browser import approve, token_for  # noqa: E402
from support.hub import HubProcess  # noqa: E402

USERS = {"bench": "bench-secret-7", "owner1k": "owner-secret-7", "owner1": "owner-secret-8"}
MB = 10**6
LAYERS, TAGS, WORKERS = 4, 10, 8
MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json,"
    " application/vnd.oci.image.manifest.v1+json"
)


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile: the smallest value with ``q`` of them at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class Dashboard:
    """The dashboard API with one user's hub token, through the proxy, keeping its
    connection."""

    def __init__(self, hub: HubProcess, token: str):
        self.base = hub.url + "/services/karvdash/api/"
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"token {token}"

    def get(self, path: str) -> dict:
        r = self.s.get(self.base + path, timeout=600)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.json()

    def push(self, image: str, archive: Path) -> dict:
        with archive.open("rb") as body:
            r = self.s.put(
                self.base + f"images/{image}",
                data=body,
                headers={"Content-Type": "application/x-tar"},
                timeout=3600,
            )
        assert r.status_code == 201, (image, r.status_code, r.text[:300])
        return r.json()


def skopeo_push(hub: HubProcess, user: str, token: str, archive: Path, image: str) -> None:
    subprocess.run(
        [
            *("skopeo", "copy", "--quiet", "--dest-tls-verify=false"),
            *("--dest-creds", f"{user}:{token}"),
            *(f"docker-archive:{archive}", f"docker://{hub.registry}/{image}"),
        ],
        check=True,
    )


def uploads(hub: HubProcess, api: Dashboard, token: str, size: int, runs: int, work: Path):
    """{api, skopeo: [seconds], repush: seconds, blobs: the re-push's answer's blobs and
    the blob uploads the registry got meanwhile} of one size."""
    ns = api.get("images")["namespace"]
    mb = size // MB
    found = {"api": [], "skopeo": []}
    archive = work / f"upload-{mb}.tar"
    for run in range(runs):
        # taking turns: the API first in even runs, skopeo first in odd ones; each sends
        # every blob (checked in the registry's log)
        for kind in ("api", "skopeo") if run % 2 == 0 else ("skopeo", "api"):
            archives.big_docker_archive(archive, size, layers=LAYERS)
            if kind == "api":
                repo = f"{ns}/api-{mb}-{run}"
                seconds, answer, lines = registry_log(
                    hub, lambda r=repo: api.push(f"{r}:1", archive)
                )
                assert blob_uploads(lines) == LAYERS + 1, answer["blobs"]
                if run == runs - 1:
                    repush, again, lines = registry_log(
                        hub, lambda r=repo: api.push(f"{r}:2", archive)
                    )
                    blobs = again["blobs"] | {"uploads": blob_uploads(lines)}
            else:
                image = f"{ns}/anchor-{mb}-{run}:1"
                seconds, _, lines = registry_log(
                    hub, lambda i=image: skopeo_push(hub, "bench", token, archive, i)
                )
                assert blob_uploads(lines) == LAYERS + 1, image
            found[kind].append(seconds)
            archive.unlink()
    return found | {"repush": repush, "blobs": blobs}


class RegistryWriter:
    """The registry's own API as an admin: tokens from the dashboard's token endpoint
    (Basic admin:<hub token>), many scopes in one token."""

    def __init__(self, hub: HubProcess, admin_token: str):
        self.realm = hub.url + "/services/karvdash/registry/token"
        self.v2 = f"http://{hub.registry}/v2/"
        self.auth = ("admin", admin_token)

    def session(self, scopes: list[str]) -> requests.Session:
        """A session whose bearer token grants ``scopes`` (it lives 300 s)."""
        r = requests.get(
            self.realm,
            params={"service": "karvdash-registry", "scope": scopes},
            auth=self.auth,
            timeout=60,
        )
        assert r.status_code == 200, (r.status_code, r.text[:300])
        s = requests.Session()
        s.headers["Authorization"] = "Bearer " + r.json()["token"]
        return s

    def manifest(self, repo: str, tag: str) -> tuple[bytes, str]:
        s = self.session([f"repository:{repo}:pull"])
        r = s.get(self.v2 + f"{repo}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES})
        assert r.status_code == 200, (r.status_code, r.text[:300])
        return r.content, r.headers["Content-Type"]

    def copy(self, seed: str, manifest: tuple[bytes, str], digests: list[str], repos: list[str]):
        """The seed's blobs mounted into each of ``repos``, its manifest put as tags 1..10."""
        body, media_type = manifest
        scopes = [f"repository:{r}:pull,push" for r in repos] + [f"repository:{seed}:pull"]
        with self.session(scopes) as s:
            for repo in repos:
                for digest in digests:
                    url = self.v2 + f"{repo}/blobs/uploads/"
                    r = s.post(url, params={"mount": digest, "from": seed}, timeout=60)
                    assert r.status_code == 201, (repo, digest, r.status_code, r.text[:300])
                for tag in range(1, TAGS + 1):
                    url = self.v2 + f"{repo}/manifests/{tag}"
                    r = s.put(url, data=body, headers={"Content-Type": media_type}, timeout=60)
                    assert r.status_code == 201, (repo, tag, r.status_code, r.text[:300])


def populate(writer: RegistryWriter, bench: Dashboard, repos: list[str], work: Path):
    """Seconds to copy the seed image as TAGS tags into each of ``repos``."""
    seed_archive = work / "seed.tar"
    facts = archives.docker_archive(seed_archive, [archives.layer(archives.HELLO)])
    seed = bench.get("images")["namespace"] + "/seed"
    bench.push(f"{seed}:1", seed_archive)
    seed_archive.unlink()
    manifest = writer.manifest(seed, "1")
    described = json.loads(manifest[0])
    digests = [described["config"]["digest"]] + [x["digest"] for x in described["layers"]]
    assert len(digests) == 1 + facts["layers"], digests
    # 10 repositories a token: its scopes fit in the URL and the header, and each batch
    # asks a new one (tokens live 300 s)
    batches = [repos[i : i + 10] for i in range(0, len(repos), 10)]
    with ThreadPoolExecutor(WORKERS) as pool:
        seconds, done = timed(
            lambda: list(pool.map(lambda b: writer.copy(seed, manifest, digests, b), batches))
        )
    assert len(done) == len(batches)
    return seconds


def registry_log(hub: HubProcess, action):
    """``action``'s (seconds, result) and the requests the registry served meanwhile:
    the "response completed" lines of its log (which is in the hub's)."""
    before = hub.log.stat().st_size
    seconds, result = timed(action)
    time.sleep(0.2)  # the last line may come a moment after the answer
    with hub.log.open("rb") as f:
        f.seek(before)
        text = f.read().decode(errors="replace")
    return seconds, result, [x for x in text.splitlines() if "response completed" in x]


def blob_uploads(lines: list[str]) -> int:
    """How many blob uploads the registry started (``POST .../blobs/uploads/``)."""
    return sum("http.request.method=POST" in x and "/blobs/uploads/" in x for x in lines)


def listings(hub: HubProcess, users: dict[str, Dashboard], repos: dict[str, str]) -> list:
    """Rows (label, repositories or tags, registry requests, [seconds])."""
    rows = []
    for who, api in users.items():
        count = len(api.get("images")["repositories"])
        asked = len(registry_log(hub, lambda a=api: a.get("images"))[2])
        times = [timed(lambda a=api: a.get("images"))[0] for _ in range(20)]
        rows.append((f"GET images, {who}", f"{count} repo{'s' * (count != 1)}", asked, times))
    for who, api in users.items():
        path = f"images/{repos[who]}"
        tags = len(api.get(path)["details"])
        asked = len(registry_log(hub, lambda a=api, p=path: a.get(p))[2])
        times = [timed(lambda a=api, p=path: a.get(p))[0] for _ in range(50)]
        rows.append((f"GET images/{repos[who]}, {who}", f"{tags} tags", asked, times))
    return rows


def version(command: list[str]) -> str:
    found = subprocess.run(command, capture_output=True, text=True)
    return (found.stdout or found.stderr).strip().splitlines()[0]


def run(kubeconfig: Path, sizes: list[int], repo_count: int, runs: int, work: Path) -> None:
    load = os.getloadavg()[0]  # other work on the machine skews every figure
    hub = HubProcess(work / "karvdash", kubeconfig)
    try:
        tokens = {"admin": token_for(hub, "admin", hub.admin_password)}
        for name, password in USERS.items():
            approve(hub, name, password)
            tokens[name] = token_for(hub, name, password)
        apis = {name: Dashboard(hub, token) for name, token in tokens.items()}
        up = {
            size: uploads(hub, apis["bench"], tokens["bench"], size, runs, work) for size in sizes
        }
        peak_uploads = hub.dashboard_peak_mb()

        many = apis["owner1k"].get("images")["namespace"]
        one = apis["owner1"].get("images")["namespace"]
        repos = [f"{many}/r{i:04d}" for i in range(repo_count)] + [f"{one}/r0000"]
        writer = RegistryWriter(hub, tokens["admin"])
        filled = populate(writer, apis["bench"], repos, work)
        users = {w: apis[w] for w in ("admin", "owner1k", "owner1")}
        own = {"admin": f"{many}/r0000", "owner1k": f"{many}/r0000", "owner1": f"{one}/r0000"}
        rows = listings(hub, users, own)
        peak_all = hub.dashboard_peak_mb()
    finally:
        hub.stop()

    report(runs, load, up, (peak_uploads, peak_all), len(repos), filled, rows)


def report(
    runs: int, load: float, up: dict, peaks: tuple, repo_count: int, filled: float, rows: list
):
    registry, skopeo = version(["docker-registry", "--version"]), version(["skopeo", "--version"])
    print(f"machine: {os.cpu_count()} cores, load {load:.1f} at the start; {registry}; {skopeo}")
    print(
        f"upload of a docker-archive ({LAYERS} layers of random data), median of {runs},"
        " each push a new archive to a new repository"
    )
    for size, found in up.items():
        api, anchor = statistics.median(found["api"]), statistics.median(found["skopeo"])
        mb, blobs = size // MB, found["blobs"]
        for label, seconds in [
            ("skopeo copy to the registry (anchor)", anchor),
            ("PUT api/images (proxy)", api),
        ]:
            print(f"  {mb:>5} MB {label:<38} {seconds:7.2f} s {mb / seconds:6.0f} MB/s")
        print(f"  {mb:>5} MB {'API / skopeo':<38} {api / anchor:7.2f} x  (goal <= 1.2)")
        print(
            f"  {mb:>5} MB {'re-push, a new tag of the same repo':<38} {found['repush']:7.2f} s"
            f"  answer: blobs {blobs['sent']} sent, {blobs['existing']} already there;"
            f" the registry got {blobs['uploads']} blob uploads"
        )
    print(f"dashboard peak resident memory after the uploads  {peaks[0]:6.0f} MB")
    print(
        f"populating {repo_count} repositories x {TAGS} tags through the registry's API"
        f" ({WORKERS} threads: blob mounts and manifest PUTs): {filled:.1f} s"
        f" ({repo_count * TAGS / filled:.0f} tags/s)"
    )
    print(f"  {'listing, through the proxy':<40} {'size':>10} {'p50':>8} {'p95':>8}  registry")
    for label, size, asked, times in rows:
        p50, p95 = statistics.median(times) * 1000, percentile(times, 0.95) * 1000
        print(
            f"  {label:<40} {size:>10} {p50:6.0f}ms {p95:6.0f}ms"
            f"  {asked:5d} requests (n={len(times)})"
        )
    print(f"dashboard peak resident memory after the listings {peaks[1]:6.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20/50 MB archives, 50 repos")
    parser.add_argument("--runs", type=int, default=3, help="uploads of each kind and size")
    parser.add_argument("--kubeconfig", type=Path)
    args = parser.parse_args()
    sizes = [20 * MB, 50 * MB] if args.quick else [200 * MB, 1000 * MB]
    repo_count = 50 if args.quick else 1000
    with tempfile.TemporaryDirectory(prefix="karvdash-registry-bench-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        if args.kubeconfig:
            run(args.kubeconfig, sizes, repo_count, args.runs, work)
        else:
            with localcluster.LocalCluster(work / "cluster", node="kwok") as cluster:
                run(cluster.kubeconfig, sizes, repo_count, args.runs, work)


if __name__ == "__main__":
    main()
