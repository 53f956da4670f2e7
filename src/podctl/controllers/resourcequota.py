"""The resource quota controller (upstream's pkg/controller/resourcequota): each quota's
status — `hard` as its spec says, `used` as the namespace's objects use it now, counted
again whenever an object of its namespace changes and at every resync, so what a finished
or deleted pod used is freed."""

from __future__ import annotations

from podctl.api.meta import Obj
from podctl.api.resourcequota import kinds_measured, namespace_usage
from podctl.controllers.owners import write_status
from podctl.store import Store


def plan_status(quota: Obj, objects: list[Obj]) -> Obj:
    """The status a quota should have, given the objects of its namespace."""
    hard = dict((quota.get("spec") or {}).get("hard") or {})
    used = namespace_usage(quota, objects)
    return {"hard": hard, "used": {name: str(q) for name, q in sorted(used.items())}}


def sync_quota(store: Store, namespace: str, name: str) -> None:
    """One pass over a quota: its status written at the resourceVersion read."""
    for _ in range(3):
        quota = store.get("ResourceQuota", namespace, name)
        if quota is None or quota["metadata"].get("deletionTimestamp"):
            return
        hard = (quota.get("spec") or {}).get("hard") or {}
        objects = [obj for kind in sorted(kinds_measured(hard))
                   for obj in store.list(kind, namespace)]
        if write_status(store, quota, plan_status(quota, objects)):
            return
