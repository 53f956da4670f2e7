"""`get nodes` STATUS as kubectl's printNode writes it."""

from __future__ import annotations

from datetime import UTC, datetime

from podctl.api.meta import Obj
from podctl.printers.controllers import node_row

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def node(ready: str | None, unschedulable: bool = False) -> Obj:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready}]
    return {"metadata": {"name": "n", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"unschedulable": True} if unschedulable else {},
            "status": {"conditions": conditions}}


def test_status_column() -> None:
    assert node_row(node("True"), NOW, False)[1] == "Ready"
    assert node_row(node("Unknown"), NOW, False)[1] == "NotReady"
    assert node_row(node("False", unschedulable=True), NOW, False)[1] == (
        "NotReady,SchedulingDisabled")
    assert node_row(node("True", unschedulable=True), NOW, False)[1] == (
        "Ready,SchedulingDisabled")
    assert node_row(node(None), NOW, False)[1] == "Unknown"
