"""The API server's rules and defaults for autoscaling/v2 HorizontalPodAutoscalers (K
pkg/apis/autoscaling/validation ValidateHorizontalPodAutoscaler; autoscaling/v2 defaults):
replica bounds, the scale target, each metric's source and target, the scaling rules of
its behavior; minReplicas 1, a CPU target of 80% when no metric is named, the default
scaling rules filled in where a behavior is given."""

from __future__ import annotations

from typing import Any

from podctl.api.quantity import parse_quantity
from podctl.manifest import names
from podctl.manifest.apps_rules import _d
from podctl.manifest.fielderr import forbidden, invalid, required, unsupported
from podctl.manifest.problems import FieldPath
from podctl.manifest.rbac_rules import path_segment_name
from podctl.manifest.rules import Errors, validate_metadata

MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_WINDOW_SECONDS = 3600
SOURCE_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")
# type -> the field that carries its source
SOURCE_FIELDS = {"Object": "object", "Pods": "pods", "Resource": "resource",
                 "ContainerResource": "containerResource", "External": "external"}
TARGET_TYPES = ("Utilization", "Value", "AverageValue")
SELECT_POLICIES = ("Disabled", "Max", "Min")
POLICY_TYPES = ("Percent", "Pods")
DEFAULT_CPU_UTILIZATION = 80


def validate_horizontal_pod_autoscaler(obj: dict[str, Any]) -> Errors:
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    spec = _d(obj.get("spec"))
    path: FieldPath = ("spec",)
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    if isinstance(low, int) and low < 1:
        errs.append(invalid((*path, "minReplicas"), low, "must be greater than or equal to 1"))
    if isinstance(high, int) and high < 1:
        errs.append(invalid((*path, "maxReplicas"), high, "must be greater than 0"))
    if isinstance(low, int) and isinstance(high, int) and high < low:
        errs.append(invalid((*path, "maxReplicas"), high,
                            "must be greater than or equal to `minReplicas`"))
    _object_reference(errs, _d(spec.get("scaleTargetRef")), (*path, "scaleTargetRef"))
    for i, metric in enumerate(spec.get("metrics") or []):
        _metric(errs, _d(metric), (*path, "metrics", i))
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for direction in ("scaleUp", "scaleDown"):
            if isinstance(behavior.get(direction), dict):
                _scaling_rules(errs, behavior[direction], (*path, "behavior", direction))
    return errs


# A field the schema requires is reported by the schema's walk when it is absent; these
# rules report what the walk lets through (an empty value, a wrong one).


def _object_reference(errs: Errors, ref: dict[str, Any], path: FieldPath) -> None:
    for field in ("kind", "name"):
        value = ref.get(field)
        if value is None:
            continue
        if not value:
            errs.append(required((*path, field)))
            continue
        for message in path_segment_name(str(value)):
            errs.append(invalid((*path, field), value, message))


def _metric(errs: Errors, metric: dict[str, Any], path: FieldPath) -> None:
    kind = metric.get("type")
    if kind == "":
        errs.append(required((*path, "type"), "must specify a metric source type"))
    if kind is not None and kind not in SOURCE_TYPES:
        errs.append(unsupported((*path, "type"), kind, SOURCE_TYPES))
    present = [field for field in ("object", "external", "pods", "resource",
                                   "containerResource") if metric.get(field) is not None]
    if present:
        first = present[0]
        _source(errs, first, _d(metric.get(first)), (*path, first))
    expected = SOURCE_FIELDS.get(str(kind))
    if expected is not None and metric.get(expected) is None:
        errs.append(required((*path, expected),
                             "must populate information for the given metric source"))
    if len(present) != 1:
        for field in present:
            if field != expected:
                errs.append(forbidden((*path, field),
                                      "must populate the given metric source only"))


def _source(errs: Errors, field: str, source: dict[str, Any], path: FieldPath) -> None:
    target = _d(source.get("target"))
    target_path = (*path, "target")
    if field in ("resource", "containerResource"):
        if source.get("name") == "":
            errs.append(required((*path, "name"), "must specify a resource name"))
        if field == "containerResource" and not source.get("container"):
            errs.append(required((*path, "container"), "must specify a container"))
    elif field == "object":
        _object_reference(errs, _d(source.get("describedObject")), (*path, "describedObject"))
    if field != "resource" and field != "containerResource":
        _metric_name(errs, _d(source.get("metric")), (*path, "metric"))
    _target(errs, target, target_path)
    has = {key for key in ("averageUtilization", "averageValue", "value")
           if target.get(key) is not None}
    if field in ("resource", "containerResource"):
        if not has & {"averageUtilization", "averageValue"}:
            errs.append(required((*target_path, "averageUtilization"),
                                 "must set either a target raw value or a target utilization"))
        if {"averageUtilization", "averageValue"} <= has:
            errs.append(forbidden((*target_path, "averageValue"),
                                  "may not set both a target raw value and a target "
                                  "utilization"))
    elif field == "pods" and "averageValue" not in has:
        errs.append(required((*target_path, "averageValue"),
                             "must specify a positive target averageValue"))
    elif field in ("object", "external") and not has & {"value", "averageValue"}:
        errs.append(required((*target_path, "averageValue"),
                             "must set either a target value or averageValue"))


def _metric_name(errs: Errors, metric: dict[str, Any], path: FieldPath) -> None:
    name = metric.get("name")
    if name is None:
        return
    if not name:
        errs.append(required((*path, "name"), "must specify a metric name"))
        return
    for message in path_segment_name(str(name)):
        errs.append(invalid((*path, "name"), name, message))


def _target(errs: Errors, target: dict[str, Any], path: FieldPath) -> None:
    kind = target.get("type")
    if kind == "":
        errs.append(required((*path, "type"), "must specify a metric target type"))
    if kind is not None and kind not in TARGET_TYPES:
        errs.append(invalid((*path, "type"), kind,
                            "must be either Utilization, Value, or AverageValue"))
    for field in ("value", "averageValue"):
        value = target.get(field)
        if value is None:
            continue
        parsed = parse_quantity(value)
        if parsed is not None and parsed <= 0:
            errs.append(invalid((*path, field), value, "must be positive"))
    utilization = target.get("averageUtilization")
    if isinstance(utilization, int) and utilization < 1:
        errs.append(invalid((*path, "averageUtilization"), utilization,
                            "must be greater than 0"))


def _scaling_rules(errs: Errors, rules: dict[str, Any], path: FieldPath) -> None:
    window = rules.get("stabilizationWindowSeconds")
    if isinstance(window, int) and window < 0:
        errs.append(invalid((*path, "stabilizationWindowSeconds"), window,
                            "must be greater than or equal to zero"))
    if isinstance(window, int) and window > MAX_STABILIZATION_WINDOW_SECONDS:
        errs.append(invalid((*path, "stabilizationWindowSeconds"), window,
                            f"must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"))
    select = rules.get("selectPolicy")
    if select is not None and select not in SELECT_POLICIES:
        errs.append(unsupported((*path, "selectPolicy"), select, SELECT_POLICIES))
    policies = rules.get("policies")
    if policies is not None and not policies:
        errs.append(required((*path, "policies"), "must specify at least one Policy"))
    for i, policy in enumerate(policies or []):
        _policy(errs, _d(policy), (*path, "policies", i))
    tolerance = rules.get("tolerance")
    parsed = parse_quantity(tolerance) if tolerance is not None else None
    if parsed is not None and parsed < 0:
        errs.append(invalid((*path, "tolerance"), tolerance,
                            "must be greater than or equal to zero"))


def _policy(errs: Errors, policy: dict[str, Any], path: FieldPath) -> None:
    if policy.get("type") is not None and policy["type"] not in POLICY_TYPES:
        errs.append(unsupported((*path, "type"), policy["type"], POLICY_TYPES))
    value, period = policy.get("value"), policy.get("periodSeconds")
    if isinstance(value, int) and value <= 0:
        errs.append(invalid((*path, "value"), value, "must be greater than zero"))
    if isinstance(period, int) and period <= 0:
        errs.append(invalid((*path, "periodSeconds"), period, "must be greater than zero"))
    if isinstance(period, int) and period > MAX_PERIOD_SECONDS:
        errs.append(invalid((*path, "periodSeconds"), period,
                            f"must be less than or equal to {MAX_PERIOD_SECONDS}"))


# -- defaults (autoscaling/v2 SetDefaults_HorizontalPodAutoscaler) ---------------------

def scale_up_rules() -> dict[str, Any]:
    return {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
            "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                         {"type": "Percent", "value": 100, "periodSeconds": 15}]}


def scale_down_rules() -> dict[str, Any]:
    # No window: the controller's --horizontal-pod-autoscaler-downscale-stabilization.
    return {"selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def default_horizontal_pod_autoscaler(spec: dict[str, Any]) -> None:
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for direction, defaults in (("scaleUp", scale_up_rules()),
                                    ("scaleDown", scale_down_rules())):
            given = behavior.get(direction)
            rules = dict(given) if isinstance(given, dict) else {}
            for key, value in defaults.items():
                if rules.get(key) is None or (key == "policies" and not rules.get(key)):
                    rules[key] = value
            behavior[direction] = rules
