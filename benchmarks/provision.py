"""Benchmark: time to provision one user's namespace against the local control plane.

    python benchmarks/provision.py [--runs 20] [--kubeconfig PATH]

Without --kubeconfig it starts a local cluster in a temporary folder and stops it at
the end. Prints p50 and p95 of a first provisioning (everything created) and of a
repeated one (everything already there), and the wall time of N users at once.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from karvdash_localcluster import LocalCluster
from traitlets.config import Config

from karvdash_hub.provisioning import Provisioner


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def run(kubeconfig: Path, runs: int, concurrent: int, files: Path) -> None:
    cfg = Config()
    cfg.Provisioner.kubeconfig = str(kubeconfig)
    cfg.Provisioner.private_volume = {"hostPath": {"path": str(files / "private")}}
    cfg.Provisioner.shared_volume = {"hostPath": {"path": str(files / "shared")}}
    cfg.UserFiles.private_root = str(files / "private")
    prov = Provisioner(config=cfg)
    users = [f"bench{uuid.uuid4().hex[:6]}" for _ in range(runs)]
    await prov.ensure("warmup")  # discovery and connections
    first, again = [], []
    for user in users:
        t = time.perf_counter()
        await prov.ensure(user)
        first.append(time.perf_counter() - t)
        t = time.perf_counter()
        await prov.ensure(user)
        again.append(time.perf_counter() - t)
    many = [f"benchc{uuid.uuid4().hex[:6]}" for _ in range(concurrent)]
    t = time.perf_counter()
    await asyncio.gather(*(prov.ensure(u) for u in many))
    wall = time.perf_counter() - t

    def ms(v):
        return f"{v * 1000:7.1f} ms"

    for label, values in (("first time", first), ("again     ", again)):
        print(
            f"provision one user, {label} ({runs} runs):"
            f" p50 {ms(pct(values, 50))}  p95 {ms(pct(values, 95))}"
            f"  mean {ms(statistics.mean(values))}"
        )
    print(f"provision {concurrent} users concurrently: wall {wall:.2f} s")
    await asyncio.gather(*(prov.delete(u) for u in [*users, *many, "warmup"]))
    await prov.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--kubeconfig", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = Path(tmp) / "files"
        if args.kubeconfig:
            asyncio.run(run(args.kubeconfig, args.runs, args.concurrent, files))
        else:
            with LocalCluster(Path(tmp) / "cluster") as cluster:
                asyncio.run(run(cluster.kubeconfig, args.runs, args.concurrent, files))


if __name__ == "__main__":
    main()
