"""The replication controller's pass over one RC or ReplicaSet: a pure plan
(controllers.replication.plan_rc) from it and its namespace's pods, then its execution."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.owners import set_controller_ref
from podctl.controllers.ownersync import OwnerSync, Pass
from podctl.controllers.podcontrol import create_pods, delete_pods, fresh_name
from podctl.controllers.replication import (
    RCPlan,
    concerns,
    event_source,
    plan_rc,
    pod_from_template,
    rc_status,
)
from podctl.store import Store

# The namespace's pods (for the names taken) and those the RC looks at.
Observed = tuple[list[Obj], list[Obj]]


class ReplicaSync(OwnerSync[Observed, RCPlan]):
    """Adopt, release, create and delete pods so the RC has `replicas` active pods.

    Pods are stored before any container exists, so they are counted even if their start
    fails half-way. Creation goes in slow-start batches that stop as soon as the RC is
    scaled, edited or deleted, or the controller stops.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind  # one instance per replicated kind

    def observe(self, store: Store, owner: Obj) -> Observed:
        everyone = store.list("Pod", meta.namespace_of(owner))
        return everyone, [p for p in everyone if concerns(owner, p)]

    def plan(self, step: Pass[Observed]) -> RCPlan:
        return plan_rc(step.owner, step.observed[1], step.now, step.manage)

    def act(self, step: Pass[Observed], plan: RCPlan) -> None:
        store, rc, result = step.store, step.owner, step.result
        for pod in plan.adopt:
            set_controller_ref(store, pod, rc)
        for pod in plan.release:
            set_controller_ref(store, pod, None)
        taken = {meta.name_of(p) for p in step.observed[0]}
        created = create_pods(
            store, rc, plan.create,
            lambda _: pod_from_template(rc, fresh_name(meta.name_of(rc), taken)),
            step.control, event_source(rc))
        result.created = created.pods
        result.again(created.retry_in)
        result.deleting = delete_pods(store, rc, plan.delete, step.control, event_source(rc))
        if len(result.created) < plan.create:
            plan.status = rc_status(rc, plan.kept, step.now, new_pods=len(result.created))
        # While backing off nothing was tried: the last failure still stands.
        failure = created.failure or (_failure_of(rc) if created.backing_off else "")
        if failure:
            plan.status = _with_failure(rc, plan.status, failure)


def _failure_of(rc: Obj) -> str:
    return str(next((c.get("message") for c in (rc.get("status") or {}).get("conditions") or []
                     if c.get("type") == "ReplicaFailure"), ""))


def _with_failure(rc: Obj, status: Obj, failure: str) -> Obj:
    """The status with a ReplicaFailure condition; an unchanged failure keeps its
    transition time, so the status write is a no-op."""
    before: Obj = next((c for c in (rc.get("status") or {}).get("conditions") or []
                        if c.get("type") == "ReplicaFailure" and c.get("message") == failure),
                       {})
    return {**status, "conditions": [{"lastTransitionTime": before.get("lastTransitionTime")
                                      or meta.now_rfc3339(), "message": failure,
                                      "reason": "FailedCreate", "status": "True",
                                      "type": "ReplicaFailure"}]}
