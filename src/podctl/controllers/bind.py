"""Storing a new pod and binding it to the node it fits (the scheduler's job)."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers import scheduler
from podctl.kubelet.node import ensure_node
from podctl.locks import file_lock
from podctl.store import Store


def store_and_bind(store: Store, pod: Obj) -> Obj:
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
