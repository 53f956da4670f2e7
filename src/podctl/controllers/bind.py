"""Binding pods to the node they fit (the scheduler's job), at creation or when retried."""

from __future__ import annotations

import contextlib

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.api.podstatus import unscheduled_status
from podctl.controllers import scheduler
from podctl.errors import Conflict, DockerUnavailable, NotFound
from podctl.locks import file_lock
from podctl.node import ensure_node
from podctl.store import Store


def _unfit_reason(store: Store, pod: Obj, node: Obj) -> str | None:
    uid = meta.uid_of(pod)
    bound = [p for p in store.list("Pod") if p["spec"].get("nodeName")
             and not p["metadata"].get("deletionTimestamp") and meta.uid_of(p) != uid]
    return scheduler.unschedulable_reason(pod, node, bound)


def store_and_bind(store: Store, pod: Obj, namespace: str | None = None, *,
                   dry_run: bool = False) -> Obj:
    """Create a pod through the registry, then bind it to the node when it fits (the
    scheduler's first try, at once); with the engine down it waits unbound and a
    controller binds it."""
    stored = registry.create(store, pod, namespace, dry_run=dry_run)
    if dry_run:
        return stored
    with contextlib.suppress(DockerUnavailable):
        stored = bind_created(store, stored)
    return stored


def bind_created(store: Store, pod: Obj) -> Obj:
    """A pod just stored, bound to the node when it fits (one naming its node already
    is): the stored pod, fresh. DockerUnavailable while the node cannot register."""
    if pod["spec"].get("nodeName"):
        return pod
    bound, node, reason = _try_bind(store, pod)
    if bound is None:  # gone, or bound meanwhile by a controller's scheduler
        return store.get("Pod", meta.namespace_of(pod), meta.name_of(pod)) or pod
    _record(store, bound, node, reason)
    return bound


def bind_pending(store: Store, pod: Obj) -> bool:
    """Retry scheduling a stored pod without a node (labels changed, ports freed)."""
    bound, node, reason = _try_bind(store, pod)
    if bound is None:
        return False
    _record(store, bound, node, reason)
    return reason is None


def _try_bind(store: Store, pod: Obj) -> tuple[Obj | None, Obj, str | None]:
    """The pod as stored after one try to bind it, the node, and why it does not fit (None:
    bound); no pod when it is gone, being deleted or someone else bound it meanwhile.
    The fit is judged and the binding written under the scheduler's lock, so two pods
    never take the same host port or the node's last room."""
    node = ensure_node(store)
    namespace, name, uid = meta.namespace_of(pod), meta.name_of(pod), meta.uid_of(pod)
    with file_lock("scheduler"):
        fresh = store.get("Pod", namespace, name)
        if fresh is None or meta.uid_of(fresh) != uid or fresh["spec"].get("nodeName"):
            return None, node, None
        reason = _unfit_reason(store, fresh, node)
        if reason is not None:
            return fresh, node, reason
        try:
            # The pods/binding subresource: it refuses a pod bound or deleted meanwhile.
            return registry.bind(store, namespace, name, meta.name_of(node), uid), node, None
        except (Conflict, NotFound):
            return None, node, None


def _record(store: Store, pod: Obj, node: Obj, reason: str | None) -> None:
    """The scheduler's event, and the message the PodScheduled condition shows."""
    uid = meta.uid_of(pod)
    if reason is None and "scheduling" not in store.pod_state(uid):
        # Nothing to clear (a pod bound at its first try): not under the pod's lock, which
        # its worker may already hold for its whole first start.
        _scheduled(store, pod, node)
        return
    # The pod's lock: sync_pod reads and writes the same kubelet memory under it.
    with file_lock(f"pod-{uid}"):
        state = store.pod_state(uid)
        if reason is None:
            if state.pop("scheduling", None) is not None:
                store.put_pod_state(uid, state)
        else:
            since = (state.get("scheduling") or {}).get("since") or meta.now_rfc3339()
            state["scheduling"] = {"message": scheduler.failed_scheduling_message(reason),
                                   "since": since}
            store.put_pod_state(uid, state)
            _write_unschedulable(store, pod, state["scheduling"])
    if reason is None:
        _scheduled(store, pod, node)
    else:
        store.record_event(pod, "Warning", "FailedScheduling",
                           scheduler.failed_scheduling_message(reason), scheduler.SCHEDULER)


def _write_unschedulable(store: Store, pod: Obj, scheduling: Obj) -> None:
    """The scheduler's condition in the pod's status (PodScheduled False, and why), as
    upstream's scheduler writes it; nothing once the pod is gone or bound meanwhile. The
    condition keeps its transition time while it stays False."""
    namespace, name, uid = meta.namespace_of(pod), meta.name_of(pod), meta.uid_of(pod)
    for _ in range(registry.CONFLICT_RETRIES):
        fresh = store.get("Pod", namespace, name)
        if fresh is None or meta.uid_of(fresh) != uid or fresh["spec"].get("nodeName"):
            return
        old = fresh.get("status") or {}
        new = unscheduled_status(fresh, scheduling)
        previous = {c.get("type"): c for c in old.get("conditions") or []}.get("PodScheduled")
        if previous is not None and previous.get("status") == "False":
            new["conditions"][0]["lastTransitionTime"] = previous.get("lastTransitionTime")
        if new == old:
            return
        fresh["status"] = new
        try:
            registry.update_status(store, fresh)
            return
        except Conflict:
            continue
        except NotFound:
            return


def _scheduled(store: Store, pod: Obj, node: Obj) -> None:
    store.record_event(pod, "Normal", "Scheduled",
                       scheduler.assigned_message(pod, meta.name_of(node)), scheduler.SCHEDULER)
