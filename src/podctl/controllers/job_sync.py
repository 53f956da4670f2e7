"""sync_job: one pass of the Job controller over one Job: the pure plan
(controllers.job.plan_job) from it and its pods, then its execution under the Job's lock."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.bind import store_and_bind
from podctl.controllers.deletion import (
    FOREGROUND,
    advance_owner_deletion,
    mark_owner_deleting,
    mark_pod_deleting,
)
from podctl.controllers.job import SOURCE, plan_job, pod_from_job
from podctl.controllers.owners import owned_pods, write_status
from podctl.controllers.replication import generate_name
from podctl.errors import AlreadyExists, PodctlError
from podctl.kubelet.observed import pods_with_status
from podctl.locks import file_lock
from podctl.store import Store

log = logging.getLogger("podctl.job")


@dataclass
class JobResult:
    """Pods this pass created or marked deleting; when to sync the Job again (seconds)."""

    created: list[Obj] = field(default_factory=list)
    deleting: list[Obj] = field(default_factory=list)
    requeue_after: float | None = None


def sync_job(store: Store, namespace: str, name: str) -> JobResult:
    """Run a Job's pods toward its completions; finish it; delete it after its TTL."""
    result = JobResult()
    job = store.get("Job", namespace, name)
    if job is None:
        return result
    if job["metadata"].get("deletionTimestamp"):
        result.deleting = advance_owner_deletion(store, job)
        return result
    with file_lock(f"rc-{meta.uid_of(job)}"):
        job = store.get("Job", namespace, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            result.requeue_after = 0.0 if job is not None else None
            return result
        pods = pods_with_status(store, owned_pods(store, job))
        plan = plan_job(job, pods, datetime.now(UTC))
        for pod in plan.delete:
            marked = mark_pod_deleting(store, pod)
            if marked is not None:
                result.deleting.append(marked)
                store.record_event(job, "Normal", "SuccessfulDelete",
                                   f"Deleted pod: {meta.name_of(pod)}", SOURCE)
        taken = {meta.name_of(p) for p in store.list("Pod", namespace)}
        for index in plan.create:
            try:
                result.created.append(_create_pod(store, job, index, taken))
            except PodctlError as exc:
                store.record_event(job, "Warning", "FailedCreate", f"Error creating: {exc}",
                                   SOURCE)
                result.requeue_after = 5.0
                break
        for type_, reason, message in plan.events:
            store.record_event(job, type_, reason, message, SOURCE)
        if not write_status(store, job, plan.status):
            result.requeue_after = 0.0
            return result
        if result.requeue_after is None:
            result.requeue_after = plan.requeue_after
    if plan.delete_job:
        # The TTL controller deletes with foreground propagation: pods go first.
        log.info("job %s/%s: TTL after finishing ran out; deleting", namespace, name)
        if mark_owner_deleting(store, job, FOREGROUND) is not None:
            result.deleting = advance_owner_deletion(store, job)
            result.requeue_after = 1.0
    return result


def _create_pod(store: Store, job: Obj, index: int | None, taken: set[str]) -> Obj:
    base = meta.name_of(job) if index is None else f"{meta.name_of(job)}-{index}"
    while True:
        name = generate_name(base, taken)
        taken.add(name)
        try:
            pod = store_and_bind(store, pod_from_job(job, name, index))
        except AlreadyExists:
            continue
        store.record_event(job, "Normal", "SuccessfulCreate", f"Created pod: {name}", SOURCE)
        log.info("job %s/%s created pod %s", meta.namespace_of(job), meta.name_of(job), name)
        return pod
