"""The walks of JSON values over a schema type, as structured-merge-diff's typed package
does them: the field set a value holds, the comparison of two values, the merge of an
applied configuration into a live object, and the removal of a set's items.

Values are decoded JSON (dicts, lists, scalars, None for null); MISSING stands for "not
there", which upstream tells apart from an explicit null.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from podctl.api.managedfields import fieldset as fp
from podctl.api.managedfields.fieldset import EMPTY, FieldSet, Path, PathElement
from podctl.api.managedfields.schema import LIST, MAP, SCALAR, UNTYPED, Type


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class SchemaError(ValueError):
    """A value the schema cannot place (a keyed list's item without its keys...)."""


def _shape(t: Type, value: Any) -> str:
    """upstream's deduceAtom: the schema's kind, or the value's own for an untyped node."""
    if t.kind != UNTYPED:
        return t.kind
    if isinstance(value, dict):
        return MAP
    if isinstance(value, list):
        return LIST
    return SCALAR


def _atomic(t: Type, shape: str) -> bool:
    if t.kind == UNTYPED:
        return shape == LIST  # deduced lists are atomic, deduced maps granular
    return t.atomic


def item_element(t: Type, item: Any) -> PathElement:
    """The path element of an associative list's item: its keys, or its value (a set)."""
    if t.keys:
        if not isinstance(item, dict):
            raise SchemaError("associative list with keys may not have non-map elements")
        keys: dict[str, Any] = {}
        for name in t.keys:
            if name in item:
                keys[name] = item[name]
            elif t.key_default(name) is not None:
                keys[name] = t.key_default(name)
        if not keys:
            raise SchemaError("associative list with keys has an element that omits all key "
                              f"fields {list(t.keys)!r} (and doesn't have default values for "
                              "any key fields)")
        return fp.key(keys)
    if isinstance(item, dict | list) or item is None:
        raise SchemaError("associative list without keys has an element that's a "
                          + ("map type" if isinstance(item, dict) else "list or null"))
    return fp.value(item)


# -- field sets ------------------------------------------------------------------------------


def to_field_set(value: Any, t: Type) -> FieldSet:
    """Every field, list item and map entry `value` sets, as upstream's ToFieldSet."""
    out: set[Path] = set()
    _field_set(value, t, (), out)
    return frozenset(out)


def _field_set(value: Any, t: Type, path: Path, out: set[Path]) -> None:
    shape = _shape(t, value)
    if shape == SCALAR or _atomic(t, shape):
        if path:
            out.add(path)
        return
    if shape == LIST:
        if not isinstance(value, list):
            return
        elements = [item_element(t, item) for item in value]
        seen: set[PathElement] = set()
        twice = {pe for pe in elements if pe in seen or seen.add(pe)}  # type: ignore[func-returns-value]
        out.update((*path, pe) for pe in twice)
        for item, pe in zip(value, elements, strict=True):
            if pe not in twice:
                _field_set(item, t.element, (*path, pe), out)
                out.add((*path, pe))
        return
    if not isinstance(value, dict):
        return
    for name, child in value.items():
        child_path = (*path, fp.field(name))
        _field_set(child, t.field(name), child_path, out)
        if child is None or child == {} or not t.declares(name):
            out.add(child_path)


def ensure_named_fields(fields: FieldSet, t: Type) -> FieldSet:
    """The set with every declared struct field above one of its paths made a member
    (upstream's EnsureNamedFieldsAreMembers): removing such a set removes whole fields."""
    out = set(fields)
    for path in fields:
        node = t
        for i, pe in enumerate(path[:-1]):
            if pe[0] == fp.FIELD:
                if node.kind == MAP and node.declares(pe[1]):
                    out.add(path[:i + 1])
                node = node.field(pe[1])
            else:
                node = node.element
    return frozenset(out)


# -- comparison ------------------------------------------------------------------------------


@dataclass
class Comparison:
    removed: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    added: set[Path] = field(default_factory=set)

    def exclude(self, ignored: FieldSet) -> Comparison:
        return Comparison(*(set(fp.recursive_difference(frozenset(s), ignored))
                            for s in (self.removed, self.modified, self.added)))

    def changed(self) -> FieldSet:
        return frozenset(self.modified | self.added)


def compare(lhs: Any, rhs: Any, t: Type) -> Comparison:
    """What changes from `lhs` to `rhs`, as upstream's Compare."""
    out = Comparison()
    _compare(lhs, rhs, t, (), out)
    return out


def _leaf(lhs: Any, rhs: Any, path: Path, out: Comparison) -> None:
    if lhs is MISSING:
        out.added.add(path)
    elif rhs is MISSING:
        out.removed.add(path)
    elif lhs != rhs:
        out.modified.add(path)


def _compare(lhs: Any, rhs: Any, t: Type, path: Path, out: Comparison) -> None:
    shape = _shape(t, rhs if rhs is not MISSING else lhs)
    if lhs is not MISSING and rhs is not MISSING and _shape(t, lhs) != shape:
        _leaf(lhs, rhs, path, out)
        return
    if shape == SCALAR or _atomic(t, shape):
        _leaf(lhs, rhs, path, out)
        return
    kind = list if shape == LIST else dict
    left: Any = lhs if isinstance(lhs, kind) else None
    right: Any = rhs if isinstance(rhs, kind) else None
    if not left and not right:
        _leaf(lhs, rhs, path, out)
        return
    if shape == LIST:
        _compare_items(left or [], right or [], t, path, out)
    else:
        for name in {**(left or {}), **(right or {})}:
            _compare((left or {}).get(name, MISSING), (right or {}).get(name, MISSING),
                     t.field(name), (*path, fp.field(name)), out)
    if lhs is MISSING:
        out.added.add(path)
    elif rhs is MISSING:
        out.removed.add(path)


def _grouped(t: Type, items: list[Any]) -> dict[PathElement, list[Any]]:
    groups: dict[PathElement, list[Any]] = {}
    for item in items:
        groups.setdefault(item_element(t, item), []).append(item)
    return groups


def _compare_items(lhs: list[Any], rhs: list[Any], t: Type, path: Path,
                   out: Comparison) -> None:
    left, right = _grouped(t, lhs), _grouped(t, rhs)
    for pe in {**left, **right}:
        lefts, rights = left.get(pe, []), right.get(pe, [])
        item_path = (*path, pe)
        if len(lefts) <= 1 and len(rights) <= 1:
            _compare(lefts[0] if lefts else MISSING, rights[0] if rights else MISSING,
                     t.element, item_path, out)
        elif len(lefts) >= 2 and len(rights) >= 2:
            if lefts != rights:
                out.modified.add(item_path)
        elif len(lefts) >= 2:
            if rights:
                _compare(MISSING, rights[0], t.element, item_path, out)
            out.removed.add(item_path)
        else:
            if lefts:
                _compare(lefts[0], MISSING, t.element, item_path, out)
            out.added.add(item_path)


# -- merge -----------------------------------------------------------------------------------


def merge(lhs: Any, rhs: Any, t: Type) -> Any:
    """`rhs` (an applied configuration) merged into `lhs`, as upstream's Merge: granular
    maps by field, associative lists by key (in upstream's order), the rest replaced."""
    shape = _shape(t, rhs if rhs is not MISSING else lhs)
    mismatched = lhs is not MISSING and rhs is not MISSING and _shape(t, lhs) != shape
    if mismatched or shape == SCALAR or _atomic(t, shape):
        return copy.deepcopy(rhs if rhs is not MISSING else lhs)
    kind = list if shape == LIST else dict
    left: Any = lhs if isinstance(lhs, kind) else None
    right: Any = rhs if isinstance(rhs, kind) else None
    if not left and not right:
        return copy.deepcopy(rhs if rhs is not MISSING else lhs)
    if shape == LIST:
        return _merge_items(left or [], right or [], t)
    out = {}
    for name in {**(left or {}), **(right or {})}:
        merged = merge((left or {}).get(name, MISSING), (right or {}).get(name, MISSING),
                       t.field(name))
        if merged is not MISSING:
            out[name] = merged
    return out if out else MISSING


def _merge_items(lhs: list[Any], rhs: list[Any], t: Type) -> Any:
    """upstream's list merge: the live items in their order, the applied ones placed in
    the applied order around the items both have."""
    rhs_pes = [item_element(t, item) for item in rhs]
    observed_rhs: dict[PathElement, Any] = {}
    for pe, item in zip(rhs_pes, rhs, strict=True):
        if pe in observed_rhs:
            raise SchemaError(f"duplicate entries for key {fp.element_string(pe)}")
        observed_rhs[pe] = item
    lhs_pes = [item_element(t, item) for item in lhs]
    observed_lhs: dict[PathElement, Any] = {}
    for pe, item in zip(lhs_pes, lhs, strict=True):
        observed_lhs[pe] = None if pe in observed_lhs else item
    shared = deque(pe for pe in rhs_pes if pe in observed_lhs)
    next_shared = shared.popleft() if shared else None
    merged_rhs: set[PathElement] = set()
    out: list[Any] = []

    def emit(left: Any, right: Any) -> None:
        item = merge(left, right, t.element)
        if item is not MISSING:
            out.append(item)

    li = ri = 0
    while li < len(lhs_pes) or ri < len(rhs_pes):
        if li < len(lhs_pes) and ri < len(rhs_pes):
            pe = lhs_pes[li]
            if pe == rhs_pes[ri]:
                merged_rhs.add(pe)
                emit(observed_lhs[pe], observed_rhs[pe])
                li, ri = li + 1, ri + 1
                next_shared = shared.popleft() if shared else None
                continue
            if pe in observed_rhs and next_shared is not None and next_shared != pe:
                li += 1
                continue
        if li < len(lhs_pes):
            pe = lhs_pes[li]
            if pe not in observed_rhs:
                emit(lhs[li], MISSING)
                li += 1
                continue
            if pe in merged_rhs:
                li += 1
        if ri < len(rhs_pes):
            pe = rhs_pes[ri]
            merged_rhs.add(pe)
            emit(observed_lhs.get(pe, MISSING), observed_rhs[pe])
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = shared.popleft() if shared else None
    return out if out else MISSING


# -- removal ---------------------------------------------------------------------------------


def remove_items(value: Any, remove: FieldSet, t: Type) -> Any:
    """`value` without the fields, items and entries of `remove`, as upstream's
    RemoveItems (a map or list left empty becomes null, as there)."""
    if not remove:
        return value
    shape = _shape(t, value)
    if shape == SCALAR:
        return value
    if _atomic(t, shape) or not value:
        return None
    if not isinstance(value, list if shape == LIST else dict):
        return value  # not the schema's shape: left alone
    # the set split by first element once: each item's part in one look-up
    gone: set[PathElement] = set()
    below: dict[PathElement, set[Path]] = {}
    for path in remove:
        if len(path) == 1:
            gone.add(path[0])
        else:
            below.setdefault(path[0], set()).add(path[1:])
    if isinstance(value, list):
        items = []
        for item in value:
            pe = item_element(t, item)
            if pe in gone:
                continue
            rest = below.get(pe)
            items.append(remove_items(item, frozenset(rest), t.element) if rest else item)
        return items or None
    out = {}
    for name, child in value.items():
        pe = fp.field(name)
        if pe in gone:
            continue
        rest = below.get(pe)
        out[name] = remove_items(child, frozenset(rest), t.field(name)) if rest else child
    return out or None


def drop_nulls(value: Any) -> Any:
    """The object as decoding it into its Go type leaves it: null map entries gone."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


__all__ = ["EMPTY", "MISSING", "Comparison", "SchemaError", "compare", "drop_nulls",
           "ensure_named_fields", "item_element", "merge", "remove_items", "to_field_set"]
