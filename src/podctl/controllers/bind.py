"""Binding pods to the node they fit (the scheduler's job), at creation or when retried."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from podctl import registry
from podctl.api import meta
from podctl.api.claims import claim_names
from podctl.api.managedfields.writer import Writer
from podctl.api.meta import Obj
from podctl.api.podstatus import unscheduled_status
from podctl.controllers import scheduler
from podctl.controllers.pvmatch import BOUND_BY_CONTROLLER, SELECTED_NODE, claim_ref
from podctl.controllers.scheduler.spread import default_selector
from podctl.controllers.scheduler.volumes import claims_to_bind
from podctl.errors import Conflict, DockerUnavailable, NotFound
from podctl.locks import file_lock
from podctl.node import ensure_node
from podctl.store import Store

# The controllers whose selector the default spreading of their pods uses.
SPREAD_OWNERS = ("ReplicationController", "ReplicaSet", "StatefulSet")


def _cluster(store: Store, pod: Obj) -> scheduler.Cluster:
    """What the scheduler sees, read from the store (the host node registered first)."""
    ensure_node(store)
    namespace = meta.namespace_of(pod)
    ref = meta.controller_of(pod)
    owner = None
    if ref is not None and ref.get("kind") in SPREAD_OWNERS:
        owner = store.get(str(ref["kind"]), namespace, str(ref.get("name")))
    storage: dict[str, dict[str, Obj]] = {"claims": {}, "volumes": {}, "classes": {}}
    if claim_names(pod):
        storage = {field: {meta.name_of(o): o for o in store.list(kind, namespace)}
                   for field, kind in (("claims", "PersistentVolumeClaim"),
                                       ("volumes", "PersistentVolume"),
                                       ("classes", "StorageClass"))}
    return scheduler.Cluster(
        nodes=store.list("Node"), pods=store.list("Pod"),
        namespace_labels={meta.name_of(n): meta.labels_of(n) for n in store.list("Namespace")},
        default_selector=default_selector(pod, store.list("Service", namespace), owner),
        **storage)


def store_and_bind(store: Store, pod: Obj, namespace: str | None = None, *,
                   dry_run: bool = False, writer: Writer | None = None) -> Obj:
    """Create a pod through the registry, then bind it to the node when it fits (the
    scheduler's first try, at once); with the engine down it waits unbound and a
    controller binds it."""
    stored = registry.create(store, pod, namespace, dry_run=dry_run, writer=writer)
    if dry_run:
        return stored
    with contextlib.suppress(DockerUnavailable):
        stored = bind_created(store, stored)
    return stored


def bind_created(store: Store, pod: Obj) -> Obj:
    """A pod just stored, bound to the node the scheduler picks (one naming its node
    already is): the stored pod, fresh. DockerUnavailable while the node cannot register."""
    if pod["spec"].get("nodeName"):
        return pod
    bound, decision = _try_bind(store, pod)
    if bound is None:  # gone, or bound meanwhile by a controller's scheduler
        return store.get("Pod", meta.namespace_of(pod), meta.name_of(pod)) or pod
    _record(store, bound, decision)
    return bound


def bind_pending(store: Store, pod: Obj) -> bool:
    """Retry scheduling a stored pod without a node (labels changed, ports freed)."""
    bound, decision = _try_bind(store, pod)
    if bound is None:
        return False
    _record(store, bound, decision)
    return decision.node is not None


def _try_bind(store: Store, pod: Obj) -> tuple[Obj | None, scheduler.Decision]:
    """The pod as stored after one try to bind it, and the scheduler's decision; no pod
    when it is gone, being deleted or someone else bound it meanwhile. The decision is
    taken and the binding written under the scheduler's lock, so two pods never take
    the same host port or a node's last room."""
    namespace, name, uid = meta.namespace_of(pod), meta.name_of(pod), meta.uid_of(pod)
    nothing = scheduler.Decision(None)
    with file_lock("scheduler"):
        fresh = store.get("Pod", namespace, name)
        if fresh is None or meta.uid_of(fresh) != uid or fresh["spec"].get("nodeName"):
            return None, nothing
        if fresh["spec"].get("schedulerName", scheduler.SCHEDULER) != scheduler.SCHEDULER:
            return None, nothing  # another scheduler's pod: this one never touches it
        if fresh["spec"].get("schedulingGates"):
            return None, nothing  # held until its gates are removed (PreEnqueue)
        cluster = _cluster(store, fresh)
        decision = scheduler.schedule(fresh, cluster)
        if decision.node is None:
            return fresh, decision
        if _claims_waiting(store, fresh, decision.node, cluster):
            return None, nothing  # bound once its claims are (their binding wakes it)
        try:
            # The pods/binding subresource: it refuses a pod bound or deleted meanwhile.
            return registry.bind(store, namespace, name, decision.node, uid), decision
        except (Conflict, NotFound):
            return None, nothing


def _claims_waiting(store: Store, pod: Obj, node: str, cluster: scheduler.Cluster) -> bool:
    """The volume binding's PreBind: each unbound claim is given the volume it takes on the
    node (the PV controller completes the binding) or the node its volume is to be made
    on; whether any claim is still unbound."""
    node_obj = next(n for n in cluster.nodes if meta.name_of(n) == node)
    waiting = claims_to_bind(pod, node_obj, cluster)
    for claim, volume in waiting:
        if volume is not None:
            registry.mutate(store, "PersistentVolume", "", meta.name_of(volume),
                            _reserve_for(claim), meta.uid_of(volume))
        else:
            registry.mutate(store, "PersistentVolumeClaim", meta.namespace_of(claim),
                            meta.name_of(claim), _select_node(node), meta.uid_of(claim))
    return bool(waiting)


def _reserve_for(claim: Obj) -> Callable[[Obj], bool]:
    def change(volume: Obj) -> bool:
        if volume["spec"].get("claimRef"):
            return False
        volume["spec"]["claimRef"] = claim_ref(claim)
        volume["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
        return True

    return change


def _select_node(node: str) -> Callable[[Obj], bool]:
    def change(claim: Obj) -> bool:
        annotations = claim["metadata"].setdefault("annotations", {})
        if annotations.get(SELECTED_NODE) == node:
            return False
        annotations[SELECTED_NODE] = node
        return True

    return change


def _record(store: Store, pod: Obj, decision: scheduler.Decision) -> None:
    """The scheduler's event, and the message the PodScheduled condition shows."""
    uid = meta.uid_of(pod)
    message = decision.message or ""
    if decision.node is not None and "scheduling" not in store.pod_state(uid):
        # Nothing to clear (a pod bound at its first try): not under the pod's lock, which
        # its worker may already hold for its whole first start.
        _scheduled(store, pod, decision.node)
        return
    # The pod's lock: sync_pod reads and writes the same kubelet memory under it.
    with file_lock(f"pod-{uid}"):
        state = store.pod_state(uid)
        if decision.node is not None:
            if state.pop("scheduling", None) is not None:
                store.put_pod_state(uid, state)
        else:
            since = (state.get("scheduling") or {}).get("since") or meta.now_rfc3339()
            state["scheduling"] = {"message": message, "since": since}
            store.put_pod_state(uid, state)
            _write_unschedulable(store, pod, state["scheduling"])
    if decision.node is not None:
        _scheduled(store, pod, decision.node)
    else:
        store.record_event(pod, "Warning", "FailedScheduling", message, scheduler.SCHEDULER)


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


def _scheduled(store: Store, pod: Obj, node: str) -> None:
    store.record_event(pod, "Normal", "Scheduled", scheduler.assigned_message(pod, node),
                       scheduler.SCHEDULER)
