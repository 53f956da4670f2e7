"""Jobs and CronJobs (batch/v1) on the real engine with a running controller."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Podctl
from .test_controller import Start

JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
  completions: {completions}
  parallelism: {parallelism}
  backoffLimit: {backoff}
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - name: work
        image: podctl/busybox:1
        command: ["sh", "-c", "{script}"]
"""

CRONJOB = """\
apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          terminationGracePeriodSeconds: 1
          containers:
          - name: tick
            image: podctl/busybox:1
            command: ["sh", "-c", "echo tick"]
"""


def job_json(podctl: Podctl, name: str) -> dict[str, Any]:
    return dict(json.loads(podctl("get", "job", name, "-o", "json")))


def job_pods(podctl: Podctl, name: str) -> list[dict[str, Any]]:
    return list(json.loads(podctl("get", "pods", "-l", f"job-name={name}", "-o", "json"))[
        "items"])


def test_completions_with_parallelism_complete(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(JOB.format(name="count", completions=5, parallelism=2, backoff=6,
                                 script="sleep 1; echo done"))
    most = 0

    def complete() -> bool:
        nonlocal most
        active = [p for p in job_pods(podctl, "count")
                  if p["status"].get("phase") in ("Pending", "Running")]
        most = max(most, len(active))
        return job_json(podctl, "count").get("status", {}).get("succeeded") == 5
    podctl.wait_for(complete, timeout=120, message="5 succeeded pods")
    out = podctl("wait", "--for=condition=complete", "job/count", "--timeout=60s", timeout=90)
    assert out == "job.batch/count condition met\n"
    assert most <= 2  # never more than parallelism at once
    pods = job_pods(podctl, "count")
    assert len(pods) == 5 and {p["status"]["phase"] for p in pods} == {"Succeeded"}
    labels = pods[0]["metadata"]["labels"]
    uid = job_json(podctl, "count")["metadata"]["uid"]
    assert labels["batch.kubernetes.io/job-name"] == "count"
    assert labels["batch.kubernetes.io/controller-uid"] == uid
    assert pods[0]["metadata"]["ownerReferences"][0]["kind"] == "Job"
    header, row = podctl("get", "jobs").splitlines()
    assert header.split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert row.split()[:3] == ["count", "Complete", "5/5"]
    described = podctl("describe", "job", "count")
    assert "0 Active (0 Ready) / 5 Succeeded / 0 Failed" in described
    assert "Normal  Completed" in described
    assert podctl("delete", "job", "count") == 'job.batch "count" deleted\n'
    podctl.wait_for(lambda: not job_pods(podctl, "count"), timeout=60, message="pods gone")


def test_failing_command_exceeds_the_backoff_limit(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(JOB.format(name="broken", completions=1, parallelism=1, backoff=1,
                                 script="exit 3"))

    def failed() -> bool:
        conditions = job_json(podctl, "broken").get("status", {}).get("conditions", [])
        return any(c["type"] == "Failed" and c["status"] == "True" for c in conditions)
    # two failed pods, the second after the controller's 10 s back-off
    podctl.wait_for(failed, timeout=90, message="the Failed condition")
    status = job_json(podctl, "broken")["status"]
    [condition] = [c for c in status["conditions"] if c["type"] == "Failed"]
    assert condition["reason"] == "BackoffLimitExceeded"
    assert condition["message"] == "Job has reached the specified backoff limit"
    assert status["failed"] == 2 and "completionTime" not in status
    pods = job_pods(podctl, "broken")
    assert len(pods) == 2 and {p["status"]["phase"] for p in pods} == {"Failed"}
    described = podctl("describe", "job", "broken")
    assert "Warning  BackoffLimitExceeded" in described
    assert "Job has reached the specified backoff limit" in described
    assert podctl("get", "job", "broken", "--no-headers").split()[1:3] == ["Failed", "0/1"]
    waited = podctl.run("wait", "--for=condition=complete", "job/broken", "--timeout=1s")
    assert waited.code == 1
    assert "timed out waiting for the condition on jobs/broken" in waited.err
    podctl("delete", "job", "broken")


def test_create_job_from_cronjob(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(CRONJOB.replace("* * * * *", "0 0 1 1 *"))
    assert podctl("create", "job", "manual", "--from=cronjob/tick") == \
        "job.batch/manual created\n"
    job = job_json(podctl, "manual")
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "sh", "-c", "echo tick"]
    missing = podctl.run("create", "job", "x", "--from=cronjob/nope")
    assert missing.code == 1 and 'cronjobs.batch "nope" not found' in missing.err
    podctl.wait_for(lambda: job_json(podctl, "manual").get("status", {}).get("succeeded") == 1,
                    timeout=60, message="the manual Job's success")
    assert podctl("delete", "cronjob", "tick") == 'cronjob.batch "tick" deleted\n'
    # the garbage collector takes the Job the CronJob owned, and its pod
    podctl.wait_for(lambda: "manual" not in podctl("get", "jobs", "-o", "name")
                    and not job_pods(podctl, "manual"), timeout=30, message="the Job collected")


@pytest.mark.slow  # waits for the next minute: up to ~70 s
def test_cronjob_every_minute_starts_a_job(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(CRONJOB)

    def started() -> bool:
        jobs = json.loads(podctl("get", "jobs", "-o", "json"))["items"]
        return any(j["metadata"]["name"].startswith("tick-") for j in jobs)
    podctl.wait_for(started, timeout=75, message="a scheduled Job")
    [job] = json.loads(podctl("get", "jobs", "-o", "json"))["items"]
    minutes = int(job["metadata"]["name"].removeprefix("tick-"))
    assert job["metadata"]["ownerReferences"][0]["name"] == "tick"
    podctl.wait_for(lambda: job_json(podctl, job["metadata"]["name"]).get("status", {}).get(
        "succeeded") == 1, timeout=30, message="the scheduled Job's success")
    row = podctl("get", "cronjobs", "--no-headers").split()
    assert row[:4] == ["tick", "*", "*", "*"] and minutes > 0
    podctl("delete", "cronjob", "tick")


def test_indexed_job_gives_each_pod_its_index(podctl: Podctl, controller: Start) -> None:
    controller()
    podctl.apply_yaml(JOB.format(name="idx", completions=3, parallelism=3, backoff=6,
                                 script="echo item $JOB_COMPLETION_INDEX").replace(
        "  backoffLimit", "  completionMode: Indexed\n  backoffLimit"))
    out = podctl("wait", "--for=condition=complete", "job/idx", "--timeout=90s", timeout=120)
    assert out == "job.batch/idx condition met\n"
    pods = job_pods(podctl, "idx")
    logs = {}
    for p in pods:
        index = p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"]
        assert p["metadata"]["name"].startswith(f"idx-{index}-")
        logs[index] = podctl("logs", p["metadata"]["name"]).strip()
    assert logs == {"0": "item 0", "1": "item 1", "2": "item 2"}
    assert job_json(podctl, "idx")["status"]["completedIndexes"] == "0-2"
    podctl("delete", "job", "idx")


def test_deadline_fails_the_job_then_its_ttl_deletes_it(podctl: Podctl,
                                                         controller: Start) -> None:
    controller()
    podctl.apply_yaml(JOB.format(name="slow", completions=1, parallelism=1, backoff=6,
                                 script="sleep 300").replace(
        "  backoffLimit", "  activeDeadlineSeconds: 3\n  ttlSecondsAfterFinished: 5\n"
        "  backoffLimit"))
    out = podctl("wait", "--for=condition=failed", "job/slow", "--timeout=60s", timeout=90)
    assert out == "job.batch/slow condition met\n"
    [condition] = [c for c in job_json(podctl, "slow")["status"]["conditions"]
                   if c["type"] == "Failed"]
    assert (condition["reason"], condition["message"]) == (
        "DeadlineExceeded", "Job was active longer than specified deadline")
    # The condition lands once the pod is terminal; its removal from the store may follow.
    podctl.wait_for(lambda: not job_pods(podctl, "slow"), message="the running pod's deletion")
    podctl.wait_for(lambda: "slow" not in podctl("get", "jobs", "-o", "name"), timeout=30,
                    message="the TTL controller's deletion")


def test_on_failure_restarts_the_container_in_the_same_pod(podctl: Podctl,
                                                           controller: Start) -> None:
    controller()
    podctl.apply_yaml(JOB.format(name="retry", completions=1, parallelism=1, backoff=1,
                                 script="exit 1").replace("Never", "OnFailure"))
    out = podctl("wait", "--for=condition=failed", "job/retry", "--timeout=90s", timeout=120)
    assert out == "job.batch/retry condition met\n"
    [condition] = [c for c in job_json(podctl, "retry")["status"]["conditions"]
                   if c["type"] == "Failed"]
    assert condition["reason"] == "BackoffLimitExceeded"
    described = podctl("describe", "job", "retry")
    # one pod, restarted in place by the kubelet, then deleted when the Job failed
    assert described.count("Created pod:") == 1 and "Deleted pod:" in described
    podctl.wait_for(lambda: not job_pods(podctl, "retry"), timeout=30, message="pod deleted")
    podctl("delete", "job", "retry")
