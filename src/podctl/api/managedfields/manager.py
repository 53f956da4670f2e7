"""managedFields as the API server keeps them (k8s.io/apimachinery/pkg/util/managedfields):
one entry per manager identity (name, operation, the apiVersion of an Update,
subresource); every write from a manager takes the fields it changed as an Update entry;
an apply merges the configuration, owns exactly what it sets, drops what it alone set
before and no longer does, and is refused with the conflicts it would cause unless forced.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from podctl.api.managedfields import fieldset as fp
from podctl.api.managedfields import typed
from podctl.api.managedfields.fieldset import EMPTY, FieldSet, Path
from podctl.api.managedfields.schema import LIST, MAP, Type
from podctl.api.managedfields.typed import MISSING

APPLY, UPDATE = "Apply", "Update"
FIELDS_TYPE = "FieldsV1"
# The inner name of an update's own changes (upstream's managedFieldsUpdater).
_CURRENT = "current-operation"
# Fields no manager owns (upstream's stripMetaManager).
_STRIPPED: FieldSet = frozenset(
    tuple(fp.field(part) for part in path.split("."))
    for path in ("apiVersion", "kind", "metadata", "metadata.name", "metadata.namespace",
                 "metadata.creationTimestamp", "metadata.selfLink", "metadata.uid",
                 "metadata.clusterName", "metadata.generation", "metadata.managedFields",
                 "metadata.resourceVersion"))
# Struct fields a Go object has even when empty (non-pointer structs): a create compares
# against them, so they are never "added" (upstream compares with the type's zero value).
_ALWAYS_THERE = frozenset({"metadata", "spec", "status", "template", "strategy",
                           "updateStrategy", "jobTemplate"})


@dataclass(frozen=True)
class Entry:
    fields: FieldSet
    api_version: str
    applied: bool = False
    time: str | None = None


Managed = dict[str, Entry]  # manager identity (upstream's JSON form) -> its entry
# What a write's comparison keeps of the paths it finds (upstream's reset fields).
Filter = Callable[[FieldSet], FieldSet]


def keep_all(fields: FieldSet) -> FieldSet:
    return fields


def identity(manager: str, operation: str, api_version: str, subresource: str = "") -> str:
    """upstream's BuildManagerIdentifier: an applier's identity has no apiVersion."""
    entry: dict[str, str] = {"manager": manager or "unknown", "operation": operation}
    if operation == UPDATE:
        entry["apiVersion"] = api_version
    if subresource:
        entry["subresource"] = subresource
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False)


def describe(manager_id: str) -> str:
    """A manager as a conflict names it: `"kubectl"`, `"ctl" using apps/v1`."""
    entry = json.loads(manager_id)
    out = json.dumps(entry.get("manager", ""), ensure_ascii=False)
    if entry.get("subresource"):
        out += f' with subresource {json.dumps(entry["subresource"], ensure_ascii=False)}'
    if entry.get("operation") == UPDATE:
        out += f" using {entry.get('apiVersion', '')}"
    return out


# -- the wire form ---------------------------------------------------------------------------


def decode(entries: Any) -> Managed:
    """metadata.managedFields as managers; ValueError for entries upstream refuses."""
    managed: Managed = {}
    if entries is None:
        return managed
    if not isinstance(entries, list):
        raise ValueError("managedFields must be a list")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError("managedFields entries must be objects")
        operation = entry.get("operation")
        if operation not in (APPLY, UPDATE):
            raise ValueError("operation must be `Apply` or `Update`")
        if not entry.get("apiVersion"):
            raise ValueError("apiVersion must not be empty")
        if entry.get("fieldsType") != FIELDS_TYPE:
            raise ValueError(f"missing fieldsType in managed fields entry {i}"
                             if not entry.get("fieldsType") else
                             f'invalid fieldsType "{entry["fieldsType"]}" in managed fields '
                             f"entry {i}")
        key = identity(str(entry.get("manager") or ""), operation, str(entry["apiVersion"]),
                       str(entry.get("subresource") or ""))
        managed[key] = Entry(fp.from_fields_v1(entry.get("fieldsV1") or {}),
                             str(entry["apiVersion"]), operation == APPLY,
                             entry.get("time"))
    return managed


def _seconds(time: str | None) -> float:
    try:
        return datetime.fromisoformat(str(time).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0


def encode(managed: Managed) -> list[dict[str, Any]]:
    """The entries as metadata.managedFields holds them, in upstream's order."""
    out = []
    for key, entry in managed.items():
        who = json.loads(key)
        item: dict[str, Any] = {"manager": who["manager"],
                                "operation": APPLY if entry.applied else UPDATE,
                                "apiVersion": entry.api_version}
        if entry.time:
            item["time"] = entry.time
        item["fieldsType"] = FIELDS_TYPE
        item["fieldsV1"] = fp.to_fields_v1(entry.fields)
        if who.get("subresource"):
            item["subresource"] = who["subresource"]
        out.append(item)
    out.sort(key=lambda e: (e["operation"], int(_seconds(e.get("time"))), e["manager"],
                            e["apiVersion"], e.get("subresource", "")))
    return out


# -- conflicts -------------------------------------------------------------------------------


class ApplyConflict(Exception):
    """An apply that would change fields other managers own; str() is upstream's message."""

    def __init__(self, conflicts: dict[str, FieldSet]) -> None:
        self.conflicts = [(manager, path) for manager in sorted(conflicts)
                          for path in fp.iterate(conflicts[manager])]
        super().__init__(self._message())

    @classmethod
    def of(cls, conflicts: list[tuple[str, Path]]) -> ApplyConflict:
        grouped: dict[str, set[Path]] = {}
        for who, path in conflicts:
            grouped.setdefault(who, set()).add(path)
        return cls({who: frozenset(paths) for who, paths in grouped.items()})

    def _message(self) -> str:
        if len(self.conflicts) == 1:
            manager, path = self.conflicts[0]
            return (f"Apply failed with 1 conflict: conflict with {describe(manager)}: "
                    f"{fp.path_string(path)}")
        lines: list[str] = []
        last = None
        for manager, path in self.conflicts:
            if manager != last:
                lines.append(f"conflicts with {describe(manager)}:")
                last = manager
            lines.append(f"- {fp.path_string(path)}")
        return f"Apply failed with {len(self.conflicts)} conflicts: " + "\n".join(lines)

    def causes(self) -> list[dict[str, str]]:
        return [{"reason": "FieldManagerConflict",
                 "message": f"conflict with {describe(manager)}",
                 "field": fp.path_string(path)} for manager, path in self.conflicts]


# -- the updater -----------------------------------------------------------------------------


def _compare(old: Any, new: Any, t: Type, ignore: Filter) -> typed.Comparison:
    found = typed.compare(old, new, t)
    return typed.Comparison(*(set(ignore(frozenset(s)))
                              for s in (found.removed, found.modified, found.added)))


def _take_over(managed: Managed, compared: typed.Comparison, workflow: str,
               force: bool) -> Managed:
    """Other managers lose what this write changes (refused unless `force`) and what it
    removes (upstream's Updater.update)."""
    changed = compared.changed()
    removed = frozenset(compared.removed)
    conflicts = {m: e.fields & changed for m, e in managed.items()
                 if m != workflow and e.fields & changed}
    if conflicts and not force:
        raise ApplyConflict(conflicts)
    out: Managed = {}
    for manager, entry in managed.items():
        fields = entry.fields
        if manager != workflow:
            fields = fields - conflicts.get(manager, EMPTY) - removed
        if fields:
            out[manager] = replace(entry, fields=fields)
    return out


def _strip(managed: Managed, manager: str) -> None:
    entry = managed.get(manager)
    if entry is not None:
        fields = entry.fields - _STRIPPED
        if fields:
            managed[manager] = replace(entry, fields=fields)
        else:
            del managed[manager]


def created_from(obj: Any, t: Type) -> Any:
    """The zero object a create is compared with, as Go writes an empty object: its
    non-pointer structs empty, its required (not omitempty) lists and maps null."""
    if not isinstance(obj, dict):
        return {}
    out: dict[str, Any] = {}
    required = set(t.node.get("required") or ())
    for name, value in obj.items():
        child = t.field(name)
        if name in _ALWAYS_THERE and isinstance(value, dict) and child.struct:
            out[name] = created_from(value, child)
        elif name in required and child.kind in (LIST, MAP):
            out[name] = None
    return out


def update(live: Any, new: Any, managed: Managed, manager: str, api_version: str, t: Type,
           now: str, subresource: str = "", ignore: Filter = keep_all) -> Managed:
    """The managers after a create, update or non-apply patch by `manager` from `live`
    (MISSING: a create) to `new`."""
    if live is MISSING:
        live = created_from(new, t)
    compared = _compare(live, new, t, ignore)
    managed = _take_over(dict(managed), compared, _CURRENT, True)
    mine = ignore((compared.changed()) - frozenset(compared.removed))
    if mine:
        managed[_CURRENT] = Entry(mine, api_version)
    _strip(managed, _CURRENT)
    current = managed.pop(_CURRENT, None)
    if current is not None:
        key = identity(manager, UPDATE, api_version, subresource)
        previous = managed.get(key)
        fields = current.fields | (previous.fields if previous else EMPTY)
        managed[key] = Entry(fields, api_version, False, now)
    _cap_updaters(managed)
    return managed


MAX_UPDATE_MANAGERS = 10
ANCIENT = "ancient-changes"


def _cap_updaters(managed: Managed) -> None:
    """At most MAX_UPDATE_MANAGERS Update entries: the oldest merge into one
    `ancient-changes` entry per apiVersion (upstream's capManagersManager)."""
    updaters = [key for key, entry in managed.items() if not entry.applied]
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return
    updaters.sort(key=lambda key: (int(_seconds(managed[key].time)), key))
    first_of: dict[str, str] = {}
    length = len(updaters)
    for key in updaters:
        if length <= MAX_UPDATE_MANAGERS:
            return
        entry = managed[key]
        bucket = identity(ANCIENT, UPDATE, entry.api_version)
        if entry.api_version not in first_of:
            first_of[entry.api_version] = key
            continue
        if bucket not in managed:
            managed[bucket] = managed.pop(first_of[entry.api_version])
        merged = Entry(entry.fields | managed[bucket].fields, entry.api_version, False,
                       entry.time)
        if key != bucket:
            del managed[key]
        managed[bucket] = merged
        length -= 1


@dataclass
class Applied:
    obj: Any  # the merged object; None when the apply changes nothing
    managed: Managed


def apply(live: Any, config: Any, managed: Managed, manager: str, api_version: str, t: Type,
          now: str, force: bool = False, subresource: str = "",
          ignore: Filter = keep_all) -> Applied:
    """Server-side apply of `config` by `manager` onto `live` (MISSING: nothing yet)."""
    key = identity(manager, APPLY, api_version, subresource)
    base = {} if live is MISSING else live
    merged = typed.merge(base, config, t)
    merged = {} if merged is MISSING else merged
    managed = dict(managed)
    last = managed.get(key)
    managed[key] = Entry(ignore(typed.to_field_set(config, t)), api_version, True,
                         last.time if last else None)
    if last is not None and last.fields and not last.fields <= _owned(managed):
        merged = _prune(merged, managed, last.fields, t)
    managed = _take_over(managed, _compare(base, merged, t, ignore), key, force)
    _strip(managed, key)
    if merged == base and live is not MISSING:
        return Applied(None, managed)
    if key in managed:
        managed[key] = replace(managed[key], time=now)
    return Applied(typed.drop_nulls(merged), managed)


def _owned(managed: Managed) -> FieldSet:
    owned: set[Path] = set()
    for entry in managed.values():
        owned |= entry.fields
    return frozenset(owned)


def _prune(merged: Any, managed: Managed, last: FieldSet, t: Type) -> Any:
    """Remove what the applier set last time, no longer sets, and nobody else owns
    (upstream's prune, addBackOwnedItems and addBackDanglingItems). Not called when all it
    set last time is still owned: an applier's set holds the items and entries above each
    of its fields, so nothing would go."""
    def named(fields: Iterable[Path]) -> FieldSet:
        return typed.ensure_named_fields(frozenset(fields), t)

    def fields_of(value: Any) -> FieldSet:
        return typed.to_field_set(value, t) if isinstance(value, dict) else EMPTY

    last_named = named(last)
    pruned = typed.remove_items(merged, last_named, t)
    owned = _owned(managed)
    merged_set = named(fields_of(merged))
    pruned = typed.remove_items(merged, merged_set - (named(fields_of(pruned)) | named(owned)),
                                t)
    dangling = (merged_set - named(fields_of(pruned))) & last_named
    out = typed.remove_items(merged, dangling, t)
    return out if isinstance(out, dict) else {}


# -- client-side apply's annotation (upstream's lastAppliedManager and lastAppliedUpdater) ---

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Only kubectl's own server-side apply upgrades from, and keeps up, client-side apply.
KUBECTL = "kubectl"


def allowed_by_last_applied(live: Any, api_version: str, t: Type) -> FieldSet | None:
    """The fields an object's last-applied configuration still describes as they are live:
    kubectl's first server-side apply may take them from the client-side managers. None
    when there is no usable annotation."""
    md = live.get("metadata") if isinstance(live, dict) else None
    text = ((md or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        last = json.loads(text)
    except ValueError:
        return None
    if not isinstance(last, dict) or last.get("apiVersion") != api_version:
        return None
    try:
        fields = typed.to_field_set(last, t)
        compared = typed.compare(last, live, t)
    except typed.SchemaError:
        return None
    return fields - compared.modified - compared.added - compared.removed


def with_last_applied(obj: Any, config: Any) -> Any:
    """`obj` with its last-applied annotation set to the applied configuration, when it has
    one (so a later client-side apply still sees what was applied)."""
    annotations = ((obj.get("metadata") or {}).get("annotations") or {})
    if LAST_APPLIED not in annotations:
        return obj
    recorded = copy.deepcopy(config)
    config_md = recorded.get("metadata") or {}
    if isinstance(config_md.get("annotations"), dict):
        config_md["annotations"].pop(LAST_APPLIED, None)
    out = copy.deepcopy(obj)
    # as a json.Encoder writes it: with its newline
    out["metadata"]["annotations"][LAST_APPLIED] = fp.go_json(recorded) + "\n"
    return out
