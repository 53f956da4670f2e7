"""autoscaling/v1 HorizontalPodAutoscalers: the stored (autoscaling/v2) objects in v1's
shape, as the API server converts them (K pkg/apis/autoscaling/v1/conversion.go). v1 has one
target, a CPU utilisation; what it cannot say (the other metrics, their current values, the
conditions, the behavior) travels in annotations, so a v1 client's read-modify-write keeps it."""

from __future__ import annotations

import copy
import json
from typing import Any

from podctl.api.meta import Obj

API_VERSION = "autoscaling/v1"
STORED_VERSION = "autoscaling/v2"
KIND = "HorizontalPodAutoscaler"
# K pkg/apis/autoscaling/annotations.go
METRICS = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
# v1's implicit target when it names none (autoscaling.DefaultCPUUtilization).
DEFAULT_CPU_UTILIZATION = 80

_RESOURCE_SPEC = (("name", ("name",)),
                  ("targetAverageUtilization", ("target", "averageUtilization")),
                  ("targetAverageValue", ("target", "averageValue")))
_RESOURCE_STATUS = (("name", ("name",)),
                    ("currentAverageUtilization", ("current", "averageUtilization")),
                    ("currentAverageValue", ("current", "averageValue")))
# A metric source's v1 field -> its path in the v2 source, by the metric's type.
SPEC_FIELDS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "Resource": _RESOURCE_SPEC,
    "ContainerResource": (*_RESOURCE_SPEC, ("container", ("container",))),
    "Pods": (("metricName", ("metric", "name")), ("selector", ("metric", "selector")),
             ("targetAverageValue", ("target", "averageValue"))),
    "Object": (("target", ("describedObject",)), ("metricName", ("metric", "name")),
               ("selector", ("metric", "selector")), ("targetValue", ("target", "value")),
               ("averageValue", ("target", "averageValue"))),
    "External": (("metricName", ("metric", "name")), ("metricSelector", ("metric", "selector")),
                 ("targetValue", ("target", "value")),
                 ("targetAverageValue", ("target", "averageValue"))),
}
STATUS_FIELDS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "Resource": _RESOURCE_STATUS,
    "ContainerResource": (*_RESOURCE_STATUS, ("container", ("container",))),
    "Pods": (("metricName", ("metric", "name")), ("selector", ("metric", "selector")),
             ("currentAverageValue", ("current", "averageValue"))),
    "Object": (("target", ("describedObject",)), ("metricName", ("metric", "name")),
               ("selector", ("metric", "selector")), ("currentValue", ("current", "value")),
               ("averageValue", ("current", "averageValue"))),
    "External": (("metricName", ("metric", "name")), ("metricSelector", ("metric", "selector")),
                 ("currentValue", ("current", "value")),
                 ("currentAverageValue", ("current", "averageValue"))),
}
# The fields v1's Go types have: anything else is an unknown field to the decoder.
V1_FIELDS = {"": ("apiVersion", "kind", "metadata", "spec", "status"),
             "spec": ("scaleTargetRef", "minReplicas", "maxReplicas",
                      "targetCPUUtilizationPercentage"),
             "status": ("observedGeneration", "lastScaleTime", "currentReplicas",
                        "desiredReplicas", "currentCPUUtilizationPercentage")}


class ConversionError(ValueError):
    """A v1 object that does not convert (an annotation that is not its JSON)."""


def _source_key(metric_type: str) -> str:
    return metric_type[:1].lower() + metric_type[1:]


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _put(obj: Obj, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        obj = obj.setdefault(key, {})
    obj[path[-1]] = value


def _metric_to_v1(metric: Any, fields: dict[str, Any]) -> Obj:
    """One v2 metric (spec or status) as v1's MetricSpec/MetricStatus writes it."""
    metric_type = metric.get("type") if isinstance(metric, dict) else None
    out: Obj = {"type": metric_type}
    key = _source_key(str(metric_type or ""))
    source = metric.get(key) if isinstance(metric, dict) else None
    if metric_type in fields and isinstance(source, dict):
        out[key] = {v1: value for v1, path in fields[metric_type]
                    if (value := _dig(source, path)) is not None}
    return out


def _target_type(metric_type: str, v1: Obj) -> str:
    """The v2 target type a v1 metric source implies, as upstream's conversion picks it."""
    if metric_type in ("Resource", "ContainerResource"):
        return "Utilization" if v1.get("targetAverageUtilization") is not None \
            else "AverageValue"
    if metric_type == "Object":
        return "Value" if v1.get("averageValue") is None else "AverageValue"
    if metric_type == "External":
        return "AverageValue" if v1.get("targetValue") is None else "Value"
    return "AverageValue"


def _metric_to_v2(metric: Any, fields: dict[str, Any], spec: bool) -> Any:
    if not isinstance(metric, dict):
        return metric
    metric_type = metric.get("type")
    key = _source_key(str(metric_type or ""))
    source = metric.get(key)
    out: Obj = {"type": metric_type}
    if metric_type in fields and isinstance(source, dict):
        converted: Obj = {}
        for v1, path in fields[metric_type]:
            if source.get(v1) is not None:
                _put(converted, path, source[v1])
        if spec:
            converted.setdefault("target", {})["type"] = _target_type(metric_type, source)
        out[key] = converted
    return out


def _is_cpu(metric: Any) -> bool:
    return isinstance(metric, dict) and metric.get("type") == "Resource" and \
        isinstance(metric.get("resource"), dict) and metric["resource"].get("name") == "cpu"


def _encoded(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def from_stored(hpa: Obj) -> Obj:
    """A stored HPA as autoscaling/v1 serves it."""
    metadata = copy.deepcopy(hpa.get("metadata") or {})
    spec = hpa.get("spec") or {}
    status = hpa.get("status") or {}
    metrics = spec.get("metrics") or []
    v1_spec: Obj = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas")
                    if k in spec}
    cpu = next((m for m in metrics if _is_cpu(m)), None)
    if cpu is not None and _dig(cpu, ("resource", "target", "averageUtilization")) is not None:
        v1_spec["targetCPUUtilizationPercentage"] = cpu["resource"]["target"][
            "averageUtilization"]
    others = [_metric_to_v1(m, SPEC_FIELDS) for m in metrics
              if not (_is_cpu(m) and _dig(m, ("resource", "target", "averageUtilization"))
                      is not None)]
    current = status.get("currentMetrics") or []
    carried = {METRICS: others,
               CURRENT_METRICS: [_metric_to_v1(m, STATUS_FIELDS) for m in current],
               CONDITIONS: status.get("conditions") or [],
               BEHAVIOR: spec.get("behavior") or {}}
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):  # only the fields speak, never a stale copy of them
        for annotation in carried:
            annotations.pop(annotation, None)
        if not annotations:
            del metadata["annotations"]
    for annotation, value in carried.items():
        if value:
            metadata.setdefault("annotations", {})[annotation] = _encoded(value)
    out: Obj = {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata,
                "spec": v1_spec, "status": _status_to_v1(status)}
    return out


def _status_to_v1(status: Obj) -> Obj:
    out: Obj = {k: status[k] for k in ("observedGeneration", "lastScaleTime") if k in status}
    out["currentReplicas"] = status.get("currentReplicas", 0)
    out["desiredReplicas"] = status.get("desiredReplicas", 0)
    for metric in status.get("currentMetrics") or []:
        value = _dig(metric, ("resource", "current", "averageUtilization"))
        if _is_cpu(metric) and value is not None:
            out["currentCPUUtilizationPercentage"] = value
    return out


def unknown_fields(hpa: Obj) -> list[str]:
    """The fields of a v1 body its Go type does not have, as the strict decoder names them."""
    out: list[str] = []
    for where, known in V1_FIELDS.items():
        part = hpa.get(where) if where else hpa
        if isinstance(part, dict):
            out.extend(f'unknown field "{where + "." if where else ""}{k}"'
                       for k in part if k not in known)
    return out


def _carried(annotations: dict[str, Any], name: str) -> Any:
    """An annotation's JSON, taken off the object (ConversionError when it is not JSON)."""
    text = annotations.pop(name, None)
    if text is None:
        return None
    try:
        return json.loads(str(text))
    except ValueError as exc:
        raise ConversionError(f"{name}: {exc}") from exc


def to_stored(hpa: Obj) -> Obj:
    """An autoscaling/v1 body as the stored autoscaling/v2 object (fields v1 does not have
    dropped: unknown_fields says which). Shapes the v2 decoder refuses pass through as they
    are, for it to name."""
    out: Obj = {"apiVersion": STORED_VERSION, "kind": hpa.get("kind", KIND)}
    metadata = copy.deepcopy(hpa.get("metadata"))
    if "metadata" in hpa:
        out["metadata"] = metadata
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    found: dict[str, Any] = {}
    if isinstance(annotations, dict):
        found = {a: _carried(annotations, a) for a in (METRICS, CURRENT_METRICS, CONDITIONS,
                                                       BEHAVIOR)}
        if not annotations and isinstance(metadata, dict):
            del metadata["annotations"]
    spec = hpa.get("spec")
    if isinstance(spec, dict):
        out["spec"] = _spec_to_v2(spec, found.get(METRICS), found.get(BEHAVIOR))
    elif "spec" in hpa:
        out["spec"] = spec
    status = hpa.get("status")
    if isinstance(status, dict):
        out["status"] = _status_to_v2(status, found.get(CURRENT_METRICS),
                                      found.get(CONDITIONS))
    elif "status" in hpa:
        out["status"] = status
    return out


def _spec_to_v2(spec: Obj, others: Any, behavior: Any) -> Obj:
    out: Obj = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas")
                if k in spec}
    metrics = [_metric_to_v2(m, SPEC_FIELDS, True) for m in others] \
        if isinstance(others, list) else []
    target = spec.get("targetCPUUtilizationPercentage")
    if target is not None:
        metrics.append(_cpu(target))
    out["metrics"] = metrics or [_cpu(DEFAULT_CPU_UTILIZATION)]
    if isinstance(behavior, dict) and behavior:
        out["behavior"] = behavior
    return out


def _cpu(utilization: Any) -> Obj:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": utilization}}}


def _status_to_v2(status: Obj, current: Any, conditions: Any) -> Obj:
    out: Obj = {k: status[k] for k in ("observedGeneration", "lastScaleTime",
                                       "currentReplicas", "desiredReplicas") if k in status}
    if isinstance(current, list):
        out["currentMetrics"] = [_metric_to_v2(m, STATUS_FIELDS, False) for m in current]
    elif status.get("currentCPUUtilizationPercentage") is not None:
        out["currentMetrics"] = [{"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": status["currentCPUUtilizationPercentage"]}}}]
    if isinstance(conditions, list):
        out["conditions"] = conditions
    return out
