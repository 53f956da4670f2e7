"""sync_rc: one level-triggered pass of the replication controller over one RC or ReplicaSet:
a pure plan (controllers.replication.plan_rc) from it and its namespace's pods, then its
execution."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.bind import store_and_bind
from podctl.controllers.deletion import advance_owner_deletion, mark_pod_deleting
from podctl.controllers.owners import set_controller_ref, write_status
from podctl.controllers.replication import (
    concerns,
    event_source,
    generate_name,
    plan_rc,
    pod_from_template,
    rc_status,
)
from podctl.errors import AlreadyExists, PodctlError
from podctl.kubelet.observed import pods_with_status
from podctl.locks import file_lock
from podctl.store import Store

log = logging.getLogger("podctl.replication")


@dataclass
class RCResult:
    """Pods this pass created (to start) and marked for deletion (to stop); `requeue` when
    the RC changed under the pass, so its status must be computed again."""

    created: list[Obj] = field(default_factory=list)
    deleting: list[Obj] = field(default_factory=list)
    requeue: bool = False


def sync_rc(store: Store, namespace: str, name: str,
            kind: str = "ReplicationController") -> RCResult:
    """Adopt, release, create and delete pods so the RC has `replicas` active pods; drive
    a marked RC's deletion to its end.

    Holds the RC's lock: a CLI and a controller (or two controllers) never both count.
    Pods are stored before any container exists, so they are counted even if their
    start fails half-way.
    """
    result = RCResult()
    rc = store.get(kind, namespace, name)
    if rc is None:
        return result
    if rc["metadata"].get("deletionTimestamp"):
        result.deleting = advance_owner_deletion(store, rc)
        return result
    with file_lock(f"rc-{meta.uid_of(rc)}"):
        rc = store.get(kind, namespace, name)
        if rc is None or rc["metadata"].get("deletionTimestamp"):
            result.requeue = rc is not None
            return result
        everyone = store.list("Pod", namespace)
        pods = pods_with_status(store, [p for p in everyone if concerns(rc, p)])
        now = datetime.now(UTC)
        plan = plan_rc(rc, pods, now)
        for pod in plan.adopt:
            set_controller_ref(store, pod, rc)
        for pod in plan.release:
            set_controller_ref(store, pod, None)
        failure = ""
        taken = {meta.name_of(p) for p in everyone}
        for _ in range(plan.create):
            try:
                result.created.append(_create_pod(store, rc, taken))
            except PodctlError as exc:
                failure = str(exc)
                store.record_event(rc, "Warning", "FailedCreate", f"Error creating: {exc}",
                                   event_source(rc))
                break
        for pod in plan.delete:
            marked = mark_pod_deleting(store, pod)
            if marked is not None:
                result.deleting.append(marked)
                store.record_event(rc, "Normal", "SuccessfulDelete",
                                   f"Deleted pod: {meta.name_of(pod)}", event_source(rc))
        status = plan.status
        if len(result.created) < plan.create:
            status = rc_status(rc, plan.kept, now, new_pods=len(result.created))
        result.requeue = not _write_status(store, rc, status, failure)
    return result


def _create_pod(store: Store, rc: Obj, taken: set[str]) -> Obj:
    while True:
        name = generate_name(meta.name_of(rc), taken)
        taken.add(name)
        try:
            pod = store_and_bind(store, pod_from_template(rc, name))
        except AlreadyExists:
            continue
        store.record_event(rc, "Normal", "SuccessfulCreate", f"Created pod: {name}",
                           event_source(rc))
        log.info("%s %s/%s created pod %s", rc["kind"], meta.namespace_of(rc),
                 meta.name_of(rc), name)
        return pod


def _write_status(store: Store, rc: Obj, status: Obj, failure: str) -> bool:
    """Write the status computed from `rc` as read; False when the RC changed meanwhile
    (the status would describe an old spec: the caller computes it again)."""
    status = dict(status)
    if failure:
        before: Obj = next((c for c in (rc.get("status") or {}).get("conditions") or []
                       if c.get("type") == "ReplicaFailure" and c.get("message") == failure),
                      {})
        # An unchanged failure keeps its transition time, so the status write is a no-op.
        status["conditions"] = [{"lastTransitionTime": before.get("lastTransitionTime")
                                 or meta.now_rfc3339(), "message": failure,
                                 "reason": "FailedCreate", "status": "True",
                                 "type": "ReplicaFailure"}]
    return write_status(store, rc, status)
