"""Field selectors (`metadata.name=x,status.phase!=Running`) as the API server reads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podctl.api.meta import Obj


class FieldSelectorError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    field: str
    value: str
    equal: bool

    def matches(self, obj: Obj) -> bool:
        return (field_value(obj, self.field) == self.value) == self.equal


def parse_field_selector(text: str | None) -> list[Requirement]:
    """`a=b`, `a==b` and `a!=b`, comma separated; `\\,` `\\=` `\\\\` escape."""
    if not text:
        return []
    out = []
    for term in _split(text, ","):
        if not term:
            continue
        for op, equal in (("!=", False), ("==", True), ("=", True)):
            index = _find(term, op)
            if index >= 0:
                field, value = term[:index], term[index + len(op):]
                out.append(Requirement(field.strip(), _unescape(value), equal))
                break
        else:
            raise FieldSelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
    return out


def matches(requirements: list[Requirement], obj: Obj) -> bool:
    return all(r.matches(obj) for r in requirements)


def field_value(obj: Obj, path: str) -> str:
    """The string value a dotted field path names; "" when absent (as the API's field
    label conversion gives for an unset field)."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def _find(term: str, op: str) -> int:
    index = 0
    while index < len(term):
        if term[index] == "\\":
            index += 2
            continue
        if term.startswith(op, index):
            return index
        index += 1
    return -1


def _split(text: str, sep: str) -> list[str]:
    parts, current, index = [], [], 0
    while index < len(text):
        ch = text[index]
        if ch == "\\" and index + 1 < len(text):
            current.append(text[index:index + 2])
            index += 2
            continue
        if ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        index += 1
    parts.append("".join(current))
    return parts


def _unescape(value: str) -> str:
    out, index = [], 0
    while index < len(value):
        if value[index] == "\\" and index + 1 < len(value):
            out.append(value[index + 1])
            index += 2
        else:
            out.append(value[index])
            index += 1
    return "".join(out)
