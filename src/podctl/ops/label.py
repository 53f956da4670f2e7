"""`label`: add, change or remove labels of pods, replication controllers and nodes."""

from __future__ import annotations

from podctl.api import meta
from podctl.api.labels import LabelSpecError, parse_label_args, validate_label_key
from podctl.api.meta import Obj
from podctl.errors import Invalid, PodctlError
from podctl.store import Store


def relabel(store: Store, obj: Obj, changes: dict[str, str], removals: list[str],
            overwrite: bool, field: str = "labels") -> str:
    """Apply label (or annotation) changes to one object; kubectl's result line."""
    labels = dict(obj["metadata"].get(field) or {})
    for key, value in changes.items():
        if key in labels and labels[key] != value and not overwrite:
            raise PodctlError(f"'{key}' already has a value ({labels[key]}), "
                              "and --overwrite is false")
    for key in changes:
        problems = validate_label_key(key)
        if problems:
            raise Invalid(f'The {obj["kind"]} "{meta.name_of(obj)}" is invalid: '
                          f'metadata.{field}: Invalid value: "{key}": {problems[0]}')
    before = dict(labels)
    labels.update(changes)
    for key in removals:
        labels.pop(key, None)
    kind = meta.singular(obj["kind"])
    word = "labeled" if field == "labels" else "annotated"
    if labels == before:
        return f"{kind}/{meta.name_of(obj)} not {word}"
    obj["metadata"][field] = labels
    if not labels:
        obj["metadata"].pop(field)
    store.update(obj)
    verb = f"un{word}" if removals and not changes else word
    return f"{kind}/{meta.name_of(obj)} {verb}"


def parse_changes(args: list[str]) -> tuple[dict[str, str], list[str]]:
    try:
        return parse_label_args(args)
    except LabelSpecError as exc:
        raise PodctlError(str(exc)) from exc
