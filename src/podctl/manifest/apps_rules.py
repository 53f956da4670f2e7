"""Semantic rules the API server enforces for apps/v1 kinds (ReplicaSet), after K's
pkg/apis/apps/validation and apimachinery's ValidateLabelSelector."""

from __future__ import annotations

import re
from typing import Any

from podctl.api.labels import selector_from_label_selector
from podctl.manifest import names
from podctl.manifest.fielderr import forbidden, invalid, required, unsupported
from podctl.manifest.problems import FieldPath
from podctl.manifest.rules import (
    Errors,
    validate_annotations,
    validate_labels,
    validate_metadata,
    validate_pod_spec,
)

SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def _d(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one (type errors are reported elsewhere)."""
    return value if isinstance(value, dict) else {}


def _nonneg(errs: Errors, value: Any, path: FieldPath) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        errs.append(invalid(path, value, "must be greater than or equal to 0"))


def validate_label_selector(errs: Errors, selector: dict[str, Any], path: FieldPath) -> None:
    """ValidateLabelSelector: matchLabels are labels; each expression's operator decides
    whether it takes values; keys are qualified names, values label values."""
    validate_labels(errs, selector.get("matchLabels"), (*path, "matchLabels"))
    expressions = selector.get("matchExpressions")
    for index, expr in enumerate(expressions if isinstance(expressions, list) else []):
        if not isinstance(expr, dict):
            continue  # the strict schema reports it
        epath: FieldPath = (*path, "matchExpressions", index)
        operator, values = expr.get("operator"), expr.get("values") or []
        if operator in ("In", "NotIn"):
            if not values:
                errs.append(required((*epath, "values"),
                                     "must be specified when `operator` is 'In' or 'NotIn'"))
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                errs.append(forbidden((*epath, "values"), "may not be specified when "
                                      "`operator` is 'Exists' or 'DoesNotExist'"))
        else:
            errs.append(invalid((*epath, "operator"), operator, "not a valid selector operator"))
        key = expr.get("key")
        if isinstance(key, str):
            errs.extend(invalid((*epath, "key"), key, detail)
                        for detail in names.qualified_name(key))
        for vindex, value in enumerate(values if isinstance(values, list) else []):
            if isinstance(value, str):
                errs.extend(invalid((*epath, "values", vindex), value, detail)
                            for detail in names.label_value(value))


def nonempty_selector(errs: Errors, selector: dict[str, Any], path: FieldPath,
                      kind: str) -> bool:
    """A DaemonSet's or StatefulSet's selector: valid and not empty; False when invalid
    (nothing more about the template is said then, as upstream)."""
    before = len(errs)
    validate_label_selector(errs, selector, path)
    if len(errs) > before or not _well_formed(selector):
        errs.append(invalid(path, selector, "invalid label selector"))
        return False
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        errs.append(invalid(path, selector, f"empty selector is invalid for {kind}"))
    return True


def _well_formed(selector: dict[str, Any]) -> bool:
    """Shaped as the schema says (else the schema's errors are the ones to show)."""
    labels = selector.get("matchLabels")
    expressions = selector.get("matchExpressions")
    return (isinstance(labels, dict | None) and isinstance(expressions, list | None)
            and all(isinstance(e, dict) and isinstance(e.get("key"), str)
                    and isinstance(e.get("values"), list | None) for e in expressions or []))


def validate_replica_set(obj: dict[str, Any]) -> Errors:
    """ValidateReplicaSet: ValidateReplicaSetSpec plus the template rules of
    ValidatePodTemplateSpecForReplicaSet."""
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    spec = _d(obj.get("spec"))
    path: FieldPath = ("spec",)
    _nonneg(errs, spec.get("replicas"), (*path, "replicas"))
    _nonneg(errs, spec.get("minReadySeconds"), (*path, "minReadySeconds"))
    _selector_and_template(errs, spec, path)
    return errs


def validate_replica_template(errs: Errors, template: dict[str, Any], selector: dict[str, Any],
                              path: FieldPath, owner: str) -> None:
    """ValidatePodTemplateSpecForReplicaSet: the selector must match the template's labels,
    the pods restart Always and have no deadline."""
    tmeta = _d(template.get("metadata"))
    labels = _d(tmeta.get("labels"))
    wanted = selector_from_label_selector(selector)
    if not wanted.is_empty() and not wanted.matches(
            {k: v for k, v in labels.items() if isinstance(v, str)}):
        errs.append(invalid((*path, "metadata", "labels"), labels,
                            "`selector` does not match template `labels`"))
    validate_labels(errs, tmeta.get("labels"), (*path, "metadata", "labels"))
    validate_annotations(errs, tmeta.get("annotations"), (*path, "metadata", "annotations"))
    tspec = template.get("spec")
    if not isinstance(tspec, dict):
        errs.append(required((*path, "spec", "containers")))
        return
    validate_pod_spec(errs, tspec, (*path, "spec"))
    restart = tspec.get("restartPolicy")
    if isinstance(restart, str) and restart and restart != "Always":
        errs.append(unsupported((*path, "spec", "restartPolicy"), restart, ("Always",)))
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.append(forbidden((*path, "spec", "activeDeadlineSeconds"),
                              f"activeDeadlineSeconds in {owner} is not Supported"))


PERCENT_HINT = ("a valid percent string must be a numeric string followed by an ending '%' "
                "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")


def _int_or_percent(errs: Errors, value: Any, path: FieldPath) -> int | None:
    """ValidatePositiveIntOrPercent; the percentage (or None for an integer or an error)."""
    if isinstance(value, str):
        if not re.fullmatch(r"[0-9]+%", value):
            errs.append(invalid(path, value, PERCENT_HINT))
            return None
        return int(value[:-1])
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        errs.append(invalid(path, value, "must be greater than or equal to 0"))
    return None


def _is_zero(value: Any) -> bool:
    return value in (0, "0%")


def validate_deployment(obj: dict[str, Any]) -> Errors:
    """ValidateDeployment: the ReplicaSet rules for selector and template, plus the strategy,
    history and deadline rules."""
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    spec = _d(obj.get("spec"))
    path: FieldPath = ("spec",)
    _nonneg(errs, spec.get("replicas"), (*path, "replicas"))
    _nonneg(errs, spec.get("minReadySeconds"), (*path, "minReadySeconds"))
    _nonneg(errs, spec.get("revisionHistoryLimit"), (*path, "revisionHistoryLimit"))
    _strategy(errs, _d(spec.get("strategy")), (*path, "strategy"))
    deadline = spec.get("progressDeadlineSeconds")
    if isinstance(deadline, int) and not isinstance(deadline, bool):
        _nonneg(errs, deadline, (*path, "progressDeadlineSeconds"))
        ready = spec.get("minReadySeconds") or 0
        if isinstance(ready, int) and deadline <= ready:
            errs.append(invalid((*path, "progressDeadlineSeconds"), deadline,
                                "must be greater than minReadySeconds"))
    _selector_and_template(errs, spec, path)
    return errs


def _selector_and_template(errs: Errors, spec: dict[str, Any], path: FieldPath) -> None:
    """The selector, then the pod template it must match (ReplicaSet and Deployment)."""
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        return  # the strict schema reports it: `spec.selector: Required value`
    before = len(errs)
    validate_label_selector(errs, selector, (*path, "selector"))
    if len(errs) > before or not _well_formed(selector):
        # The selector cannot be turned into one, so the template is never looked at.
        errs.append(invalid((*path, "selector"), selector, "invalid label selector"))
        return
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        errs.append(invalid((*path, "selector"), selector,
                            "empty selector is invalid for deployment"))
    template = spec.get("template")
    if not isinstance(template, dict):
        errs.append(required((*path, "template")))
        return
    validate_replica_template(errs, template, selector, (*path, "template"), "ReplicaSet")


def _strategy(errs: Errors, strategy: dict[str, Any], path: FieldPath) -> None:
    kind = strategy.get("type", "RollingUpdate")
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            errs.append(forbidden((*path, "rollingUpdate"),
                                  "may not be specified when strategy `type` is 'Recreate'"))
        return
    if kind != "RollingUpdate":
        errs.append(unsupported((*path, "type"), kind, ("Recreate", "RollingUpdate")))
        return
    rolling = _d(rolling)
    rpath: FieldPath = (*path, "rollingUpdate")
    surge, unavailable = rolling.get("maxSurge"), rolling.get("maxUnavailable")
    _int_or_percent(errs, surge, (*rpath, "maxSurge"))
    percent = _int_or_percent(errs, unavailable, (*rpath, "maxUnavailable"))
    if surge is not None and unavailable is not None and _is_zero(surge) \
            and _is_zero(unavailable):
        errs.append(invalid((*rpath, "maxUnavailable"), unavailable,
                            "may not be 0 when `maxSurge` is 0"))
    if percent is not None and percent > 100:
        errs.append(invalid((*rpath, "maxUnavailable"), unavailable,
                            "must not be greater than 100%"))
