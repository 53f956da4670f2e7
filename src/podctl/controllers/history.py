"""ControllerRevisions: the template history of StatefulSets and DaemonSets (upstream's
pkg/controller/history). A revision holds its owner's pod template as a patch
(`{"spec": {"template": {..., "$patch": "replace"}}}`), a number that grows with every
rollout (a rollback renumbers the revision it goes back to) and the hash its name ends
with. Pure helpers, plus the writes a controller's pass makes."""

from __future__ import annotations

from dataclasses import dataclass

from podctl import registry
from podctl.api import meta
from podctl.api.labels import selector_from_label_selector
from podctl.api.meta import Obj
from podctl.controllers.deployment import template_hash
from podctl.controllers.owners import owned, owner_reference, set_controller_ref
from podctl.errors import AlreadyExists
from podctl.store import Store

HASH_LABEL = "controller.kubernetes.io/hash"
NAME_PREFIX_MAX = 223  # upstream's ControllerRevisionName: the name stays within 253


def revision_data(template: Obj) -> Obj:
    """The patch a revision stores: the whole template, replacing the owner's."""
    return {"spec": {"template": {**meta.clone(template), "$patch": "replace"}}}


def template_of(revision: Obj) -> Obj:
    """The pod template a revision holds."""
    template = meta.clone(((revision.get("data") or {}).get("spec") or {}).get("template")
                          or {})
    template.pop("$patch", None)
    return dict(template)


def revision_name(owner_name: str, hash_: str) -> str:
    return f"{owner_name[:NAME_PREFIX_MAX]}-{hash_}"


def number_of(revision: Obj) -> int:
    return int(revision.get("revision") or 0)


def by_number(revisions: list[Obj]) -> list[Obj]:
    """Oldest first (upstream's ByRevision: number, then creation, then name)."""
    return sorted(revisions, key=lambda r: (number_of(r),
                                            r["metadata"].get("creationTimestamp", ""),
                                            meta.name_of(r)))


def next_number(revisions: list[Obj]) -> int:
    return max((number_of(r) for r in revisions), default=0) + 1


def new_revision(owner: Obj, template: Obj, number: int, collision_count: int) -> Obj:
    """upstream's NewControllerRevision: the template's labels, the hash label, the
    owner's annotations (its change-cause is the revision's), owned."""
    hash_ = template_hash(template, collision_count)
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    labels[HASH_LABEL] = hash_
    md: Obj = {"name": revision_name(meta.name_of(owner), hash_),
               "namespace": meta.namespace_of(owner), "labels": labels,
               "ownerReferences": [owner_reference(owner)]}
    if owner["metadata"].get("annotations"):
        md["annotations"] = dict(owner["metadata"]["annotations"])
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": md,
            "data": revision_data(template), "revision": number}


def owned_revisions(store: Store, owner: Obj) -> list[Obj]:
    """The owner's revisions, orphans its selector matches adopted first (upstream's
    ClaimControllerRevisions: a set deleted with --cascade=orphan and made again keeps its
    history, and so its pods' revisions)."""
    selector = selector_from_label_selector(owner["spec"].get("selector") or {})
    for revision in store.list("ControllerRevision", meta.namespace_of(owner)):
        if meta.controller_of(revision) is None and not selector.is_empty() \
                and selector.matches(meta.labels_of(revision)):
            set_controller_ref(store, revision, owner)
    return by_number(owned(store, owner, "ControllerRevision"))


def same_template(revision: Obj, template: Obj) -> bool:
    return revision.get("data") == revision_data(template)


@dataclass
class Revisions:
    """An owner's current and update revisions after a pass made sure the update one is
    stored and the last of the history, and the collision count it needed."""

    current: Obj
    update: Obj
    history: list[Obj]
    collision_count: int


def ensure_update_revision(store: Store, owner: Obj, template: Obj, history: list[Obj],
                           collision_count: int, current_name: str) -> Revisions:
    """upstream's getStatefulSetRevisions / constructHistory: the revision equal to the
    template (renumbered last when an older one is equal: a rollback), else a new one;
    a name taken by a different template bumps the collision count. The current revision
    is the one named `current_name`, else the update one."""
    history = list(history)
    number = next_number(history)
    equal = [r for r in history if same_template(r, template)]
    if equal:
        update = equal[-1]
        if number_of(update) < number - 1:
            update = _renumber(store, update, number)
            history = by_number([r for r in history if meta.name_of(r) != meta.name_of(
                update)] + [update])
    else:
        update, collision_count = _create(store, owner, template, number, collision_count)
        history = by_number([*history, update])
    current = next((r for r in history if meta.name_of(r) == current_name), update)
    return Revisions(current, update, history, collision_count)


def _renumber(store: Store, revision: Obj, number: int) -> Obj:
    def change(fresh: Obj) -> bool:
        fresh["revision"] = number
        return True

    done = registry.mutate(store, "ControllerRevision", meta.namespace_of(revision),
                           meta.name_of(revision), change, meta.uid_of(revision))
    return done if done is not None else revision


def _create(store: Store, owner: Obj, template: Obj, number: int,
            collision_count: int) -> tuple[Obj, int]:
    """Store a new revision; a name another template holds is a hash collision: the
    count grows until the name is free (or names an equal revision, made meanwhile)."""
    while True:
        revision = new_revision(owner, template, number, collision_count)
        try:
            return registry.create(store, revision), collision_count
        except AlreadyExists:
            found = store.get("ControllerRevision", meta.namespace_of(owner),
                              meta.name_of(revision))
            if found is not None and same_template(found, template) and \
                    (meta.controller_of(found) or {}).get("uid") == meta.uid_of(owner):
                return found, collision_count
            collision_count += 1


def surplus(history: list[Obj], live: set[str], limit: int) -> list[Obj]:
    """upstream's truncateHistory: the oldest revisions no pod and neither the current
    nor the update revision uses, beyond the history limit."""
    unused = [r for r in by_number(history) if meta.name_of(r) not in live]
    return unused[:max(len(unused) - max(limit, 0), 0)]


def delete_revisions(store: Store, revisions: list[Obj]) -> None:
    for revision in revisions:
        store.delete("ControllerRevision", meta.namespace_of(revision),
                     meta.name_of(revision), meta.uid_of(revision))
