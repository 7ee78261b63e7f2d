"""The configuration the tests give Karvdash's classes: one helper instead of one
hand-built Config per test module."""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config


def karvdash_config(
    kubeconfig, files: Path, *, private_root: bool = False, prefix: str | None = None
) -> Config:
    """Provisioner settings for the local cluster, with the file domains as host paths
    under ``files`` (``private`` and ``shared``); ``private_root``: the hub also sees the
    private root there (it makes, moves aside and purges users' folders)."""
    cfg = Config()
    cfg.Provisioner.kubeconfig = str(kubeconfig)
    cfg.Provisioner.private_volume = {"hostPath": {"path": str(files / "private")}}
    cfg.Provisioner.shared_volume = {"hostPath": {"path": str(files / "shared")}}
    if private_root:
        cfg.UserFiles.private_root = str(files / "private")
    if prefix:
        cfg.Provisioner.namespace_prefix = prefix
    return cfg
