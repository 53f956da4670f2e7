"""events.k8s.io/v1 Events: the same objects as core v1 Events in another shape, as the
API server converts them (K pkg/apis/events/v1/conversion.go): involvedObject is
`regarding`, message `note`, source `deprecatedSource`, the legacy counters and
timestamps `deprecated*`, reportingComponent `reportingController`."""

from __future__ import annotations

from podctl.api.meta import Obj

API_VERSION = "events.k8s.io/v1"
# core v1 field -> events.k8s.io/v1 field; the rest (metadata, eventTime, series, related,
# action, reason, type, reportingInstance) keep their names.
RENAMED = {"involvedObject": "regarding", "message": "note", "source": "deprecatedSource",
           "firstTimestamp": "deprecatedFirstTimestamp",
           "lastTimestamp": "deprecatedLastTimestamp", "count": "deprecatedCount",
           "reportingComponent": "reportingController"}
KEPT = ("metadata", "eventTime", "series", "related", "action", "reason", "type",
        "reportingInstance")


def from_core(event: Obj) -> Obj:
    """A stored (core v1) Event as events.k8s.io/v1 serves it: apiVersion and kind first,
    empty fields left out as Go's omitempty leaves them (eventTime is always written)."""
    out: Obj = {"apiVersion": API_VERSION, "kind": "Event", "metadata": event.get("metadata", {}),
                "eventTime": event.get("eventTime")}
    for field in KEPT[2:]:
        if event.get(field):
            out[field] = event[field]
    for core, renamed in RENAMED.items():
        if event.get(core):
            out[renamed] = event[core]
    return out
