"""Talking to the Kubernetes API: :mod:`.client` (one client per kubeconfig and event
loop, errors raised) and :mod:`.ops` (small operations written once)."""

from .client import UNREACHABLE, DynamicClient, api_message, dynamic_client
from .ops import (
    create_all_or_rollback,
    delete_ignoring_404,
    get_or_none,
    list_items,
    optional_resource,
    resource,
    resource_of,
    wait_gone,
    wait_until,
)

__all__ = [
    "UNREACHABLE",
    "DynamicClient",
    "api_message",
    "create_all_or_rollback",
    "delete_ignoring_404",
    "dynamic_client",
    "get_or_none",
    "list_items",
    "optional_resource",
    "resource",
    "resource_of",
    "wait_gone",
    "wait_until",
]
