"""The Job controller's pass over one Job: the pure plan (controllers.job.plan_job) from it
and its pods, then its execution under the Job's lock; its TTL deletion after."""

from __future__ import annotations

import logging

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.deletion import FOREGROUND, advance_owner_deletion, mark_owner_deleting
from podctl.controllers.job import SOURCE, JobPlan, plan_job, pod_from_job
from podctl.controllers.owners import owned_pods
from podctl.controllers.ownersync import OwnerSync, Pass
from podctl.controllers.podcontrol import create_pods, delete_pods, fresh_name
from podctl.store import Store

log = logging.getLogger("podctl.job")


class JobSync(OwnerSync[list[Obj], JobPlan]):
    """Run a Job's pods toward its completions; finish it; delete it after its TTL."""

    kind = "Job"

    def observe(self, store: Store, owner: Obj) -> list[Obj]:
        return owned_pods(store, owner)

    def plan(self, step: Pass[list[Obj]]) -> JobPlan:
        return plan_job(step.owner, step.observed, step.now, step.manage)

    def act(self, step: Pass[list[Obj]], plan: JobPlan) -> None:
        store, job, result = step.store, step.owner, step.result
        result.deleting = delete_pods(store, job, plan.delete, step.control, SOURCE)
        taken = {meta.name_of(p) for p in store.list("Pod", meta.namespace_of(job))}

        def make(ordinal: int) -> Obj:
            # An Indexed Job's pod names carry their completion index.
            index = plan.create[ordinal]
            base = meta.name_of(job) if index is None else f"{meta.name_of(job)}-{index}"
            return pod_from_job(job, fresh_name(base, taken), index)

        created = create_pods(store, job, len(plan.create), make, step.control, SOURCE)
        result.created = created.pods
        for type_, reason, message in plan.events:
            store.record_event(job, type_, reason, message, SOURCE)
        result.again(created.retry_in)
        result.again(plan.requeue_after)

    def after(self, step: Pass[list[Obj]], plan: JobPlan) -> None:
        if not plan.delete_job:
            return
        # The TTL controller deletes with foreground propagation: pods go first.
        job = step.owner
        log.info("job %s/%s: TTL after finishing ran out; deleting", meta.namespace_of(job),
                 meta.name_of(job))
        if mark_owner_deleting(step.store, job, FOREGROUND) is not None:
            step.result.deleting = advance_owner_deletion(step.store, job)
            step.result.again(1.0)
