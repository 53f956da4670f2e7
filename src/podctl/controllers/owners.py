"""Owner references between stored objects: who controls a pod, adopting and releasing."""

from __future__ import annotations

from contextlib import AbstractContextManager

from podctl import registry
from podctl.api import meta
from podctl.api.meta import Obj
from podctl.errors import Conflict, NotFound
from podctl.locks import file_lock
from podctl.store import Store


def owner_lock_name(uid: str) -> str:
    return f"rc-{uid}"


def owner_lock(uid: str) -> AbstractContextManager[None]:
    """The one lock of an owner object, held by its controller's sync and by every step of
    its deletion, so no dependent is adopted or made while the deletion lists them."""
    return file_lock(owner_lock_name(uid))


def owner_reference(owner: Obj) -> Obj:
    """The controller reference a dependent carries (blocks foreground deletion of the owner)."""
    return {"apiVersion": owner.get("apiVersion", "v1"), "blockOwnerDeletion": True,
            "controller": True, "kind": owner["kind"], "name": meta.name_of(owner),
            "uid": meta.uid_of(owner)}


def owned(store: Store, owner: Obj, kind: str) -> list[Obj]:
    """Objects of `kind` whose controller reference names this owner."""
    uid = meta.uid_of(owner)
    return [o for o in store.list(kind, meta.namespace_of(owner))
            if (meta.controller_of(o) or {}).get("uid") == uid]


def owned_pods(store: Store, owner: Obj) -> list[Obj]:
    return owned(store, owner, "Pod")


def set_controller_ref(store: Store, pod: Obj, owner: Obj | None) -> None:
    """Adopt (owner given) or release/orphan (None) a pod by its controller reference."""

    def change(fresh: Obj) -> bool:
        before = fresh["metadata"].get("ownerReferences")
        refs = [r for r in before or [] if not r.get("controller")]
        if owner is not None:
            refs.append(owner_reference(owner))
        if refs:
            fresh["metadata"]["ownerReferences"] = refs
        else:
            fresh["metadata"].pop("ownerReferences", None)
        return bool(fresh["metadata"].get("ownerReferences") != before)

    stored = registry.mutate(store, str(pod.get("kind", "Pod")), meta.namespace_of(pod),
                             meta.name_of(pod), change, meta.uid_of(pod))
    if stored is not None:
        pod["metadata"] = stored["metadata"]


def owners_gone(store: Store, obj: Obj) -> bool:
    """Every owner this object names is gone: the garbage collector deletes it."""
    refs = obj["metadata"].get("ownerReferences") or []
    return bool(refs) and all(store.get_by_uid(str(r.get("uid"))) is None for r in refs)


def write_status(store: Store, obj: Obj, status: Obj) -> bool:
    """Write a controller's status for `obj` as it was read (status only, carrying its
    resourceVersion); False when the object changed meanwhile, so the status would describe
    an old spec and the caller must compute it again."""
    if status == obj.get("status"):
        return True
    obj["status"] = status
    try:
        registry.update_status(store, obj)
    except Conflict:
        return False
    except NotFound:
        return True
    return True
