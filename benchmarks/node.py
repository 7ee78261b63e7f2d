"""Benchmark: start of the local cluster's real node, and its memory when idle.

    python benchmarks/node.py [--runs 3] [--idle 15]

Starts a cluster with a real node (``node="real"``) in a temporary folder, so that
containerd starts with no image: the cold start. Then stops and starts it again from the
same folder, images kept: the warm starts. For each start it prints the time to a Ready
node (containerd, kubelet, kube-proxy, CoreDNS and kube-router all answering), the time of
the whole cluster start, and the time until a pod of Karvdash's hello-kubernetes image is
Running (the image pulled through the system registry on the cold start; a new pod
each time). After the cold
start and ``--idle`` seconds it prints the resident memory (RSS) of each of the node's
processes (and of the control plane's, for comparison). Needs root and a machine that
can run containers.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from karvdash_localcluster import REAL_NODE_NAME, LocalCluster
from karvdash_localcluster.node import PARTS
from kubernetes import client, config

IMAGE = "paulbouwer/hello-kubernetes:1.10"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def shims() -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"containerd-shim-runc-v2" in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                pass
    return found


def pod_running(kubeconfig: Path, timeout: float = 180) -> float:
    """Seconds until the benchmark's pod runs (created if missing)."""
    api = config.new_client_from_config(config_file=str(kubeconfig))
    core = client.CoreV1Api(api)
    started = time.monotonic()
    try:
        core.read_namespaced_pod("bench-hello", "default")
    except client.ApiException:
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "bench-hello"},
            "spec": {
                "nodeName": REAL_NODE_NAME,
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "main", "image": IMAGE}],
            },
        }
        for _ in range(100):  # the default ServiceAccount comes a moment after the start
            try:
                core.create_namespaced_pod("default", body)
                break
            except client.ApiException as err:
                if "serviceaccount" not in (err.body or ""):
                    raise
                time.sleep(0.1)
    try:
        while time.monotonic() - started < timeout:
            pod = core.read_namespaced_pod("bench-hello", "default")
            statuses = pod.status.container_statuses or []
            if statuses and statuses[0].state.running:
                return time.monotonic() - started
            time.sleep(0.1)
        raise RuntimeError(f"the pod did not run within {timeout}s")
    finally:
        api.close()


def delete_pod(kubeconfig: Path) -> None:
    """So that the next start measures a new pod (not one the kubelet restarts)."""
    api = config.new_client_from_config(config_file=str(kubeconfig))
    core = client.CoreV1Api(api)
    try:
        core.delete_namespaced_pod("bench-hello", "default", grace_period_seconds=0)
        for _ in range(300):
            core.read_namespaced_pod("bench-hello", "default")
            time.sleep(0.1)
    except client.ApiException as err:
        if err.status != 404:
            raise
    finally:
        api.close()


def start(state: Path) -> tuple[LocalCluster, dict[str, float]]:
    cluster = LocalCluster(state, node="real")
    t = time.monotonic()
    cluster.start()
    total = time.monotonic() - t
    assert cluster.real_node is not None and cluster.real_node.ready_in is not None
    figures = {"node Ready": cluster.real_node.ready_in, "cluster start": total}
    figures["pod Running"] = pod_running(cluster.kubeconfig)
    return cluster, figures


def show(label: str, figures: dict[str, float]) -> None:
    print(f"{label:18}" + "  ".join(f"{k} {v:6.2f} s" for k, v in figures.items()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="warm starts (default 3)")
    parser.add_argument("--idle", type=float, default=15, help="seconds idle before RSS")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="karvdash-node-bench-") as tmp:
        state = Path(tmp)
        cluster, cold = start(state)
        try:
            show("cold start:", cold)
            time.sleep(args.idle)
            pids = {n: p.pid for n, p in cluster.processes.items()}
            node = {n: rss_mb(pid) for n, pid in pids.items() if n in PARTS}
            node["runc shims (1 pod)"] = sum(rss_mb(pid) for pid in shims())
            rest = {n: rss_mb(pid) for n, pid in pids.items() if n not in PARTS}
            print(f"idle RSS after {args.idle:.0f} s, one pod running:")
            for name, mb in node.items():
                print(f"  {name:26} {mb:7.1f} MB")
            print(f"  {'the node, in all':26} {sum(node.values()):7.1f} MB")
            print(
                f"  {'control plane + registry':26} {sum(rest.values()):7.1f} MB (for comparison)"
            )
        finally:
            delete_pod(cluster.kubeconfig)
            t = time.monotonic()
            cluster.stop()
            print(f"stop (pods, mounts, interfaces, rules removed): {time.monotonic() - t:.1f} s")
        warm = []
        for run in range(args.runs):
            cluster, figures = start(state)
            delete_pod(cluster.kubeconfig)
            cluster.stop()
            show(f"warm start {run + 1}:", figures)
            warm.append(figures)
        if warm:
            median = {k: statistics.median(f[k] for f in warm) for k in warm[0]}
            show("warm, median:", median)


if __name__ == "__main__":
    main()
