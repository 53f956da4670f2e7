"""Problem records, the fatal ManifestError, and field-path / value formatting."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PathElem = str | int
FieldPath = tuple[PathElem, ...]


@dataclass(frozen=True)
class Problem:
    """One error in a manifest, located at FILE:LINE:COL (1-based; parts may be unknown)."""

    file: str
    line: int | None
    col: int | None
    message: str
    source_line: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return f"{where}: {self.message}"


class ManifestError(Exception):
    """A user error that stops the whole command; ``str(e)`` is the line to print."""


class MapKey(str):
    """A path element that is a map key (rendered ``[key]``, like apimachinery's field.Path)."""

    __slots__ = ()


def format_path(path: FieldPath) -> str:
    """Render ('spec', 'containers', 0, 'image') as 'spec.containers[0].image'."""
    out: list[str] = []
    for elem in path:
        if isinstance(elem, (int, MapKey)):
            out.append(f"[{elem}]")
        elif out:
            out.append("." + elem)
        else:
            out.append(elem)
    return "".join(out)


def render_value(value: Any, limit: int = 80) -> str:
    """Render a value like apimachinery's 'Invalid value: <v>' (strings quoted, maps as JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = json.dumps(str(value))
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def type_name(value: Any) -> str:
    """JSON-ish name of a value's type, for 'expected X, got Y' messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__
