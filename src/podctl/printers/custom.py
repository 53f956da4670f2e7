"""A custom kind's table: NAME, then its definition's additionalPrinterColumns (Age when it
declares none), cells typed as upstream's table convertor types them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api import crd, meta
from podctl.api.meta import Obj
from podctl.printers.age import age

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
    from podctl.printers.jsonpath import JSONPathError, parse_template

    out: list[Any] = [meta.name_of(obj)]
    for column in columns(key):
        path = str(column.get("jsonPath") or "")
        try:
            value = parse_template("{" + path + "}").first_value(obj)
        except JSONPathError:
            value = None
        out.append(_cell(str(column.get("type", "")), value, now))
    return out


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
            meta.parse_time(value)
        except ValueError:
            return "<invalid>"
        return age(value, now)
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


def row(key: str, obj: Obj, now: datetime, wide: bool) -> list[str]:
    defs = column_definitions(key)
    values = cells(key, obj, now)
    return [text(v) for d, v in zip(defs, values, strict=True) if wide or not d["priority"]]
