"""HorizontalPodAutoscalers: kubectl's table row (TARGETS as `cpu: 250%/50%`) and describe
layout (printers.go printHorizontalPodAutoscaler, describe.go
describeHorizontalPodAutoscalerV2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api.meta import Obj
from podctl.printers.age import age
from podctl.printers.describe import (
    Lines,
    annotations_multiline,
    describe_events,
    multiline_map,
    rfc1123z,
)

HPA_HEADERS = ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
UNKNOWN = "<unknown>"
MOST_TARGETS = 2  # kubectl shows two metrics, then "+ N more..."
SOURCES = {"Resource": "resource", "ContainerResource": "containerResource",
           "Pods": "pods", "Object": "object", "External": "external"}


def hpa_row(hpa: Obj, now: datetime, wide: bool) -> list[str]:
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    low = spec.get("minReplicas")
    return [hpa["metadata"]["name"], f"{ref.get('kind', '')}/{ref.get('name', '')}",
            targets(spec.get("metrics") or [], status.get("currentMetrics") or []),
            "<unset>" if low is None else str(low), str(spec.get("maxReplicas", 0)),
            str(status.get("currentReplicas", 0)),
            age(hpa["metadata"].get("creationTimestamp"), now)]


def _current(statuses: list[Obj], i: int, source: str) -> Obj | None:
    if i < len(statuses) and isinstance(statuses[i].get(source), dict):
        found: Obj = statuses[i][source].get("current") or {}
        return found
    return None


def _target_text(spec: Obj, statuses: list[Obj], i: int) -> str:
    kind = spec.get("type")
    source_field = SOURCES.get(str(kind))
    if source_field is None:
        return "<unknown type>"
    source = spec.get(source_field) or {}
    target = source.get("target") or {}
    current = _current(statuses, i, source_field)
    if kind in ("Resource", "ContainerResource"):
        name = source.get("name", "")
        if target.get("averageValue") is not None:
            now = UNKNOWN if current is None else str(current.get("averageValue", ""))
            return f"{name}: {now}/{target['averageValue']}"
        now = UNKNOWN if current is None or current.get("averageUtilization") is None \
            else f"{current['averageUtilization']}%"
        goal = "<auto>" if target.get("averageUtilization") is None \
            else f"{target['averageUtilization']}%"
        return f"{name}: {now}/{goal}"
    if kind == "Pods":
        now = UNKNOWN if current is None else str(current.get("averageValue", ""))
        return f"{now}/{target.get('averageValue', '')}"
    if target.get("averageValue") is not None:
        now = UNKNOWN if current is None or current.get("averageValue") is None \
            else str(current["averageValue"])
        return f"{now}/{target['averageValue']} (avg)"
    now = UNKNOWN if current is None else str(current.get("value", ""))
    return f"{now}/{target.get('value', '')}"


def targets(specs: list[Obj], statuses: list[Obj]) -> str:
    """formatHPAMetrics: each metric's current/target, two at most then `+ N more...`."""
    if not specs:
        return "<none>"
    shown = [_target_text(spec, statuses, i) for i, spec in enumerate(specs)]
    text = ", ".join(shown[:MOST_TARGETS])
    return text if len(shown) <= MOST_TARGETS else f"{text} + {len(shown) - MOST_TARGETS} more..."


def _describe_metric(w: Lines, spec: Obj, statuses: list[Obj], i: int) -> None:
    kind = spec.get("type")
    source_field = SOURCES.get(str(kind))
    if source_field is None:
        w.add(1, f'<unknown metric type "{kind}">')
        return
    source = spec.get(source_field) or {}
    target = source.get("target") or {}
    current = _current(statuses, i, source_field)
    metric_name = (source.get("metric") or {}).get("name", "")
    if kind in ("Resource", "ContainerResource"):
        head = f"resource {source.get('name', '')} on pods" if kind == "Resource" else \
            f'resource {source.get("name", "")} of container "{source.get("container", "")}" ' \
            "on pods"
        if target.get("averageValue") is not None:
            now = UNKNOWN if current is None else str(current.get("averageValue", ""))
            w.add(1, f"{head}:\t{now} / {target['averageValue']}")
            return
        now = UNKNOWN
        if current is not None and current.get("averageUtilization") is not None:
            now = f"{current['averageUtilization']}% ({current.get('averageValue', '')})"
        goal = "<auto>" if target.get("averageUtilization") is None \
            else f"{target['averageUtilization']}%"
        # kubectl writes the second half at LEVEL_1 on the same line.
        w.add(1, f"{head}  (as a percentage of request):\t{now} / {goal}")
    elif kind == "Pods":
        now = UNKNOWN if current is None else str(current.get("averageValue", ""))
        w.add(1, f'"{metric_name}" on pods:\t{now} / {target.get("averageValue", "")}')
    elif kind == "Object":
        described = source.get("describedObject") or {}
        head = f'"{metric_name}" on {described.get("kind", "")}/{described.get("name", "")} '
        average = target.get("type") == "AverageValue"
        field = "averageValue" if average else "value"
        now = UNKNOWN if current is None else str(current.get(field, ""))
        label = "(target average value)" if average else "(target value)"
        w.add(1, f"{head}{label}:\t{now} / {target.get(field, '')}")
    else:
        average = target.get("averageValue") is not None
        field = "averageValue" if average else "value"
        now = UNKNOWN if current is None or current.get(field) is None else str(current[field])
        label = "(target average value)" if average else "(target value)"
        w.add(1, f'"{metric_name}" {label}:\t{now} / {target.get(field, "")}')


def _behavior(w: Lines, title: str, rules: Any) -> None:
    if not isinstance(rules, dict):
        return
    w.add(1, f"{title}:")
    if rules.get("stabilizationWindowSeconds") is not None:
        w.add(2, f"Stabilization Window: {rules['stabilizationWindowSeconds']} seconds")
    policies = rules.get("policies") or []
    if policies:
        w.add(2, f"Select Policy: {rules.get('selectPolicy') or 'Max'}")
        w.add(2, "Policies:")
        for p in policies:
            w.add(3, f"- Type: {p.get('type', '')}\tValue: {p.get('value', 0)}\t"
                     f"Period: {p.get('periodSeconds', 0)} seconds")


def describe_hpa(hpa: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    md, spec, status = hpa["metadata"], hpa.get("spec") or {}, hpa.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md.get('namespace', '')}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    w.add(0, f"CreationTimestamp:\t{rfc1123z(md.get('creationTimestamp'))}")
    w.add(0, f"Reference:\t{ref.get('kind', '')}/{ref.get('name', '')}")
    w.add(0, "Metrics:\t( current / target )")
    statuses = status.get("currentMetrics") or []
    for i, metric in enumerate(spec.get("metrics") or []):
        _describe_metric(w, metric, statuses, i)
    low = spec.get("minReplicas")
    w.add(0, f"Min replicas:\t{'<unset>' if low is None else low}")
    w.add(0, f"Max replicas:\t{spec.get('maxReplicas', 0)}")
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        w.add(0, "Behavior:")
        _behavior(w, "Scale Up", behavior.get("scaleUp"))
        _behavior(w, "Scale Down", behavior.get("scaleDown"))
    w.add(0, f"{ref.get('kind', '')} pods:\t{status.get('currentReplicas', 0)} current / "
             f"{status.get('desiredReplicas', 0)} desired")
    conditions = status.get("conditions") or []
    if conditions:
        w.add(0, "Conditions:")
        w.add(1, "Type\tStatus\tReason\tMessage")
        w.add(1, "----\t------\t------\t-------")
        for c in conditions:
            w.add(1, f"{c.get('type', '')}\t{c.get('status', '')}\t{c.get('reason', '')}\t"
                     f"{c.get('message', '')}")
    if not events:
        # kubectl writes it in the same table: it aligns with the fields above.
        w.add(0, "Events:\t<none>")
        return w.text()
    return w.text() + describe_events(events, now)
