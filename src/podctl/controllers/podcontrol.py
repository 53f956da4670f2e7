"""Creating and deleting an owner's pods, shared by every controller that makes them (upstream's
PodControl with the slow-start loop around it): slow-start batches that re-read the owner,
expectations, per-owner back-off, and the owner's events with upstream's wording."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.bind import store_and_bind
from podctl.controllers.deletion import mark_pod_deleting
from podctl.controllers.replication import generate_name
from podctl.controllers.slowstart import OwnerControl, OwnerKey, slow_start
from podctl.errors import AlreadyExists
from podctl.store import Store

log = logging.getLogger("podctl.podcontrol")


def owner_key(owner: Obj) -> OwnerKey:
    return (str(owner["kind"]), meta.namespace_of(owner), meta.name_of(owner))


@dataclass
class Created:
    """Pods one sync made; the failure that stopped it (recorded as a FailedCreate event);
    when the owner must be synced again (its back-off, or at once when it changed under the
    batches) — None when nothing is left to retry."""

    pods: list[Obj] = field(default_factory=list)
    failure: str = ""
    retry_in: float | None = None
    backing_off: bool = False  # nothing was tried: an earlier failure's back-off runs


def still_as_planned(store: Store, owner: Obj) -> bool:
    """The owner as stored is the one the plan was made from: same object, not being
    deleted, same spec (a scale, an edit of the template or selector makes the plan stale)."""
    fresh = store.get(owner["kind"], meta.namespace_of(owner), meta.name_of(owner))
    return (fresh is not None and meta.uid_of(fresh) == meta.uid_of(owner)
            and not fresh["metadata"].get("deletionTimestamp")
            and fresh.get("spec") == owner.get("spec"))


def fresh_name(base: str, taken: set[str]) -> str:
    """`<base>-xxxxx`, as generateName makes it, not in `taken` (and now in it)."""
    name = generate_name(base, taken)
    taken.add(name)
    return name


def create_pods(store: Store, owner: Obj, count: int, make: Callable[[int], Obj],
                control: OwnerControl, source: str) -> Created:
    """Store up to `count` pods, the i-th made by `make(i)`, in slow-start batches that
    stop when the owner changes or the controller stops; nothing while the owner backs off
    after a failure. A generated name someone took meanwhile is made again."""
    key = owner_key(owner)
    out = Created()
    if count <= 0:
        return out
    wait = control.backoff.wait(key)
    if wait > 0:
        out.retry_in, out.backing_off = wait, True
        return out

    def create(ordinal: int) -> Obj:
        while True:
            pod = make(ordinal)
            try:
                pod = store_and_bind(store, pod)
            except AlreadyExists:
                if pod["metadata"].get("generateName"):
                    continue
                raise
            control.expectations.expect(key, int(pod["metadata"]["resourceVersion"]))
            name = meta.name_of(pod)
            store.record_event(owner, "Normal", "SuccessfulCreate", f"Created pod: {name}",
                               source)
            log.info("%s %s/%s created pod %s", key[0], key[1], key[2], name)
            return pod

    done = slow_start(count, create, lambda: still_as_planned(store, owner), control.stop)
    out.pods = done.made
    if done.error is not None:
        out.failure = str(done.error) or type(done.error).__name__
        out.retry_in = control.backoff.failed(key)
        log.warning("%s %s/%s failed to create a pod (%s); retrying in %.3gs", key[0], key[1],
                    key[2], out.failure, out.retry_in)
        store.record_event(owner, "Warning", "FailedCreate", f"Error creating: {out.failure}",
                           source)
    elif done.stopped:
        out.retry_in = None if control.stop.is_set() else 0.0
    else:
        control.backoff.forget(key)
    return out


def delete_pods(store: Store, owner: Obj, pods: list[Obj], control: OwnerControl,
                source: str) -> list[Obj]:
    """Mark the pods deleting (their workers stop them), checking the stop signal between
    pods; the pods this call marked."""
    key = owner_key(owner)
    marked: list[Obj] = []
    for pod in pods:
        if control.stop.is_set():
            break
        done = mark_pod_deleting(store, pod)
        if done is None:
            continue
        control.expectations.expect(key, int(done["metadata"]["resourceVersion"]))
        marked.append(done)
        store.record_event(owner, "Normal", "SuccessfulDelete",
                           f"Deleted pod: {meta.name_of(pod)}", source)
    return marked
