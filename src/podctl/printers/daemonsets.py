"""kubectl's columns for DaemonSets."""

from __future__ import annotations

from datetime import datetime

from podctl.api.labels import format_label_selector
from podctl.api.meta import Obj
from podctl.printers.age import age

DS_HEADERS = ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
              "NODE SELECTOR", "AGE"]
DS_WIDE_HEADERS = ["CONTAINERS", "IMAGES", "SELECTOR"]


def daemon_set_row(ds: Obj, now: datetime, wide: bool) -> list[str]:
    status = ds.get("status") or {}
    pod_spec = ds["spec"].get("template", {}).get("spec", {})
    node_selector = pod_spec.get("nodeSelector") or {}
    row = [ds["metadata"]["name"]] + [str(status.get(key, 0)) for key in (
        "desiredNumberScheduled", "currentNumberScheduled", "numberReady",
        "updatedNumberScheduled", "numberAvailable")] + [
        ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>",
        age(ds["metadata"].get("creationTimestamp"), now)]
    if wide:
        containers = pod_spec.get("containers", [])
        row += [",".join(c["name"] for c in containers),
                ",".join(c["image"] for c in containers),
                format_label_selector(ds["spec"].get("selector"))]
    return row
