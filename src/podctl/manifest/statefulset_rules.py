"""The API server's rules for apps/v1 StatefulSets and ControllerRevisions (K
pkg/apis/apps/validation ValidateStatefulSet, ValidateControllerRevision). As upstream's,
a StatefulSet's pod template is not validated as a pod spec (its volume mounts may name
claim templates): its pods are, when the controller makes them."""

from __future__ import annotations

from typing import Any

from podctl.api.labels import selector_from_label_selector
from podctl.manifest import names
from podctl.manifest.apps_rules import (
    _d,
    _int_or_percent,
    _is_zero,
    _nonneg,
    nonempty_selector,
)
from podctl.manifest.fielderr import forbidden, invalid, required, unsupported
from podctl.manifest.problems import FieldPath
from podctl.manifest.rules import Errors, validate_annotations, validate_labels, validate_metadata

POLICIES = ("OrderedReady", "Parallel")
STRATEGIES = ("RollingUpdate", "OnDelete")
RETENTION = ("Retain", "Delete")


def validate_stateful_set(obj: dict[str, Any]) -> Errors:
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    spec = _d(obj.get("spec"))
    path: FieldPath = ("spec",)
    policy = spec.get("podManagementPolicy", "OrderedReady")
    if isinstance(policy, str) and policy not in POLICIES:
        errs.append(invalid((*path, "podManagementPolicy"), policy,
                            "must be 'OrderedReady' or 'Parallel'"))
    _update_strategy(errs, _d(spec.get("updateStrategy")), (*path, "updateStrategy"))
    _retention(errs, _d(spec.get("persistentVolumeClaimRetentionPolicy")),
               (*path, "persistentVolumeClaimRetentionPolicy"))
    _nonneg(errs, _d(spec.get("ordinals")).get("start"), (*path, "ordinals", "start"))
    _nonneg(errs, spec.get("replicas"), (*path, "replicas"))
    _nonneg(errs, spec.get("minReadySeconds"), (*path, "minReadySeconds"))
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        return errs  # the strict schema reports it: `spec.selector: Required value`
    if not nonempty_selector(errs, selector, (*path, "selector"), "statefulset"):
        return errs
    _template(errs, _d(spec.get("template")), selector, (*path, "template"))
    return errs


def _template(errs: Errors, template: dict[str, Any], selector: dict[str, Any],
              path: FieldPath) -> None:
    """ValidatePodTemplateSpecForStatefulSet, and the pods' restart policy and deadline."""
    tmeta = _d(template.get("metadata"))
    labels = _d(tmeta.get("labels"))
    wanted = selector_from_label_selector(selector)
    if not wanted.is_empty() and not wanted.matches(
            {k: v for k, v in labels.items() if isinstance(v, str)}):
        errs.append(invalid((*path, "metadata", "labels"), labels,
                            "`selector` does not match template `labels`"))
    validate_labels(errs, tmeta.get("labels"), (*path, "metadata", "labels"))
    validate_annotations(errs, tmeta.get("annotations"), (*path, "metadata", "annotations"))
    tspec = _d(template.get("spec"))
    restart = tspec.get("restartPolicy", "Always")
    if isinstance(restart, str) and restart != "Always":
        errs.append(unsupported((*path, "spec", "restartPolicy"), restart, ("Always",)))
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.append(forbidden((*path, "spec", "activeDeadlineSeconds"),
                              "activeDeadlineSeconds in StatefulSet is not Supported"))


def _update_strategy(errs: Errors, strategy: dict[str, Any], path: FieldPath) -> None:
    kind = strategy.get("type", "RollingUpdate")
    rolling = strategy.get("rollingUpdate")
    if kind == "OnDelete":
        if rolling is not None:
            errs.append(invalid((*path, "rollingUpdate"), rolling,
                                "only allowed for updateStrategy 'RollingUpdate'"))
        return
    if kind != "RollingUpdate":
        errs.append(invalid(path, strategy, "must be 'RollingUpdate' or 'OnDelete'"))
        return
    rpath: FieldPath = (*path, "rollingUpdate")
    rolling = _d(rolling)
    _nonneg(errs, rolling.get("partition"), (*rpath, "partition"))
    unavailable = rolling.get("maxUnavailable")
    if unavailable is None:
        return
    before = len(errs)
    percent = _int_or_percent(errs, unavailable, (*rpath, "maxUnavailable"))
    if len(errs) > before:
        return
    if _is_zero(unavailable):
        errs.append(invalid((*rpath, "maxUnavailable"), unavailable, "cannot be 0"))
    if percent is not None and percent > 100:
        errs.append(invalid((*rpath, "maxUnavailable"), unavailable,
                            "must not be greater than 100%"))


def _retention(errs: Errors, policy: dict[str, Any], path: FieldPath) -> None:
    for key in ("whenDeleted", "whenScaled"):
        value = policy.get(key, "Retain")
        if isinstance(value, str) and value not in RETENTION:
            errs.append(unsupported((*path, key), value, RETENTION))


def validate_controller_revision(obj: dict[str, Any]) -> Errors:
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    if obj.get("data") is None:
        errs.append(required(("data",), "data is mandatory"))
    _nonneg(errs, obj.get("revision"), ("revision",))
    return errs
