"""Command line: ``python -m karvdash_localcluster {build,up,down,status,versions}``."""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
from pathlib import Path

from .cluster import LocalCluster
from .errors import ClusterError
from .gobuild import bin_dir, build, pinned_versions
from .processes import running_pids, stop_pids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m karvdash_localcluster",
        description="Build, start and stop Karvdash's local Kubernetes control plane.",
    )
    parser.add_argument(
        "--state-dir",
        default=".karvdash/cluster",
        help="folder for certificates, etcd data, logs and the kubeconfig (default: %(default)s)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the binaries into the cache (no-op when built)")
    up = sub.add_parser(
        "up", help="start the cluster in the background and return when it is ready"
    )
    up.add_argument("--fresh", action="store_true", help="discard the previous etcd data first")
    sub.add_parser("down", help="stop a cluster started with 'up'")
    sub.add_parser("status", help="say whether a cluster is running, and where")
    sub.add_parser("versions", help="print the pinned releases and the binary cache")
    args = parser.parse_args(argv)
    state = Path(args.state_dir).resolve()

    if args.command == "build":
        print(build())
        return 0
    if args.command == "versions":
        print(json.dumps({**pinned_versions(), "bin": str(bin_dir())}, indent=2))
        return 0
    if args.command == "status":
        pids = running_pids(state)
        if not pids:
            print(f"no cluster running from {state}")
            return 1
        print(f"running from {state}: {pids}; kubeconfig {state / 'kubeconfig'}")
        return 0
    if args.command == "down":
        pids = running_pids(state)
        stop_pids(pids)
        with contextlib.suppress(FileNotFoundError):
            (state / "pids.json").unlink()
        print("stopped" if pids else f"no cluster was running from {state}")
        return 0
    if args.command == "up":
        if running_pids(state):
            print(f"already running; kubeconfig {state / 'kubeconfig'}")
            return 0
        if args.fresh:
            shutil.rmtree(state / "etcd", ignore_errors=True)
        cluster = LocalCluster(state)
        try:
            cluster.start()
        except ClusterError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        # the processes live on in their own sessions; 'down' stops them
        print(f"kubeconfig: {cluster.kubeconfig}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
