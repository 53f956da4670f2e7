"""The deployment controller's level-triggered pass over one Deployment: a pure plan
(controllers.deployment.plan_deployment) from it and its namespace's ReplicaSets, then its
execution. The ReplicaSets' own controller makes and removes pods."""

from __future__ import annotations

import logging
from datetime import datetime

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.deletion import FOREGROUND, ORPHAN, mark_owner_deleting
from podctl.controllers.deployment import REVISION, SOURCE, DeploymentPlan, plan_deployment
from podctl.controllers.owners import owned, owner_lock, owner_reference, write_status
from podctl.controllers.ownersync import OwnerSync, Pass, SyncResult
from podctl.errors import AlreadyExists, PodctlError
from podctl.store import Store

log = logging.getLogger("podctl.deployment")


def owned_replica_sets(store: Store, deployment: Obj) -> list[Obj]:
    return owned(store, deployment, "ReplicaSet")


def advance_deployment_deletion(store: Store, deployment: Obj) -> list[Obj]:
    """One step of a marked Deployment's deletion: its ReplicaSets are released (orphan) or
    marked deleting (they take their pods along); the Deployment goes once none is left.
    Returns the ReplicaSets still owned."""
    with owner_lock(meta.uid_of(deployment)):
        fresh = store.get("Deployment", meta.namespace_of(deployment), meta.name_of(deployment))
        if fresh is None or meta.uid_of(fresh) != meta.uid_of(deployment):
            return []
        owned = owned_replica_sets(store, fresh)
        if ORPHAN in (fresh["metadata"].get("finalizers") or []):
            for rs in owned:
                _release(store, rs)
            owned = []
        for rs in owned:
            mark_owner_deleting(store, rs, FOREGROUND)
        if not owned:
            store.delete("Deployment", meta.namespace_of(fresh), meta.name_of(fresh),
                         meta.uid_of(fresh))
    return owned


class DeploymentSync(OwnerSync[list[Obj], DeploymentPlan]):
    """Roll a Deployment's ReplicaSets toward its template; their controller makes the
    pods. ReplicaSets it created or scaled are woken."""

    kind = "Deployment"
    dependents = "ReplicaSet"
    collected = False

    def observe(self, store: Store, owner: Obj) -> list[Obj]:
        return store.list("ReplicaSet", meta.namespace_of(owner))

    def plan(self, step: Pass[list[Obj]]) -> DeploymentPlan:
        return plan_deployment(step.owner, step.observed, step.now)

    def act(self, step: Pass[list[Obj]], plan: DeploymentPlan) -> None:
        store, deployment, result = step.store, step.owner, step.result
        namespace = meta.namespace_of(deployment)
        for rs in plan.adopt:
            _adopt(store, rs, deployment)
        touched: list[str] = []
        if plan.create is not None:
            try:
                registry.create(store, plan.create)
                touched.append(meta.name_of(plan.create))
            except (AlreadyExists, PodctlError) as exc:
                store.record_event(deployment, "Warning", "ReplicaSetCreateError",
                                   f"Failed to create new replica set "
                                   f'"{meta.name_of(plan.create)}": {exc}', SOURCE)
                result.again(0.0)
        touched += [meta.name_of(step_.rs) for step_ in plan.scale
                    if _scale(store, step_.rs, step_.replicas, step_.annotations)]
        for rs in plan.delete:
            store.delete("ReplicaSet", namespace, meta.name_of(rs), meta.uid_of(rs))
        for message in plan.events:
            store.record_event(deployment, "Normal", "ScalingReplicaSet", message, SOURCE)
        result.wake = [("ReplicaSet", namespace, rs) for rs in touched]
        result.again(deadline_in(deployment, plan.status, step.now))
        if touched:
            log.info("deployment %s/%s: %s", namespace, meta.name_of(deployment),
                     "; ".join(plan.events) or "synced")

    def write(self, step: Pass[list[Obj]], plan: DeploymentPlan) -> bool:
        return _write(step.store, step.owner, plan.revision, plan.status)

    def advance_deletion(self, store: Store, owner: Obj, result: SyncResult) -> None:
        # Only those this step marked: one already marked is woken by its own pods' changes
        # (waking it again, which wakes its Deployment, would go round while pods stop).
        result.wake = [("ReplicaSet", meta.namespace_of(owner), meta.name_of(rs))
                       for rs in advance_deployment_deletion(store, owner)
                       if not rs["metadata"].get("deletionTimestamp")]


def deadline_in(deployment: Obj, status: Obj, now: datetime) -> float | None:
    """While a rollout progresses, the seconds until its progressDeadlineSeconds passes with
    no progress: nothing else would wake the Deployment then to report
    ProgressDeadlineExceeded."""
    deadline = deployment["spec"].get("progressDeadlineSeconds")
    progressing = next((c for c in status.get("conditions") or []
                        if c.get("type") == "Progressing"), None)
    if deadline is None or progressing is None or progressing.get("status") != "True" \
            or progressing.get("reason") == "NewReplicaSetAvailable":
        return None
    last = meta.parse_time(progressing.get("lastUpdateTime") or meta.format_time(now))
    return max(0.0, (last - now).total_seconds() + int(deadline)) + 1.0


def _adopt(store: Store, rs: Obj, deployment: Obj) -> None:
    def change(fresh: Obj) -> bool:
        if meta.controller_of(fresh) is not None:
            return False
        refs = list(fresh["metadata"].get("ownerReferences") or [])
        fresh["metadata"]["ownerReferences"] = [*refs, owner_reference(deployment)]
        return True

    registry.mutate(store, "ReplicaSet", meta.namespace_of(rs), meta.name_of(rs), change,
                    meta.uid_of(rs))


def _release(store: Store, rs: Obj) -> None:
    def change(fresh: Obj) -> bool:
        refs = fresh["metadata"].get("ownerReferences") or []
        kept = [r for r in refs if not r.get("controller")]
        if kept == refs:
            return False
        if kept:
            fresh["metadata"]["ownerReferences"] = kept
        else:
            fresh["metadata"].pop("ownerReferences", None)
        return True

    registry.mutate(store, "ReplicaSet", meta.namespace_of(rs), meta.name_of(rs), change,
                    meta.uid_of(rs))


def _scale(store: Store, rs: Obj, replicas: int, annotations: dict[str, str]) -> bool:
    def change(fresh: Obj) -> bool:
        md = fresh["metadata"]
        current = md.get("annotations") or {}
        if fresh["spec"].get("replicas") == replicas and all(
                current.get(k) == v for k, v in annotations.items()):
            return False
        md["annotations"] = {**current, **annotations}
        fresh["spec"]["replicas"] = replicas  # the registry's update counts the generation
        return True

    before = rs["spec"].get("replicas")
    stored = registry.mutate(store, "ReplicaSet", meta.namespace_of(rs), meta.name_of(rs),
                             change, meta.uid_of(rs))
    return stored is not None and stored["spec"].get("replicas") != before


def _write(store: Store, deployment: Obj, revision: str, status: Obj) -> bool:
    """The revision annotation and the status as computed from `deployment` as read; False
    when it changed meanwhile (the caller plans again)."""
    annotations = deployment["metadata"].get("annotations") or {}
    if revision and annotations.get(REVISION) != revision:
        def change(fresh: Obj) -> bool:
            if meta.uid_of(fresh) != meta.uid_of(deployment):
                return False
            fresh["metadata"]["annotations"] = {
                **(fresh["metadata"].get("annotations") or {}), REVISION: revision}
            return True

        stored = registry.mutate(store, "Deployment", meta.namespace_of(deployment),
                                 meta.name_of(deployment), change, meta.uid_of(deployment))
        if stored is None:
            return True
        deployment = stored
    return write_status(store, deployment, status)
