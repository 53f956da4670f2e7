"""meta.k8s.io/v1 Table answers: podctl's own printer columns and cells, so `kubectl get`
prints what `podctl get` prints (wide columns at priority 1, shown only by `-o wide`)."""

from __future__ import annotations

from datetime import datetime

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
    headers, wide_headers, row_fn = table_columns(kind)
    # format "name" marks the cell kubectl prefixes with the kind (`get all`).
    columns = [{"name": h, "type": "string", "format": "name" if h == "NAME" else "",
                "description": _NAME_DESCRIPTION if h == "NAME" else "", "priority": 0}
               for h in headers]
    columns += [{"name": h, "type": "string", "format": "", "description": "", "priority": 1}
                for h in wide_headers]
    rows = []
    for obj in objs:
        row: Obj = {"cells": row_fn(obj, now, True)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = partial_metadata(obj)
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta or {},
            "columnDefinitions": columns, "rows": rows}
