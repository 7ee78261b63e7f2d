"""Benchmark: 1,000 users and 10,000 services on a kwok cluster (``make benchmark-scale``).

    python benchmarks/scale.py [--users 1000] [--per-user 10] [--small 10] [--kubeconfig PATH]

Starts the embedded default (hub, proxy, dashboard: real processes) on a local cluster
with simulated nodes (kwok: pods "run" without containers) and, through the hub and the
dashboard's API only:

1. signs ``--small`` users up, has the admin approve them, logs each in (provisioning at
   login: their namespace and its objects), makes each an API token, and launches
   ``--per-user`` services for each (Redis: a Deployment, a Service, a Secret) in
   concurrent batches, as users would;
2. measures, at that size: a login (with its provisioning check), the hub's home page,
   the services list and a launch (p50 and p95), the API requests a login costs (the
   API server's own count, by verb, less its idle rate), and the hub's and dashboard's
   memory;
3. grows to ``--users`` users and ``--users x --per-user`` services the same way, printing
   users and services made per second, and measures again.

The figures of the small size are the anchor of the large one: the issue's goal is p95
under 200 ms for pages and lists at 1,000 users and 10,000 services, and provisioning at
login that does not grow with the number of users. Without --kubeconfig it starts a local
cluster in a temporary folder and stops it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import tempfile
import time
from pathlib import Path

import karvdash_localcluster as localcluster
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.hub import Browser, HubProcess  # noqa: E402

PASSWORD = "scale-secret-7"
TEMPLATE = "redis"


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def line(label: str, values: list[float]) -> str:
    return f"{label:<44} p50 {pct(values, 50) * 1000:7.1f} ms  p95 {pct(values, 95) * 1000:7.1f} ms"


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(status.split("VmRSS:")[1].split()[0]) / 1024
    hwm = int(status.split("VmHWM:")[1].split()[0]) / 1024
    return rss, hwm


class Users:
    """The benchmark's users: their sessions and API tokens."""

    def __init__(self, hub: HubProcess, workers: int):
        self.hub = hub
        self.pool = concurrent.futures.ThreadPoolExecutor(workers)
        self.admin = Browser(hub)
        assert self.admin.login("admin", hub.admin_password)
        self.tokens: dict[str, str] = {}
        self.sessions: dict[str, Browser] = {}
        self.login_times: list[float] = []

    def api(self, name: str):
        s = requests.Session()
        s.headers["Authorization"] = f"token {self.tokens[name]}"
        return s

    def _add(self, name: str) -> None:
        b = Browser(self.hub)
        b.signup(name, PASSWORD)
        r = self.admin.s.put(
            f"{self.hub.url}/hub/karvdash/api/approvals/{name}",
            headers={"X-XSRFToken": self.admin.xsrf()},
            timeout=60,
        )
        assert r.status_code == 204, r.text
        t = time.perf_counter()
        assert b.login(name, PASSWORD), name  # provisioning at login
        self.login_times.append(time.perf_counter() - t)
        r = b.api("POST", f"/users/{name}/tokens", json={"note": "scale"})
        assert r.status_code == 201, r.text
        self.tokens[name] = r.json()["token"]
        self.sessions[name] = b

    def add(self, names: list[str]) -> float:
        t = time.perf_counter()
        list(self.pool.map(self._add, names))
        return time.perf_counter() - t

    def _launch(self, name: str, i: int) -> float:
        base = self.hub.url + "/services/karvdash/api/"
        body = {"template": TEMPLATE, "variables": {"NAME": f"r{i}", "PASSWORD": "pw-123456"}}
        t = time.perf_counter()
        r = self.api(name).post(base + "services", json=body, timeout=120)
        elapsed = time.perf_counter() - t
        assert r.status_code == 201, r.text
        return elapsed

    def launch(self, names: list[str], per_user: int, start: int = 0) -> float:
        t = time.perf_counter()
        jobs = [(n, i) for i in range(start, start + per_user) for n in names]
        list(self.pool.map(lambda job: self._launch(*job), jobs))
        return time.perf_counter() - t


def api_requests(kube) -> dict[str, float]:
    """The API server's count of requests it served, by verb (its /metrics)."""
    request = kube.param_serialize("GET", "/metrics", auth_settings=["BearerToken"])
    answer = kube.call_api(*request)
    answer.read()
    body = answer.data.decode()
    counts: dict[str, float] = {}
    for row in body.splitlines():
        if row.startswith("apiserver_request_total{"):
            verb = row.split('verb="', 1)[1].split('"', 1)[0]
            counts[verb] = counts.get(verb, 0) + float(row.rsplit(" ", 1)[1])
    return counts


def requests_per_login(users: Users, kube, picked: list[str]) -> tuple[list[float], dict]:
    """Logins one after another, and the API requests each cost: the API server's count
    over the logins, less its count over as long a time without any (the controllers'
    and the simulated nodes' own traffic)."""
    times = []
    before, t = api_requests(kube), time.perf_counter()
    for name in picked:
        b = Browser(users.hub)
        started = time.perf_counter()
        assert b.login(name, PASSWORD)
        times.append(time.perf_counter() - started)
    during, took = api_requests(kube), time.perf_counter() - t
    time.sleep(took)
    after = api_requests(kube)
    # what provisioning does (reads and applies); the other verbs are the controllers'
    # and the simulated nodes' work on what the benchmark launched just before
    per_login = {
        verb: (2 * during.get(verb, 0) - before.get(verb, 0) - after.get(verb, 0)) / len(picked)
        for verb in ("APPLY", "GET", "LIST")
    }
    return times, per_login


def measure(users: Users, kube, label: str, samples: int) -> None:
    hub = users.hub
    names = list(users.tokens)
    picked = [names[i * len(names) // samples] for i in range(samples)]
    base = hub.url + "/services/karvdash/api/"
    logins, per_login = requests_per_login(users, kube, picked)
    homes, lists, launches = [], [], []
    for name in picked:
        session = users.sessions[name]
        t = time.perf_counter()
        assert session.get("/hub/home", timeout=60).status_code == 200
        homes.append(time.perf_counter() - t)
        t = time.perf_counter()
        r = users.api(name).get(base + "services", timeout=60)
        lists.append(time.perf_counter() - t)
        assert r.status_code == 200 and len(r.json()) >= 1
    for k, name in enumerate(picked):
        launches.append(users._launch(name, 10_000 + k))
    print(f"-- {label}", flush=True)
    for what, values in [
        ("login (with provisioning)", logins),
        ("hub home page", homes),
        ("services list (GET api/services)", lists),
        ("launch (POST api/services)", launches),
    ]:
        print(line(what, values), flush=True)
    shown = ", ".join(f"{verb} {n:.1f}" for verb, n in sorted(per_login.items()))
    print(f"API requests per login (less the idle rate): {shown or 'none'}", flush=True)
    hub_rss, hub_hwm = memory_mb(hub.proc.pid)
    dash_rss, dash_hwm = memory_mb(hub.part_pid("apps.dashboard"))
    print(
        f"memory: hub {hub_rss:.0f} MB (peak {hub_hwm:.0f}), dashboard {dash_rss:.0f} MB"
        f" (peak {dash_hwm:.0f})",
        flush=True,
    )


def run(kubeconfig: Path, work: Path, args) -> None:
    from kubernetes import config

    kube = config.new_client_from_config(config_file=str(kubeconfig))
    hub = HubProcess(work / "hub", kubeconfig)
    try:
        users = Users(hub, args.workers)
        small = [f"u{i:04d}" for i in range(args.small)]
        took = users.add(small)
        print(f"{len(small)} users signed up, approved, logged in: {len(small) / took:.1f}/s")
        count = len(small) * args.per_user
        took = users.launch(small, args.per_user)
        print(f"{count} services launched: {count / took:.1f}/s")
        measure(
            users, kube, f"{len(small)} users, {len(small) * args.per_user} services", args.samples
        )
        rest = [f"u{i:04d}" for i in range(args.small, args.users)]
        for start in range(0, len(rest), 100):
            batch = rest[start : start + 100]
            took_users = users.add(batch)
            took = users.launch(batch, args.per_user)
            made = args.small + start + len(batch)
            print(
                f"{made} users ({len(batch) / took_users:.1f} users/s),"
                f" {made * args.per_user} services ({len(batch) * args.per_user / took:.1f}/s)",
                flush=True,
            )
        measure(
            users, kube, f"{args.users} users, {args.users * args.per_user} services", args.samples
        )
    finally:
        hub.stop()
        kube.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--per-user", type=int, default=10)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--kubeconfig", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="karvdash-scale-") as tmp:
        work = Path(tmp)
        if args.kubeconfig:
            run(args.kubeconfig, work, args)
            return
        with localcluster.LocalCluster(work / "cluster", node="kwok") as cluster:
            run(cluster.kubeconfig, work, args)


if __name__ == "__main__":
    main()
