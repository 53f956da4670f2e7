"""Deletion as the API server and the garbage collector do it: an object is first marked
(deletionTimestamp, and a finalizer saying how its dependents go), then whoever gets there
first finishes it — the command that started it, or the controller when that command died.
Every step is idempotent, so both may run at once.

This module is the registry's delete (podctl.registry names it so): its marks, finalizers and
cascades write to the store itself, as the API server's own deletion does, not through an
update, which would take no deletionTimestamp from its writer."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from podctl.admission import DELETE, Attributes, chain_for
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.owners import (
    owned,
    owned_pods,
    owner_lock,
    owners_gone,
    set_controller_ref,
)
from podctl.errors import NotFound, Precondition
from podctl.store import Store

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
CASCADES = ("background", "foreground", "orphan")


def mark_pod_deleting(store: Store, pod: Obj, grace: int | None = None) -> Obj | None:
    """Set deletionTimestamp: readers show Terminating while someone stops the containers.
    A second delete may shorten the grace period, never lengthen it (as the API server).
    None when the pod is already gone."""

    def change(fresh: Obj) -> bool:
        md = fresh["metadata"]
        seconds = grace if grace is not None else int(
            fresh["spec"].get("terminationGracePeriodSeconds", 30))
        now = datetime.now(UTC)
        deadline = now + timedelta(seconds=seconds)
        if md.get("deletionTimestamp") and meta.parse_time(md["deletionTimestamp"]) <= deadline:
            return False
        md["deletionTimestamp"] = meta.format_time(deadline)
        md["deletionGracePeriodSeconds"] = seconds
        return True

    return store.mutate("Pod", meta.namespace_of(pod), meta.name_of(pod), change,
                        meta.uid_of(pod))


def mark_pods_deleting(store: Store, pods: list[Obj], grace: int | None = None) -> list[Obj]:
    """mark_pod_deleting for each pod not yet marked; the pods this call marked."""
    marked = []
    for pod in pods:
        if not pod["metadata"].get("deletionTimestamp"):
            done = mark_pod_deleting(store, pod, grace)
            if done is not None:
                marked.append(done)
    return marked


def delete_at_once(store: Store, kind: str, namespace: str, name: str,
                   uid: str | None = None) -> bool:
    """Remove an object that has nothing to wait for; a Service takes its Endpoints and
    EndpointSlices with it, as the endpoint controllers do once it is gone. False when it
    was already gone."""
    deleted = store.delete(kind, namespace, name, uid)
    if kind == "Service":
        # Loaded here: `delete pod` never needs the slice controller.
        from podctl.controllers.endpointslices import delete_service_endpoints

        delete_service_endpoints(store, namespace, name)
    return deleted


def mark_owner_deleting(store: Store, owner: Obj, finalizer: str) -> Obj | None:
    """deletionTimestamp plus the finalizer that says what happens to the dependents."""

    def change(fresh: Obj) -> bool:
        md = fresh["metadata"]
        finalizers = list(md.get("finalizers") or [])
        if md.get("deletionTimestamp") and finalizer in finalizers:
            return False
        md.setdefault("deletionTimestamp", meta.now_rfc3339())
        md["deletionGracePeriodSeconds"] = 0
        md["finalizers"] = [*finalizers, finalizer] if finalizer not in finalizers else finalizers
        return True

    return store.mutate(meta.key_of(owner), meta.namespace_of(owner), meta.name_of(owner), change,
                        meta.uid_of(owner))


def delete_owner_background(store: Store, owner: Obj, grace: int | None = None) -> list[Obj]:
    """Background cascade: the owner goes at once and its pods are marked (the garbage
    collector's share, done here so they need not wait for a resync). The owner goes
    first, so a sync creating its pods stops at its next batch; the pods are listed under
    the owner's lock, once that sync is over, so none it made is missed. Returns the pods
    marked."""
    store.delete(meta.key_of(owner), meta.namespace_of(owner), meta.name_of(owner),
                 meta.uid_of(owner))
    with owner_lock(meta.uid_of(owner)):
        _revisions_follow(store, owner, orphan=False)
        return mark_pods_deleting(store, owned_pods(store, owner), grace)


def _revisions_follow(store: Store, owner: Obj, orphan: bool) -> None:
    """An owner's ControllerRevisions go with it, or lose their controller reference when
    it is deleted orphaning its dependents (the garbage collector's share)."""
    for revision in owned(store, owner, "ControllerRevision"):
        if orphan:
            set_controller_ref(store, revision, None)
        else:
            store.delete("ControllerRevision", meta.namespace_of(revision),
                         meta.name_of(revision), meta.uid_of(revision))
    if orphan or "PersistentVolumeClaim" not in meta.RESOURCES:
        return
    # A StatefulSet's claims it owns (whenDeleted: Delete) go once no other owner is left.
    uid = meta.uid_of(owner)
    for claim in store.list("PersistentVolumeClaim", meta.namespace_of(owner)):
        refs = claim["metadata"].get("ownerReferences") or []
        if any(r.get("uid") == uid for r in refs) and owners_gone(store, claim):
            with contextlib.suppress(NotFound):
                delete_object(store, "PersistentVolumeClaim", meta.namespace_of(claim),
                              meta.name_of(claim), uid=meta.uid_of(claim))


def advance_owner_deletion(store: Store, owner: Obj, grace: int | None = None) -> list[Obj]:
    """One step of a marked owner's deletion: orphan or mark its pods, and remove the owner
    once no pod it owns is left. Returns the pods this step marked deleting.

    Holds the owner's lock, the one its sync holds, so no pod is adopted or created meanwhile.
    """
    with owner_lock(meta.uid_of(owner)):
        fresh = store.get(meta.key_of(owner), meta.namespace_of(owner), meta.name_of(owner))
        if fresh is None or meta.uid_of(fresh) != meta.uid_of(owner):
            return []
        pods = owned_pods(store, fresh)
        if ORPHAN in (fresh["metadata"].get("finalizers") or []):
            for pod in pods:
                set_controller_ref(store, pod, None)
            pods = []
        marked = mark_pods_deleting(store, pods, grace)
        if not pods:
            _revisions_follow(store, fresh, ORPHAN in (fresh["metadata"].get("finalizers")
                                                       or []))
            store.delete(meta.key_of(fresh), meta.namespace_of(fresh), meta.name_of(fresh),
                         meta.uid_of(fresh))
    return marked


def mark_finalizing(store: Store, obj: Obj) -> Obj | None:
    """An object with finalizers is only marked: it goes once its finalizers' owners have
    removed them all (registry.update removes it then)."""

    def change(fresh: Obj) -> bool:
        md = fresh["metadata"]
        if md.get("deletionTimestamp"):
            return False
        md["deletionTimestamp"] = meta.now_rfc3339()
        md["deletionGracePeriodSeconds"] = 0
        return True

    return store.mutate(meta.key_of(obj), meta.namespace_of(obj), meta.name_of(obj), change,
                        meta.uid_of(obj))


def mark_namespace_deleting(store: Store, name: str) -> Obj | None:
    def change(fresh: Obj) -> bool:
        if fresh["metadata"].get("deletionTimestamp"):
            return False
        fresh["metadata"]["deletionTimestamp"] = meta.now_rfc3339()
        fresh.setdefault("status", {})["phase"] = "Terminating"
        return True

    return store.mutate("Namespace", "", name, change)


def advance_namespace_deletion(store: Store, name: str, grace: int | None = None) -> list[Obj]:
    """One step of a Terminating namespace's deletion: everything in it goes (the pods'
    owners under their lock, so an owner's pass in flight ends first), its pods are marked,
    and the namespace goes once it is empty. Admission refuses new content in it, so
    nothing can appear after the listing. Returns the pods marked."""
    for kind, traits in list(meta.RESOURCES.items()):
        if not traits.namespaced or kind == "Pod":
            continue
        for obj in store.list(kind, name):
            uid = meta.uid_of(obj)
            with owner_lock(uid) if traits.owns_pods else contextlib.nullcontext():
                store.delete(kind, name, meta.name_of(obj), uid)
    pods = store.list("Pod", name)
    marked = mark_pods_deleting(store, pods, grace)
    if not pods:
        store.delete("Namespace", "", name)
    return marked


@dataclass
class Deletion:
    """What a delete did: the object as marked, when something is left to finish (None
    when it went at once), and the pods a background cascade marked."""

    marked: Obj | None
    pods: list[Obj] = field(default_factory=list)


def delete_object(store: Store, kind: str, namespace: str, name: str, *,
                  grace: int | None = None, propagation: str | None = None,
                  uid: str | None = None, resource_version: str | None = None,
                  dry_run: bool = False) -> Deletion:
    """The one delete, for the API and podctl's commands alike: preconditions, admission,
    then by the kind's traits — a pod or a namespace is marked, an owner of pods goes at
    once with its pods marked (background) or is marked with the finalizer saying what
    happens to its dependents (foreground, orphan), the rest goes at once. Whoever asked
    finishes what is marked, or the controller does."""
    current = store.get(kind, namespace, name)
    attrs = Attributes(DELETE, kind, namespace, name, None, old=current, dry_run=dry_run)
    store.check(chain_for(store).admitter(attrs))
    if current is None:
        raise NotFound(meta.plural(kind), name)
    _check_preconditions(current, uid, resource_version)
    if dry_run:
        return Deletion(current)
    traits = meta.RESOURCES[kind]
    marked: Obj | None
    if kind == "Pod":
        marked = mark_pod_deleting(store, current, grace)
    elif kind == "Namespace":
        marked = mark_namespace_deleting(store, name) or store.get(kind, "", name)
    elif traits.custom and propagation in ("Foreground", "Orphan"):
        # the garbage collector (controllers.customresources) finishes it
        marked = mark_owner_deleting(store, current,
                                     ORPHAN if propagation == "Orphan" else FOREGROUND)
    elif traits.owns_pods and propagation in (None, "Background"):
        return Deletion(None, delete_owner_background(store, current, grace))
    elif traits.cascades:
        marked = mark_owner_deleting(store, current,
                                     ORPHAN if propagation == "Orphan" else FOREGROUND)
    elif current["metadata"].get("finalizers"):
        marked = mark_finalizing(store, current)
    else:
        delete_at_once(store, kind, namespace, name, meta.uid_of(current))
        return Deletion(None)
    if marked is None or store.get_by_uid(meta.uid_of(current)) is None:
        return Deletion(None)
    return Deletion(marked)


def _check_preconditions(current: Obj, uid: str | None, resource_version: str | None
                         ) -> None:
    if uid and uid != meta.uid_of(current):
        raise Precondition(f"Precondition failed: UID in precondition: {uid}, UID in object "
                           f"meta: {meta.uid_of(current)}")
    stored_rv = current["metadata"]["resourceVersion"]
    if resource_version and resource_version != stored_rv:
        raise Precondition(f"Precondition failed: ResourceVersion in precondition: "
                           f"{resource_version}, ResourceVersion in object meta: {stored_rv}")
