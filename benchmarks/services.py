"""Benchmark: launching and listing services against the local control plane.

    python benchmarks/services.py [--runs 20] [--kubeconfig PATH]

Prints, in one run:

- the launch latency of the hello-kubernetes template through ServiceManager (render,
  policy, dry run, create), p50 and p95, beside ``kubectl apply`` of the same rendered
  objects (the anchor: what an expert would type);
- the list latency of one user's 10 services while the cluster holds 10, 1,000 and
  5,000 other services (each with its Ingress) spread over many namespaces;
- the launch latency again with the 5,000 others (every launch looks for another
  user's Ingress holding its host name).

Without --kubeconfig it starts a local cluster in a temporary folder and stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import karvdash_localcluster as localcluster
from traitlets.config import Config

from karvdash_hub.services import ServiceManager


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def ms(v):
    return f"{v * 1000:7.1f} ms"


def line(label, values):
    print(f"{label:<58} p50 {ms(pct(values, 50))}  p95 {ms(pct(values, 95))}", flush=True)


async def fill(dyn, count: int, start: int) -> None:
    """Make ``count`` more services of other users: 50 per namespace."""
    ns_res = await dyn.resources.get(api_version="v1", kind="Namespace")
    svc_res = await dyn.resources.get(api_version="v1", kind="Service")
    ing_res = await dyn.resources.get(api_version="networking.k8s.io/v1", kind="Ingress")
    sem = asyncio.Semaphore(40)

    async def one(i):
        ns = f"bench-other-{i // 50}"
        if i % 50 == 0:
            async with sem:
                try:
                    await dyn.create(ns_res, body={"metadata": {"name": ns}})
                except Exception as err:  # already there from a previous fill
                    if getattr(err, "status", None) != 409:
                        raise
        body = {
            "metadata": {
                "name": f"svc-{i}",
                "labels": {
                    "app.kubernetes.io/managed-by": "karvdash",
                    "karvdash.io/user": f"other{i // 50}",
                    "karvdash.io/service": f"svc-{i}",
                },
            },
            "spec": {"ports": [{"port": 80}], "clusterIP": "None"},
        }
        host = f"svc-{i}-other{i // 50}"
        ingress = {
            "metadata": {
                "name": f"svc-{i}",
                "labels": {**body["metadata"]["labels"], "karvdash.io/host": host},
            },
            "spec": {
                "rules": [
                    {
                        "host": f"{host}.example.org",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": f"svc-{i}", "port": {"number": 80}}
                                    },
                                }
                            ]
                        },
                    }
                ]
            },
        }
        async with sem:
            await dyn.create(svc_res, body=body, namespace=ns)
            await dyn.create(ing_res, body=ingress, namespace=ns)

    for i in range(start, start + count, 50):
        await one(i)  # the namespace first
        await asyncio.gather(*(one(j) for j in range(i + 1, min(i + 50, start + count))))


async def run(kubeconfig: Path, runs: int, kubectl: Path, work: Path) -> None:
    cfg = Config()
    cfg.Provisioner.kubeconfig = str(kubeconfig)
    cfg.Provisioner.private_volume = {"hostPath": {"path": str(work / "private")}}
    cfg.Provisioner.shared_volume = {"hostPath": {"path": str(work / "shared")}}
    cfg.Installation.domain = "example.org"
    # as an installation with ingress login: the services get their Ingress, and each
    # launch checks that no other user holds its host name
    cfg.ServiceManager.auth_annotations = {
        "nginx.ingress.kubernetes.io/auth-url": "http://hub.example/auth"
    }
    # room for every service of the runs (the default quota allows 30)
    cfg.Provisioner.resource_quota = {"services": "1000", "pods": "1000"}
    manager = ServiceManager(config=cfg)
    user = f"bench{uuid.uuid4().hex[:4]}"
    ns = await manager.provisioner.ensure(user)
    template = await manager.templates.get(user, "hello-kubernetes")
    await manager.launch(user, "hello-kubernetes", {"NAME": "warmup"})
    await manager.stop(user, "warmup")

    launch, apply = [], []
    for i in range(runs):
        t = time.perf_counter()
        await manager.launch(user, "hello-kubernetes", {"NAME": f"l{i}"})
        launch.append(time.perf_counter() - t)
        objects = manager._prepare(template, {}, f"k{i}", user)
        manifest = work / f"k{i}.json"
        manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
        t = time.perf_counter()
        subprocess.run(  # noqa: ASYNC221 (timed alone: nothing else runs on the loop)
            [str(kubectl), "--kubeconfig", str(kubeconfig), "apply", "-n", ns, "-f", str(manifest)],
            check=True,
            capture_output=True,
        )
        apply.append(time.perf_counter() - t)
    line(f"launch hello-kubernetes via ServiceManager ({runs} runs)", launch)
    line(f"kubectl apply of the same objects ({runs} runs)", apply)
    for i in range(runs):
        await manager.stop(user, f"l{i}")
        await manager.stop(user, f"k{i}")

    for i in range(10):
        await manager.launch(user, "hello-kubernetes", {"NAME": f"mine{i}"})
    dyn = await manager.provisioner.client()
    have = 0
    for others in (10, 1000, 5000):
        t = time.perf_counter()
        await fill(dyn, others - have, have)
        filled = time.perf_counter() - t
        have = others
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            listed = await manager.list(user)
            times.append(time.perf_counter() - t)
        assert len(listed) == 10, len(listed)
        line(f"list 10 services, {others:>5} other services in the cluster", times)
        print(f"  (made the other services in {filled:.1f} s)", flush=True)
    launch_crowded = []
    for i in range(runs):
        t = time.perf_counter()
        await manager.launch(user, "hello-kubernetes", {"NAME": f"c{i}"})
        launch_crowded.append(time.perf_counter() - t)
    line(f"launch with {have} other services and Ingresses ({runs} runs)", launch_crowded)
    await manager.provisioner.delete(user)
    await manager.provisioner.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--kubeconfig", type=Path)
    args = parser.parse_args()
    kubectl = localcluster.build() / "kubectl"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.kubeconfig:
            asyncio.run(run(args.kubeconfig, args.runs, kubectl, work))
        else:
            with localcluster.LocalCluster(work / "cluster") as cluster:
                asyncio.run(run(cluster.kubeconfig, args.runs, kubectl, work))


if __name__ == "__main__":
    main()
