"""A custom kind's table: NAME, then its definition's additionalPrinterColumns (Age when it
declares none), cells typed as upstream's table convertor types them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from podctl.api import crd, meta
from podctl.api.meta import Obj
from podctl.printers.age import age

if TYPE_CHECKING:
    from podctl.printers.jsonpath import JSONPathTemplate

NAME_DESCRIPTION = ("Name must be unique within a namespace. "
                    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")


CRD_HEADERS = ["NAME", "CREATED AT"]


def crd_row(obj: Obj, now: datetime, wide: bool) -> list[str]:
    """A definition's row: its name and when it was made, as a timestamp."""
    return [meta.name_of(obj), str(obj["metadata"].get("creationTimestamp", ""))]


def columns(key: str) -> list[Obj]:
    """The printer columns of the version the kind is served in first."""
    definition = crd.DEFINITIONS.get(key)
    if definition is None:
        return [crd.AGE_COLUMN]
    return crd.printer_columns(definition, meta.RESOURCES[key].versions[0])


def column_definitions(key: str) -> list[Obj]:
    """The Table's columnDefinitions."""
    out: list[Obj] = [{"name": "Name", "type": "string", "format": "name",
                       "description": NAME_DESCRIPTION, "priority": 0}]
    for column in columns(key):
        out.append({"name": str(column.get("name", "")), "type": str(column.get("type", "")),
                    "format": str(column.get("format") or ""),
                    "description": str(column.get("description") or ""),
                    "priority": int(column.get("priority") or 0)})
    return out


def cells(key: str, obj: Obj, now: datetime) -> list[Any]:
    """One row's cells: None where the path finds nothing or a value of another type."""
    return _cells(_paths(columns(key)), obj, now)


def _paths(cols: list[Obj]) -> list[tuple[str, JSONPathTemplate | None]]:
    return [(str(c.get("type", "")), _template(str(c.get("jsonPath") or ""))) for c in cols]


def _cells(paths: list[tuple[str, JSONPathTemplate | None]], obj: Obj,
           now: datetime) -> list[Any]:
    out: list[Any] = [meta.name_of(obj)]
    for kind, template in paths:
        value = template.first_value(obj) if template is not None else None
        out.append(_cell(kind, value, now))
    return out


@functools.lru_cache(maxsize=256)
def _template(path: str) -> JSONPathTemplate | None:
    """A column's path parsed once, not once per row."""
    from podctl.printers.jsonpath import JSONPathError, parse_template

    try:
        return parse_template("{" + path + "}")
    except JSONPathError:
        return None


def _cell(kind: str, value: Any, now: datetime) -> Any:
    if value is None:
        return None
    if kind == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "string":
        return value if isinstance(value, str) else _text(value)
    if kind == "date" and isinstance(value, str):
        try:
            return age(value, now)
        except ValueError:
            return "<invalid>"
    return None


def _text(value: Any) -> str:
    """A non-string value in a string column, as kubectl's JSONPath prints it."""
    from podctl.printers.jsonpath import render

    return render("{.v}", {"v": value})


def text(cell: Any) -> str:
    """A cell as kubectl prints it."""
    if cell is None:
        return "<none>"
    if isinstance(cell, bool):
        return "true" if cell else "false"
    return str(cell)


def headers(key: str) -> tuple[list[str], list[str]]:
    """(the columns printed always, those only with -o wide), upper case."""
    defs = column_definitions(key)
    return ([d["name"].upper() for d in defs if not d["priority"]],
            [d["name"].upper() for d in defs if d["priority"]])


def shown_headers(key: str) -> list[str]:
    """Every column's header in the order the definition declares them (-o wide)."""
    return [d["name"].upper() for d in column_definitions(key)]


def row_function(key: str) -> Callable[[Obj, datetime, bool], list[str]]:
    """A row's text cells (the wide ones with -o wide), the columns read once per table."""
    shown = [not d["priority"] for d in column_definitions(key)]
    paths = _paths(columns(key))

    def row(obj: Obj, now: datetime, wide: bool) -> list[str]:
        values = _cells(paths, obj, now)
        return [text(v) for keep, v in zip(shown, values, strict=True) if wide or keep]

    return row


# -- describe: kubectl's generic describer, for every custom kind -------------------------

_SKIPPED = frozenset({".metadata.managedFields", ".metadata.name", ".metadata.namespace",
                      ".metadata.labels", ".metadata.annotations"})
_ACRONYMS = frozenset({"API", "URL", "UID", "OSB", "GUID"})


def describe(obj: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    """Name, namespace, labels, annotations, then every other field by its smart label,
    nested by indentation, and the events (kubectl's genericDescriber)."""
    from podctl.printers.describe import (
        Lines,
        annotations_multiline,
        describe_events,
        multiline_map,
    )

    md = obj.get("metadata") or {}
    w = Lines()
    w.add(0, f"Name:\t{md.get('name', '')}")
    w.add(0, f"Namespace:\t{md.get('namespace', '')}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    _content(w, 0, obj, "")
    if not events:  # one line, aligned with the fields above it as kubectl's tabwriter does
        w.add(0, "Events:\t<none>")
        return w.text()
    return w.text() + describe_events(events, now)


def _content(w: Any, level: int, content: Obj, prefix: str) -> None:
    for field in sorted(content):
        value = content[field]
        path = f"{prefix}.{field}"
        if path in _SKIPPED:
            continue
        if isinstance(value, dict):
            w.add(level, f"{smart_label(field)}:")
            _content(w, level + 1, value, path)
        elif isinstance(value, list):
            w.add(level, f"{smart_label(field)}:")
            for child in value:
                if isinstance(child, dict):
                    _content(w, level + 1, child, path)
                else:
                    w.add(level + 1, go_text(child))
        else:
            w.add(level, f"{smart_label(field)}:\t{go_text(value)}")


def go_text(value: Any) -> str:
    """A JSON value as Go's %v prints it."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not value.is_integer():
        return repr(value)
    if isinstance(value, float):
        return str(int(value))
    return str(value)


def smart_label(field: str) -> str:
    """`cronSpec` -> `Cron Spec`, `uid` -> `UID` (kubectl's smartLabelFor)."""
    if any(not (c.isalpha() or c == "-") for c in field):
        return field
    parts = [p for p in _camel_split(field) if p != "_"]
    return " ".join(p.upper() if p.upper() in _ACRONYMS else p[:1].upper() + p[1:]
                    for p in parts)


def _camel_split(text: str) -> list[str]:
    """fatih/camelcase's Split: runs of one character class, an upper-case run's last
    letter moved to the lower-case run after it (`HTTPServer` -> `HTTP`, `Server`)."""
    def cls(c: str) -> int:
        return 1 if c.islower() else 2 if c.isupper() else 3 if c.isdigit() else 4

    runs: list[list[str]] = []
    last = 0
    for c in text:
        if runs and cls(c) == last:
            runs[-1].append(c)
        else:
            runs.append([c])
        last = cls(c)
    for i in range(len(runs) - 1):
        if runs[i][0].isupper() and runs[i + 1][0].islower():
            runs[i + 1].insert(0, runs[i].pop())
    return ["".join(r) for r in runs if r]
