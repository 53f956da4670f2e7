"""sync_rc: one level-triggered pass of the replication controller over one RC."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.bind import store_and_bind
from podctl.controllers.replication import (
    SOURCE,
    generate_name,
    is_active,
    owner_reference,
    plan_rc,
    pod_from_template,
    rc_status,
)
from podctl.errors import AlreadyExists, PodctlError
from podctl.locks import file_lock
from podctl.ops.delete import mark_deleting
from podctl.ops.views import pods_with_status
from podctl.store import Store

log = logging.getLogger("podctl.replication")


@dataclass
class RCResult:
    """Pods this pass created (to start) and marked for deletion (to stop)."""

    created: list[Obj] = field(default_factory=list)
    deleting: list[Obj] = field(default_factory=list)


def sync_rc(store: Store, namespace: str, name: str) -> RCResult:
    """Adopt, release, create and delete pods so the RC has `replicas` active pods.

    Holds the RC's lock: a CLI and a controller (or two controllers) never both count.
    Pods are stored before any container exists, so they are counted even if their
    start fails half-way.
    """
    result = RCResult()
    rc = store.get("ReplicationController", namespace, name)
    if rc is None:
        return result
    with file_lock(f"rc-{meta.uid_of(rc)}"):
        rc = store.get("ReplicationController", namespace, name)
        if rc is None or rc["metadata"].get("deletionTimestamp"):
            return result
        pods = pods_with_status(store, store.list("Pod", namespace))
        plan = plan_rc(rc, pods)
        for pod in plan.adopt:
            set_controller_ref(store, pod, rc)
        for pod in plan.release:
            set_controller_ref(store, pod, None)
        failure = ""
        taken = {meta.name_of(p) for p in pods}
        for _ in range(plan.create):
            try:
                result.created.append(_create_pod(store, rc, taken))
            except PodctlError as exc:
                failure = str(exc)
                store.record_event(rc, "Warning", "FailedCreate", f"Error creating: {exc}",
                                   SOURCE)
                break
        for pod in plan.delete:
            result.deleting.append(mark_deleting(store, pod))
            store.record_event(rc, "Normal", "SuccessfulDelete",
                               f"Deleted pod: {meta.name_of(pod)}", SOURCE)
        active = [p for p in plan.active if p not in plan.delete] + result.created
        _write_status(store, rc, [p for p in active if is_active(p)], failure)
    return result


def _create_pod(store: Store, rc: Obj, taken: set[str]) -> Obj:
    while True:
        name = generate_name(meta.name_of(rc), taken)
        taken.add(name)
        try:
            pod = store_and_bind(store, pod_from_template(rc, name))
        except AlreadyExists:
            continue
        store.record_event(rc, "Normal", "SuccessfulCreate", f"Created pod: {name}", SOURCE)
        log.info("rc %s/%s created pod %s", meta.namespace_of(rc), meta.name_of(rc), name)
        return pod


def set_controller_ref(store: Store, pod: Obj, rc: Obj | None) -> None:
    """Adopt (rc given) or release/orphan (None) a pod by its controller ownerReference."""
    fresh = store.get("Pod", meta.namespace_of(pod), meta.name_of(pod))
    if fresh is None or meta.uid_of(fresh) != meta.uid_of(pod):
        return
    refs = [r for r in fresh["metadata"].get("ownerReferences") or [] if not r.get("controller")]
    if rc is not None:
        refs.append(owner_reference(rc))
    if refs:
        fresh["metadata"]["ownerReferences"] = refs
    else:
        fresh["metadata"].pop("ownerReferences", None)
    store.update(fresh)
    pod["metadata"] = fresh["metadata"]


def _write_status(store: Store, rc: Obj, owned_active: list[Obj], failure: str) -> None:
    template_labels = (rc["spec"]["template"].get("metadata") or {}).get("labels") or {}
    status = rc_status(rc, owned_active, template_labels)
    if failure:
        status["conditions"] = [{"lastTransitionTime": meta.now_rfc3339(), "message": failure,
                                 "reason": "FailedCreate", "status": "True",
                                 "type": "ReplicaFailure"}]
    if status != rc.get("status"):
        fresh = store.get("ReplicationController", meta.namespace_of(rc), meta.name_of(rc))
        if fresh is not None and meta.uid_of(fresh) == meta.uid_of(rc):
            fresh["status"] = status
            store.update(fresh)
