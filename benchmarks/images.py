"""Benchmark: building and pushing the images of the local cluster (karvdash_localcluster.images).

    python benchmarks/images.py [--names postgres:15 redis:7.0 ...] [--no-cold]

For each image: the cold build (an empty image cache in a temporary folder: mmdebstrap
downloads every package again; pip and apt's HTTP caches are the machine's), the warm
build (a cache hit), the compressed and unpacked sizes, the push to an empty registry,
a push of the same content under a new tag (every blob already there: what skopeo costs
when nothing needs sending) and ensure_images when everything is there. "same-digest" says
whether the cold build reproduced the cached image bit for bit. With --no-cold
the cold column shows the build time recorded in the cache instead of building again.
Needs root, mmdebstrap, umoci, skopeo and docker-registry.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from karvdash_localcluster import images
from karvdash_localcluster.registry import SystemRegistry


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", nargs="*", help="images to measure (default: all)")
    parser.add_argument("--no-cold", action="store_true", help="do not build from scratch")
    args = parser.parse_args(argv)
    recipes = images.select(args.names)
    quiet = lambda line: None  # noqa: E731
    rows = []
    with tempfile.TemporaryDirectory(prefix="karvdash-images-bench-") as tmp:
        tmp = Path(tmp)
        for recipe in recipes:
            if args.no_cold:
                fresh = images.build_image(recipe, log=quiet)
                cold = fresh.meta["build_seconds"]
            else:
                os.environ["KARVDASH_IMAGE_CACHE"] = str(tmp / "cold")
                print(f"cold build of {recipe.name} ...", file=sys.stderr, flush=True)
                fresh, cold = timed(images.build_image, recipe, log=quiet)
                os.environ.pop("KARVDASH_IMAGE_CACHE")
                subprocess.run(["rm", "-rf", "--one-file-system", str(tmp / "cold")], check=True)
            built, warm = timed(images.build_image, recipe, log=quiet)
            same = "yes" if fresh.digest == built.digest else "no"
            rows.append(
                {"recipe": recipe, "built": built, "cold": cold, "warm": warm, "same": same}
            )
        with SystemRegistry(tmp / "state", storage_dir=tmp / "storage") as registry:
            for row in rows:
                built = row["built"]
                (_, sent), row["push"] = timed(images.push_image, built, registry.address, quiet)
                assert sent, "the registry was empty"
                target = f"docker://{registry.address}/{built.recipe.repository}:bench-retag"
                source = f"oci:{built.oci_dir}:{built.recipe.tag}"
                cmd = ["skopeo", "copy", "--quiet", "--preserve-digests"]
                cmd += ["--dest-tls-verify=false", source, target]
                _, row["repush"] = timed(subprocess.run, cmd, check=True)
            names = [row["recipe"].name for row in rows]
            _, noop = timed(images.ensure_images, registry.address, names, quiet)
    print(
        f"{'image':36} {'version':22} {'compressed':>10} {'unpacked':>9} {'cold':>7}"
        f" {'warm':>6} {'push':>6} {'re-push':>7} same-digest"
    )
    for row in rows:
        meta = row["built"].meta
        print(
            f"{row['recipe'].name:36} {meta['version']:22} {meta['size'] / 1e6:8.1f}MB"
            f" {meta['rootfs_size'] / 1e6:7.1f}MB {row['cold']:6.1f}s {row['warm']:5.2f}s"
            f" {row['push']:5.1f}s {row['repush']:6.2f}s {row['same']}"
        )
    print(f"ensure_images with everything built and pushed ({len(rows)} images): {noop:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
