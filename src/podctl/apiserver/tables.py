"""meta.k8s.io/v1 Table answers: podctl's own printer columns and cells, so `kubectl get`
prints what `podctl get` prints (wide columns at priority 1, shown only by `-o wide`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.printers.output import table_columns

# Column descriptions kubectl shows nowhere but clients may: the printer's header suffices.
_NAME_DESCRIPTION = ("Name must be unique within a namespace. "
                     "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")


def wants_table(accept: str) -> bool:
    """Whether an Accept header asks for a meta.k8s.io/v1 Table first (kubectl get does)."""
    for choice in accept.split(","):
        params = {p.split("=", 1)[0].strip(): p.split("=", 1)[1].strip()
                  for p in choice.split(";")[1:] if "=" in p}
        if params.get("as") == "Table":
            return params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1")
        if choice.split(";")[0].strip() in ("application/json", "*/*"):
            return False
    return False


def partial_metadata(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata") or {}}


def build_table(kind: str, objs: list[Obj], now: datetime, include_object: str = "Metadata",
                list_meta: Obj | None = None) -> Obj:
    """A Table of `objs` (all of `kind`); include_object is None, Metadata or Object."""
    if kind in meta.RESOURCES and meta.RESOURCES[kind].custom:
        return _custom_table(kind, objs, now, include_object, list_meta)
    headers, wide_headers, row_fn = table_columns(kind)
    # format "name" marks the cell kubectl prefixes with the kind (`get all`).
    columns = [{"name": h, "type": "string", "format": "name" if h == "NAME" else "",
                "description": _NAME_DESCRIPTION if h == "NAME" else "", "priority": 0}
               for h in headers]
    columns += [{"name": h, "type": "string", "format": "", "description": "", "priority": 1}
                for h in wide_headers]
    rows = [_row(row_fn(obj, now, True), obj, include_object) for obj in objs]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta or {},
            "columnDefinitions": columns, "rows": rows}


def _row(cells: list[Any], obj: Obj, include_object: str) -> Obj:
    row: Obj = {"cells": cells}
    if include_object == "Object":
        row["object"] = obj
    elif include_object != "None":
        row["object"] = partial_metadata(obj)
    return row


def _custom_table(kind: str, objs: list[Obj], now: datetime, include_object: str,
                  list_meta: Obj | None) -> Obj:
    """A custom kind's Table: its definition's printer columns, typed cells."""
    from podctl.printers import custom

    rows = [_row(custom.cells(kind, obj, now), obj, include_object) for obj in objs]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta or {},
            "columnDefinitions": custom.column_definitions(kind), "rows": rows}
