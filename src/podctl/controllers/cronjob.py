"""The CronJob controller as a pure plan: from a CronJob and the Jobs it owns at `now`,
decide whether a scheduled Job is due, what the concurrency policy and history limits
delete, the status, and when the next schedule falls (after K pkg/controller/cronjob)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.job import finished
from podctl.controllers.owners import owner_reference

SOURCE = "cronjob-controller"
SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"
MAX_MISSED = 100
TOO_MANY_MISSED = ("Cannot determine if job needs to be started. Too many missed start time "
                   "(> 100). Set or decrease .spec.startingDeadlineSeconds or check clock skew.")


@dataclass
class CronPlan:
    """What one sync of a CronJob must do."""

    create: datetime | None = None  # the scheduled time of the Job to start now
    delete: list[Obj] = field(default_factory=list)  # Jobs to delete (Replace, history)
    status: Obj = field(default_factory=dict)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    requeue_after: float | None = None


def schedule_of(cronjob: Obj) -> str:
    # robfig/cron reads `?` as `*`; croniter does not know it.
    return str(cronjob["spec"]["schedule"]).replace("?", "*")


def job_name(cronjob: Obj, scheduled: datetime) -> str:
    """`<cronjob>-<scheduled time in minutes since the epoch>`."""
    return f"{meta.name_of(cronjob)}-{int(scheduled.timestamp()) // 60}"


def missed_times(cronjob: Obj, now: datetime) -> tuple[list[datetime], datetime]:
    """The schedule times since the last one (or creation) up to `now`, at most
    MAX_MISSED + 1 of them; and the next time after `now`."""
    spec = cronjob["spec"]
    zone = ZoneInfo(spec["timeZone"]) if spec.get("timeZone") else now.tzinfo
    last = (cronjob.get("status") or {}).get("lastScheduleTime") \
        or cronjob["metadata"]["creationTimestamp"]
    earliest = meta.parse_time(str(last))
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=int(deadline)))
    it = croniter(schedule_of(cronjob), earliest.astimezone(zone))
    times: list[datetime] = []
    while True:
        t = it.get_next(datetime)
        if t > now:
            return times, t
        times.append(t)
        if len(times) > MAX_MISSED:
            return times, croniter(schedule_of(cronjob), now.astimezone(zone)).get_next(datetime)


def job_ref(job: Obj) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "Job", "name": meta.name_of(job),
            "namespace": meta.namespace_of(job), "uid": meta.uid_of(job)}


def _started(job: Obj) -> str:
    return str((job.get("status") or {}).get("startTime")
               or job["metadata"].get("creationTimestamp", ""))


def plan_cronjob(cronjob: Obj, jobs: list[Obj], now: datetime) -> CronPlan:
    """Decide for a CronJob, given the Jobs it controls, at `now`."""
    plan = CronPlan()
    spec = cronjob["spec"]
    status: Obj = copy.deepcopy(cronjob.get("status") or {})
    plan.status = status
    active = [j for j in jobs if finished(j) is None
              and not j["metadata"].get("deletionTimestamp")]
    done = [j for j in jobs if finished(j) is not None]
    for kind, limit in (("Complete", spec.get("successfulJobsHistoryLimit", 3)),
                        ("Failed", spec.get("failedJobsHistoryLimit", 1))):
        kept = sorted((j for j in done if (finished(j) or {}).get("type") == kind),
                      key=_started, reverse=True)
        plan.delete += kept[int(limit):] if limit is not None else []
    completions = [str(j["status"]["completionTime"]) for j in done
                   if (j.get("status") or {}).get("completionTime")]
    if completions:
        status["lastSuccessfulTime"] = max([*completions, status.get("lastSuccessfulTime", "")])
    if spec.get("suspend"):
        _set_active(status, active)
        return plan
    times, following = missed_times(cronjob, now)
    plan.requeue_after = max(1.0, (following - now).total_seconds())
    if not times:
        _set_active(status, active)
        return plan
    if len(times) > MAX_MISSED:
        plan.events.append(("Warning", "TooManyMissedTimes", TOO_MANY_MISSED))
    scheduled = times[-1]
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None and (now - scheduled).total_seconds() > int(deadline):
        plan.events.append(("Warning", "MissSchedule",
                            f"Missed scheduled time to start a job: {meta.format_time(scheduled)}"))
        _set_active(status, active)
        return plan
    policy = spec.get("concurrencyPolicy", "Allow")
    if active and policy == "Forbid":
        plan.events.append(("Normal", "JobAlreadyActive",
                            "Not starting job because prior execution is running and "
                            "concurrency policy is Forbid"))
        _set_active(status, active)
        return plan
    if active and policy == "Replace":
        plan.delete += active
        active = []
    if any(meta.name_of(j) == job_name(cronjob, scheduled) for j in jobs):
        _set_active(status, active)  # already started (a previous pass, or a retry)
        status["lastScheduleTime"] = meta.format_time(scheduled)
        return plan
    plan.create = scheduled
    status["lastScheduleTime"] = meta.format_time(scheduled)
    _set_active(status, active)
    return plan


def _set_active(status: Obj, active: list[Obj]) -> None:
    if active:
        status["active"] = [job_ref(j) for j in sorted(active, key=meta.name_of)]
    else:
        status.pop("active", None)


def job_from_cronjob(cronjob: Obj, name: str, annotations: dict[str, str]) -> Obj:
    """A Job from the CronJob's jobTemplate, owned by it (the registry defaults it)."""
    template = copy.deepcopy(cronjob["spec"]["jobTemplate"])
    md = template.get("metadata") or {}
    job_md: Obj = {"name": name, "namespace": meta.namespace_of(cronjob),
                   "ownerReferences": [owner_reference(cronjob)]}
    if md.get("labels"):
        job_md["labels"] = dict(md["labels"])
    job_md["annotations"] = {**(md.get("annotations") or {}), **annotations}
    job: Obj = {"apiVersion": "batch/v1", "kind": "Job", "metadata": job_md,
                "spec": template.get("spec") or {}}
    return job
