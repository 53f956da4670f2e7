"""The CronJob controller's pass over one CronJob: the pure plan
(controllers.cronjob.plan_cronjob) from it and its Jobs, then its execution under the
CronJob's lock."""

from __future__ import annotations

import logging

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.cronjob import (
    SCHEDULED_AT,
    SOURCE,
    CronPlan,
    job_from_cronjob,
    job_name,
    job_ref,
    plan_cronjob,
)
from podctl.controllers.owners import owned
from podctl.controllers.ownersync import OwnerSync, Pass, SyncResult
from podctl.errors import AlreadyExists, PodctlError
from podctl.store import Store

log = logging.getLogger("podctl.cronjob")


class CronJobSync(OwnerSync[list[Obj], CronPlan]):
    """Start the Job a schedule calls for; apply the concurrency policy and history limits."""

    kind = "CronJob"
    dependents = "Job"
    collected = False

    def observe(self, store: Store, owner: Obj) -> list[Obj]:
        return owned(store, owner, "Job")

    def plan(self, step: Pass[list[Obj]]) -> CronPlan:
        return plan_cronjob(step.owner, step.observed, step.now)

    def act(self, step: Pass[list[Obj]], plan: CronPlan) -> None:
        store, cronjob = step.store, step.owner
        namespace = meta.namespace_of(cronjob)
        for job in plan.delete:
            # Background propagation: the garbage collector takes the Job's pods.
            if store.delete("Job", namespace, meta.name_of(job), meta.uid_of(job)):
                store.record_event(cronjob, "Normal", "SuccessfulDelete",
                                   f"Deleted job {meta.name_of(job)}", SOURCE)
        if plan.create is not None:
            self._start(step, plan)
        for type_, reason, message in plan.events:
            store.record_event(cronjob, type_, reason, message, SOURCE)
        step.result.again(plan.requeue_after)

    def _start(self, step: Pass[list[Obj]], plan: CronPlan) -> None:
        store, cronjob = step.store, step.owner
        assert plan.create is not None
        name = job_name(cronjob, plan.create)
        job = job_from_cronjob(cronjob, name, {SCHEDULED_AT: meta.format_time(plan.create)})
        try:
            created = registry.create(store, job)
        except AlreadyExists:
            return
        except PodctlError as exc:
            store.record_event(cronjob, "Warning", "FailedCreate",
                               f"Error creating job: {exc}", SOURCE)
            return
        step.result.created.append(created)
        store.record_event(cronjob, "Normal", "SuccessfulCreate", f"Created job {name}",
                           SOURCE)
        log.info("cronjob %s/%s created job %s", meta.namespace_of(cronjob),
                 meta.name_of(cronjob), name)
        plan.status.setdefault("active", []).append(job_ref(created))

    def advance_deletion(self, store: Store, owner: Obj, result: SyncResult) -> None:
        """Never marked: a CronJob goes at once, its Jobs after it (their collector)."""
