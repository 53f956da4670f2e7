"""kubectl's columns for DaemonSets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


def describe_daemon_set(ds: Obj, pods: list[Obj], events: list[dict[str, Any]],
                        now: datetime) -> str:
    """kubectl describe ds: selectors, the node counts, pod phases, template, events."""
    from podctl.printers.describe import (
        Lines,
        _pod_template,
        annotations_multiline,
        describe_events,
        multiline_map,
    )

    md, spec, status = ds["metadata"], ds["spec"], ds.get("status") or {}
    node_selector = (spec.get("template") or {}).get("spec", {}).get("nodeSelector") or {}
    phases = [(p.get("status") or {}).get("phase", "Pending") for p in pods]
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md['namespace']}")
    w.add(0, f"Selector:\t{format_label_selector(spec.get('selector'))}")
    w.add(0, "Node-Selector:\t" + (",".join(f"{k}={v}" for k, v in sorted(
        node_selector.items())) or "<none>"))
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    # kubectl writes these counts without a tab: they are not aligned with the rest.
    for title, key in (("Desired Number of Nodes Scheduled", "desiredNumberScheduled"),
                       ("Current Number of Nodes Scheduled", "currentNumberScheduled"),
                       ("Number of Nodes Scheduled with Up-to-date Pods",
                        "updatedNumberScheduled"),
                       ("Number of Nodes Scheduled with Available Pods", "numberAvailable"),
                       ("Number of Nodes Misscheduled", "numberMisscheduled")):
        w.add(0, f"{title}: {status.get(key, 0)}")
    w.add(0, f"Pods Status:\t{phases.count('Running')} Running / "
             f"{phases.count('Pending')} Waiting / {phases.count('Succeeded')} Succeeded / "
             f"{phases.count('Failed')} Failed")
    _pod_template(w, ds, spec.get("template") or {})
    return w.text() + describe_events(events, now)
