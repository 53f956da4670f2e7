"""Semantic rules the API server enforces for batch/v1 kinds (Job, CronJob), after K's
pkg/apis/batch/validation."""

from __future__ import annotations

from typing import Any

from podctl.manifest import names
from podctl.manifest.apps_rules import validate_label_selector
from podctl.manifest.fielderr import forbidden, invalid, required, unsupported
from podctl.manifest.problems import FieldPath
from podctl.manifest.rules import (
    Errors,
    validate_annotations,
    validate_labels,
    validate_metadata,
    validate_pod_spec,
)

COMPLETION_MODES = ("NonIndexed", "Indexed")
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
# A CronJob's name plus the 11-character suffix of its Jobs must fit a label value (63).
CRONJOB_NAME_MAX = 52


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _nonneg(errs: Errors, spec: dict[str, Any], field: str, path: FieldPath) -> None:
    value = _int(spec.get(field))
    if value is not None and value < 0:
        errs.append(invalid((*path, field), value, "must be greater than or equal to 0"))


def validate_job_spec(errs: Errors, spec: dict[str, Any], path: FieldPath) -> None:
    """ValidateJobSpec: counts, completion mode, selector and a template that never restarts
    Always."""
    for field in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit",
                  "ttlSecondsAfterFinished"):
        _nonneg(errs, spec, field, path)
    mode = spec.get("completionMode")
    if isinstance(mode, str) and mode not in COMPLETION_MODES:
        errs.append(unsupported((*path, "completionMode"), mode, COMPLETION_MODES))
    if mode == "Indexed" and spec.get("completions") is None:
        errs.append(required((*path, "completions"), "when completion mode is Indexed"))
    selector = spec.get("selector")
    if isinstance(selector, dict):
        validate_label_selector(errs, selector, (*path, "selector"))
    template = spec.get("template")
    if not isinstance(template, dict):
        errs.append(required((*path, "template")))
        return
    tpath: FieldPath = (*path, "template")
    tmeta = _d(template.get("metadata"))
    validate_labels(errs, tmeta.get("labels"), (*tpath, "metadata", "labels"))
    validate_annotations(errs, tmeta.get("annotations"), (*tpath, "metadata", "annotations"))
    tspec = template.get("spec")
    if not isinstance(tspec, dict):
        errs.append(required((*tpath, "spec", "containers")))
        return
    validate_pod_spec(errs, tspec, (*tpath, "spec"))
    # Defaulting comes first on the server: an unset policy is already Always here.
    restart = tspec.get("restartPolicy") or "Always"
    if isinstance(restart, str) and restart not in ("OnFailure", "Never"):
        errs.append(unsupported((*tpath, "spec", "restartPolicy"), restart,
                                ("OnFailure", "Never")))


def validate_job(obj: dict[str, Any]) -> Errors:
    """ValidateJob: metadata, the spec, and a selector only with manualSelector."""
    errs: Errors = []
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    spec = _d(obj.get("spec"))
    selector = spec.get("selector")
    if isinstance(selector, dict) and spec.get("manualSelector") is not True and \
            selector != _generated_selector(obj):
        errs.append(invalid(("spec", "selector"), selector, "`selector` not auto-generated"))
    validate_job_spec(errs, spec, ("spec",))
    return errs


def _generated_selector(job: dict[str, Any]) -> dict[str, Any] | None:
    """The selector the API server generated for a stored Job (its uid's label): an update
    sends it back, and it is the Job's own."""
    uid = _d(job.get("metadata")).get("uid")
    return {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}} if uid else None


def schedule_problem(schedule: str) -> str | None:
    """Why a cron schedule cannot be parsed (robfig/cron's wording), or None."""
    from croniter import croniter

    if "TZ=" in schedule:
        return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
    if not schedule.startswith("@"):
        fields = schedule.split()
        if len(fields) != 5:
            return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    if not croniter.is_valid(schedule.replace("?", "*")):
        return f"unparseable schedule: {schedule}"
    return None


def validate_cronjob(obj: dict[str, Any]) -> Errors:
    """ValidateCronJobCreate: name length, schedule, policy and the Job template."""
    errs: Errors = []
    md = _d(obj.get("metadata"))
    validate_metadata(errs, obj.get("metadata"), True, names.dns1123_subdomain)
    name = md.get("name")
    if isinstance(name, str) and len(name) > CRONJOB_NAME_MAX:
        errs.append(invalid(("metadata", "name"), name,
                            f"must be no more than {CRONJOB_NAME_MAX} characters"))
    spec = _d(obj.get("spec"))
    path: FieldPath = ("spec",)
    schedule = spec.get("schedule")
    if isinstance(schedule, str):
        if not schedule:
            errs.append(required((*path, "schedule")))
        else:
            problem = schedule_problem(schedule)
            if problem:
                errs.append(invalid((*path, "schedule"), schedule, problem))
    policy = spec.get("concurrencyPolicy")
    if isinstance(policy, str) and policy not in CONCURRENCY_POLICIES:
        errs.append(unsupported((*path, "concurrencyPolicy"), policy, CONCURRENCY_POLICIES))
    for field in ("startingDeadlineSeconds", "successfulJobsHistoryLimit",
                  "failedJobsHistoryLimit"):
        _nonneg(errs, spec, field, path)
    template = spec.get("jobTemplate")
    if not isinstance(template, dict):
        return errs  # the strict schema reports it
    jspec = _d(template.get("spec"))
    if isinstance(jspec.get("selector"), dict) and jspec.get("manualSelector") is not True:
        errs.append(forbidden((*path, "jobTemplate", "spec", "selector"),
                              "`selector` will be auto-generated"))
    validate_job_spec(errs, jspec, (*path, "jobTemplate", "spec"))
    return errs
