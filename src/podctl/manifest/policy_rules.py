"""The API server's rules for policy/v1 PodDisruptionBudgets (K pkg/apis/policy/validation
ValidatePodDisruptionBudget): minAvailable or maxUnavailable, each a non-negative integer or
a percentage up to 100%, a valid label selector, a known unhealthy-pod eviction policy."""

from __future__ import annotations

from typing import Any

from podctl.manifest import names
from podctl.manifest.apps_rules import _d, _int_or_percent, validate_label_selector
from podctl.manifest.fielderr import invalid, unsupported
from podctl.manifest.problems import FieldPath
from podctl.manifest.rules import Errors, validate_metadata

UNHEALTHY_POD_EVICTION_POLICIES = ("AlwaysAllow", "IfHealthyBudget")


def validate_pod_disruption_budget(obj: dict[str, Any]) -> Errors:
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    spec = _d(obj.get("spec"))
    path: FieldPath = ("spec",)
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        errs.append(invalid(path, spec, "minAvailable and maxUnavailable cannot be both set"))
    for field in ("minAvailable", "maxUnavailable"):
        value = spec.get(field)
        if value is None:
            continue
        percent = _int_or_percent(errs, value, (*path, field))
        if percent is not None and percent > 100:
            errs.append(invalid((*path, field), value, "must not be greater than 100%"))
    selector = spec.get("selector")
    if isinstance(selector, dict):
        validate_label_selector(errs, selector, (*path, "selector"))
    policy = spec.get("unhealthyPodEvictionPolicy")
    if isinstance(policy, str) and policy not in UNHEALTHY_POD_EVICTION_POLICIES:
        errs.append(unsupported((*path, "unhealthyPodEvictionPolicy"), policy,
                                UNHEALTHY_POD_EVICTION_POLICIES))
    return errs
