"""The Job controller as a pure plan: from a Job and its pods (status filled) at `now`,
decide which pods to create or delete, the Job's status and conditions, its events, and
when to look again (after K pkg/controller/job/job_controller.go)."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from podctl.api import meta
from podctl.api.meta import Obj
from podctl.controllers.owners import owner_reference
from podctl.controllers.replication import is_active, is_ready
from podctl.controllers.slowstart import BURST_REPLICAS

SOURCE = "job-controller"
INDEX_KEY = "batch.kubernetes.io/job-completion-index"
INDEX_ENV = "JOB_COMPLETION_INDEX"
BACKOFF_BASE = 10.0  # seconds, doubled per failure since the last success
BACKOFF_MAX = 600.0  # MaxJobPodFailureBackOff
BACKOFF_REASON = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
DEADLINE_REASON = ("DeadlineExceeded", "Job was active longer than specified deadline")
SUCCESS_REASON = ("CompletionsReached", "Reached expected number of succeeded pods")


@dataclass
class JobPlan:
    """What one sync of a Job must do."""

    create: list[int | None] = field(default_factory=list)  # completion indexes (None: any)
    delete: list[Obj] = field(default_factory=list)
    status: Obj = field(default_factory=dict)
    events: list[tuple[str, str, str]] = field(default_factory=list)  # type, reason, message
    requeue_after: float | None = None
    delete_job: bool = False  # its TTL after finishing ran out


def condition(job: Obj, kind: str) -> Obj | None:
    """The Job's condition of this type when True."""
    return next((c for c in (job.get("status") or {}).get("conditions") or []
                 if c.get("type") == kind and c.get("status") == "True"), None)


def finished(job: Obj) -> Obj | None:
    return condition(job, "Complete") or condition(job, "Failed")


def backoff_delay(failures: int) -> float:
    """10 s × 2^(failures − 1), capped: the wait before replacing a failed pod."""
    if failures <= 0:
        return 0.0
    return min(BACKOFF_MAX, BACKOFF_BASE * 2.0 ** (failures - 1))


def pod_index(pod: Obj) -> int | None:
    value = (pod["metadata"].get("annotations") or {}).get(INDEX_KEY)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def finished_at(pod: Obj) -> datetime:
    """When a terminal pod's last container ended (its creation time if unknown)."""
    ends = [str(s["state"]["terminated"]["finishedAt"])
            for s in (pod.get("status") or {}).get("containerStatuses") or []
            if ((s.get("state") or {}).get("terminated") or {}).get("finishedAt")]
    return meta.parse_time(max(ends) if ends else pod["metadata"]["creationTimestamp"])


def format_indexes(indexes: set[int]) -> str:
    """`0-2,5`: runs of consecutive indexes as ranges."""
    parts: list[str] = []
    ordered = sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def _restarts(pod: Obj) -> int:
    status = pod.get("status") or {}
    return sum(int(c.get("restartCount", 0)) for key in ("initContainerStatuses",
               "containerStatuses") for c in status.get(key) or [])


def _set_condition(status: Obj, kind: str, state: str, reason: str, message: str,
                   now: str) -> None:
    conditions = status.setdefault("conditions", [])
    for c in conditions:
        if c.get("type") == kind:
            if c.get("status") != state:
                c["lastTransitionTime"] = now
            c.update(status=state, reason=reason, message=message, lastProbeTime=now)
            return
    conditions.append({"type": kind, "status": state, "reason": reason, "message": message,
                       "lastProbeTime": now, "lastTransitionTime": now})


def plan_job(job: Obj, pods: list[Obj], now: datetime, manage: bool = True) -> JobPlan:
    """Decide for a Job, given the pods it controls (status filled), at `now`. Without
    `manage` (the previous sync's changes are not seen yet) it creates and deletes no pod
    for parallelism; a finished or failing Job's pods still go."""
    plan = JobPlan()
    spec = job["spec"]
    status: Obj = copy.deepcopy(job.get("status") or {})
    plan.status = status
    stamp = meta.format_time(now)
    done = finished(job)
    active = [p for p in pods if is_active(p)]
    terminating = [p for p in pods if p["metadata"].get("deletionTimestamp")
                   and _phase(p) not in ("Succeeded", "Failed")]
    succeeded = [p for p in pods if _phase(p) == "Succeeded"]
    failed = [p for p in pods if _phase(p) == "Failed"]
    indexed = spec.get("completionMode") == "Indexed"
    completions = spec.get("completions")
    done_indexes = {i for i in map(pod_index, succeeded) if i is not None}
    succeeded_count = len(done_indexes) if indexed else len(succeeded)
    status.update(active=len(active), ready=sum(1 for p in active if is_ready(p)),
                  succeeded=succeeded_count, failed=len(failed), terminating=len(terminating))
    if indexed:
        status["completedIndexes"] = format_indexes(done_indexes)
    if done is not None:
        plan.delete = active  # stragglers of a finished Job
        _plan_ttl(plan, job, done, now)
        return plan
    if spec.get("suspend"):
        plan.delete = active
        if condition(job, "Suspended") is None:
            _set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", stamp)
            plan.events.append(("Normal", "Suspended", "Job suspended"))
        return plan
    if condition(job, "Suspended") is not None:
        _set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", stamp)
        plan.events.append(("Normal", "Resumed", "Job resumed"))
        status["startTime"] = stamp  # the deadline counts from the resume
    status.setdefault("startTime", stamp)
    target = condition(job, "FailureTarget") or condition(job, "SuccessCriteriaMet")
    if target is not None:
        # Decided already: the pods it counted may be gone by now (deleted on the way).
        _finish(plan, job, (str(target.get("reason")), str(target.get("message"))),
                target["type"] == "SuccessCriteriaMet", active, terminating, stamp)
        return plan
    failure = _failure(job, failed, active, now, plan)
    success = None
    if indexed:
        if completions is not None and len(done_indexes) >= int(completions):
            success = SUCCESS_REASON
    elif completions is None:
        if succeeded and not active:
            success = SUCCESS_REASON
    elif len(succeeded) >= int(completions):
        success = SUCCESS_REASON
    outcome = failure or success
    if outcome is not None:
        _finish(plan, job, outcome, success is not None and failure is None, active,
                terminating, stamp)
        return plan
    if manage:
        _plan_pods(plan, job, active, succeeded, failed, done_indexes, now)
    return plan


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase", "Pending"))


def _failure(job: Obj, failed: list[Obj], active: list[Obj], now: datetime,
             plan: JobPlan) -> tuple[str, str] | None:
    """Deadline first (it wins over the backoff limit), then the backoff limit."""
    spec = job["spec"]
    deadline = spec.get("activeDeadlineSeconds")
    start = (plan.status.get("startTime"))
    if deadline is not None and start:
        left = float(deadline) - (now - meta.parse_time(start)).total_seconds()
        if left <= 0:
            return DEADLINE_REASON
        plan.requeue_after = left
    limit = int(spec.get("backoffLimit", 6))
    if len(failed) > limit:
        return BACKOFF_REASON
    if spec["template"]["spec"].get("restartPolicy") == "OnFailure":
        restarts = sum(_restarts(p) for p in active)
        if (restarts > 0) if limit == 0 else (restarts + len(failed) >= limit):
            return BACKOFF_REASON
    return None


def _finish(plan: JobPlan, job: Obj, outcome: tuple[str, str], success: bool,
            active: list[Obj], terminating: list[Obj], stamp: str) -> None:
    """Interim condition while pods are still stopping; the terminal one once all are."""
    reason, message = outcome
    status = plan.status
    plan.delete = active
    interim = "SuccessCriteriaMet" if success else "FailureTarget"
    if condition(job, interim) is None:
        _set_condition(status, interim, "True", reason, message, stamp)
    if active or terminating:
        plan.requeue_after = 1.0
        return
    _set_condition(status, "Complete" if success else "Failed", "True", reason, message, stamp)
    if success:
        status["completionTime"] = stamp
        plan.events.append(("Normal", "Completed", "Job completed"))
    else:
        plan.events.append(("Warning", reason, message))
    ttl = job["spec"].get("ttlSecondsAfterFinished")
    if ttl is not None:
        plan.requeue_after = float(ttl)


def _plan_ttl(plan: JobPlan, job: Obj, done: Obj, now: datetime) -> None:
    ttl = job["spec"].get("ttlSecondsAfterFinished")
    if ttl is None:
        return
    since = (job.get("status") or {}).get("completionTime") or done.get("lastTransitionTime")
    left = float(ttl) - (now - meta.parse_time(str(since))).total_seconds() if since else 0.0
    if left <= 0:
        plan.delete_job = True
    else:
        plan.requeue_after = left


def _plan_pods(plan: JobPlan, job: Obj, active: list[Obj], succeeded: list[Obj],
               failed: list[Obj], done_indexes: set[int], now: datetime) -> None:
    """Create up to parallelism pods for the work left, after the failure backoff; delete
    the surplus; at most a burst of each."""
    spec = job["spec"]
    parallelism = int(spec.get("parallelism", 1))
    completions = spec.get("completions")
    newest_first = sorted(active, key=lambda p: p["metadata"].get("creationTimestamp", ""),
                          reverse=True)
    if spec.get("completionMode") == "Indexed":
        seen: set[int] = set()
        keep: list[Obj] = []
        for pod in sorted(active, key=lambda p: p["metadata"].get("creationTimestamp", "")):
            index = pod_index(pod)
            if index is None or index in seen or index in done_indexes \
                    or index >= int(completions or 0):
                plan.delete.append(pod)
            else:
                seen.add(index)
                keep.append(pod)
        plan.delete += keep[parallelism:]
        # Lazily: completions may be large, only the first few missing indexes are used.
        missing = (i for i in range(int(completions or 0))
                   if i not in done_indexes and i not in seen)
        room = min(max(0, parallelism - len(keep)), BURST_REPLICAS)
        wanted: list[int | None] = list(itertools.islice(missing, room))
    else:
        if completions is None:
            target = 0 if succeeded else parallelism
        else:
            target = min(parallelism, int(completions) - len(succeeded))
        surplus = min(len(active) - target, BURST_REPLICAS)
        if surplus > 0:
            plan.delete += newest_first[:surplus]
        wanted = [None] * min(max(0, target - len(active)), BURST_REPLICAS)
    if wanted and spec["template"]["spec"].get("restartPolicy") == "Never":
        last_success = max((finished_at(p) for p in succeeded), default=None)
        recent = sorted(finished_at(p) for p in failed
                        if last_success is None or finished_at(p) > last_success)
        if recent:
            ready_at = recent[-1] + timedelta(seconds=backoff_delay(len(recent)))
            if now < ready_at:
                wait = (ready_at - now).total_seconds()
                plan.requeue_after = min(wait, plan.requeue_after or wait)
                wanted = []
    plan.create = wanted


def pod_from_job(job: Obj, name: str, index: int | None) -> Obj:
    """A new pod from the Job's template, owned by it; an Indexed one knows its index."""
    template = copy.deepcopy(job["spec"]["template"])
    md = template.get("metadata") or {}
    labels = dict(md.get("labels") or {})
    annotations = dict(md.get("annotations") or {})
    pod_spec = template["spec"]
    if index is not None:
        labels[INDEX_KEY] = annotations[INDEX_KEY] = str(index)
        pod_spec["hostname"] = f"{meta.name_of(job)}-{index}"
        env = {"name": INDEX_ENV, "valueFrom": {"fieldRef": {
            "apiVersion": "v1", "fieldPath": f"metadata.annotations['{INDEX_KEY}']"}}}
        for key in ("initContainers", "containers"):
            for ctr in pod_spec.get(key) or []:
                ctr["env"] = [env, *(ctr.get("env") or [])]
    generate = f"{meta.name_of(job)}-" if index is None else f"{meta.name_of(job)}-{index}-"
    pod_md: Obj = {"name": name, "generateName": generate,
                   "namespace": meta.namespace_of(job), "ownerReferences": [owner_reference(job)]}
    if labels:
        pod_md["labels"] = labels
    if annotations:
        pod_md["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_md, "spec": pod_spec}
