"""Kinds are looked up by many requests at once, while a kind the cluster lacks is
asked for (the dynamic client then empties its discovery cache and reads it again):
every lookup still answers (it failed with ``KeyError`` inside the client, a 500 of the
service page on CI)."""

from __future__ import annotations

import asyncio

import pytest

from karvdash_hub import kube

pytestmark = pytest.mark.integration

KINDS = [
    ("v1", "Service"),
    ("v1", "Pod"),
    ("v1", "ConfigMap"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "Job"),
    ("networking.k8s.io/v1", "Ingress"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("policy/v1", "PodDisruptionBudget"),
]


def test_lookups_at_once_survive_misses_that_rebuild_discovery(kubeconfig):
    async def main():
        try:
            for round_ in range(5):  # a new client each round: discovery from nothing
                dyn = await kube.dynamic_client(str(kubeconfig))
                misses = [
                    kube.optional_resource(dyn, f"r{round_}m{i}.example.org/v1", "Nothing")
                    for i in range(3)
                ]
                found = await asyncio.gather(
                    *(kube.resource(dyn, v, k) for v, k in KINDS for _ in range(3)), *misses
                )
                assert [r.kind for r in found[: 3 * len(KINDS)]] == [
                    k for _, k in KINDS for _ in range(3)
                ]
                assert found[3 * len(KINDS) :] == [None, None, None]
                await kube.client.close_client(str(kubeconfig))
        finally:
            await kube.client.close_client(str(kubeconfig))

    asyncio.run(main())
