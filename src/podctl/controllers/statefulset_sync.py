"""The StatefulSet controller's pass: its revisions made sure of, its pods observed, the
pure plan (podctl.controllers.statefulset) carried out with upstream's events (`create Pod
web-0 in StatefulSet web successful`), its history trimmed and its status written."""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers import history
from podctl.controllers.bind import store_and_bind
from podctl.controllers.deletion import delete_object, mark_pod_deleting
from podctl.controllers.owners import owners_gone, set_controller_ref
from podctl.controllers.ownersync import OwnerSync, Pass
from podctl.controllers.podcontrol import owner_key, still_as_planned
from podctl.controllers.slowstart import slow_start
from podctl.controllers.statefulset import (
    REVISION_LABEL,
    SOURCE,
    Revs,
    Slot,
    STSPlan,
    claim_owner_refs,
    claim_templates,
    new_claims,
    new_pod,
    ordinal_of,
    plan_stateful_set,
    terminating,
)
from podctl.errors import AlreadyExists, NotFound, PodctlError
from podctl.store import Store

log = logging.getLogger("podctl.statefulset")


CLAIM = "PersistentVolumeClaim"


@dataclass
class Observed:
    pods: list[Obj]  # the namespace's
    revisions: history.Revisions
    claims: dict[str, Obj]  # the set's claims by name (its templates', any ordinal)


class StatefulSetSync(OwnerSync[Observed, STSPlan]):
    """One pass over a StatefulSet."""

    kind = "StatefulSet"

    def observe(self, store: Store, owner: Obj) -> Observed:
        # As upstream's sync, the update revision is stored first: pods are labelled with it.
        status = owner.get("status") or {}
        revisions = history.ensure_update_revision(
            store, owner, owner["spec"]["template"], history.owned_revisions(store, owner),
            int(status.get("collisionCount") or 0), str(status.get("currentRevision") or ""))
        return Observed(store.list("Pod", meta.namespace_of(owner)), revisions,
                        set_claims(store, owner))

    def plan(self, step: Pass[Observed]) -> STSPlan:
        seen = step.observed.revisions
        revs = Revs(meta.name_of(seen.current), meta.name_of(seen.update),
                    seen.collision_count)
        return plan_stateful_set(step.owner, step.observed.pods, revs, step.now, step.manage)

    def act(self, step: Pass[Observed], plan: STSPlan) -> None:
        store, sts = step.store, step.owner
        for pod in plan.adopt:
            set_controller_ref(store, pod, sts)
        for pod in plan.release:
            set_controller_ref(store, pod, None)
        if step.manage:
            mine = [p for p in step.observed.pods if p in plan.adopt or (
                meta.controller_of(p) or {}).get("uid") == meta.uid_of(sts)]
            follow_retention_policy(store, sts, mine, step.observed.claims)
            self._claims_of_pending(step, mine)
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
        step.result.again(plan.recheck)
        self._trim_history(step)
        collect_claims(store, step.observed.claims)

    def _claims_of_pending(self, step: Pass[Observed], pods: list[Obj]) -> None:
        """upstream's createMissingPersistentVolumeClaims: a Pending pod whose claim was
        deleted gets it again (it cannot start without it)."""
        for pod in pods:
            ordinal = ordinal_of(step.owner, pod)
            if ordinal is None or terminating(pod) or \
                    (pod.get("status") or {}).get("phase", "Pending") != "Pending":
                continue
            try:
                create_claims(step.store, step.owner, ordinal, pod, step.observed.claims)
            except PodctlError as exc:
                log.info("StatefulSet %s: claims of pending pod %s: %s",
                         meta.name_of(step.owner), meta.name_of(pod), exc)

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
                create_claims(store, sts, slot.ordinal, pod, step.observed.claims)
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


def set_claims(store: Store, sts: Obj) -> dict[str, Obj]:
    """The claims named for the set's templates (`<template>-<set>-<ordinal>`), once the
    claim kind is served."""
    if CLAIM not in meta.RESOURCES or not claim_templates(sts):
        return {}
    patterns = [re.compile(re.escape(f"{meta.name_of(t)}-{meta.name_of(sts)}-") + "[0-9]+")
                for t in claim_templates(sts)]
    return {meta.name_of(c): c for c in store.list(CLAIM, meta.namespace_of(sts))
            if any(p.fullmatch(meta.name_of(c)) for p in patterns)}


def create_claims(store: Store, sts: Obj, ordinal: int, pod: Obj,
                  claims: dict[str, Obj]) -> None:
    """upstream's createPersistentVolumeClaims: each missing claim made before its pod
    (with the owner references its retention policy asks); a claim being deleted holds
    the pod back until it is gone."""
    if CLAIM not in meta.RESOURCES:
        return
    for claim in new_claims(sts, ordinal):
        name = meta.name_of(claim)
        found = claims.get(name) or store.get(CLAIM, meta.namespace_of(sts), name)
        if found is not None:
            if found["metadata"].get("deletionTimestamp"):
                raise PodctlError(f"pvc {name} is being deleted")
            continue
        refs = claim_owner_refs(sts, claim, None)
        if refs:
            claim["metadata"]["ownerReferences"] = refs
        where = (f"Claim {name} Pod {meta.name_of(pod)} in StatefulSet "
                 f"{meta.name_of(sts)}")
        try:
            claims[name] = registry.create(store, claim)
        except AlreadyExists:
            continue
        except Exception as exc:
            store.record_event(sts, "Warning", "FailedCreate",
                               f"create {where} failed error: {exc}", SOURCE)
            raise
        store.record_event(sts, "Normal", "SuccessfulCreate", f"create {where} success",
                           SOURCE)


def follow_retention_policy(store: Store, sts: Obj, pods: list[Obj],
                            claims: dict[str, Obj]) -> None:
    """Each claim's owner references as the retention policy asks, before pods go."""
    by_name = {meta.name_of(p): p for p in pods}
    for name, claim in claims.items():
        ordinal = name.rsplit("-", 1)[1]
        pod = by_name.get(f"{meta.name_of(sts)}-{ordinal}")
        wanted = claim_owner_refs(sts, claim, pod)
        if wanted == (claim["metadata"].get("ownerReferences") or []):
            continue

        def change(fresh: Obj, refs: list[Obj] = wanted) -> bool:
            if refs:
                fresh["metadata"]["ownerReferences"] = refs
            else:
                fresh["metadata"].pop("ownerReferences", None)
            return True

        done = registry.mutate(store, CLAIM, meta.namespace_of(claim), name, change,
                               meta.uid_of(claim))
        if done is not None:
            claims[name] = done


def collect_claims(store: Store, claims: dict[str, Obj]) -> None:
    """The garbage collector's share: a claim whose every owner is gone is deleted (its
    pod's, scaled away under whenScaled: Delete)."""
    for name, claim in claims.items():
        if claim["metadata"].get("deletionTimestamp") or not owners_gone(store, claim):
            continue
        with contextlib.suppress(NotFound):
            delete_object(store, CLAIM, meta.namespace_of(claim), name,
                          uid=meta.uid_of(claim))
