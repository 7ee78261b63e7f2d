"""Command line: ``python -m karvdash_localcluster {build,up,down,status,versions,images}``."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from .cluster import LocalCluster
from .errors import ClusterError
from .gobuild import bin_dir, build, build_helm, build_node, node_bin_dir, pinned_versions
from .nodemode import MODES, default_node, read_node_info
from .processes import recorded_pids, running_pids


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
    b = sub.add_parser("build", help="build the binaries into the cache (no-op when built)")
    b.add_argument(
        "--no-node", action="store_true", help="only the control plane (no real node's parts)"
    )
    up = sub.add_parser(
        "up", help="start the cluster in the background and return when it is ready"
    )
    up.add_argument("--fresh", action="store_true", help="discard the previous etcd data first")
    up.add_argument(
        "--node",
        choices=MODES,
        default=None,
        help="real: a node that runs containers (fail if impossible); kwok: simulated only;"
        " auto: real when this machine can run containers (default: $KARVDASH_NODE or auto)",
    )
    up.add_argument(
        "--no-images",
        action="store_true",
        help="do not build and push the project's images to the system registry",
    )
    sub.add_parser("down", help="stop a cluster started with 'up'")
    sub.add_parser("status", help="say whether a cluster is running, and where")
    sub.add_parser("versions", help="print the pinned releases and the binary cache")
    im = sub.add_parser("images", help="build, push or list the images of the local cluster")
    im.add_argument("action", choices=("build", "push", "list"))
    im.add_argument(
        "names", nargs="*", help="postgres:15, or postgres for all its tags (default: all)"
    )
    im.add_argument(
        "--registry",
        help="registry address to push to (default: the system registry of --state-dir,"
        " started for the push when it is not running)",
    )
    args = parser.parse_args(argv)
    state = Path(args.state_dir).resolve()

    if args.command == "build":
        try:
            print(build())
            if not args.no_node:
                print(build_node())
            print(build_helm())
        except ClusterError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        return 0
    if args.command == "images":
        try:
            return _images(args, state)
        except ClusterError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    if args.command == "versions":
        versions = {**pinned_versions(), "bin": str(bin_dir()), "node_bin": str(node_bin_dir())}
        print(json.dumps(versions, indent=2))
        return 0
    if args.command == "status":
        pids = running_pids(state)
        if not pids:
            print(f"no cluster running from {state}")
            return 1
        info = read_node_info(state) or {}
        print(f"running from {state}: {pids}; kubeconfig {state / 'kubeconfig'}")
        print(_describe(info))
        return 0
    if args.command == "down":
        pids = running_pids(state)
        LocalCluster(state).stop()
        print("stopped" if pids else f"no cluster was running from {state}")
        return 0
    if args.command == "up":
        pids, recorded = running_pids(state), recorded_pids(state)
        if pids and pids.keys() == recorded.keys():
            print(f"already running; kubeconfig {state / 'kubeconfig'}")
            return 0
        if pids:  # a part crashed (or was killed): the rest goes, the whole starts again
            died = ", ".join(sorted(recorded.keys() - pids.keys()))
            print(f"{died} of the cluster from {state} died; stopping the rest: {pids}")
            LocalCluster(state).stop()
        if args.fresh:
            shutil.rmtree(state / "etcd", ignore_errors=True)
        try:
            node = args.node or default_node()
            cluster = LocalCluster(state, node=node, images=not args.no_images)
            cluster.start()
        except ClusterError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        # the processes live on in their own sessions; 'down' stops them
        print(f"kubeconfig: {cluster.kubeconfig}")
        print(_describe(cluster.info))
        return 0
    return 2


def _describe(info: dict) -> str:
    if info.get("mode") == "real":
        return (
            f"node mode: real ({info['node']} at {info['node_ip']}; pods reach this host at"
            f" {info['host_address']}; registry {info.get('registry')}); kwok node"
            f" {info['kwok_node']} for pods that tolerate {info['kwok_taint']['key']}"
        )
    return f"node mode: {info.get('mode', 'unknown')} ({info.get('reason', '')})"


def _images(args, state: Path) -> int:
    from . import images
    from .registry import SystemRegistry

    chosen = images.select(args.names)
    if args.action == "list":
        for recipe in chosen:
            done = images.cached(recipe, build_missing=False)
            size = f"{done.meta['size'] / 1e6:.1f} MB" if done else ""
            where = f"{done.digest} {size}" if done else "not built"
            print(f"{recipe.name:36} {recipe.suite:9} {where}")
        return 0
    if args.action == "build":
        for recipe in chosen:
            built = images.build_image(recipe)
            print(f"{recipe.name} {built.meta['version']} {built.digest} {built.oci_dir}")
        return 0
    names = [recipe.name for recipe in chosen]
    registry = SystemRegistry(state / "registry")
    address = args.registry or registry.running_address()
    if address:
        pushed = images.ensure_images(address, names)
    else:
        with registry:
            pushed = images.ensure_images(registry.address, names)
    for name, ref in pushed.items():
        print(f"{name} -> {ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
