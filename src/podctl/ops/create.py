"""Create stored objects; pods are scheduled and started at once (one sync)."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers import scheduler
from podctl.errors import AlreadyExists, NotFound
from podctl.kubelet.node import ensure_node
from podctl.kubelet.sync import sync_pod
from podctl.locks import file_lock
from podctl.runtime.images import ProgressFn
from podctl.store import Store


def create_object(store: Store, obj: Obj, source: str | None = None,
                  progress: ProgressFn | None = None) -> str:
    """Store a validated, defaulted object and start it; returns kubectl's result line."""
    context = f'error when creating "{source}": ' if source else ""
    try:
        stored = _create_pod(store, obj) if obj["kind"] == "Pod" else store.create(obj)
    except (AlreadyExists, NotFound) as exc:
        raise type(exc)(exc.resource, exc.name, context) from exc
    if stored["kind"] == "Pod" and stored["spec"].get("nodeName"):
        sync_pod(store, meta.namespace_of(stored), meta.name_of(stored), progress)
    return f"{meta.singular(stored['kind'])}/{meta.name_of(stored)} created"


def _create_pod(store: Store, pod: Obj) -> Obj:
    """Bind the pod to the node if it fits (the scheduler's job), then store it."""
    node = ensure_node(store)
    with file_lock("scheduler"):
        reason = None
        if not pod["spec"].get("nodeName"):
            bound = [p for p in store.list("Pod") if p["spec"].get("nodeName")]
            reason = scheduler.unschedulable_reason(pod, node, bound)
            if reason is None:
                pod["spec"]["nodeName"] = node["metadata"]["name"]
        pod.setdefault("status", {"phase": "Pending"})
        stored = store.create(pod)
    if reason is not None:
        message = scheduler.failed_scheduling_message(reason)
        store.put_pod_state(meta.uid_of(stored), {
            "scheduling": {"message": message, "since": meta.now_rfc3339()}})
        store.record_event(stored, "Warning", "FailedScheduling", message, scheduler.SCHEDULER)
    elif stored["spec"]["nodeName"] == node["metadata"]["name"]:
        store.record_event(stored, "Normal", "Scheduled",
                           scheduler.assigned_message(stored, node["metadata"]["name"]),
                           scheduler.SCHEDULER)
    return stored
