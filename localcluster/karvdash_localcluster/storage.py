"""A storage provisioner for the local control plane: the default StorageClass
``karvdash-local`` gets a folder on this machine for every claim.

The local cluster has no cloud disks and no CSI driver, so a claim of a template (a
database's data) would stay Pending and its pod unscheduled. This controller does what
minikube's hostpath provisioner does: for each Pending claim of its class it creates a
PersistentVolume with a hostPath under ``<root>/<namespace>-<claim>-<uid>``, bound to the
claim, and deletes the volume (and folder) when the claim is gone. It runs beside the
control plane, started by :class:`karvdash_localcluster.LocalCluster`.

    python -m karvdash_localcluster.storage --kubeconfig PATH --root DIR
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from kubernetes import client, config, watch

CLASS_NAME = "karvdash-local"
PROVISIONER = "karvdash.io/local-path"


def storage_class() -> dict:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": CLASS_NAME,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }


def volume_for(pvc, root: Path) -> dict:
    folder = root / f"{pvc.metadata.namespace}-{pvc.metadata.name}-{pvc.metadata.uid[:8]}"
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": f"pvc-{pvc.metadata.uid}",
            "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER},
            "labels": {"karvdash.io/local-storage": "true"},
        },
        "spec": {
            "capacity": {"storage": pvc.spec.resources.requests.get("storage", "1Gi")},
            "accessModes": pvc.spec.access_modes or ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": CLASS_NAME,
            "hostPath": {"path": str(folder), "type": "DirectoryOrCreate"},
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": pvc.metadata.namespace,
                "name": pvc.metadata.name,
                "uid": pvc.metadata.uid,
            },
        },
    }


def provision(core: client.CoreV1Api, pvc, root: Path) -> None:
    """Give a Pending claim of our class its volume (a no-op for any other claim)."""
    if pvc.spec.storage_class_name != CLASS_NAME or pvc.status.phase != "Pending":
        return
    body = volume_for(pvc, root)
    Path(body["spec"]["hostPath"]["path"]).mkdir(parents=True, exist_ok=True)
    try:
        core.create_persistent_volume(body)
    except client.ApiException as err:
        if err.status != 409:
            raise


def release(core: client.CoreV1Api) -> None:
    """Delete our volumes (and folders) whose claims are gone."""
    for pv in core.list_persistent_volume(label_selector="karvdash.io/local-storage=true").items:
        if pv.status.phase in ("Released", "Failed"):
            core.delete_persistent_volume(pv.metadata.name)
            shutil.rmtree(pv.spec.host_path.path, ignore_errors=True)


def reconcile(core: client.CoreV1Api, root: Path) -> str:
    """Provision every Pending claim, release what is gone: the claims' resourceVersion."""
    claims = core.list_persistent_volume_claim_for_all_namespaces()
    for pvc in claims.items:
        provision(core, pvc, root)
    release(core)
    return claims.metadata.resource_version


#: seconds between two full reads of the claims (in between: only what changed)
RELIST_SECONDS = 300


def run(kubeconfig: str, root: Path) -> None:
    api = config.new_client_from_config(config_file=kubeconfig)
    storage = client.StorageV1Api(api)
    try:
        storage.create_storage_class(storage_class())
    except client.ApiException as err:
        if err.status != 409:
            raise
    core = client.CoreV1Api(api)
    while True:
        try:
            # a full read now and then; in between a watch from where it left off, so
            # that thousands of claims (a user has two) are not read again each time
            version = reconcile(core, root)
            relisted = time.monotonic()
            while time.monotonic() - relisted < RELIST_SECONDS:
                w = watch.Watch()
                for event in w.stream(
                    core.list_persistent_volume_claim_for_all_namespaces,
                    resource_version=version,
                    timeout_seconds=10,
                ):
                    if event["type"] == "DELETED":
                        release(core)
                    elif event["type"] in ("ADDED", "MODIFIED"):
                        provision(core, event["object"], root)
                version = w.resource_version or version
                release(core)  # a volume is Released a moment after its claim is gone
        except Exception as err:  # the API server away (killed, restarting): try again
            print(f"storage: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
            time.sleep(1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--root", required=True, type=Path)
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    run(args.kubeconfig, args.root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
