"""check_document: kind/apiVersion, strict schema, semantic rules, warnings and defaults."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from podctl.api import hpav1
from podctl.api.meta import NAMESPACED, RESOURCES
from podctl.api.meta import api_version as served_version
from podctl.manifest.apps_rules import validate_deployment, validate_replica_set
from podctl.manifest.autoscaling_rules import validate_horizontal_pod_autoscaler
from podctl.manifest.batch_rules import validate_cronjob, validate_job
from podctl.manifest.config_rules import validate_configmap, validate_secret
from podctl.manifest.coordination_rules import validate_lease
from podctl.manifest.custom import check as check_custom
from podctl.manifest.custom import is_custom
from podctl.manifest.daemonset_rules import validate_daemon_set
from podctl.manifest.defaults import default_object
from podctl.manifest.identity_rules import validate_service_account
from podctl.manifest.load import Document
from podctl.manifest.networking_rules import (
    validate_ingress,
    validate_ingress_class,
    validate_network_policy,
)
from podctl.manifest.policy_rules import validate_pod_disruption_budget
from podctl.manifest.problems import FieldPath, Problem, render_value
from podctl.manifest.quota_rules import validate_limit_range, validate_resource_quota
from podctl.manifest.rbac_rules import VALIDATORS as RBAC_VALIDATORS
from podctl.manifest.rules import VALIDATORS as WORKLOAD_VALIDATORS
from podctl.manifest.schema import FieldError, decode_structure, validate_structure
from podctl.manifest.service_rules import validate_endpoints, validate_service
from podctl.manifest.statefulset_rules import (
    validate_controller_revision,
    validate_stateful_set,
)
from podctl.manifest.storage_rules import (
    validate_persistent_volume,
    validate_persistent_volume_claim,
    validate_storage_class,
)
from podctl.manifest.unsupported import warnings_for

STRICT, WARN, IGNORE = "Strict", "Warn", "Ignore"
# kubectl's --validate values, as the fieldValidation each sends.
VALIDATE_FLAG = {"strict": STRICT, "true": STRICT, "warn": WARN, "ignore": IGNORE,
                 "false": IGNORE}
# Every kind users write and podctl checks: the resource table's validated kinds.
SUPPORTED_KINDS = tuple(kind for kind, r in RESOURCES.items() if r.validated)
DEFAULT_NAMESPACE = "default"
VALIDATORS = {**WORKLOAD_VALIDATORS, "Service": validate_service,
              "Endpoints": validate_endpoints,
              "ConfigMap": validate_configmap, "Secret": validate_secret,
              "ReplicaSet": validate_replica_set, "Deployment": validate_deployment,
              "DaemonSet": validate_daemon_set, "StatefulSet": validate_stateful_set,
              "ControllerRevision": validate_controller_revision, "Job": validate_job,
              "CronJob": validate_cronjob, "PodDisruptionBudget": validate_pod_disruption_budget,
              "PersistentVolume": validate_persistent_volume,
              "PersistentVolumeClaim": validate_persistent_volume_claim,
              "StorageClass": validate_storage_class, **RBAC_VALIDATORS,
              "ResourceQuota": validate_resource_quota, "LimitRange": validate_limit_range,
              "ServiceAccount": validate_service_account,
              "NetworkPolicy": validate_network_policy, "Lease": validate_lease,
              "HorizontalPodAutoscaler": validate_horizontal_pod_autoscaler,
              "Ingress": validate_ingress, "IngressClass": validate_ingress_class}


@dataclass
class Checked:
    """A document after validation: the defaulted object (None when there are problems)."""

    document: Document
    obj: dict[str, Any] | None
    problems: list[Problem]
    warnings: list[str]


def _problem(doc: Document, path: FieldPath, message: str, at_key: bool = False) -> Problem:
    """A Problem located at ``path`` of ``doc`` (or at the document when positions are unknown)."""
    pos = None
    if doc.source is not None:
        pos = doc.source.key_pos(path) if at_key else doc.source.best_pos(path)
    line, col = pos if pos is not None else (doc.line, None)
    source_line = doc.source.line_text(line) if doc.source is not None else None
    return Problem(doc.file, line, col, message, source_line)


def _kind_problem(doc: Document, api_version: Any, kind: Any) -> Problem | None:
    """Missing or unsupported apiVersion/kind, in kubectl's words plus what podctl accepts."""
    if kind is not None and not isinstance(kind, str):
        return _problem(
            doc, ("kind",), f"kind: Invalid value: {render_value(kind)}: expected string, e.g. Pod"
        )
    if not isinstance(kind, str) or not kind:
        return _problem(
            doc,
            ("kind",) if kind is not None else (),
            "Object 'Kind' is missing: add kind: Pod, ReplicationController, Service or Namespace",
        )
    if not isinstance(api_version, str) or not api_version:
        return _problem(
            doc,
            ("apiVersion",) if api_version is not None else (),
            f'apiVersion not set: no matches for kind "{kind}" in version "" (add apiVersion: '
            f'{served_version(kind) if kind in SUPPORTED_KINDS else "v1"})',
        )
    if kind in SUPPORTED_KINDS and api_version == served_version(kind):
        return None
    base = f'no matches for kind "{kind}" in version "{api_version}"'
    near = [k for k in SUPPORTED_KINDS if k.lower() == kind.lower()]
    if near and near[0] != kind:
        return _problem(doc, ("kind",), f"{base} (did you mean kind: {near[0]}?)")
    if kind in SUPPORTED_KINDS:
        return _problem(doc, ("apiVersion",),
                        f"{base} ({kind} is in apiVersion: {served_version(kind)})")
    return _problem(doc, ("kind",), f"{base} (podctl supports only {_supported_phrase()})")


def _supported_phrase() -> str:
    """`v1 Pod, ... and Secret, apps/v1 DaemonSet, ... and batch/v1 CronJob and Job`."""
    by_version: dict[str, list[str]] = {}
    for kind in SUPPORTED_KINDS:
        by_version.setdefault(served_version(kind), []).append(kind)
    groups = [f"{version} {_and(kinds)}" for version, kinds in by_version.items()]
    return ", ".join(groups[:-1]) + ", and " + groups[-1] if len(groups) > 1 else groups[0]


def _and(words: list[str]) -> str:
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


def _namespace_problem(doc: Document, kind: str, namespace: str | None) -> Problem | None:
    """kubectl refuses a manifest namespace that differs from -n."""
    if kind not in NAMESPACED or not namespace:
        return None
    meta = doc.obj.get("metadata")
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    if isinstance(ns, str) and ns and ns != namespace:
        return _problem(
            doc,
            ("metadata", "namespace"),
            f'the namespace from the provided object "{ns}" does not match the namespace '
            f"\"{namespace}\". You must pass '--namespace={ns}' to perform this operation.",
        )
    return None


def check_document(doc: Document, namespace: str | None = None,
                   validation: str = STRICT) -> Checked:
    """Validate one document like the API server and return it defaulted. `validation` is
    what kubectl's --validate sends as fieldValidation: Strict refuses unknown fields, Warn
    drops each with a warning, Ignore drops them silently."""
    obj = doc.obj
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if not isinstance(obj, dict):
        return Checked(doc, None, [_problem(doc, (), "a manifest must be a mapping")], [])
    custom_key = is_custom(obj)
    if custom_key is not None:
        return _check_custom(doc, obj, custom_key, namespace, validation)
    if kind == "CustomResourceDefinition" and obj.get("apiVersion") == served_version(kind):
        return _check_definition(doc, obj, validation)
    if kind == hpav1.KIND and obj.get("apiVersion") == hpav1.API_VERSION:
        converted = _from_v1_autoscaler(doc, obj, validation)
        if isinstance(converted, Problem):
            return Checked(doc, None, [converted], [])
        obj = converted
    bad_kind = _kind_problem(doc, obj.get("apiVersion"), kind)
    if bad_kind is not None or not isinstance(kind, str):
        return Checked(doc, None, [bad_kind] if bad_kind else [], [])
    dropped: list[str] = []
    if validation != STRICT:
        obj = copy.deepcopy(obj)
        dropped = decode_structure(obj, kind, prune=True).unknown
    errors: list[FieldError] = validate_structure(obj, kind)
    errors.extend(VALIDATORS[kind](obj))
    problems = [_problem(doc, e.path, e.message, e.at_key) for e in errors]
    ns_problem = _namespace_problem(doc, kind, namespace)
    if ns_problem is not None:
        problems.append(ns_problem)
    problems.sort(key=lambda p: (p.line or 0, p.col or 0))
    warnings = (dropped if validation == WARN else []) + warnings_for(kind, obj)
    if problems:
        return Checked(doc, None, problems, warnings)
    defaulted = default_object(kind, obj, namespace or DEFAULT_NAMESPACE)
    return Checked(doc, defaulted, [], warnings)


def _from_v1_autoscaler(doc: Document, obj: dict[str, Any],
                        validation: str) -> dict[str, Any] | Problem:
    """An autoscaling/v1 HPA as the stored autoscaling/v2 one (podctl.api.hpav1), checked
    then as any v2 one; the fields v1 does not have refused under Strict, as its decoder
    refuses them."""
    failure = f'{hpav1.KIND} in version "v1" cannot be handled as a {hpav1.KIND}: '
    unknown = hpav1.unknown_fields(obj)
    if unknown and validation == STRICT:
        return _problem(doc, (), failure + "strict decoding error: " + ", ".join(unknown))
    try:
        return hpav1.to_stored(obj)
    except hpav1.ConversionError as exc:
        return _problem(doc, (), failure + str(exc))


def _check_definition(doc: Document, obj: dict[str, Any], validation: str) -> Checked:
    """A CustomResourceDefinition: its structure as the decoder reads it, defaulted, then
    upstream's rules for definitions (podctl.api.crd)."""
    from podctl.api import crd
    from podctl.manifest.custom import field_path

    kind = "CustomResourceDefinition"
    dropped: list[str] = []
    if validation != STRICT:
        obj = copy.deepcopy(obj)
        dropped = decode_structure(obj, kind, prune=True).unknown
    errors = validate_structure(obj, kind)
    out = crd.with_defaults(obj)
    if not errors:
        errors = [FieldError(field_path(f), f"{f}: {m}") for f, m in crd.validate(out)]
    problems = [_problem(doc, e.path, e.message, e.at_key) for e in errors]
    warnings = dropped if validation == WARN else []
    return Checked(doc, None if problems else out, problems, warnings)


def _check_custom(doc: Document, obj: dict[str, Any], key: str, namespace: str | None,
                  validation: str) -> Checked:
    """A custom resource, against its definition's schema (manifest.custom)."""
    checked, errors, warnings = check_custom(obj, key, namespace or DEFAULT_NAMESPACE,
                                             validation)
    problems = [_problem(doc, e.path, e.message, e.at_key) for e in errors]
    ns_problem = _namespace_problem(doc, key, namespace)
    if ns_problem is not None:
        problems.append(ns_problem)
    if problems:
        return Checked(doc, None, problems, warnings)
    return Checked(doc, checked, [], warnings)


def invalid_summary(kind: str, name: str, problems: Sequence[Problem]) -> str:
    """kubectl's 'The Pod "x" is invalid: …' (several errors as '* …' lines)."""
    head = f'The {kind} "{name}" is invalid: '
    if len(problems) == 1:
        return head + problems[0].message
    return head + "\n" + "\n".join(f"* {p.message}" for p in problems)
