"""Eviction: the pods/eviction subresource (upstream's EvictionREST), the one eviction both
the API and `podctl drain` use.

An eviction is the pod's graceful delete, with the Eviction's DeleteOptions, unless a
PodDisruptionBudget covering the pod allows no disruption now (then 429). podctl serves no
PodDisruptionBudget kind yet, so no budget covers any pod and every eviction goes through,
as upstream's does for a pod no budget selects; budgets belong here when the kind lands.
The Eviction itself is a create: the namespace's lifecycle is checked as for one."""

from __future__ import annotations

from podctl.controllers.deletion import Deletion, delete_object
from podctl.errors import NamespaceTerminating, NotFound
from podctl.store import Store


def evict(store: Store, namespace: str, name: str, *, grace: int | None = None,
          uid: str | None = None, resource_version: str | None = None,
          dry_run: bool = False) -> Deletion:
    """Evict the pod: NotFound when it (or its namespace) is not there, Forbidden in a
    namespace being deleted (whose pods are being deleted anyway), else its delete."""
    ns = store.get("Namespace", "", namespace)
    if ns is None:
        raise NotFound("namespaces", namespace)
    if ns["metadata"].get("deletionTimestamp"):
        raise NamespaceTerminating("pods", name, namespace)
    return delete_object(store, "Pod", namespace, name, grace=grace, uid=uid,
                         resource_version=resource_version, dry_run=dry_run)
