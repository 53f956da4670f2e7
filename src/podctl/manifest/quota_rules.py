"""ResourceQuota and LimitRange (v1): the API server's validation (ValidateResourceQuota,
ValidateLimitRange) and defaults (SetDefaults_LimitRangeItem, canonical quantities)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from podctl.api.resourcequota import SCOPES, Quantity, canonical_list, quantity_of
from podctl.manifest import names
from podctl.manifest.fielderr import duplicate, forbidden, invalid, required, unsupported
from podctl.manifest.problems import FieldPath, MapKey
from podctl.manifest.rules import Errors, _d, _l, validate_metadata

QUOTA_RESOURCES = frozenset((
    "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
    "persistentvolumeclaims", "services.nodeports", "services.loadbalancers", "cpu", "memory",
    "ephemeral-storage", "requests.cpu", "requests.memory", "requests.storage",
    "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage"))
INTEGER_RESOURCES = frozenset((
    "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
    "persistentvolumeclaims", "services.nodeports", "services.loadbalancers"))
# Which hard resources a scope may limit (upstream's helper.IsResourceQuotaScopeValidFor...).
POD_COMPUTE = frozenset(("pods", "cpu", "memory", "requests.cpu", "requests.memory",
                         "limits.cpu", "limits.memory", "count/pods"))
SCOPE_RESOURCES = {"BestEffort": frozenset(("pods", "count/pods"))}
CONFLICTING = (("Terminating", "NotTerminating"), ("BestEffort", "NotBestEffort"))
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
LIMIT_FIELDS = ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")


def _quantity(errs: Errors, name: str, raw: Any, path: FieldPath) -> Quantity | None:
    """ValidateResourceQuantityValue: not negative; a whole number for counts."""
    found = quantity_of(raw)
    if found is None:
        return None
    if found.value < 0:
        errs.append(invalid(path, str(found), "must be greater than or equal to 0"))
    elif (name in INTEGER_RESOURCES or name.startswith("count/")) and \
            found.value.denominator != 1:
        errs.append(invalid(path, str(found), "must be an integer"))
    return found


def validate_resource_quota(obj: dict[str, Any]) -> Errors:
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    spec = _d(obj.get("spec"))
    hard = _d(spec.get("hard"))
    for name, raw in hard.items():
        path: FieldPath = ("spec", "hard", MapKey(name))
        if "/" not in name and name not in QUOTA_RESOURCES and \
                not name.startswith("requests.hugepages-"):
            errs.append(replace(invalid(path, name, "must be a standard resource for quota"),
                                at_key=True))
            continue
        _quantity(errs, name, raw, path)
    scopes = [s for s in _l(spec.get("scopes")) if isinstance(s, str)]
    for scope in scopes:
        if scope not in SCOPES:
            errs.append(invalid(("spec", "scopes"), scopes, "unsupported scope"))
            return errs
    for one, other in CONFLICTING:
        if one in scopes and other in scopes:
            errs.append(invalid(("spec", "scopes"), scopes, "conflicting scopes"))
    for scope in scopes:
        allowed = SCOPE_RESOURCES.get(scope, POD_COMPUTE)
        if any(name not in allowed for name in hard):
            errs.append(invalid(("spec", "hard"), sorted(hard),
                                "unsupported scope applied to resource"))
            break
    _scope_selector(errs, _d(spec.get("scopeSelector")))
    return errs


def _scope_selector(errs: Errors, selector: dict[str, Any]) -> None:
    for i, expr in enumerate(_l(selector.get("matchExpressions"))):
        expr = _d(expr)
        path: FieldPath = ("spec", "scopeSelector", "matchExpressions", i)
        scope, operator = expr.get("scopeName"), expr.get("operator")
        if scope not in SCOPES:
            errs.append(invalid((*path, "scopeName"), scope, "unsupported scope"))
        if operator not in OPERATORS:
            errs.append(unsupported((*path, "operator"), operator, OPERATORS))
        values = _l(expr.get("values"))
        if operator in ("In", "NotIn") and not values:
            errs.append(required((*path, "values"),
                                 "must be at least one value when `operator` is 'In' or "
                                 "'NotIn' for scope selector"))
        elif operator in ("Exists", "DoesNotExist") and values:
            errs.append(invalid((*path, "values"), values,
                                "must be no value when `operator` is 'Exist' or "
                                "'DoesNotExist' for scope selector"))


def validate_limit_range(obj: dict[str, Any]) -> Errors:
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    seen: set[str] = set()
    for i, item in enumerate(_l(_d(obj.get("spec")).get("limits"))):
        item = _d(item)
        path: FieldPath = ("spec", "limits", i)
        limit_type = str(item.get("type") or "")
        if limit_type in seen:
            errs.append(duplicate((*path, "type"), limit_type))
        seen.add(limit_type)
        _limit_item(errs, item, limit_type, path)
    return errs


def _limit_item(errs: Errors, item: dict[str, Any], limit_type: str, path: FieldPath) -> None:
    values: dict[str, dict[str, Quantity]] = {}
    for field in LIMIT_FIELDS:
        values[field] = {}
        for name, raw in _d(item.get(field)).items():
            found = _quantity(errs, name, raw, (*path, field, MapKey(name)))
            if found is not None:
                values[field][name] = found
    if limit_type == "Pod":
        for field in ("default", "defaultRequest"):
            if values[field]:
                errs.append(forbidden((*path, field), "may not be specified when `type` is "
                                                      "'Pod'"))
    if limit_type == "PersistentVolumeClaim" and "storage" not in values["min"] and \
            "storage" not in values["max"]:
        errs.append(required((*path, "limits"), "either minimum or maximum storage value is "
                                        "required, but neither was provided"))
    low, high = values["min"], values["max"]
    default, request = values["default"], values["defaultRequest"]
    for name, q in low.items():
        if name in high and q.value > high[name].value:
            errs.append(invalid((*path, "min", MapKey(name)), str(q),
                                f"min value {q} is greater than max value {high[name]}"))
    for name, q in request.items():
        key: FieldPath = (*path, "defaultRequest", MapKey(name))
        if name in low and low[name].value > q.value:
            errs.append(invalid(key, str(q),
                                f"min value {low[name]} is greater than default request "
                                f"value {q}"))
        if name in high and q.value > high[name].value:
            errs.append(invalid(key, str(q),
                                f"default request value {q} is greater than max value "
                                f"{high[name]}"))
        if name in default and q.value > default[name].value:
            errs.append(invalid(key, str(q),
                                f"default request value {q} is greater than default limit "
                                f"value {default[name]}"))
    for name, q in default.items():
        key = (*path, "default", MapKey(name))
        if name in low and low[name].value > q.value:
            errs.append(invalid(key, str(q),
                                f"min value {low[name]} is greater than default value {q}"))
        if name in high and q.value > high[name].value:
            errs.append(invalid(key, str(q),
                                f"default value {q} is greater than max value {high[name]}"))
    for name, q in values["maxLimitRequestRatio"].items():
        if q.value < 1:
            errs.append(invalid((*path, "maxLimitRequestRatio", MapKey(name)), str(q),
                                f"ratio {q} is less than 1"))
        elif name in low and name in high and low[name].value > 0 and \
                q.value > high[name].value / low[name].value:
            errs.append(invalid((*path, "maxLimitRequestRatio", MapKey(name)), str(q),
                                f"ratio {q} is greater than max/min = "
                                f"{float(high[name].value / low[name].value):f}"))


def default_quota_object(obj: dict[str, Any]) -> dict[str, Any]:
    """Quantities written as the API server writes them; a Container range's missing
    defaults from its max, and default requests from its default limit or min."""
    spec = obj.setdefault("spec", {})
    if obj["kind"] == "ResourceQuota":
        if "hard" in spec:
            spec["hard"] = canonical_list(spec["hard"])
        return obj
    for item in spec.get("limits") or []:
        if not isinstance(item, dict):
            continue
        for field in LIMIT_FIELDS:
            if field in item:
                item[field] = canonical_list(item[field])
        if item.get("type") != "Container":
            continue
        default = item.setdefault("default", {})
        request = item.setdefault("defaultRequest", {})
        for name, value in (item.get("max") or {}).items():
            default.setdefault(name, value)
        for name, value in default.items():
            request.setdefault(name, value)
        for name, value in (item.get("min") or {}).items():
            request.setdefault(name, value)
        for field in ("default", "defaultRequest"):
            if not item[field]:
                del item[field]
    return obj
