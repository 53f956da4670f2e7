"""The controllers custom kinds need: the CRD finalizer's cleanup (upstream's
CRDFinalizer: a deleted definition is Terminating until every object of its kind is gone)
and the garbage collector's share the pod owners' controllers do not do themselves: any
dependent whose owners are all gone (a CR's children, an operator's ConfigMap owned by a
ConfigMap, a CR owned by a Deployment), and foreground and orphan deletion of a CR)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from podctl import registry
from podctl.api import crd, meta
from podctl.api.meta import Obj
from podctl.controllers.deletion import FOREGROUND, ORPHAN, delete_object
from podctl.errors import NotFound
from podctl.store import Store
from podctl.store.db import Dependent

log = logging.getLogger("podctl.controller")
GARBAGE = ("GarbageCollector", "", "")


def definition_key(definition: Obj) -> str:
    """The store key of the kind a definition defines."""
    spec = crd.spec_of(definition)
    names = (definition.get("status") or {}).get("acceptedNames") or spec.get("names") or {}
    return f"{names.get('kind')}.{spec.get('group')}"


def sync_definition(store: Store, name: str) -> bool:
    """A definition being deleted: Terminating, its objects deleted, then its finalizer
    removed (it goes then). True when objects are left to wait for."""
    definition = store.get(crd.KIND, "", name)
    if definition is None or not definition["metadata"].get("deletionTimestamp"):
        return False
    if crd.CLEANUP_FINALIZER not in (definition["metadata"].get("finalizers") or []):
        return False
    key = definition_key(definition)
    left = store.list(key)
    _set_terminating(store, definition)
    for obj in left:
        if obj["metadata"].get("deletionTimestamp"):
            continue
        with contextlib.suppress(NotFound):
            delete_object(store, key, meta.namespace_of(obj), meta.name_of(obj),
                          uid=meta.uid_of(obj))
    if store.list(key):
        return True

    def release(fresh: Obj) -> bool:
        finalizers = fresh["metadata"].get("finalizers") or []
        if crd.CLEANUP_FINALIZER not in finalizers:
            return False
        fresh["metadata"]["finalizers"] = [f for f in finalizers if f != crd.CLEANUP_FINALIZER]
        return True

    registry.mutate(store, crd.KIND, "", name, release, meta.uid_of(definition))
    return False


def _set_terminating(store: Store, definition: Obj) -> None:
    if crd.condition(definition, "Terminating"):
        return
    fresh = meta.clone(definition)
    fresh["status"] = crd.terminating_status(definition, meta.now_rfc3339(),
                                             "CustomResource deletion is in progress")
    with contextlib.suppress(NotFound):
        registry.update_status(store, fresh)


# -- garbage collection ---------------------------------------------------------------------

def collect(store: Store, collected_elsewhere: frozenset[str] = frozenset()) -> bool:
    """One pass of the collector: dependents of custom owners being deleted in the
    foreground go first, orphaned ones are released, dependents whose owners are all gone
    go, but for the kinds in `collected_elsewhere` (pods and the pod owners, whose own
    passes look at their owners). True when a foreground deletion still waits."""
    waiting = False
    dependents = store.dependents()
    for key in [k for k, r in list(meta.RESOURCES.items()) if r.custom]:
        for owner in store.list(key):
            finalizers = owner["metadata"].get("finalizers") or []
            if owner["metadata"].get("deletionTimestamp") and (
                    FOREGROUND in finalizers or ORPHAN in finalizers):
                waiting |= _finish_owner(store, key, owner, dependents, ORPHAN in finalizers)
    uids = store.uids()
    for dependent in dependents:
        refs = dependent.owner_references
        if dependent.kind in collected_elsewhere and not _concerns_custom(dependent):
            continue
        if not dependent.deleting and not any(r.get("uid") in uids for r in refs):
            with contextlib.suppress(NotFound):
                delete_object(store, dependent.kind, dependent.namespace, dependent.name,
                              uid=dependent.uid)
    return waiting


def _concerns_custom(dependent: Dependent) -> bool:
    """A custom resource, or what a custom resource owns."""
    if _is_custom(dependent.kind):
        return True
    return any(isinstance(ref, dict) and _is_custom(meta.key_of(ref))
               for ref in dependent.owner_references)


def _is_custom(key: str) -> bool:
    resource = meta.RESOURCES.get(key)
    return resource is not None and resource.custom


def _finish_owner(store: Store, key: str, owner: Obj, dependents: list[Dependent],
                  orphan: bool) -> bool:
    """A custom owner marked for foreground or orphan deletion: its dependents deleted (or
    released), then its finalizer removed. True while dependents are left."""
    uid = meta.uid_of(owner)
    mine = [d for d in dependents if any(r.get("uid") == uid for r in d.owner_references)]
    for dependent in mine:
        if orphan:
            registry.mutate(store, dependent.kind, dependent.namespace, dependent.name,
                            _without_owner(uid), dependent.uid)
        elif not dependent.deleting:
            with contextlib.suppress(NotFound):
                delete_object(store, dependent.kind, dependent.namespace, dependent.name,
                              uid=dependent.uid, propagation="Foreground")
    if mine and not orphan:
        return True
    finalizer = ORPHAN if orphan else FOREGROUND

    def drop(fresh: Obj) -> bool:
        finalizers = fresh["metadata"].get("finalizers") or []
        if finalizer not in finalizers:
            return False
        fresh["metadata"]["finalizers"] = [f for f in finalizers if f != finalizer]
        return True

    registry.mutate(store, key, meta.namespace_of(owner), meta.name_of(owner), drop, uid)
    return False


def _without_owner(uid: str) -> Callable[[Obj], bool]:
    def release(fresh: Obj) -> bool:
        refs = fresh["metadata"].get("ownerReferences") or []
        kept = [r for r in refs if r.get("uid") != uid]
        if kept == refs:
            return False
        if kept:
            fresh["metadata"]["ownerReferences"] = kept
        else:
            fresh["metadata"].pop("ownerReferences", None)
        return True

    return release
