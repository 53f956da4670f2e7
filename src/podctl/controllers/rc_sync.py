"""sync_rc: one level-triggered pass of the replication controller over one RC or ReplicaSet:
a pure plan (controllers.replication.plan_rc) from it and its namespace's pods, then its
execution."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.deletion import advance_owner_deletion
from podctl.controllers.owners import set_controller_ref, write_status
from podctl.controllers.podcontrol import create_pods, delete_pods, fresh_name, owner_key
from podctl.controllers.replication import (
    concerns,
    event_source,
    plan_rc,
    pod_from_template,
    rc_status,
)
from podctl.controllers.slowstart import OwnerControl
from podctl.locks import file_lock
from podctl.store import Store


@dataclass
class RCResult:
    """Pods this pass created (to start) and marked for deletion (to stop); `requeue` when
    the RC changed under the pass, so its status must be computed again; `retry_in` when
    creating must be tried again later (after a failure's back-off)."""

    created: list[Obj] = field(default_factory=list)
    deleting: list[Obj] = field(default_factory=list)
    requeue: bool = False
    retry_in: float | None = None


def sync_rc(store: Store, namespace: str, name: str, kind: str = "ReplicationController",
            control: OwnerControl | None = None) -> RCResult:
    """Adopt, release, create and delete pods so the RC has `replicas` active pods; drive
    a marked RC's deletion to its end.

    Holds the RC's lock: a CLI and a controller (or two controllers) never both count.
    Pods are stored before any container exists, so they are counted even if their
    start fails half-way. Creation goes in slow-start batches that stop as soon as the RC
    is scaled, edited or deleted, or the controller stops.
    """
    control = control or OwnerControl()
    result = RCResult()
    rc = store.get(kind, namespace, name)
    if rc is None:
        control.forget((kind, namespace, name))
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
        pods = [p for p in everyone if concerns(rc, p)]
        now = datetime.now(UTC)
        plan = plan_rc(rc, pods, now, control.expectations.satisfied(owner_key(rc)))
        for pod in plan.adopt:
            set_controller_ref(store, pod, rc)
        for pod in plan.release:
            set_controller_ref(store, pod, None)
        taken = {meta.name_of(p) for p in everyone}
        created = create_pods(
            store, rc, plan.create,
            lambda _: pod_from_template(rc, fresh_name(meta.name_of(rc), taken)), control,
            event_source(rc))
        result.created, result.retry_in = created.pods, created.retry_in
        result.deleting = delete_pods(store, rc, plan.delete, control, event_source(rc))
        status = plan.status
        if len(result.created) < plan.create:
            status = rc_status(rc, plan.kept, now, new_pods=len(result.created))
        # While backing off nothing was tried: the last failure still stands.
        failure = created.failure or (_failure_of(rc) if created.backing_off else "")
        result.requeue = not _write_status(store, rc, status, failure)
    return result


def _failure_of(rc: Obj) -> str:
    return str(next((c.get("message") for c in (rc.get("status") or {}).get("conditions") or []
                     if c.get("type") == "ReplicaFailure"), ""))


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
