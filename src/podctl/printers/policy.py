"""PodDisruptionBudgets: kubectl's table row and describe layout."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api.labels import format_label_selector
from podctl.api.meta import Obj
from podctl.printers.age import age
from podctl.printers.describe import Lines, describe_events

PDB_HEADERS = ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"]


def pdb_row(pdb: Obj, now: datetime, wide: bool) -> list[str]:
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    return [pdb["metadata"]["name"], _int_or_string(spec.get("minAvailable")),
            _int_or_string(spec.get("maxUnavailable")),
            str(status.get("disruptionsAllowed", 0)),
            age(pdb["metadata"].get("creationTimestamp"), now)]


def _int_or_string(value: Any, unset: str = "N/A") -> str:
    return unset if value is None else str(value)


def describe_pdb(pdb: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    md, spec, status = pdb["metadata"], pdb.get("spec") or {}, pdb.get("status") or {}
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md.get('namespace', '')}")
    if spec.get("minAvailable") is not None:
        w.add(0, f"Min available:\t{spec['minAvailable']}")
    elif spec.get("maxUnavailable") is not None:
        w.add(0, f"Max unavailable:\t{spec['maxUnavailable']}")
    selector = spec.get("selector")
    w.add(0, "Selector:\t" + (format_label_selector(selector) if selector is not None
                              else "<unset>"))
    w.add(0, "Status:")
    for title, field in (("Allowed disruptions", "disruptionsAllowed"),
                         ("Current", "currentHealthy"), ("Desired", "desiredHealthy"),
                         ("Total", "expectedPods")):
        w.add(2, f"{title}:\t{status.get(field, 0)}")
    return w.text() + describe_events(events, now)
