"""`label`: add, change or remove labels of pods, replication controllers and nodes."""

from __future__ import annotations

from podctl import registry
from podctl.api import meta
from podctl.api.labels import LabelSpecError, parse_label_args, validate_label_key
from podctl.api.meta import Obj
from podctl.errors import Invalid, NotFound, PodctlError
from podctl.store import Store


def relabel(store: Store, obj: Obj, changes: dict[str, str], removals: list[str],
            overwrite: bool, field: str = "labels") -> str:
    """Apply label (or annotation) changes to one object; kubectl's result line.

    Like kubectl's patch, the change applies to the object as stored when it is written,
    re-read on a conflict, so a concurrent writer's change is kept.
    """
    for key in changes:
        problems = validate_label_key(key)
        if problems:
            raise Invalid(f'The {obj["kind"]} "{meta.name_of(obj)}" is invalid: '
                          f'metadata.{field}: Invalid value: "{key}": {problems[0]}')

    changed = False

    def change(fresh: Obj) -> bool:
        nonlocal changed
        labels = dict(fresh["metadata"].get(field) or {})
        for key, value in changes.items():
            if key in labels and labels[key] != value and not overwrite:
                raise PodctlError(f"'{key}' already has a value ({labels[key]}), "
                                  "and --overwrite is false")
        before = dict(labels)
        labels.update(changes)
        for key in removals:
            labels.pop(key, None)
        changed = labels != before
        if changed:
            fresh["metadata"][field] = labels
            if not labels:
                fresh["metadata"].pop(field)
        return changed

    kind = meta.singular(meta.key_of(obj))
    word = "labeled" if field == "labels" else "annotated"
    namespace = meta.namespace_of(obj) if meta.key_of(obj) in meta.NAMESPACED else ""
    if registry.mutate(store, meta.key_of(obj), namespace, meta.name_of(obj), change,
                       meta.uid_of(obj)) is None:
        raise NotFound(meta.plural(meta.key_of(obj)), meta.name_of(obj))
    if not changed:
        return f"{kind}/{meta.name_of(obj)} not {word}"
    verb = f"un{word}" if removals and not changes else word
    return f"{kind}/{meta.name_of(obj)} {verb}"


def parse_changes(args: list[str]) -> tuple[dict[str, str], list[str]]:
    try:
        return parse_label_args(args)
    except LabelSpecError as exc:
        raise PodctlError(str(exc)) from exc
