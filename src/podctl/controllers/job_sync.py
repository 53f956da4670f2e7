"""sync_job: one pass of the Job controller over one Job: the pure plan
(controllers.job.plan_job) from it and its pods, then its execution under the Job's lock."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.deletion import (
    FOREGROUND,
    advance_owner_deletion,
    mark_owner_deleting,
)
from podctl.controllers.job import SOURCE, plan_job, pod_from_job
from podctl.controllers.owners import owned_pods, write_status
from podctl.controllers.podcontrol import Created, create_pods, delete_pods, fresh_name, owner_key
from podctl.controllers.slowstart import OwnerControl
from podctl.locks import file_lock
from podctl.store import Store

log = logging.getLogger("podctl.job")


@dataclass
class JobResult:
    """Pods this pass created or marked deleting; when to sync the Job again (seconds)."""

    created: list[Obj] = field(default_factory=list)
    deleting: list[Obj] = field(default_factory=list)
    requeue_after: float | None = None


def sync_job(store: Store, namespace: str, name: str,
             control: OwnerControl | None = None) -> JobResult:
    """Run a Job's pods toward its completions; finish it; delete it after its TTL."""
    control = control or OwnerControl()
    result = JobResult()
    job = store.get("Job", namespace, name)
    if job is None:
        control.forget(("Job", namespace, name))
        return result
    if job["metadata"].get("deletionTimestamp"):
        result.deleting = advance_owner_deletion(store, job)
        return result
    with file_lock(f"rc-{meta.uid_of(job)}"):
        job = store.get("Job", namespace, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            result.requeue_after = 0.0 if job is not None else None
            return result
        pods = owned_pods(store, job)
        plan = plan_job(job, pods, datetime.now(UTC),
                        control.expectations.satisfied(owner_key(job)))
        result.deleting = delete_pods(store, job, plan.delete, control, SOURCE)
        taken = {meta.name_of(p) for p in store.list("Pod", namespace)}
        created = _create_pods(store, job, plan.create, taken, control)
        result.created = created.pods
        for type_, reason, message in plan.events:
            store.record_event(job, type_, reason, message, SOURCE)
        if not write_status(store, job, plan.status):
            result.requeue_after = 0.0
            return result
        result.requeue_after = _sooner(created.retry_in, plan.requeue_after)
    if plan.delete_job:
        # The TTL controller deletes with foreground propagation: pods go first.
        log.info("job %s/%s: TTL after finishing ran out; deleting", namespace, name)
        if mark_owner_deleting(store, job, FOREGROUND) is not None:
            result.deleting = advance_owner_deletion(store, job)
            result.requeue_after = 1.0
    return result


def _create_pods(store: Store, job: Obj, indexes: list[int | None], taken: set[str],
                 control: OwnerControl) -> Created:
    """A pod for each completion index (None: any), in slow-start batches; an Indexed
    Job's pod names carry their index."""

    def make(ordinal: int) -> Obj:
        index = indexes[ordinal]
        base = meta.name_of(job) if index is None else f"{meta.name_of(job)}-{index}"
        return pod_from_job(job, fresh_name(base, taken), index)

    return create_pods(store, job, len(indexes), make, control, SOURCE)


def _sooner(a: float | None, b: float | None) -> float | None:
    return min((x for x in (a, b) if x is not None), default=None)
