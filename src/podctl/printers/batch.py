"""kubectl's columns and describe layout for Jobs and CronJobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podctl.api import meta
from podctl.api.labels import format_label_selector
from podctl.api.meta import Obj, controller_of
from podctl.printers.age import age, human_duration
from podctl.printers.describe import (
    Lines,
    _pod_template,
    annotations_multiline,
    describe_events,
    multiline_map,
    rfc1123z,
)

JOB_HEADERS = ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
JOB_WIDE_HEADERS = ["CONTAINERS", "IMAGES", "SELECTOR"]
CRONJOB_HEADERS = ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"]
CRONJOB_WIDE_HEADERS = ["CONTAINERS", "IMAGES", "SELECTOR"]
# First true condition wins; a Job being deleted shows Terminating after the terminal ones.
_STATUS_ORDER = ("Complete", "Failed", "Terminating", "Suspended", "FailureTarget",
                 "SuccessCriteriaMet")


def job_status(job: Obj) -> str:
    true = {c.get("type") for c in (job.get("status") or {}).get("conditions") or []
            if c.get("status") == "True"}
    if job["metadata"].get("deletionTimestamp"):
        true.add("Terminating")
    return next((s for s in _STATUS_ORDER if s in true), "Running")


def job_completions(job: Obj) -> str:
    spec, status = job["spec"], job.get("status") or {}
    succeeded = status.get("succeeded", 0)
    if spec.get("completions") is not None:
        return f"{succeeded}/{spec['completions']}"
    parallelism = int(spec.get("parallelism", 1))
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(job: Obj, now: datetime) -> str:
    status = job.get("status") or {}
    if not status.get("startTime"):
        return ""
    end = meta.parse_time(status["completionTime"]) if status.get("completionTime") else now
    return human_duration((end - meta.parse_time(status["startTime"])).total_seconds())


def _wide(template_spec: Obj, selector: Any) -> list[str]:
    containers = template_spec.get("containers", [])
    return [",".join(c["name"] for c in containers), ",".join(c["image"] for c in containers),
            format_label_selector(selector)]


def job_row(job: Obj, now: datetime, wide: bool) -> list[str]:
    row = [meta.name_of(job), job_status(job), job_completions(job), job_duration(job, now),
           age(job["metadata"].get("creationTimestamp"), now)]
    if wide:
        row += _wide(job["spec"].get("template", {}).get("spec", {}),
                     job["spec"].get("selector"))
    return row


def cronjob_row(cronjob: Obj, now: datetime, wide: bool) -> list[str]:
    spec, status = cronjob["spec"], cronjob.get("status") or {}
    last = status.get("lastScheduleTime")
    row = [meta.name_of(cronjob), str(spec.get("schedule", "")),
           spec.get("timeZone") or "<none>", str(bool(spec.get("suspend"))),
           str(len(status.get("active") or [])), age(last, now) if last else "<none>",
           age(cronjob["metadata"].get("creationTimestamp"), now)]
    if wide:
        jspec = (spec.get("jobTemplate") or {}).get("spec") or {}
        row += _wide((jspec.get("template") or {}).get("spec") or {}, jspec.get("selector"))
    return row


def _format_indexes(text: str) -> str:
    if not text:
        return "<none>"
    return text if len(text) <= 50 else text[:50] + "..."


def describe_job(job: Obj, pods: list[Obj], events: list[dict[str, Any]],
                 now: datetime) -> str:
    """kubectl describe job: counts and modes, times, pod phases, the template, events."""
    md, spec, status = job["metadata"], job["spec"], job.get("status") or {}
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md['namespace']}")
    w.add(0, f"Selector:\t{format_label_selector(spec.get('selector'))}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    owner = controller_of(job)
    if owner:
        w.add(0, f"Controlled By:\t{owner.get('kind')}/{owner.get('name')}")
    w.add(0, f"Parallelism:\t{spec.get('parallelism', 1)}")
    completions = spec.get("completions")
    w.add(0, f"Completions:\t{completions if completions is not None else '<unset>'}")
    w.add(0, f"Completion Mode:\t{spec.get('completionMode', 'NonIndexed')}")
    w.add(0, f"Suspend:\t{str(bool(spec.get('suspend'))).lower()}")
    w.add(0, f"Backoff Limit:\t{spec.get('backoffLimit', 6)}")
    if spec.get("ttlSecondsAfterFinished") is not None:
        w.add(0, f"TTL Seconds After Finished:\t{spec['ttlSecondsAfterFinished']}")
    if status.get("startTime"):
        w.add(0, f"Start Time:\t{rfc1123z(status['startTime'])}")
    if status.get("completionTime"):
        w.add(0, f"Completed At:\t{rfc1123z(status['completionTime'])}")
    if status.get("startTime"):
        w.add(0, f"Duration:\t{job_duration(job, now)}")
    if spec.get("activeDeadlineSeconds") is not None:
        w.add(0, f"Active Deadline Seconds:\t{spec['activeDeadlineSeconds']}s")
    w.add(0, f"Pods Statuses:\t{status.get('active', 0)} Active ({status.get('ready', 0)} "
             f"Ready) / {status.get('succeeded', 0)} Succeeded / {status.get('failed', 0)} "
             "Failed")
    if spec.get("completionMode") == "Indexed":
        w.add(0, f"Completed Indexes:\t{_format_indexes(status.get('completedIndexes', ''))}")
    _pod_template(w, job, spec.get("template") or {})
    return w.text() + describe_events(events, now)


def describe_cronjob(cronjob: Obj, events: list[dict[str, Any]], now: datetime) -> str:
    """kubectl describe cronjob: schedule and policies, the job template, active Jobs."""
    md, spec, status = cronjob["metadata"], cronjob["spec"], cronjob.get("status") or {}
    jspec = (spec.get("jobTemplate") or {}).get("spec") or {}
    w = Lines()
    w.add(0, f"Name:\t{md['name']}")
    w.add(0, f"Namespace:\t{md['namespace']}")
    multiline_map(w, "Labels", md.get("labels"))
    annotations_multiline(w, md.get("annotations"))
    w.add(0, f"Schedule:\t{spec.get('schedule', '')}")
    w.add(0, f"Concurrency Policy:\t{spec.get('concurrencyPolicy', 'Allow')}")
    w.add(0, f"Suspend:\t{bool(spec.get('suspend'))}")
    w.add(0, f"Successful Job History Limit:\t{spec.get('successfulJobsHistoryLimit', 3)}")
    w.add(0, f"Failed Job History Limit:\t{spec.get('failedJobsHistoryLimit', 1)}")
    deadline = spec.get("startingDeadlineSeconds")
    w.add(0, f"Starting Deadline Seconds:\t{f'{deadline}s' if deadline is not None else '<unset>'}")
    w.add(0, f"Selector:\t{format_label_selector(jspec.get('selector'))}")
    w.add(0, f"Parallelism:\t{jspec.get('parallelism', '<unset>')}")
    w.add(0, f"Completions:\t{jspec.get('completions', '<unset>')}")
    _pod_template(w, cronjob, jspec.get("template") or {})
    last = status.get("lastScheduleTime")
    w.add(0, f"Last Schedule Time:\t{rfc1123z(last) if last else '<unset>'}")
    active = ", ".join(str(r.get("name")) for r in status.get("active") or [])
    w.add(0, f"Active Jobs:\t{active or '<none>'}")
    return w.text() + describe_events(events, now)
