"""The API server's rules for apps/v1 DaemonSets (K pkg/apis/apps/validation
ValidateDaemonSet): the ReplicaSet's selector and template rules, plus the update strategy."""

from __future__ import annotations

from typing import Any

from podctl.manifest import names
from podctl.manifest.apps_rules import (
    _d,
    _int_or_percent,
    _is_zero,
    _nonneg,
    nonempty_selector,
    validate_replica_template,
)
from podctl.manifest.fielderr import invalid, required, unsupported
from podctl.manifest.problems import FieldPath
from podctl.manifest.rules import Errors, validate_metadata


def validate_daemon_set(obj: dict[str, Any]) -> Errors:
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    spec = _d(obj.get("spec"))
    path: FieldPath = ("spec",)
    _nonneg(errs, spec.get("minReadySeconds"), (*path, "minReadySeconds"))
    _nonneg(errs, spec.get("revisionHistoryLimit"), (*path, "revisionHistoryLimit"))
    _update_strategy(errs, _d(spec.get("updateStrategy")), (*path, "updateStrategy"))
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        return errs  # the strict schema reports it: `spec.selector: Required value`
    if not nonempty_selector(errs, selector, (*path, "selector"), "daemonset"):
        return errs
    template = spec.get("template")
    if not isinstance(template, dict):
        errs.append(required((*path, "template")))
        return errs
    validate_replica_template(errs, template, selector, (*path, "template"), "DaemonSet")
    return errs


def _update_strategy(errs: Errors, strategy: dict[str, Any], path: FieldPath) -> None:
    kind = strategy.get("type", "RollingUpdate")
    if kind == "OnDelete":
        return
    if kind != "RollingUpdate":
        errs.append(unsupported((*path, "type"), kind, ("OnDelete", "RollingUpdate")))
        return
    rolling = _d(strategy.get("rollingUpdate"))
    rpath: FieldPath = (*path, "rollingUpdate")
    # Validated after defaulting: an absent maxUnavailable is 1, an absent maxSurge 0.
    surge = rolling.get("maxSurge", 0)
    unavailable = rolling.get("maxUnavailable", 1)
    before = len(errs)
    _int_or_percent(errs, surge, (*rpath, "maxSurge"))
    percent = _int_or_percent(errs, unavailable, (*rpath, "maxUnavailable"))
    if len(errs) > before:
        return
    if percent is not None and percent > 100:
        errs.append(invalid((*rpath, "maxUnavailable"), unavailable,
                            "must not be greater than 100%"))
    if _is_zero(surge) and _is_zero(unavailable):
        errs.append(required((*rpath, "maxUnavailable"), "cannot be 0 when maxSurge is 0"))
    elif not _is_zero(surge) and not _is_zero(unavailable):
        errs.append(invalid((*rpath, "maxSurge"), surge,
                            "may not be set when maxUnavailable is non-zero"))
