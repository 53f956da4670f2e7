"""The StatefulSet controller's pass: its revisions made sure of, its pods observed, the
pure plan (podctl.controllers.statefulset) carried out with upstream's events (`create Pod
web-0 in StatefulSet web successful`), its history trimmed and its status written."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers import history
from podctl.controllers.bind import store_and_bind
from podctl.controllers.deletion import mark_pod_deleting
from podctl.controllers.owners import owned_pods
from podctl.controllers.ownersync import OwnerSync, Pass
from podctl.controllers.podcontrol import owner_key, still_as_planned
from podctl.controllers.slowstart import slow_start
from podctl.controllers.statefulset import (
    REVISION_LABEL,
    SOURCE,
    Revs,
    Slot,
    STSPlan,
    new_pod,
    plan_stateful_set,
)
from podctl.store import Store

log = logging.getLogger("podctl.statefulset")


@dataclass
class Observed:
    pods: list[Obj]
    revisions: history.Revisions


class StatefulSetSync(OwnerSync[Observed, STSPlan]):
    """One pass over a StatefulSet."""

    kind = "StatefulSet"

    def observe(self, store: Store, owner: Obj) -> Observed:
        # As upstream's sync, the update revision is stored first: pods are labelled with it.
        status = owner.get("status") or {}
        revisions = history.ensure_update_revision(
            store, owner, owner["spec"]["template"], history.owned_revisions(store, owner),
            int(status.get("collisionCount") or 0), str(status.get("currentRevision") or ""))
        return Observed(owned_pods(store, owner), revisions)

    def plan(self, step: Pass[Observed]) -> STSPlan:
        seen = step.observed.revisions
        revs = Revs(meta.name_of(seen.current), meta.name_of(seen.update),
                    seen.collision_count)
        return plan_stateful_set(step.owner, step.observed.pods, revs, step.now, step.manage)

    def act(self, step: Pass[Observed], plan: STSPlan) -> None:
        store, sts = step.store, step.owner
        for pod in plan.delete:
            if step.control.stop.is_set():
                break
            done = mark_pod_deleting(store, pod)
            if done is not None:
                step.control.expectations.expect(owner_key(sts),
                                                 int(done["metadata"]["resourceVersion"]))
                step.result.deleting.append(done)
                store.record_event(sts, "Normal", "SuccessfulDelete",
                                   f"delete Pod {meta.name_of(pod)} in StatefulSet "
                                   f"{meta.name_of(sts)} successful", SOURCE)
        self._create(step, plan.create)
        self._trim_history(step)

    def _create(self, step: Pass[Observed], slots: list[Slot]) -> None:
        store, sts, control = step.store, step.owner, step.control
        key = owner_key(sts)
        wait = control.backoff.wait(key)
        if not slots or wait > 0:
            step.result.again(wait or None)
            return
        templates = {meta.name_of(r): history.template_of(r)
                     for r in step.observed.revisions.history}

        def create(index: int) -> Obj:
            slot = slots[index]
            pod = new_pod(sts, templates[slot.revision], slot.revision, slot.ordinal)
            name = meta.name_of(pod)
            try:
                stored = store_and_bind(store, pod)
            except Exception as exc:
                store.record_event(sts, "Warning", "FailedCreate",
                                   f"create Pod {name} in StatefulSet {meta.name_of(sts)} "
                                   f"failed error: {exc}", SOURCE)
                raise
            control.expectations.expect(key, int(stored["metadata"]["resourceVersion"]))
            store.record_event(sts, "Normal", "SuccessfulCreate",
                               f"create Pod {name} in StatefulSet {meta.name_of(sts)} "
                               "successful", SOURCE)
            log.info("StatefulSet %s/%s created pod %s", key[1], key[2], name)
            return stored

        done = slow_start(len(slots), create, lambda: still_as_planned(store, sts),
                          control.stop)
        step.result.created = done.made
        if done.error is not None:
            step.result.again(control.backoff.failed(key))
        elif done.stopped:
            step.result.again(None if control.stop.is_set() else 0.0)
        else:
            control.backoff.forget(key)

    def _trim_history(self, step: Pass[Observed]) -> None:
        seen = step.observed.revisions
        live = {meta.name_of(seen.current), meta.name_of(seen.update)}
        live |= {meta.labels_of(p).get(REVISION_LABEL, "") for p in step.observed.pods}
        limit = int(step.owner["spec"].get("revisionHistoryLimit", 10))
        history.delete_revisions(step.store, history.surplus(seen.history, live, limit))
