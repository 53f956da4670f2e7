"""sync_cronjob: one pass of the CronJob controller over one CronJob: the pure plan
(controllers.cronjob.plan_cronjob), then its execution under the CronJob's lock."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.cronjob import (
    SCHEDULED_AT,
    SOURCE,
    job_from_cronjob,
    job_name,
    job_ref,
    plan_cronjob,
)
from podctl.controllers.owners import owned, write_status
from podctl.errors import AlreadyExists, PodctlError
from podctl.locks import file_lock
from podctl.store import Store

log = logging.getLogger("podctl.cronjob")


@dataclass
class CronResult:
    """Jobs this pass created; when the next schedule falls (seconds)."""

    created: list[Obj] = field(default_factory=list)
    requeue_after: float | None = None


def sync_cronjob(store: Store, namespace: str, name: str) -> CronResult:
    """Start the Job a schedule calls for; apply the concurrency policy and history limits."""
    result = CronResult()
    cronjob = store.get("CronJob", namespace, name)
    if cronjob is None or cronjob["metadata"].get("deletionTimestamp"):
        return result
    with file_lock(f"rc-{meta.uid_of(cronjob)}"):
        cronjob = store.get("CronJob", namespace, name)
        if cronjob is None:
            return result
        plan = plan_cronjob(cronjob, owned(store, cronjob, "Job"), datetime.now(UTC))
        for job in plan.delete:
            # Background propagation: the garbage collector takes the Job's pods.
            if store.delete("Job", namespace, meta.name_of(job), meta.uid_of(job)):
                store.record_event(cronjob, "Normal", "SuccessfulDelete",
                                   f"Deleted job {meta.name_of(job)}", SOURCE)
        if plan.create is not None:
            name_ = job_name(cronjob, plan.create)
            job = job_from_cronjob(cronjob, name_,
                                   {SCHEDULED_AT: meta.format_time(plan.create)})
            try:
                result.created.append(registry.create(store, job))
                store.record_event(cronjob, "Normal", "SuccessfulCreate",
                                   f"Created job {name_}", SOURCE)
                log.info("cronjob %s/%s created job %s", namespace, name, name_)
                plan.status.setdefault("active", []).append(job_ref(result.created[0]))
            except AlreadyExists:
                pass
            except PodctlError as exc:
                store.record_event(cronjob, "Warning", "FailedCreate",
                                   f"Error creating job: {exc}", SOURCE)
        for type_, reason, message in plan.events:
            store.record_event(cronjob, type_, reason, message, SOURCE)
        if not write_status(store, cronjob, plan.status):
            result.requeue_after = 0.0
            return result
        result.requeue_after = plan.requeue_after
    return result
