"""Create stored objects; pods are scheduled and started at once (one sync)."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.bind import store_and_bind
from podctl.errors import AlreadyExists, NotFound
from podctl.kubelet.sync import sync_pod
from podctl.runtime.images import ProgressFn
from podctl.store import Store


def create_object(store: Store, obj: Obj, source: str | None = None,
                  progress: ProgressFn | None = None) -> str:
    """Store a validated, defaulted object and start it; returns kubectl's result line."""
    context = f'error when creating "{source}": ' if source else ""
    try:
        stored = store_and_bind(store, obj) if obj["kind"] == "Pod" else store.create(obj)
    except (AlreadyExists, NotFound) as exc:
        raise type(exc)(exc.resource, exc.name, context) from exc
    if stored["kind"] == "Pod" and stored["spec"].get("nodeName"):
        sync_pod(store, meta.namespace_of(stored), meta.name_of(stored), progress)
    elif stored["kind"] == "ReplicationController":
        from podctl.ops.replication import reconcile_if_no_controller

        reconcile_if_no_controller(store, meta.namespace_of(stored), meta.name_of(stored))
    return f"{meta.singular(stored['kind'])}/{meta.name_of(stored)} created"
