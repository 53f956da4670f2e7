"""The Job and CronJob controllers' pure plans, at a fixed `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from podctl.api import meta
from podctl.controllers.cronjob import TOO_MANY_MISSED, job_name, plan_cronjob
from podctl.controllers.job import (
    INDEX_ENV,
    INDEX_KEY,
    backoff_delay,
    format_indexes,
    plan_job,
    pod_from_job,
)
from podctl.manifest.defaults import default_cronjob_spec, default_job

NOW = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)


def stamp(seconds_ago: float) -> str:
    return meta.format_time(NOW - timedelta(seconds=seconds_ago))


def job(**spec: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "work", "namespace": "default", "uid": "job-uid",
                     "creationTimestamp": stamp(60)},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
            {"name": "c", "image": "busybox"}]}}, **spec}}
    default_job(obj)
    return obj


def pod(phase: str, ended_ago: float = 50, index: int | None = None, restarts: int = 0,
        created_ago: float = 55) -> dict[str, Any]:
    md: dict[str, Any] = {"name": f"p{id(object())}", "namespace": "default",
                          "creationTimestamp": stamp(created_ago), "uid": str(id(object()))}
    if index is not None:
        md["annotations"] = {INDEX_KEY: str(index)}
    state: dict[str, Any] = {"running": {}}
    if phase in ("Succeeded", "Failed"):
        state = {"terminated": {"finishedAt": stamp(ended_ago),
                                "exitCode": 0 if phase == "Succeeded" else 1}}
    return {"metadata": md, "spec": {}, "status": {
        "phase": phase, "containerStatuses": [{"state": state, "restartCount": restarts}]}}


def conditions(status: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["reason"] for c in status.get("conditions") or []
            if c["status"] == "True"}


def test_defaults_and_generated_selector() -> None:
    j = job()
    assert (j["spec"]["completions"], j["spec"]["parallelism"], j["spec"]["backoffLimit"]) == (
        1, 1, 6)
    assert j["spec"]["selector"] == {"matchLabels": {
        "batch.kubernetes.io/controller-uid": "job-uid"}}
    assert j["spec"]["template"]["metadata"]["labels"]["job-name"] == "work"
    work_queue = job(parallelism=3)
    assert work_queue["spec"].get("completions") is None


def test_parallelism_bounds_the_pods_started() -> None:
    plan = plan_job(job(completions=5, parallelism=2), [], NOW)
    assert plan.create == [None, None]
    assert plan.status["startTime"] == meta.format_time(NOW)
    running = [pod("Running"), pod("Running")]
    assert plan_job(job(completions=5, parallelism=2), running, NOW).create == []
    # 4 done: only one completion is left, so one pod, even with room for two
    done = [pod("Succeeded") for _ in range(4)]
    assert plan_job(job(completions=5, parallelism=2), done, NOW).create == [None]


def test_completions_reached_completes_once_no_pod_runs() -> None:
    j = job(completions=2, parallelism=2)
    plan = plan_job(j, [pod("Succeeded"), pod("Succeeded")], NOW)
    assert conditions(plan.status) == {"SuccessCriteriaMet": "CompletionsReached",
                                       "Complete": "CompletionsReached"}
    assert plan.status["completionTime"] == meta.format_time(NOW)
    assert ("Normal", "Completed", "Job completed") in plan.events
    assert plan.status["succeeded"] == 2 and plan.create == []


def test_work_queue_job_stops_the_rest_after_a_success() -> None:
    extra = pod("Running")
    plan = plan_job(job(parallelism=2), [pod("Succeeded"), pod("Succeeded")], NOW)
    assert "Complete" in conditions(plan.status)
    plan = plan_job(job(parallelism=2, completions=1), [pod("Succeeded"), extra], NOW)
    assert plan.delete == [extra]
    assert conditions(plan.status) == {"SuccessCriteriaMet": "CompletionsReached"}


def test_backoff_delays_double_from_ten_seconds_and_are_capped() -> None:
    assert [backoff_delay(n) for n in range(5)] == [0.0, 10.0, 20.0, 40.0, 80.0]
    assert backoff_delay(20) == 600.0


def test_a_failed_pod_is_replaced_after_the_backoff() -> None:
    j = job(backoffLimit=6)
    soon = plan_job(j, [pod("Failed", ended_ago=4)], NOW)
    assert soon.create == [] and soon.requeue_after == 6.0
    later = plan_job(j, [pod("Failed", ended_ago=11)], NOW)
    assert later.create == [None]
    # two failures since the last success: 20 s after the last one
    two = [pod("Failed", ended_ago=30), pod("Failed", ended_ago=15)]
    assert plan_job(j, two, NOW).requeue_after == 5.0
    # a success after them resets the count: completions 2 still need one pod, at once
    mixed = [pod("Failed", ended_ago=30), pod("Succeeded", ended_ago=10)]
    assert plan_job(job(completions=2), mixed, NOW).create == [None]


def test_backoff_limit_exceeded_fails_the_job() -> None:
    j = job(backoffLimit=1)
    assert "Failed" not in conditions(plan_job(j, [pod("Failed")], NOW).status)
    plan = plan_job(j, [pod("Failed"), pod("Failed")], NOW)
    assert conditions(plan.status)["Failed"] == "BackoffLimitExceeded"
    assert ("Warning", "BackoffLimitExceeded",
            "Job has reached the specified backoff limit") in plan.events
    assert "completionTime" not in plan.status and plan.status["failed"] == 2


def test_on_failure_counts_container_restarts() -> None:
    j = job(backoffLimit=3)
    j["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    crashing = pod("Running", restarts=3)
    plan = plan_job(j, [crashing], NOW)
    assert plan.delete == [crashing]
    assert conditions(plan.status) == {"FailureTarget": "BackoffLimitExceeded"}
    assert conditions(plan_job(j, [pod("Running", restarts=2)], NOW).status) == {}
    # once its pod is gone the restarts it counted are too: the decision stands
    j["status"] = plan.status
    gone = plan_job(j, [], NOW)
    assert gone.create == []
    assert conditions(gone.status) == {"FailureTarget": "BackoffLimitExceeded",
                                       "Failed": "BackoffLimitExceeded"}


def test_deadline_wins_over_backoff_and_deletes_running_pods() -> None:
    j = job(activeDeadlineSeconds=20, backoffLimit=0)
    j["status"] = {"startTime": stamp(25)}
    running = pod("Running")
    plan = plan_job(j, [running, pod("Failed")], NOW)
    assert plan.delete == [running]
    assert conditions(plan.status) == {"FailureTarget": "DeadlineExceeded"}
    j["status"] = {"startTime": stamp(5)}
    assert plan_job(j, [running], NOW).requeue_after == 15.0


def test_indexed_job_runs_the_lowest_missing_indexes() -> None:
    j = job(completions=5, parallelism=2, completionMode="Indexed")
    plan = plan_job(j, [pod("Succeeded", index=0), pod("Running", index=2)], NOW)
    assert plan.create == [1]
    assert plan.status["completedIndexes"] == "0"
    duplicate = pod("Running", index=2, created_ago=1)
    plan = plan_job(j, [pod("Running", index=2), duplicate], NOW)
    assert plan.delete == [duplicate] and plan.create == [0]
    finished = [pod("Succeeded", index=i) for i in range(5)]
    assert "Complete" in conditions(plan_job(j, finished, NOW).status)
    assert format_indexes({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"


def test_indexed_pod_knows_its_index() -> None:
    j = job(completions=3, completionMode="Indexed")
    p = pod_from_job(j, "work-1-abcde", 1)
    assert p["metadata"]["annotations"][INDEX_KEY] == "1"
    assert p["metadata"]["labels"][INDEX_KEY] == "1"
    assert p["metadata"]["generateName"] == "work-1-"
    assert p["spec"]["hostname"] == "work-1"
    [env] = p["spec"]["containers"][0]["env"]
    assert env["name"] == INDEX_ENV
    assert env["valueFrom"]["fieldRef"]["fieldPath"] == f"metadata.annotations['{INDEX_KEY}']"
    assert p["metadata"]["ownerReferences"][0]["uid"] == "job-uid"


def test_suspend_deletes_pods_and_resume_restarts_the_clock() -> None:
    j = job(suspend=True, completions=2)
    running = pod("Running")
    plan = plan_job(j, [running], NOW)
    assert plan.delete == [running] and plan.create == []
    assert conditions(plan.status) == {"Suspended": "JobSuspended"}
    j["status"] = plan.status | {"startTime": stamp(500)}
    j["spec"]["suspend"] = False
    resumed = plan_job(j, [], NOW)
    assert ("Normal", "Resumed", "Job resumed") in resumed.events
    assert resumed.status["startTime"] == meta.format_time(NOW)
    assert resumed.create == [None]  # parallelism 1


def test_ttl_after_finished_deletes_the_job() -> None:
    j = job(ttlSecondsAfterFinished=30)
    j["status"] = {"completionTime": stamp(10), "conditions": [
        {"type": "Complete", "status": "True", "lastTransitionTime": stamp(10)}]}
    assert plan_job(j, [], NOW).requeue_after == 20.0
    j["status"]["completionTime"] = stamp(31)
    assert plan_job(j, [], NOW).delete_job


# -- CronJob -------------------------------------------------------------------------------

def cronjob(schedule: str = "* * * * *", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"schedule": schedule, "jobTemplate": {"spec": {"template": {
        "spec": {"restartPolicy": "OnFailure", "containers": [
            {"name": "c", "image": "busybox"}]}}}}, **spec}
    default_cronjob_spec(body)
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {
        "name": "tick", "namespace": "default", "uid": "cj-uid",
        "creationTimestamp": stamp(100)}, "spec": body}


def owned_job(name: str, finished_as: str | None = None, started_ago: float = 50
              ) -> dict[str, Any]:
    status: dict[str, Any] = {"startTime": stamp(started_ago)}
    if finished_as:
        status["conditions"] = [{"type": finished_as, "status": "True"}]
        if finished_as == "Complete":
            status["completionTime"] = stamp(started_ago - 1)
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
            "status": status}


def test_cronjob_starts_the_latest_missed_schedule() -> None:
    plan = plan_cronjob(cronjob(), [], NOW)
    due = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert plan.create == due
    assert plan.status["lastScheduleTime"] == meta.format_time(due)
    assert plan.requeue_after == 30.0
    assert job_name(cronjob(), due) == f"tick-{int(due.timestamp()) // 60}"


def test_cronjob_waits_for_the_next_time() -> None:
    cj = cronjob("0 * * * *")
    cj["status"] = {"lastScheduleTime": meta.format_time(datetime(2026, 1, 1, 12, tzinfo=UTC))}
    plan = plan_cronjob(cj, [], NOW)
    assert plan.create is None and plan.requeue_after == 3570.0


def test_forbid_skips_while_one_runs_and_replace_deletes_it() -> None:
    running = owned_job("tick-1")
    forbid = plan_cronjob(cronjob(concurrencyPolicy="Forbid"), [running], NOW)
    assert forbid.create is None
    assert forbid.status["active"][0]["name"] == "tick-1"
    replace = plan_cronjob(cronjob(concurrencyPolicy="Replace"), [running], NOW)
    assert replace.create is not None and replace.delete == [running]
    allow = plan_cronjob(cronjob(), [running], NOW)
    assert allow.create is not None and allow.delete == []


def test_history_limits_keep_the_newest_finished_jobs() -> None:
    done = [owned_job(f"ok-{i}", "Complete", started_ago=60 - i) for i in range(5)]
    failed = [owned_job(f"bad-{i}", "Failed", started_ago=60 - i) for i in range(3)]
    plan = plan_cronjob(cronjob(suspend=True), done + failed, NOW)
    assert sorted(meta.name_of(j) for j in plan.delete) == [
        "bad-0", "bad-1", "ok-0", "ok-1"]
    assert plan.create is None  # suspended
    assert plan.status["lastSuccessfulTime"] == stamp(55)  # ok-4 started 56 s ago


def test_too_many_missed_and_starting_deadline() -> None:
    cj = cronjob()
    cj["metadata"]["creationTimestamp"] = stamp(200 * 60)
    plan = plan_cronjob(cj, [], NOW)
    assert ("Warning", "TooManyMissedTimes", TOO_MANY_MISSED) in plan.events
    assert plan.create is not None
    late = cronjob("0 * * * *", startingDeadlineSeconds=10)
    late["metadata"]["creationTimestamp"] = stamp(3600)
    assert plan_cronjob(late, [], NOW).create is None  # 12:00 passed 30 s ago
